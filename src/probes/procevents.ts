/**
 * procevents probe: every process fork, exec and exit through a BPF ring buffer
 * (bpf/procevents.bpf.c) — the processes that live a few ms and that /proc sampling never sees.
 *
 * The kernel submits records without waking anyone; a timer here drains the ring every
 * DRAIN_MS, and read() hands over what was drained since the last read. An exit is handed over
 * once the record of its free (with the final CPU time, see bpf/procevents.bpf.c) has joined it,
 * or after EXIT_HOLD_MS with the CPU time read at exit.
 */
import { struct, offsetOf } from '../bpf/layout';
import { lookupPercpu, u64 } from '../bpf/maps';
import { bpf, lastErrno, registerRingCallback, strerror, Ptr } from '../bpf/libbpf';
import { RingReader } from '../bpf/ring';
import type { ProbeSpec } from './types';

const COMM_LEN = 16;
const FILENAME_LEN = 256;
const ARGS_LEN = 256;

/** struct pe_event (bpf/procevents.h): a fork or exit record, and the head of an exec record. */
export const PE_EVENT = struct('pe_event', [
  { name: 'ts_ns', type: 'u64' },
  { name: 'cgroup_id', type: 'u64' },
  { name: 'lifetime_ns', type: 'u64' },
  { name: 'cpu_ns', type: 'u64' },
  { name: 'pid', type: 'u32' },
  { name: 'tid', type: 'u32' },
  { name: 'ppid', type: 'u32' },
  { name: 'uid', type: 'u32' },
  { name: 'exit_code', type: 's32' },
  { name: 'flags', type: 'u16' },
  { name: 'kind', type: 'u8' },
  { name: 'pad', type: 'u8' },
  { name: 'comm', type: 'char', count: COMM_LEN },
  { name: 'pcomm', type: 'char', count: COMM_LEN },
]);

/** struct pe_exec (bpf/procevents.h): an exec record. */
export const PE_EXEC = struct('pe_exec', [
  { name: 'h', type: PE_EVENT },
  { name: 'filename_len', type: 'u32' },
  { name: 'args_len', type: 'u32' },
  { name: 'filename', type: 'char', count: FILENAME_LEN },
  { name: 'args', type: 'char', count: ARGS_LEN },
]);

/** struct pe_stats (bpf/procevents.h): cumulative per-CPU counters. */
export const PE_STATS = struct('pe_stats', [
  { name: 'events', type: 'u64', count: 4 },
  { name: 'lost', type: 'u64', count: 4 },
  { name: 'thread_forks', type: 'u64' },
  { name: 'thread_exits', type: 'u64' },
  { name: 'exiting_full', type: 'u64' },
]);

/** enum pe_kind (bpf/procevents.h), indexed by its value; 'freed' completes an 'exit'. */
export const PE_KINDS = ['fork', 'exec', 'exit', 'freed'] as const;

/** pe_event.flags bits (bpf/procevents.h). */
export const PE_F_ARGS_TRUNC = 1;
/** pe_event.flags: at exit, more threads than the kernel sums (the CPU time at exit is low). */
export const PE_F_THREADS_TRUNC = 2;

/** How often the ring is drained while records arrive, ms. */
export const DRAIN_MS = 100;
/**
 * While the ring stays empty the drain interval doubles up to this, ms. Reads (every tick) that
 * come at least this often take the timer's place while few records arrive (drainAfterRead):
 * on an idle machine at 1 s ticks no timer is set, and probetop wakes once a second instead of
 * eleven times (a wakeup costs ~0.2-0.3 ms of CPU in the test VM). Rarer reads push the next
 * drain this long plus DRAIN_MS away. The first records after a quiet spell wait at most this
 * long plus DRAIN_MS; the 4 MiB ring holds ~4,600 processes' records (a fork/exec storm on the
 * 2-CPU test VM spawns ~1,200 a second), and the interval goes back to DRAIN_MS at once.
 */
export const DRAIN_IDLE_MAX_MS = 1000;

/** The next drain interval after a drain that saw `records` records (see DRAIN_IDLE_MAX_MS). */
export function nextDrainMs(currentMs: number, records: number): number {
  return records > 0 ? DRAIN_MS : Math.min(DRAIN_IDLE_MAX_MS, currentMs * 2);
}

/**
 * Records since the previous read() (drained by it or by the timer) from which the timer drains
 * every DRAIN_MS again. Fewer than this a tick (~64 processes a second) fill the ring's ~18,000
 * records in minutes, and the reads alone drain it.
 */
export const DRAIN_CHAIN_RECORDS = 256;

/**
 * What a read() does with the drain timer, given the records since the previous read, the time
 * since it (Infinity at the first), and the timer's interval:
 * - 'chain': records arrive fast: drain every DRAIN_MS from now;
 * - 'park': reads come at least as often as idle drains would (a gap up to a quarter over
 *   DRAIN_IDLE_MAX_MS): no timer; the reads drain. A timer pushed further at every read would
 *   still wake the process at each old expiry (node never re-arms its timer later): at 1 s ticks
 *   that was a second wakeup a second, ~0.2 ms of CPU each here;
 * - 'idle': reads are rarer than that (`-i` above ~1.2 s): drain DRAIN_MS after the interval
 *   (the timer keeps the ring drained between reads);
 * - 'keep': leave the timer as it is (records came, fewer than the chain needs, reads rare).
 */
export function drainAfterRead(records: number, gapMs: number, intervalMs: number): 'chain' | 'park' | 'idle' | 'keep' {
  if (records >= DRAIN_CHAIN_RECORDS) return 'chain';
  if (gapMs <= DRAIN_IDLE_MAX_MS * 1.25) return 'park';
  return records === 0 && intervalMs >= DRAIN_IDLE_MAX_MS ? 'idle' : 'keep';
}
/**
 * At most this many records are decoded per drain. The callback then asks libbpf to stop, which
 * leaves the rest in the ring once registerRingCallback passes its return value through; until
 * then the rest are counted as budget drops.
 */
export const DRAIN_BUDGET = 50_000;
/** At most this many decoded events wait for read(); more count as budget drops. */
export const PENDING_MAX = 100_000;
/** Exec details (path, args) kept per live process, so that its exit can show them. */
export const EXEC_INFO_MAX = 32_768;
/** How long an exit waits for its free record (the parent reaping it) before it is handed over. */
export const EXIT_HOLD_MS = 2_000;
/** At most this many exits wait for their free record; the oldest go first beyond. */
export const EXIT_HOLD_MAX = 50_000;

/** A process event kind. */
export type ProcEventKind = 'fork' | 'exec' | 'exit';

/** One decoded fork, exec or exit. Strings keep undecodable bytes as U+DC80+byte (see decodeBytes). */
export interface ProcEvent {
  kind: ProcEventKind;
  ts: number; // wall clock, ms since the epoch (µs resolution)
  pid: number; // process id
  tid: number; // fork: = pid; exec: the thread that called execve; exit: the last thread
  ppid: number;
  uid: number;
  comm: string;
  parentComm: string;
  cgroupId: number;
  filename?: string; // exec: the path given to execve; exit: of the exec seen for this pid
  args?: string[]; // exec (and exit, as for filename): argv, at most 256 bytes of it
  argsTruncated?: boolean;
  exitCode?: number | null; // exit: the status passed to exit(), null when killed by a signal
  signal?: number; // exit: the signal that killed it, 0 for a normal exit
  coreDumped?: boolean;
  lifetimeNs?: number; // exit: since the process was forked, ns
  cpuNs?: number; // exit: CPU time of all its threads, user + system, ns
  cpuAtExit?: boolean; // exit: cpuNs as read at exit, without the exit path itself (not reaped in time)
}

/** The record of a freed process: its final CPU time (joined to its exit by pid). */
export interface FreedRecord {
  kind: 'freed';
  pid: number;
  cpuNs: number;
}

/** Cumulative kernel counters (since load). */
export interface ProceventsCounts {
  fork: number; // process forks seen (including lost records)
  exec: number;
  exit: number; // process exits (last thread) seen
  freed: number; // processes freed after being reaped
  threadFork: number; // new threads (counted, not reported)
  threadExit: number; // threads that exited while others lived on (counted, not reported)
  exitingFull: number; // tracepoint variant: exits whose free could not be matched (map full)
}

/** What the procevents probe reports each tick. */
export interface ProceventsRaw {
  events: ProcEvent[]; // since the last read, as completed (an exit waits for its free record)
  counts: ProceventsCounts; // cumulative
  lost: number; // cumulative: records the kernel could not put in the full ring
  lostByKind: Record<(typeof PE_KINDS)[number], number>; // cumulative
  budgetDrops: number; // cumulative: records drained but dropped by the user-space budget
  cpuAtExit: number; // cumulative: exits handed over without their free record (zombies, lost)
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Bytes from the kernel as a string, losslessly: valid UTF-8 is decoded, each byte of an
 * invalid sequence becomes the lone surrogate U+DC80+byte (Python's "surrogateescape"), which
 * survives JSON and lets screens show it as \xNN. Control characters are kept as they are.
 */
export function decodeBytes(b: Uint8Array): string {
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length);
  // Fast path, one native call: valid UTF-8 decodes without a replacement character.
  const s = buf.toString('utf8');
  if (!s.includes('\ufffd')) return s;
  let out = '';
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    const n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n === 1) {
      out += String.fromCharCode(c);
      i++;
      continue;
    }
    if (n > 0 && i + n <= b.length) {
      try {
        out += utf8.decode(b.subarray(i, i + n));
        i += n;
        continue;
      } catch {
        /* an invalid sequence: escape its first byte and resync */
      }
    }
    out += String.fromCharCode(0xdc00 + c);
    i++;
  }
  return out;
}

/** The text of bytes [start, end) of `buf` (decodeBytes without a copy on the fast path). */
function decodeRange(buf: Buffer, start: number, end: number): string {
  const s = buf.toString('utf8', start, end);
  return s.includes('\ufffd') ? decodeBytes(buf.subarray(start, end)) : s;
}

/** A NUL-terminated field of `len` bytes at `off`, up to its NUL (or its end). */
function cfield(buf: Buffer, off: number, len: number): string {
  const nul = buf.indexOf(0, off);
  return decodeRange(buf, off, nul < 0 || nul > off + len ? off + len : nul);
}

/**
 * Splits a NUL-separated argument area into arguments, empty ones kept. `complete`: the area
 * is whole and ends with the last argument's NUL; otherwise it was cut inside an argument.
 */
export function splitArgs(area: Buffer, complete: boolean): string[] {
  if (area.length === 0) return [];
  const end = complete && area[area.length - 1] === 0 ? area.length - 1 : area.length;
  const args: string[] = [];
  let start = 0;
  for (;;) {
    const nul = area.indexOf(0, start);
    if (nul < 0 || nul >= end) break;
    args.push(decodeRange(area, start, nul));
    start = nul + 1;
  }
  // The rest: the last argument, or the cut-off start of one (nothing, when cut at a NUL).
  if (complete || start < end) args.push(decodeRange(area, start, end));
  return args;
}

const O = {
  ts: offsetOf(PE_EVENT, 'ts_ns'),
  cgroup: offsetOf(PE_EVENT, 'cgroup_id'),
  life: offsetOf(PE_EVENT, 'lifetime_ns'),
  cpu: offsetOf(PE_EVENT, 'cpu_ns'),
  pid: offsetOf(PE_EVENT, 'pid'),
  tid: offsetOf(PE_EVENT, 'tid'),
  ppid: offsetOf(PE_EVENT, 'ppid'),
  uid: offsetOf(PE_EVENT, 'uid'),
  code: offsetOf(PE_EVENT, 'exit_code'),
  flags: offsetOf(PE_EVENT, 'flags'),
  kind: offsetOf(PE_EVENT, 'kind'),
  comm: offsetOf(PE_EVENT, 'comm'),
  pcomm: offsetOf(PE_EVENT, 'pcomm'),
  fnLen: offsetOf(PE_EXEC, 'filename_len'),
  argsLen: offsetOf(PE_EXEC, 'args_len'),
  fn: offsetOf(PE_EXEC, 'filename'),
  args: offsetOf(PE_EXEC, 'args'),
};

const S = {
  events: offsetOf(PE_STATS, 'events'),
  lost: offsetOf(PE_STATS, 'lost'),
  threadForks: offsetOf(PE_STATS, 'thread_forks'),
  threadExits: offsetOf(PE_STATS, 'thread_exits'),
  exitingFull: offsetOf(PE_STATS, 'exiting_full'),
};

/**
 * Decodes one ring record; `monoToWallMs` converts CLOCK_MONOTONIC ms to wall-clock ms.
 * Returns null for a record too short for its kind.
 */
export function decodeRecord(d: Buffer, monoToWallMs: number): ProcEvent | FreedRecord | null {
  if (d.length < PE_EVENT.size) return null;
  const kind = PE_KINDS[d.readUInt8(O.kind)];
  if (!kind) return null;
  if (kind === 'freed') return { kind, pid: d.readUInt32LE(O.pid), cpuNs: u64(d, O.cpu) };
  const ev: ProcEvent = {
    kind,
    ts: u64(d, O.ts) / 1e6 + monoToWallMs,
    pid: d.readUInt32LE(O.pid),
    tid: d.readUInt32LE(O.tid),
    ppid: d.readUInt32LE(O.ppid),
    uid: d.readUInt32LE(O.uid),
    comm: cfield(d, O.comm, COMM_LEN),
    parentComm: cfield(d, O.pcomm, COMM_LEN),
    cgroupId: u64(d, O.cgroup),
  };
  const flags = d.readUInt16LE(O.flags);
  if (kind === 'exec') {
    if (d.length < PE_EXEC.size) return null;
    const fnLen = Math.min(d.readUInt32LE(O.fnLen), FILENAME_LEN);
    const argsLen = Math.min(d.readUInt32LE(O.argsLen), ARGS_LEN);
    ev.filename = cfield(d, O.fn, fnLen);
    const truncated = (flags & PE_F_ARGS_TRUNC) !== 0;
    ev.args = splitArgs(d.subarray(O.args, O.args + argsLen), !truncated);
    if (truncated) ev.argsTruncated = true;
  } else if (kind === 'exit') {
    const status = d.readInt32LE(O.code);
    const sig = status & 0x7f;
    ev.exitCode = sig ? null : (status >> 8) & 0xff;
    ev.signal = sig;
    if (status & 0x80) ev.coreDumped = true;
    ev.lifetimeNs = u64(d, O.life);
    ev.cpuNs = u64(d, O.cpu);
  }
  return ev;
}

/** What an exec said about a process, kept until its exit (insertion order = age). */
interface ExecInfo {
  filename: string;
  args: string[];
  argsTruncated?: boolean;
}

/** The wall-clock ms at CLOCK_MONOTONIC 0 (libuv's hrtime is CLOCK_MONOTONIC, as bpf_ktime_get_ns). */
function monoToWallMs(): number {
  return Date.now() - Number(process.hrtime.bigint()) / 1e6;
}

/** Process events probe definition. */
export const procevents: ProbeSpec<ProceventsRaw> = {
  name: 'procevents',
  title: 'process fork/exec/exit',
  object: 'procevents.bpf.o',
  layouts: [PE_EVENT, PE_EXEC, PE_STATS],
  variants: [
    {
      name: 'tp_btf',
      programs: ['pe_fork_btf', 'pe_exec_btf', 'pe_exit_btf', 'pe_free_btf'],
      requires: (f) =>
        !f.btf ? 'no kernel BTF' : f.hasBtfType('btf_trace_sched_process_exec') ? null : 'no BTF tracepoint sched_process_exec',
    },
    {
      name: 'raw_tp',
      programs: ['pe_fork_raw', 'pe_exec_raw', 'pe_exit_raw', 'pe_free_raw'],
      requires: (f) => (f.btf ? null : 'no kernel BTF (CO-RE needs /sys/kernel/btf/vmlinux)'),
    },
    {
      name: 'tracepoint',
      programs: ['pe_fork_tp', 'pe_exec_tp', 'pe_exit_tp', 'pe_free_tp'],
      requires: (f) =>
        !f.btf
          ? 'no kernel BTF (CO-RE needs /sys/kernel/btf/vmlinux)'
          : !f.tracefs
            ? 'no tracefs (classic tracepoints need it mounted)'
            : !['sched_process_exec', 'sched_process_exit', 'sched_process_free'].every((t) => f.hasTracepoint('sched', t)) ||
                !f.hasTracepoint('task', 'task_newtask')
              ? 'no tracepoints sched:sched_process_{exec,exit,free} / task:task_newtask'
              : null,
    },
  ],
  bind(obj, variant) {
    const ringMap = obj.map('pe_ring');
    const statsMap = obj.map('pe_stats');
    const zeroKey = Buffer.alloc(4);
    const execInfo = new Map<number, ExecInfo>();
    // Exits waiting for their free record, by pid, oldest first (Map keeps insertion order).
    const held = new Map<number, { ev: ProcEvent; until: number }>();
    let pending: ProcEvent[] = [];
    let budgetDrops = 0;
    let cpuAtExit = 0;
    let budget = 0;
    let wallOffset = monoToWallMs();
    let drainError: Error | undefined;
    // The per-CPU counters summed (pe_stats); found is false when the map has no entry.
    const readStats = () => {
      const counts: ProceventsCounts = { fork: 0, exec: 0, exit: 0, freed: 0, threadFork: 0, threadExit: 0, exitingFull: 0 };
      const lostByKind = { fork: 0, exec: 0, exit: 0, freed: 0 };
      const cpus = lookupPercpu(statsMap, zeroKey);
      for (const cpu of cpus ?? []) {
        for (let k = 0; k < PE_KINDS.length; k++) {
          counts[PE_KINDS[k]] += u64(cpu, S.events + k * 8);
          lostByKind[PE_KINDS[k]] += u64(cpu, S.lost + k * 8);
        }
        counts.threadFork += u64(cpu, S.threadForks);
        counts.threadExit += u64(cpu, S.threadExits);
        counts.exitingFull += u64(cpu, S.exitingFull);
      }
      return { found: cpus !== null, counts, lostByKind };
    };
    let churnStats: ReturnType<typeof readStats> | undefined;

    const remember = (pid: number, info: ExecInfo) => {
      execInfo.delete(pid);
      if (execInfo.size >= EXEC_INFO_MAX) execInfo.delete(execInfo.keys().next().value!);
      execInfo.set(pid, info);
    };
    const handOver = (ev: ProcEvent) => {
      if (pending.length >= PENDING_MAX) budgetDrops++;
      else pending.push(ev);
    };
    const release = (pid: number, h: { ev: ProcEvent }, finalCpuNs: number | null) => {
      held.delete(pid);
      if (finalCpuNs === null) {
        h.ev.cpuAtExit = true;
        cpuAtExit++;
      } else h.ev.cpuNs = Math.max(finalCpuNs, h.ev.cpuNs ?? 0);
      handOver(h.ev);
    };

    // Returns non-zero to ask libbpf to stop consuming (honoured when the ring callback
    // wrapper passes our return value through; otherwise the excess is counted as dropped).
    const onRecord = (d: Buffer): number => {
      if (budget <= 0) {
        budgetDrops++;
        return -1;
      }
      budget--;
      const rec = decodeRecord(d, wallOffset);
      if (rec?.kind === 'freed') {
        const h = held.get(rec.pid);
        if (h) release(rec.pid, h, rec.cpuNs);
      } else if (rec?.kind === 'exec') {
        remember(rec.pid, { filename: rec.filename!, args: rec.args!, argsTruncated: rec.argsTruncated });
        handOver(rec);
      } else if (rec?.kind === 'fork') {
        // Until it execs, the child runs its parent's program.
        const parent = execInfo.get(rec.ppid);
        if (parent) remember(rec.pid, parent);
        else execInfo.delete(rec.pid);
        handOver(rec);
      } else if (rec?.kind === 'exit') {
        const info = execInfo.get(rec.pid);
        if (info) {
          rec.filename = info.filename;
          rec.args = info.args;
          if (info.argsTruncated) rec.argsTruncated = true;
          execInfo.delete(rec.pid);
        }
        const old = held.get(rec.pid);
        if (old) release(rec.pid, old, null);
        if (held.size >= EXIT_HOLD_MAX) {
          const [pid, h] = held.entries().next().value!;
          release(pid, h, null);
        }
        held.set(rec.pid, { ev: rec, until: Date.now() + EXIT_HOLD_MS });
      }
      return budget > 0 ? 0 : -1;
    };

    // The ring is read in place (RingReader); libbpf's consume with a callback per record is
    // the fallback where the map cannot be mapped.
    let ring: RingReader | null = null;
    let cb: { ptr: Ptr; release(): void } | null = null;
    let rb: Ptr = null;
    try {
      ring = new RingReader(ringMap.fd, ringMap.maxEntries);
    } catch {
      cb = registerRingCallback(onRecord);
      rb = bpf.ring_buffer__new(ringMap.fd, cb.ptr, null, null);
      if (!rb) {
        const err = lastErrno();
        cb.release();
        throw new Error(`ring_buffer__new(${ringMap.name}): ${strerror(err)}`);
      }
    }
    const onMapped = (buf: Buffer, off: number, len: number) => onRecord(buf.subarray(off, off + len));

    let sinceRead = 0; // records drained since the last read()
    let lastRead = -1; // performance.now() at the last read(), -1 before the first
    // Returns the number of records seen.
    const drain = (): number => {
      if (drainError) return 0;
      wallOffset = monoToWallMs();
      budget = DRAIN_BUDGET;
      let n: number;
      if (ring) n = ring.consume(onMapped);
      else {
        const rc = bpf.ring_buffer__consume(rb);
        // A negative return is our own stop request when the budget ran out.
        if (rc < 0 && budget > 0) drainError = new Error(`ring_buffer__consume: ${strerror(rc)}`);
        n = rc < 0 ? DRAIN_BUDGET : rc;
      }
      // Exits whose process was not reaped in time (a zombie, or a lost free record).
      const now = Date.now();
      for (const [pid, h] of held) {
        if (h.until > now) break;
        release(pid, h, null);
      }
      sinceRead += n;
      return n;
    };
    let closed = false;
    let intervalMs = DRAIN_MS;
    let timer: NodeJS.Timeout | undefined;
    const schedule = (delayMs: number) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        let n = 0;
        try {
          n = drain();
        } catch (e) {
          drainError = e as Error;
        }
        intervalMs = nextDrainMs(intervalMs, n);
        if (!closed) schedule(intervalMs);
      }, delayMs);
      timer.unref();
    };
    schedule(intervalMs);

    return {
      read(): ProceventsRaw {
        drain();
        const now = performance.now();
        const sincePrev = sinceRead;
        const plan = drainAfterRead(sincePrev, lastRead < 0 ? Infinity : now - lastRead, intervalMs);
        sinceRead = 0;
        lastRead = now;
        if (plan === 'park') {
          clearTimeout(timer);
          timer = undefined;
          intervalMs = DRAIN_IDLE_MAX_MS;
        } else if (closed) {
          /* no timer any more */
        } else if (plan === 'chain') schedule((intervalMs = DRAIN_MS));
        else if (plan === 'idle') {
          // Just drained: the next drain is due a little after the next read's, if reads come
          // every DRAIN_IDLE_MAX_MS; a read that runs a few ms late must not be beaten to it.
          schedule(intervalMs + DRAIN_MS);
        } else if (timer === undefined) schedule((intervalMs = DRAIN_MS)); // 'keep' after a park: reads got rarer
        else if (sincePrev > 0) intervalMs = DRAIN_MS; // 'keep': the timer backs off from DRAIN_MS again
        if (drainError) throw drainError;
        const events = pending;
        pending = [];
        // The counters as processChurn read them earlier in this tick, or read now.
        const { counts, lostByKind } = churnStats ?? readStats();
        churnStats = undefined;
        const lost = lostByKind.fork + lostByKind.exec + lostByKind.exit + lostByKind.freed;
        return { events, counts, lost, lostByKind, budgetDrops, cpuAtExit };
      },
      // Process forks, counted before their record is reserved (lost or not). sched_process_fork
      // fires once the child is in the pid table, so a fork counted is a child /proc lists. The
      // classic variant counts at task_newtask, inside copy_process before that: no count there.
      // Ends need no count: a process gone from a reused listing fails its read and is dropped.
      processChurn:
        variant.name === 'tracepoint'
          ? undefined
          : (): number | null => {
              // Kept for this tick's read(): one lookup of the counters a tick, not two.
              churnStats = readStats();
              return churnStats.found ? churnStats.counts.fork : null;
            },
      close() {
        if (closed) return;
        closed = true;
        clearTimeout(timer);
        ring?.close();
        if (rb) bpf.ring_buffer__free(rb);
        cb?.release();
      },
    };
  },
};
