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
  tracefs: string | null; // mount point with events/, or null
  /** True when the classic tracepoint category/name exists (needs tracefs). */
  hasTracepoint(category: string, name: string): boolean;
  privileged: boolean; // root or CAP_BPF+CAP_PERFMON (or CAP_SYS_ADMIN)
  privilegeHint: string; // what is missing, when not privileged
}

const BTF_PATH = '/sys/kernel/btf/vmlinux';

/** The names in the kernel's BTF, read once: a small parser of the raw BTF format. */
function btfNames(): { types: Set<string>; funcs: Set<string> } {
  const types = new Set<string>();
  const funcs = new Set<string>();
  let buf: Buffer;
  try {
    buf = fs.readFileSync(BTF_PATH);
  } catch {
    return { types, funcs };
  }
  if (buf.readUInt16LE(0) !== 0xeb9f) return { types, funcs };
  const hdrLen = buf.readUInt32LE(4);
  const typeOff = hdrLen + buf.readUInt32LE(8);
  const typeLen = buf.readUInt32LE(12);
  const strOff = hdrLen + buf.readUInt32LE(16);
  const str = (off: number) => {
    const s = strOff + off;
    return buf.toString('latin1', s, buf.indexOf(0, s));
  };
  let p = typeOff;
  const end = typeOff + typeLen;
  while (p < end) {
    const nameOff = buf.readUInt32LE(p);
    const info = buf.readUInt32LE(p + 4);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    p += 12;
    if (nameOff) {
      if (kind === 12 /* FUNC */) funcs.add(str(nameOff));
      else if (kind === 8 /* TYPEDEF */ || kind === 4 || kind === 5) types.add(str(nameOff));
    }
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
  return { types, funcs };
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
  let names: ReturnType<typeof btfNames> | undefined;
  const n = () => (names ??= btfNames());
  const tracefs = ensureTracefs();
  const caps = capabilities();
  cached = {
    btf: fs.existsSync(BTF_PATH),
    hasBtfType: (name) => n().types.has(name),
    hasBtfFunc: (name) => n().funcs.has(name),
    tracefs,
    hasTracepoint: (cat, name) => tracefs !== null && fs.existsSync(`${tracefs}/events/${cat}/${name}`),
    privileged: caps.privileged,
    privilegeHint: caps.hint,
  };
  return cached;
}
