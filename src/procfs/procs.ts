/**
 * Per-process readings from /proc for the process table: one entry per process (thread group)
 * with cumulative CPU ticks, RSS, state, threads and, where the kernel keeps it, run time and
 * run-queue wait from schedstat (the /proc-only run-queue wait when BPF is not available).
 *
 * Cheap enough for a 1 s refresh with thousands of processes: the files read every tick stay
 * open and are re-read with pread (one syscall instead of open+read+close); a single-threaded
 * process whose schedstat did not move is not re-read at all this tick (it did not run, so its
 * stat did not change either, except RSS and ppid, which are refreshed separately); cmdline,
 * cgroup and uid are read when a process is first seen and rarely after. schedstat (one file per
 * thread) is read only when the caller has no better source of run-queue waits.
 *
 * Strings are raw data: see decodeRaw() (every byte survives, JSON keeps them, screens escape).
 */
import fs from 'node:fs';
import os from 'node:os';
import { isUtf8 } from 'node:buffer';
import { parseUptime } from './system';

/** One process as read from /proc in one tick: cumulative counters, JSON-serializable. */
export interface ProcRaw {
  pid: number; // thread-group id
  ppid: number;
  uid: number; // effective uid (Uid: line of /proc/PID/status, 2nd field); -1 when unreadable
  comm: string; // raw (decodeRaw), at most 15 bytes in the kernel
  cmdline: string[]; // raw args; [] for kernel threads and zombies; trailing NUL padding dropped
  cgroup: string; // cgroup path (v2 "0::" line, else the most specific v1 path); '' when unreadable
  state: string; // one letter: R S D Z T t X I ...
  startTimeTicks: number; // start time after boot, clock ticks (clkTck per second)
  utimeTicks: number; // user CPU time of every thread, living and dead, clock ticks
  stimeTicks: number; // system CPU time of every thread, clock ticks
  rssPages: number; // resident set size, pages (pageSize bytes)
  threads: number;
  schedRunNs?: number; // on-CPU time of the threads from schedstat, ns, cumulative (see ProcCache)
  schedWaitNs?: number; // time runnable but waiting for a CPU (run_delay), ns, cumulative
}

/** What readProcs() returns each tick (the procs part of a Sample). */
export interface ProcsRaw {
  clkTck: number; // clock ticks per second of the *Ticks fields (USER_HZ)
  pageSize: number; // bytes per page of rssPages
  uptimeS: number; // seconds since boot when read (same clock as startTimeTicks)
  procs: ProcRaw[]; // ascending pid order as /proc lists them
}

/** Fields of /proc/PID/stat that the process table uses. */
export interface StatFields {
  pid: number;
  comm: string; // raw (decodeRaw)
  state: string;
  ppid: number;
  utimeTicks: number;
  stimeTicks: number;
  threads: number;
  startTimeTicks: number;
  rssPages: number;
}

// ---- raw strings ------------------------------------------------------------------------------

/**
 * Decodes bytes from the kernel without losing any: valid UTF-8 decodes as usual, and each byte
 * of an invalid sequence becomes the lone surrogate U+DC80 + (byte - 0x80) ("surrogateescape").
 * encodeRaw() gives the exact bytes back; JSON.stringify keeps lone surrogates as \udcXX.
 */
export function decodeRaw(buf: Buffer, start = 0, end = buf.length): string {
  let i = start;
  while (i < end && buf[i] < 0x80) i++;
  if (i === end) return buf.toString('latin1', start, end); // ASCII: the common case, fastest decoder
  const sub = buf.subarray(start, end);
  return isUtf8(sub) ? sub.toString('utf8') : decodeEscaped(sub);
}

/** Bytes of a string from decodeRaw(): UTF-8, with U+DC80..U+DCFF turned back into single bytes. */
export function encodeRaw(s: string): Buffer {
  const out: number[] = [];
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) out.push(cp);
    else if (cp >= 0xdc80 && cp <= 0xdcff) out.push(cp - 0xdc00);
    else for (const b of Buffer.from(ch, 'utf8')) out.push(b);
  }
  return Buffer.from(out);
}

// Well-formed UTF-8 per Unicode table 3-7 (no overlongs, surrogates or > U+10FFFF), the same set
// isUtf8() accepts, so a string decodes the same way whichever path it takes.
function decodeEscaped(b: Buffer): string {
  const units: number[] = [];
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    if (c < 0x80) {
      units.push(c);
      i++;
      continue;
    }
    let need = 0;
    let lo = 0x80;
    let hi = 0xbf;
    let cp = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      cp = c & 0x0f;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      cp = c & 0x07;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    }
    let ok = need > 0 && i + need < b.length;
    for (let k = 1; ok && k <= need; k++) {
      const x = b[i + k];
      if (x < (k === 1 ? lo : 0x80) || x > (k === 1 ? hi : 0xbf)) ok = false;
      else cp = (cp << 6) | (x & 0x3f);
    }
    if (!ok) {
      units.push(0xdc00 + c); // c >= 0x80, so U+DC80..U+DCFF
      i++;
    } else {
      if (cp > 0xffff) units.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
      else units.push(cp);
      i += need + 1;
    }
  }
  let s = '';
  for (let k = 0; k < units.length; k += 8192) s += String.fromCharCode(...units.slice(k, k + 8192));
  return s;
}

// ---- parsers (literal /proc contents in, fields out) ------------------------------------------

/**
 * Parses /proc/PID/stat. comm may hold spaces, ')' and any byte, so it is everything between
 * the first '(' and the last ')'; the fields after it are plain numbers. null when malformed.
 */
export function parseStat(buf: Buffer, len = buf.length): StatFields | null {
  const open = buf.indexOf(0x28);
  const close = len > 0 ? buf.lastIndexOf(0x29, len - 1) : -1;
  if (open < 1 || close < open || close + 2 >= len) return null;
  let pid = 0;
  for (let i = 0; i < open; i++) {
    const c = buf[i];
    if (c >= 0x30 && c <= 0x39) pid = pid * 10 + (c - 0x30);
  }
  const f: StatFields = { pid, comm: decodeRaw(buf, open + 1, close), state: '', ppid: 0, utimeTicks: 0, stimeTicks: 0, threads: 0, startTimeTicks: 0, rssPages: 0 };
  // Field numbers as in proc(5): 3 state, 4 ppid, 14 utime, 15 stime, 20 num_threads,
  // 22 starttime, 24 rss.
  let i = close + 2;
  let field = 3;
  for (; field <= 24 && i < len; field++) {
    if (field === 3) f.state = String.fromCharCode(buf[i]);
    else {
      let v = 0;
      let j = buf[i] === 0x2d ? i + 1 : i; // priority and nice may be negative; we only skip them
      for (let c = buf[j]; j < len && c >= 0x30 && c <= 0x39; c = buf[++j]) v = v * 10 + (c - 0x30);
      if (field === 4) f.ppid = v;
      else if (field === 14) f.utimeTicks = v;
      else if (field === 15) f.stimeTicks = v;
      else if (field === 20) f.threads = v;
      else if (field === 22) f.startTimeTicks = v;
      else if (field === 24) f.rssPages = v;
    }
    while (i < len && buf[i] !== 0x20 && buf[i] !== 0x0a) i++;
    i++;
  }
  return field > 24 ? f : null;
}

/** Parses /proc/PID/schedstat ("run_ns wait_ns timeslices"): [runNs, waitNs], or null. */
export function parseSchedstat(buf: Buffer, len = buf.length): [number, number] | null {
  const v: [number, number] = [0, 0];
  return parseSchedstatInto(v, buf, len) ? v : null;
}

// parseSchedstat without an allocation per call (it runs for every process every tick).
function parseSchedstatInto(v: number[], buf: Buffer, len: number): boolean {
  let i = 0;
  for (let k = 0; k < 2; k++) {
    const from = i;
    let x = 0;
    for (let c = buf[i]; i < len && c >= 0x30 && c <= 0x39; c = buf[++i]) x = x * 10 + (c - 0x30);
    if (i === from || i >= len || (buf[i] !== 0x20 && buf[i] !== 0x0a)) return false;
    v[k] = x;
    i++;
  }
  return true;
}

/**
 * Parses /proc/PID/cmdline into raw args. Trailing NULs are dropped: a process that rewrote its
 * title (setproctitle) pads the old argv area with them, and they are not arguments.
 */
export function parseCmdline(buf: Buffer): string[] {
  let end = buf.length;
  while (end > 0 && buf[end - 1] === 0) end--;
  const args: string[] = [];
  let from = 0;
  while (from < end) {
    let to = buf.indexOf(0, from);
    if (to < 0 || to > end) to = end;
    args.push(decodeRaw(buf, from, to));
    from = to + 1;
  }
  return args;
}

/**
 * The cgroup path from /proc/PID/cgroup: the v2 ("0::") path unless it is the root and a v1
 * hierarchy places the process deeper (hybrid setups), preferring name=systemd there.
 */
export function parseCgroup(text: string): string {
  let v2: string | null = null;
  let systemd: string | null = null;
  let v1: string | null = null;
  for (const line of text.split('\n')) {
    const a = line.indexOf(':');
    const b = a < 0 ? -1 : line.indexOf(':', a + 1);
    if (b < 0) continue;
    const path = line.slice(b + 1);
    const ctrl = line.slice(a + 1, b);
    if (line.slice(0, a) === '0' && ctrl === '') v2 = path;
    else if (ctrl === 'name=systemd') systemd = path;
    else if (v1 === null && path !== '/') v1 = path;
  }
  if (v2 !== null && v2 !== '/') return v2;
  if (systemd !== null && systemd !== '/') return systemd;
  return v1 ?? v2 ?? systemd ?? '';
}

/** The effective uid from /proc/PID/status ("Uid:\treal\teffective\tsaved\tfs"), or -1. */
export function parseStatusUid(text: string): number {
  const m = /(?:^|\n)Uid:[ \t]*\d+[ \t]+(\d+)/.exec(text);
  return m ? Number(m[1]) : -1;
}


// ---- clock tick rate and page size ------------------------------------------------------------

const AT_PAGESZ = 6;
const AT_CLKTCK = 17;
let clock: { clkTck: number; pageSize: number } | undefined;

/** USER_HZ (clock ticks per second in /proc times) and the page size in bytes, from the auxiliary vector. */
export function clockInfo(): { clkTck: number; pageSize: number } {
  if (clock) return clock;
  // The kernel hands both to every process in auxv (what sysconf() reads); 100 and 4096 are
  // the values on nearly every Linux when auxv cannot be read.
  clock = { clkTck: 100, pageSize: 4096 };
  try {
    const b = fs.readFileSync('/proc/self/auxv');
    const w = ['x64', 'arm64', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64el'].includes(process.arch) ? 8 : 4;
    const le = os.endianness() === 'LE';
    const word = (off: number) => (w === 8 ? Number(le ? b.readBigUInt64LE(off) : b.readBigUInt64BE(off)) : le ? b.readUInt32LE(off) : b.readUInt32BE(off));
    for (let off = 0; off + 2 * w <= b.length; off += 2 * w) {
      const type = word(off);
      if (type === 0) break;
      if (type === AT_CLKTCK && word(off + w) > 0) clock.clkTck = word(off + w);
      if (type === AT_PAGESZ && word(off + w) > 0) clock.pageSize = word(off + w);
    }
  } catch {
    /* keep the defaults */
  }
  return clock;
}

// ---- the reader -------------------------------------------------------------------------------

/** Options of a ProcCache (defaults suit a live 1 s refresh). */
export interface ProcCacheOptions {
  root?: string; // where proc is mounted (tests point it at a fake tree)
  maxFds?: number; // file descriptors kept open across ticks; beyond it files are opened per read
  maxThreadReads?: number; // per-thread schedstat reads per tick for multi-threaded processes
  schedstat?: boolean; // read run time / run-queue wait (default: when the kernel keeps them)
}

/** How old (s) a process must be before its cmdline/uid/cgroup are taken as settled. */
const SETTLE_S = 2;
/**
 * A process that did not run has its stat re-read every this many ticks anyway, for its RSS,
 * which reclaim, swap and shared pages change without it running: at most this old (s at 1 s
 * ticks) for a sleeping process. 30 rather than 10: with 500 sleeping processes, 17 stat reads
 * a tick instead of 50.
 */
export const STAT_REFRESH_TICKS = 30;

/**
 * When told that no process was created since the last listing (see ProcChurn), the reader
 * reuses that listing instead of reading the /proc directory (~1 ms a tick with 600 processes),
 * but lists it anyway every this many ticks.
 */
export const LISTING_REFRESH_TICKS = 10;

/**
 * A count that changes whenever a process (thread group) is created, from a source cheaper than
 * listing /proc (the process-event probe counts every fork). Equal values at two ticks mean that
 * /proc lists no process it did not list before; one that ended since fails its read and is
 * dropped. null means unknown.
 */
export type ProcChurn = number | null;
/** cmdline, cgroup and uid are re-read every this many ticks (setproctitle, setuid, migration). */
const STATIC_REFRESH_TICKS = 300;

const NO_STAT: StatFields = { pid: 0, comm: '', state: '', ppid: 0, utimeTicks: 0, stimeTicks: 0, threads: 0, startTimeTicks: 0, rssPages: 0 };

interface Thread {
  fd: number; // kept-open schedstat, or -1
  runNs: number; // last reading; -1 before the first
  waitNs: number;
}

interface Entry {
  pid: number;
  stat: StatFields;
  statFd: number; // kept-open /proc/PID/stat, or -1
  statTick: number; // tick of the last stat read
  seen: number; // tick the pid was last listed
  cmdline: string[];
  cgroup: string;
  uid: number;
  settled: boolean; // static fields read when the process was at least SETTLE_S old
  staticTick: number; // tick of the last static read
  recheckTick: number; // read the static fields again up to this tick (after an exec)
  threads: Map<number, Thread>; // by tid
  schedOk: boolean; // schedstat readable for this process
  schedTick: number; // tick of the last schedstat read; 0 = never
  accRunNs: number; // monotonic sums, see readThreads()
  accWaitNs: number;
}

/**
 * State kept between readProcs() calls: open files, per-process static fields (keyed by pid and
 * start time, so a reused pid is a new process), per-thread schedstat readings. Call close() to
 * release the file descriptors.
 */
export class ProcCache {
  readonly root: string;
  readonly clkTck: number;
  readonly pageSize: number;
  private entries = new Map<number, Entry>();
  private buf = Buffer.allocUnsafe(4096);
  private keptFd = -1; // fd to keep after readKept/readNew, or -1
  private sched = [0, 0]; // parseSchedstatInto's output
  private openFds = 0;
  private readonly maxFds: number;
  private readonly maxThreadReads: number;
  private readonly schedstat: boolean;
  private uptimeFd = -1;
  private tick = 0;
  private schedOn = true; // schedstat read at the last tick (see read's `schedstat`)
  private ran: RanHint | null = null;
  private pids: number[] | null = null; // the last listing of /proc
  private listedChurn: ProcChurn = null; // the churn count read before it
  /** Processes not read at the last tick because they did not run (see idle()). */
  skipped = 0;
  /** Ticks that reused the last listing of /proc instead of reading the directory. */
  listingsReused = 0;

  constructor(opts: ProcCacheOptions = {}) {
    this.root = opts.root ?? '/proc';
    ({ clkTck: this.clkTck, pageSize: this.pageSize } = clockInfo());
    this.maxFds = opts.maxFds ?? Math.min(16384, Math.floor(fdLimit() / 2));
    this.maxThreadReads = opts.maxThreadReads ?? 2048;
    this.schedstat = opts.schedstat ?? schedstatKept(this.root);
  }

  /** Reads every process once (see readProcs). */
  read(ran?: RanHint | null, churn: ProcChurn = null, schedstat = true): ProcsRaw {
    const tick = ++this.tick;
    this.ran = ran ?? null;
    this.skipped = 0;
    const sched = this.schedstat && schedstat;
    // Off now after being on: forget every baseline (and its fds), so that when it comes back
    // the first reading of each process is a new baseline, not a jump over the ticks between.
    if (!sched && this.schedOn) for (const e of this.entries.values()) this.forgetSched(e);
    this.schedOn = sched;
    let uptimeS = 0;
    const n = this.uptimeFd >= 0 ? this.readKept(this.uptimeFd) : this.readNew(`${this.root}/uptime`);
    this.uptimeFd = this.keptFd;
    if (n > 0) uptimeS = parseUptime(this.buf, n);

    // The churn count is read before the listing it vouches for: a process born after that read
    // changes the next count, so the directory is read again then.
    let pids = this.pids;
    if (pids === null || churn === null || churn !== this.listedChurn || tick % LISTING_REFRESH_TICKS === 0) {
      let names: string[];
      try {
        names = fs.readdirSync(this.root);
      } catch {
        names = [];
      }
      pids = [];
      for (const name of names) {
        const c = name.charCodeAt(0);
        if (c >= 0x30 && c <= 0x39) pids.push(Number(name));
      }
      this.pids = pids;
      this.listedChurn = churn;
    } else {
      this.listingsReused++;
    }
    // Indexed loops over the per-process lists here: this runs every tick, mostly in V8's
    // baseline tiers, where for-of allocates an iterator result per step.
    const order: Entry[] = [];
    const multi: Entry[] = [];
    for (let i = 0; i < pids.length; i++) {
      const pid = pids[i];
      let e = this.entries.get(pid);
      if (e && !this.update(e, tick)) {
        this.drop(e); // gone, or the pid now names another process: start afresh
        e = undefined;
      }
      if (!e) e = this.create(pid, tick, uptimeS);
      if (!e) continue; // vanished between readdir and read
      e.seen = tick;
      order.push(e);
      if (sched && e.schedOk && (e.stat.threads !== 1 || e.schedTick === 0 || !e.threads.has(pid) || e.threads.size !== 1) && !(e.statTick < tick && this.idle(e, tick))) multi.push(e);
    }

    // A parent that exited leaves its children with a new ppid that a skipped stat read missed.
    for (let i = 0; i < order.length; i++) {
      const e = order[i];
      if (e.statTick === tick || e.stat.ppid === 0 || this.entries.get(e.stat.ppid)?.seen === tick) continue;
      const start = e.stat.startTimeTicks;
      if (!this.readStat(e, tick) || e.stat.startTimeTicks !== start) e.seen = 0; // gone: dropped below
    }

    // Multi-threaded processes: one schedstat per thread. Stalest first, so under the budget
    // every process is read in turn; what a skipped tick misses is counted at the next read.
    multi.sort((a, b) => a.schedTick - b.schedTick);
    let budget = this.maxThreadReads;
    for (let i = 0; i < multi.length && budget > 0; i++) {
      budget -= this.readThreads(multi[i], tick);
    }

    for (let i = 0; i < order.length; i++) {
      const e = order[i];
      if (e.seen !== tick || e.staticTick === tick) continue;
      if (!e.settled || tick <= e.recheckTick || (tick + e.pid) % STATIC_REFRESH_TICKS === 0) this.readStatic(e, uptimeS, tick);
    }

    const procs: ProcRaw[] = [];
    for (let i = 0; i < order.length; i++) {
      const e = order[i];
      if (e.seen !== tick) continue;
      const s = e.stat;
      const p: ProcRaw = {
        pid: e.pid,
        ppid: s.ppid,
        uid: e.uid,
        comm: s.comm,
        cmdline: e.cmdline,
        cgroup: e.cgroup,
        state: s.state,
        startTimeTicks: s.startTimeTicks,
        utimeTicks: s.utimeTicks,
        stimeTicks: s.stimeTicks,
        rssPages: s.rssPages,
        threads: s.threads,
      };
      if (e.schedTick > 0) {
        p.schedRunNs = e.accRunNs;
        p.schedWaitNs = e.accWaitNs;
      }
      procs.push(p);
    }
    this.entries.forEach((e) => {
      if (e.seen !== tick) this.drop(e);
    });
    return { clkTck: this.clkTck, pageSize: this.pageSize, uptimeS, procs };
  }

  /** Closes every kept file descriptor and forgets every process. */
  close(): void {
    for (const e of this.entries.values()) this.drop(e);
    this.closeFd(this.uptimeFd);
    this.uptimeFd = -1;
  }

  /** Number of file descriptors kept open now (for tests and the status view). */
  keptFds(): number {
    return this.openFds;
  }

  // First sight of a pid: stat, static fields, and the leader's schedstat baseline.
  private create(pid: number, tick: number, uptimeS: number): Entry | undefined {
    const e: Entry = {
      pid,
      stat: NO_STAT,
      statFd: -1,
      statTick: 0,
      seen: tick,
      cmdline: [],
      cgroup: '',
      uid: -1,
      settled: false,
      staticTick: 0,
      recheckTick: 0,
      threads: new Map(),
      schedOk: this.schedstat,
      schedTick: 0,
      accRunNs: 0,
      accWaitNs: 0,
    };
    if (!this.readStat(e, tick)) {
      this.drop(e);
      return undefined;
    }
    this.entries.set(pid, e);
    this.readStatic(e, uptimeS, tick);
    if (this.schedOn && e.schedOk && e.stat.threads === 1) this.readLeaderSched(e, tick);
    return e;
  }

  // True when the process certainly did not run since the last tick (the hint says so, and it
  // was not runnable then), and this is not its periodic refresh: nothing of it can have changed
  // but RSS and ppid, which the refresh and the orphan check below catch up with. A reused pid
  // is a new process, which has run, so it is never idle.
  private idle(e: Entry, tick: number): boolean {
    return this.ran !== null && e.statTick > 0 && e.stat.state !== 'R' && (tick + e.pid) % STAT_REFRESH_TICKS !== 0 && !this.ran.ran(e.pid);
  }

  // Refreshes a known pid; false when it is gone or the pid was reused.
  private update(e: Entry, tick: number): boolean {
    if (this.idle(e, tick)) {
      this.skipped++;
      return true;
    }
    if (this.schedOn && e.schedOk && e.stat.threads === 1 && e.threads.size === 1 && e.threads.has(e.pid)) {
      const moved = this.readLeaderSched(e, tick);
      // Not run since the last tick: CPU times, state, comm and threads cannot have changed.
      if (moved === false && (tick + e.pid) % STAT_REFRESH_TICKS !== 0) return true;
    }
    const start = e.stat.startTimeTicks;
    const comm = e.stat.comm;
    if (!this.readStat(e, tick) || e.stat.startTimeTicks !== start) return false;
    // exec (or a rename): cmdline and uid may be new now, and the new program may still set
    // its title, so look now and at the next tick. Not for kernel threads (children of kthreadd):
    // a kworker's name follows the workqueue it serves, several times a second, and it has no
    // command line, user or cgroup to change.
    if (e.stat.comm !== comm && !isKernelThread(e.pid, e.stat.ppid)) e.recheckTick = tick + 1;
    return true;
  }

  private readStat(e: Entry, tick: number): boolean {
    const n = e.statFd >= 0 ? this.readKept(e.statFd) : this.readNew(`${this.root}/${e.pid}/stat`);
    e.statFd = this.keptFd;
    const s = n > 0 ? parseStat(this.buf, n) : null;
    if (!s) return false;
    e.stat = s;
    e.statTick = tick;
    return true;
  }

  // Reads one thread's schedstat into the process sums: whether it moved since the last
  // reading, or undefined when it cannot be read (the thread is gone).
  private readThread(e: Entry, tid: number, t: Thread): boolean | undefined {
    const n = t.fd >= 0 ? this.readKept(t.fd) : this.readNew(`${this.root}/${e.pid}/task/${tid}/schedstat`);
    t.fd = this.keptFd;
    if (n <= 0 || !parseSchedstatInto(this.sched, this.buf, n)) {
      this.closeFd(t.fd);
      e.threads.delete(tid);
      return undefined;
    }
    const runNs = this.sched[0];
    const waitNs = this.sched[1];
    const moved = runNs !== t.runNs || waitNs !== t.waitNs;
    // A thread not seen before adds everything it has: it was born since the last reading, or
    // this is the process's first. Keeping sums rather than adding up the live threads each
    // tick means that a thread's exit does not make the process's counters drop.
    if (t.runNs < 0) {
      e.accRunNs += runNs;
      e.accWaitNs += waitNs;
    } else {
      e.accRunNs += Math.max(0, runNs - t.runNs);
      e.accWaitNs += Math.max(0, waitNs - t.waitNs);
    }
    t.runNs = runNs;
    t.waitNs = waitNs;
    return moved;
  }

  // Single-threaded path: the leader's schedstat is the whole process. Returns whether it moved,
  // or undefined when it could not be read (schedstat is then given up for this process).
  private readLeaderSched(e: Entry, tick: number): boolean | undefined {
    let t = e.threads.get(e.pid);
    if (!t) e.threads.set(e.pid, (t = { fd: -1, runNs: -1, waitNs: 0 }));
    const moved = this.readThread(e, e.pid, t);
    if (moved === undefined) e.schedOk = false;
    else e.schedTick = tick;
    return moved;
  }

  // Multi-threaded path: every thread's schedstat. Returns the number of files read.
  private readThreads(e: Entry, tick: number): number {
    if (e.threads.size !== e.stat.threads) this.scanThreads(e);
    let reads = 0;
    let lost = false;
    for (const [tid, t] of e.threads) {
      reads++;
      if (this.readThread(e, tid, t) === undefined) lost = true;
    }
    // A thread ended; others may have started with the count unchanged: look once more.
    if (lost) {
      for (const [tid, t] of this.scanThreads(e)) {
        reads++;
        this.readThread(e, tid, t);
      }
    }
    e.schedTick = tick;
    return reads;
  }

  // Brings the thread map in line with /proc/PID/task; returns the threads that were added.
  private scanThreads(e: Entry): Map<number, Thread> {
    const added = new Map<number, Thread>();
    let tids: string[];
    try {
      tids = fs.readdirSync(`${this.root}/${e.pid}/task`);
    } catch {
      return added;
    }
    const live = new Set(tids.map(Number));
    for (const [tid, t] of e.threads) {
      if (live.has(tid)) continue;
      this.closeFd(t.fd);
      e.threads.delete(tid);
    }
    for (const tid of live) {
      if (e.threads.has(tid) || !Number.isInteger(tid)) continue;
      const t = { fd: -1, runNs: -1, waitNs: 0 };
      e.threads.set(tid, t);
      added.set(tid, t);
    }
    return added;
  }

  // cmdline, cgroup and uid: read once, again while the process is young (a fresh fork may
  // not have exec'd or called setuid/setproctitle yet), after an exec, and now and then.
  private readStatic(e: Entry, uptimeS: number, tick: number): void {
    const dir = `${this.root}/${e.pid}`;
    // On failure (vanished, or not ours to read) the previous values stay.
    let n = this.readOnce(`${dir}/cmdline`);
    if (n >= 0) e.cmdline = parseCmdline(this.buf.subarray(0, n));
    n = this.readOnce(`${dir}/cgroup`);
    if (n >= 0) e.cgroup = parseCgroup(decodeRaw(this.buf, 0, n));
    n = this.readOnce(`${dir}/status`);
    const uid = n > 0 ? parseStatusUid(this.buf.toString('latin1', 0, n)) : -1;
    if (uid >= 0) e.uid = uid;
    e.staticTick = tick;
    e.settled = uptimeS <= 0 || uptimeS - e.stat.startTimeTicks / this.clkTck >= SETTLE_S;
  }

  // Re-reads a kept-open file into this.buf (pread at 0 makes proc generate it afresh) and
  // sets keptFd to it; on failure (its process is gone) closes it, keptFd = -1, returns -1.
  private readKept(fd: number): number {
    const n = this.pread(fd);
    if (n < 0) {
      this.closeFd(fd);
      this.keptFd = -1;
    } else this.keptFd = fd;
    return n;
  }

  // Opens and reads a file into this.buf; keeps it open in keptFd while the fd budget allows
  // (else closes it, keptFd = -1). Returns the length, or -1.
  private readNew(path: string): number {
    this.keptFd = -1;
    let fd: number;
    try {
      fd = fs.openSync(path, 'r');
    } catch {
      return -1;
    }
    const n = this.pread(fd);
    if (n >= 0 && this.openFds < this.maxFds) {
      this.openFds++;
      this.keptFd = fd;
    } else fs.closeSync(fd);
    return n;
  }

  // Reads a file that is not kept open into this.buf; -1 on failure.
  private readOnce(path: string): number {
    let fd: number;
    try {
      fd = fs.openSync(path, 'r');
    } catch {
      return -1;
    }
    const n = this.pread(fd);
    fs.closeSync(fd);
    return n;
  }

  private pread(fd: number): number {
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(fd, this.buf, 0, this.buf.length, 0);
      } catch {
        return -1;
      }
      if (n < this.buf.length) return n;
      this.buf = Buffer.allocUnsafe(this.buf.length * 2); // proc files are generated whole: read again
    }
  }

  private closeFd(fd: number): void {
    if (fd < 0) return;
    this.openFds--;
    try {
      fs.closeSync(fd);
    } catch {
      /* already closed */
    }
  }

  // Closes a process's schedstat files and forgets its readings: no sums until read afresh.
  private forgetSched(e: Entry): void {
    for (const t of e.threads.values()) this.closeFd(t.fd);
    e.threads.clear();
    e.schedTick = 0;
    e.accRunNs = 0;
    e.accWaitNs = 0;
  }

  private drop(e: Entry): void {
    this.closeFd(e.statFd);
    e.statFd = -1;
    this.forgetSched(e);
    if (this.entries.get(e.pid) === e) this.entries.delete(e.pid);
  }
}

// The soft RLIMIT_NOFILE (node raises it to the hard limit at startup).
function fdLimit(): number {
  try {
    const line = fs.readFileSync('/proc/self/limits', 'latin1').split('\n').find((l) => l.startsWith('Max open files'));
    const v = Number(line?.split(/\s+/)[3]);
    if (v > 0) return v;
  } catch {
    /* below */
  }
  return 1024;
}

// Without CONFIG_SCHED_INFO the kernel prints "0 0 0" for every task; a running task (this
// one) has arrived on a CPU at least once, so its third field is non-zero when data is kept.
function schedstatKept(root: string): boolean {
  try {
    const f = fs.readFileSync(`${root}/${process.pid}/schedstat`, 'latin1').trim().split(' ');
    return Number(f[2]) > 0 || Number(f[0]) > 0;
  } catch {
    return false;
  }
}

/**
 * Which processes ran since the previous readProcs(), from a source cheaper than /proc (the
 * run-queue probe sees every process switched in). ran(pid) false means "certainly not run":
 * its schedstat and stat are then not read at all this tick.
 */
export interface RanHint {
  ran(pid: number): boolean;
}

/** kthreadd (pid 2) and its children are kernel threads. */
function isKernelThread(pid: number, ppid: number): boolean {
  return pid === 2 || ppid === 2;
}

/**
 * Reads every process (thread group) in /proc once: one ProcRaw each, cumulative counters.
 * Processes that vanish while being read are left out. `cache` carries state between calls.
 * With a RanHint, processes that did not run are not read (see ProcCache.idle). With a churn
 * count equal to the one read before the last listing, that listing is reused (see ProcChurn).
 * With `schedstat` false, no schedstat file is read (the run-queue probe measures the waits):
 * schedRunNs and schedWaitNs are left out, and once it is true again every process's sums start
 * afresh (from its lifetime totals, which buildProcs does not take as one interval's).
 */
export function readProcs(cache: ProcCache, ran?: RanHint | null, churn: ProcChurn = null, schedstat = true): ProcsRaw {
  return cache.read(ran, churn, schedstat);
}
