/**
 * A BPF object file opened, configured, loaded and attached through libbpf; maps read back.
 * Every failure becomes a BpfError whose message a user can act on.
 */
import { bpf, captureLibbpfLog, lastErrno, strerror, viewOf, Ptr, PrintLevel } from './libbpf';
import { releaseDumpBuffers } from './maps';

/** Why a BPF step failed, in terms a user can act on. */
export type BpfErrorKind = 'permission' | 'no-btf' | 'no-libbpf' | 'verifier' | 'attach' | 'missing' | 'other';

/** A failed BPF step: `message` is for the user, `logTail` the last lines of libbpf's log. */
export class BpfError extends Error {
  constructor(
    readonly kind: BpfErrorKind,
    message: string,
    readonly errno = 0,
    readonly logTail: string[] = [],
  ) {
    super(message);
    this.name = 'BpfError';
  }
}

/** One line of libbpf's log, kept for the diagnostics view and --log. */
export interface LogLine {
  ts: number;
  level: 'warn' | 'info' | 'debug';
  text: string;
}

const LEVELS = ['warn', 'info', 'debug'] as const;
const logRing: LogLine[] = [];
const LOG_KEEP = 2000;
let logListener: ((l: LogLine) => void) | undefined;
let collecting: string[] | undefined;

function onLibbpfLine(level: number, text: string): void {
  const line: LogLine = { ts: Date.now(), level: LEVELS[level] ?? 'debug', text };
  if (collecting) collecting.push(text);
  if (level === PrintLevel.DEBUG) return; // the verifier log reaches us through `collecting`
  logRing.push(line);
  if (logRing.length > LOG_KEEP) logRing.splice(0, logRing.length - LOG_KEEP);
  logListener?.(line);
}

/** Starts capturing libbpf's log; `listener` sees each warn/info line (e.g. to write --log). */
export function startLibbpfLog(listener?: (l: LogLine) => void): void {
  logListener = listener;
  captureLibbpfLog(onLibbpfLine);
}

/** The libbpf log lines kept in memory, oldest first. */
export function libbpfLog(): readonly LogLine[] {
  return logRing;
}

function withLog<T>(fn: () => T): { value?: T; error?: unknown; log: string[] } {
  const prev = collecting;
  const log: string[] = [];
  collecting = log;
  try {
    return { value: fn(), log };
  } catch (error) {
    return { error, log };
  } finally {
    collecting = prev;
  }
}

// glibc's sigset_t: 1024 bits. SIG_BLOCK and SIG_SETMASK as on every Linux architecture but
// alpha, mips and sparc.
const SIGSET_BYTES = 128;
const SIG_BLOCK = 0;
const SIG_SETMASK = 2;
let allSignals: Buffer | undefined;

/**
 * Runs `fn` with this thread's signals held back, then delivers what arrived meanwhile. The
 * verifier gives up with EAGAIN whenever a signal is pending for the loading thread; libbpf
 * retries a few times, which outlasts a stray SIGCHLD but not a profiler's SIGPROF every
 * millisecond or less (`node --cpu-prof`): every probe failed to load under one. An object loads
 * in 10-90 ms here, so Ctrl-C or SIGTERM waits that long at most.
 */
export function withSignalsHeld<T>(fn: () => T): T {
  let old: Buffer | null = null;
  try {
    if (!allSignals) {
      const set = Buffer.alloc(SIGSET_BYTES);
      if (bpf.sigfillset(set) === 0) allSignals = set;
    }
    if (allSignals) {
      const o = Buffer.alloc(SIGSET_BYTES);
      if (bpf.pthread_sigmask(SIG_BLOCK, allSignals, o) === 0) old = o;
    }
  } catch {
    old = null; // without libc's functions the load runs as before
  }
  try {
    return fn();
  } finally {
    if (old) bpf.pthread_sigmask(SIG_SETMASK, old, null);
  }
}

/** The error to show for a libbpf call at `step` that failed with `err`, from the log libbpf printed. */
export function classify(step: string, err: number, log: string[]): BpfError {
  const e = Math.abs(err);
  // The verifier's own complaint is the last lines before libbpf's "END PROG LOAD LOG".
  const lines = log.filter((l) => l.trim().length);
  const endIdx = lines.findIndex((l) => /END PROG LOAD LOG/.test(l));
  const tail = endIdx > 0 ? lines.slice(Math.max(0, endIdx - 8), endIdx).concat(lines.slice(-3)) : lines.slice(-12);
  const why = strerror(e);
  if (e === 1 /* EPERM */ || e === 13 /* EACCES */) {
    if (step === 'load' && log.some((l) => /PROG LOAD LOG|processed \d+ insns/.test(l)))
      return new BpfError('verifier', `rejected by the BPF verifier (${why})`, e, tail);
    // As root, EPERM is the kernel refusing this kind of program or attachment (e.g. fentry
    // without the needed kernel support), not a missing privilege.
    if (process.geteuid?.() === 0 && step !== 'open')
      return new BpfError('other', `${step}: ${why} — not permitted by this kernel for this program type`, e, tail);
    return new BpfError(
      'permission',
      `${step}: ${why} — probetop needs root or CAP_BPF + CAP_PERFMON (run it with sudo)`,
      e,
      tail,
    );
  }
  // The verifier stops with EAGAIN when a signal is pending (load() holds them back, so this
  // is rare): not a verdict on the program.
  if (e === 11 /* EAGAIN */ && step === 'load')
    return new BpfError('other', `load: interrupted (${why}): the verifier stops while a signal is pending; starting again may work`, e, tail);
  if (tail.some((l) => /vmlinux BTF|kernel BTF|failed to find valid kernel BTF/i.test(l)))
    return new BpfError('no-btf', `${step}: the kernel has no BTF (/sys/kernel/btf/vmlinux); a kernel with CONFIG_DEBUG_INFO_BTF=y is needed`, e, tail);
  if (e === 2 /* ENOENT */ && step === 'attach')
    return new BpfError('missing', `attach: hook not found in this kernel (${why})`, e, tail);
  if (step === 'load' && log.some((l) => /PROG LOAD LOG|processed \d+ insns/.test(l)))
    return new BpfError('verifier', `rejected by the BPF verifier (${why})`, e, tail);
  return new BpfError('other', `${step}: ${why}`, e, tail);
}

/** A map of a loaded object: its fd and sizes. */
export interface MapInfo {
  name: string;
  fd: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
}

/** An opened BPF object; call load() once (a failed load cannot be retried on it), then attach(). */
export class BpfObject {
  private obj: Ptr;
  private links: Ptr[] = [];
  private closed = false;
  loaded = false;

  private constructor(obj: Ptr, readonly path: string) {
    this.obj = obj;
  }

  /** Opens an object file; throws BpfError. */
  static open(path: string): BpfObject {
    const r = withLog(() => {
      const obj = bpf.bpf_object__open_file(path, null);
      if (!obj) throw lastErrno();
      return obj;
    });
    if (r.error !== undefined) {
      if (typeof r.error === 'number') {
        if (r.error === 2 && !r.log.some((l) => /BTF/.test(l)))
          throw new BpfError('missing', `BPF object ${path} not found: run npm run build`, 2, r.log);
        throw classify('open', r.error, r.log);
      }
      throw r.error;
    }
    return new BpfObject(r.value, path);
  }

  private prog(name: string): Ptr {
    const p = bpf.bpf_object__find_program_by_name(this.obj, name);
    if (!p) throw new BpfError('other', `program ${name} not in ${this.path}`);
    return p;
  }

  private mapPtr(name: string): Ptr {
    const m = bpf.bpf_object__find_map_by_name(this.obj, name);
    if (!m) throw new BpfError('other', `map ${name} not in ${this.path}`);
    return m;
  }

  /** True when the object has a map of this name. */
  hasMap(name: string): boolean {
    return !!bpf.bpf_object__find_map_by_name(this.obj, name);
  }

  /** Names of every program in the object. */
  programNames(): string[] {
    const names: string[] = [];
    let p: Ptr = null;
    while ((p = bpf.bpf_object__next_program(this.obj, p))) names.push(bpf.bpf_program__name(p));
    return names;
  }

  /** Loads only the programs named, turning autoload off for every other one. */
  selectPrograms(keep: readonly string[]): void {
    const want = new Set(keep);
    for (const name of this.programNames()) bpf.bpf_program__set_autoload(this.prog(name), want.has(name));
    for (const k of keep) this.prog(k); // every named program must exist
  }

  /** Skips creating a map the chosen variant does not use (kernels that lack its type). */
  skipMap(name: string): void {
    bpf.bpf_map__set_autocreate(this.mapPtr(name), false);
  }

  /** Resizes a map before load. */
  setMaxEntries(name: string, n: number): void {
    const rc = bpf.bpf_map__set_max_entries(this.mapPtr(name), n);
    if (rc < 0) throw classify('resize', rc, []);
  }

  /** Writes `bytes` at the start of .rodata (the probe's `const volatile` config struct). */
  setRodata(bytes: Uint8Array): void {
    const size = [0];
    const p = bpf.bpf_map__initial_value(this.mapPtr('.rodata'), size);
    if (!p || size[0] < bytes.length) throw new BpfError('other', `.rodata of ${this.path} is ${size[0]} bytes, config needs ${bytes.length}`);
    viewOf(p, bytes.length).set(bytes);
  }

  /** Loads the object into the kernel; throws BpfError with the verifier log's tail. */
  load(): void {
    if (this.loaded) return;
    const r = withLog(() => withSignalsHeld(() => bpf.bpf_object__load(this.obj) as number));
    if (r.error) throw r.error;
    if ((r.value ?? 0) < 0) throw classify('load', r.value!, r.log);
    this.loaded = true;
  }

  /** Attaches the named programs; on failure the ones already attached are detached. */
  attach(names: readonly string[]): void {
    for (const name of names) {
      const r = withLog(() => {
        const link = bpf.bpf_program__attach(this.prog(name));
        if (!link) throw lastErrno();
        return link;
      });
      if (r.error !== undefined) {
        this.detach();
        if (typeof r.error === 'number') {
          const e = classify('attach', r.error, r.log);
          throw new BpfError(e.kind, `${name}: ${e.message}`, e.errno, e.logTail);
        }
        throw r.error;
      }
      this.links.push(r.value);
    }
  }

  /** The kernel fd of a loaded program (for BPF stats). */
  programFd(name: string): number {
    return bpf.bpf_program__fd(this.prog(name));
  }

  /** A loaded map's fd and sizes. */
  map(name: string): MapInfo {
    const m = this.mapPtr(name);
    return {
      name,
      fd: this.track(bpf.bpf_map__fd(m)),
      keySize: bpf.bpf_map__key_size(m),
      valueSize: bpf.bpf_map__value_size(m),
      maxEntries: bpf.bpf_map__max_entries(m),
    };
  }

  private mapFds = new Set<number>();
  private track(fd: number): number {
    this.mapFds.add(fd);
    return fd;
  }

  /** Detaches every link; the object stays loaded. */
  detach(): void {
    for (const l of this.links.splice(0)) bpf.bpf_link__destroy(l);
  }

  /** Detaches and unloads everything; safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.detach();
    for (const fd of this.mapFds) releaseDumpBuffers(fd);
    bpf.bpf_object__close(this.obj);
  }
}
