/**
 * Feature detection: what this kernel offers, read from BTF and the file system — never from
 * the kernel version string. Variants are also verified by actually loading them.
 */
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';

/** What the running kernel and this process can do. */
export interface Features {
  btf: boolean; // /sys/kernel/btf/vmlinux exists (CO-RE, tp_btf, fentry)
  /** True when kernel BTF has a type of this name (e.g. "btf_trace_sched_switch"). */
  hasBtfType(name: string): boolean;
  /** True when kernel BTF has a function of this name (fentry target). */
  hasBtfFunc(name: string): boolean;
  /** True when the kernel BTF struct or union `type` has a direct member `member` (e.g. "sched_info", "last_queued"). */
  hasBtfMember(type: string, member: string): boolean;
  /**
   * True when the kernel keeps per-task sched_info (CONFIG_SCHED_INFO, and on kernels before
   * 5.14 also delay accounting or schedstats on): /proc/self/schedstat exists and its 3rd field,
   * the count of switch-ins sched_info_arrive() made, is above 0.
   */
  schedInfo: boolean;
  tracefs: string | null; // mount point with events/, or null
  /** True when the classic tracepoint category/name exists (needs tracefs). */
  hasTracepoint(category: string, name: string): boolean;
  privileged: boolean; // root or CAP_BPF+CAP_PERFMON (or CAP_SYS_ADMIN)
  privilegeHint: string; // what is missing, when not privileged
}

const BTF_PATH = '/sys/kernel/btf/vmlinux';

/** Where the type and string sections of raw BTF lie in the file. */
interface BtfSections {
  typeOff: number;
  typeEnd: number;
  strOff: number;
}

function btfSections(buf: Buffer): BtfSections | null {
  if (buf.length < 24 || buf.readUInt16LE(0) !== 0xeb9f) return null;
  const hdrLen = buf.readUInt32LE(4);
  const typeOff = hdrLen + buf.readUInt32LE(8);
  return { typeOff, typeEnd: typeOff + buf.readUInt32LE(12), strOff: hdrLen + buf.readUInt32LE(16) };
}

const btfStr = (buf: Buffer, sec: BtfSections, off: number) => {
  const s = sec.strOff + off;
  return buf.toString('latin1', s, buf.indexOf(0, s));
};

/** Calls `visit` for every type record in id order (ids from 1); `at` is the record's offset. */
function walkBtf(buf: Buffer, sec: BtfSections, visit: (id: number, at: number, kind: number, vlen: number, nameOff: number) => void): void {
  let p = sec.typeOff;
  for (let id = 1; p < sec.typeEnd; id++) {
    const nameOff = buf.readUInt32LE(p);
    const info = buf.readUInt32LE(p + 4);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    visit(id, p, kind, vlen, nameOff);
    p += 12;
    switch (kind) {
      case 1: case 14: p += 4; break; // INT, VAR
      case 3: p += 12; break; // ARRAY
      case 4: case 5: p += 12 * vlen; break; // STRUCT, UNION
      case 6: p += 8 * vlen; break; // ENUM
      case 13: p += 8 * vlen; break; // FUNC_PROTO
      case 15: p += 12 * vlen; break; // DATASEC
      case 17: p += 4; break; // DECL_TAG
      case 19: p += 12 * vlen; break; // ENUM64
      default: break; // PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FLOAT, TYPE_TAG
    }
  }
}

/** Names in the kernel's BTF, read once: a small parser of the raw BTF format. */
interface BtfNames {
  types: Set<string>;
  funcs: Set<string>;
  composites: Map<string, number>; // type id of the first struct or union of each name
  at: Int32Array; // type id -> offset of its record in the file (0 = none)
  strOff: number; // of the string section in the file
}

function btfNames(): BtfNames {
  const names: BtfNames = { types: new Set(), funcs: new Set(), composites: new Map(), at: new Int32Array(0), strOff: 0 };
  let buf: Buffer;
  try {
    buf = fs.readFileSync(BTF_PATH);
  } catch {
    return names;
  }
  const sec = btfSections(buf);
  if (!sec) return names;
  const at: number[] = [0];
  walkBtf(buf, sec, (id, p, kind, _vlen, nameOff) => {
    at.push(p);
    if (!nameOff) return;
    if (kind === 12 /* FUNC */) names.funcs.add(btfStr(buf, sec, nameOff));
    else if (kind === 8 /* TYPEDEF */ || kind === 4 || kind === 5) {
      const name = btfStr(buf, sec, nameOff);
      names.types.add(name);
      if (kind !== 8 && !names.composites.has(name)) names.composites.set(name, id);
    }
  });
  names.at = Int32Array.from(at);
  names.strOff = sec.strOff;
  return names;
}

/**
 * True when the struct or union `type` has a member named `member`, directly or inside an
 * anonymous struct or union (as task_struct's fields are with CONFIG_RANDSTRUCT). Member names
 * are not kept in memory (the kernel has tens of thousands): the records and names needed are
 * read from the file again, once per question (detectFeatures caches the answers).
 */
function btfHasMember(names: BtfNames, type: string, member: string): boolean {
  const id = names.composites.get(type);
  if (id === undefined) return false;
  let fd: number;
  try {
    fd = fs.openSync(BTF_PATH, 'r');
  } catch {
    return false;
  }
  const read = (pos: number, len: number) => {
    const b = Buffer.alloc(len);
    return b.subarray(0, fs.readSync(fd, b, 0, len, pos));
  };
  const str = (off: number) => {
    const b = read(names.strOff + off, 256);
    const z = b.indexOf(0);
    return b.toString('latin1', 0, z < 0 ? b.length : z);
  };
  const search = (tid: number, depth: number): boolean => {
    const p = names.at[tid];
    if (!p) return false;
    const head = read(p, 12);
    if (head.length < 12) return false;
    const kind = (head.readUInt32LE(4) >>> 24) & 0x1f;
    if (kind !== 4 && kind !== 5) return false;
    const vlen = head.readUInt32LE(4) & 0xffff;
    const ms = read(p + 12, 12 * vlen);
    for (let i = 0; i + 12 <= ms.length; i += 12) {
      const nameOff = ms.readUInt32LE(i);
      if (nameOff ? str(nameOff) === member : depth < 8 && search(ms.readUInt32LE(i + 4), depth + 1)) return true;
    }
    return false;
  };
  try {
    return search(id, 0);
  } catch {
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

/** The 3rd field of /proc/self/schedstat (switch-ins counted by sched_info), or 0 without it. */
function schedInfoCount(): number {
  try {
    return Number(fs.readFileSync('/proc/self/schedstat', 'utf8').trim().split(/\s+/)[2] ?? 0) || 0;
  } catch {
    return 0; // no CONFIG_SCHED_INFO: the file does not exist
  }
}

/** Mounts tracefs at /sys/kernel/tracing when it is not mounted and we are root. */
export function ensureTracefs(): string | null {
  for (const dir of ['/sys/kernel/tracing', '/sys/kernel/debug/tracing']) {
    if (fs.existsSync(`${dir}/events`)) return dir;
  }
  if (process.geteuid?.() === 0) {
    try {
      execFileSync('mount', ['-t', 'tracefs', 'tracefs', '/sys/kernel/tracing'], { stdio: 'ignore' });
      if (fs.existsSync('/sys/kernel/tracing/events')) return '/sys/kernel/tracing';
    } catch {
      /* reported as tracefs: null */
    }
  }
  return null;
}

function capabilities(): { privileged: boolean; hint: string } {
  let eff = 0n;
  try {
    const m = /CapEff:\s*([0-9a-f]+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) eff = BigInt('0x' + m[1]);
  } catch {
    /* treat as none */
  }
  const has = (bit: number) => (eff >> BigInt(bit)) & 1n;
  const sysAdmin = has(21);
  const bpfCap = has(39);
  const perfmon = has(38);
  if (sysAdmin || (bpfCap && perfmon)) return { privileged: true, hint: '' };
  const missing = [!bpfCap && 'CAP_BPF', !perfmon && 'CAP_PERFMON'].filter(Boolean).join(' and ');
  return { privileged: false, hint: `not root and missing ${missing}: run with sudo (or grant CAP_BPF and CAP_PERFMON)` };
}

let cached: Features | undefined;

/** Detects features once per process (mounting tracefs if needed and allowed). */
export function detectFeatures(): Features {
  if (cached) return cached;
  let names: BtfNames | undefined;
  const n = () => (names ??= btfNames());
  const members = new Map<string, boolean>();
  const tracefs = ensureTracefs();
  const caps = capabilities();
  cached = {
    btf: fs.existsSync(BTF_PATH),
    hasBtfType: (name) => n().types.has(name),
    hasBtfFunc: (name) => n().funcs.has(name),
    hasBtfMember: (type, member) => {
      const key = `${type}.${member}`;
      let has = members.get(key);
      if (has === undefined) members.set(key, (has = btfHasMember(n(), type, member)));
      return has;
    },
    schedInfo: schedInfoCount() > 0,
    tracefs,
    hasTracepoint: (cat, name) => tracefs !== null && fs.existsSync(`${tracefs}/events/${cat}/${name}`),
    privileged: caps.privileged,
    privilegeHint: caps.hint,
  };
  return cached;
}
