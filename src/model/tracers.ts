/**
 * What the drill-down's tracer panel shows, built from TracerSession.poll() results by pure
 * functions: bounded newest-first lists of opens, slow block requests and slow calls, with
 * counts, failures by errno, and the tracers' losses. applyTracerEvents(view, events) returns a
 * new view; its inputs are not modified.
 */
import os from 'node:os';
import type { TracerEvents, TracerName } from '../tracers/session';
import type { BioEvent, OpenEvent, SyscallEvent } from '../tracers/types';

/** Most entries each list keeps (a screen shows far fewer). */
export const TRACER_LIST_MAX = 200;

/** Failures of one errno among the opens. */
export interface ErrnoCount {
  errno: number;
  name: string; // ENOENT, ...
  count: number;
}

/** Totals since the session opened. */
export interface TracerTotals {
  opens: number;
  openFailures: number;
  failuresByErrno: ErrnoCount[]; // most frequent first
  slowIo: number; // block requests above the threshold
  slowIoBytes: number;
  slowIoMaxNs: number; // the slowest request's latency, 0 when none
  slowSyscalls: number;
  slowSyscallMaxNs: number;
  lost: number; // records the kernel could not put in a full ring (all tracers)
  noSlot: number; // calls/requests not followed because an in-flight map was full
  dropped: number; // events dropped in user space (poll() too rare)
}

/** The tracer panel's data. */
export interface TracerView {
  opens: OpenEvent[]; // newest first, at most TRACER_LIST_MAX
  bio: BioEvent[]; // newest first
  syscalls: SyscallEvent[]; // newest first
  totals: TracerTotals;
  counters: Partial<Record<TracerName, { lost: number; noSlot: number; dropped: number }>>; // last cumulative, per tracer
}

/** A view with nothing in it. */
export function emptyTracerView(): TracerView {
  return {
    opens: [],
    bio: [],
    syscalls: [],
    totals: {
      opens: 0, openFailures: 0, failuresByErrno: [], slowIo: 0, slowIoBytes: 0, slowIoMaxNs: 0,
      slowSyscalls: 0, slowSyscallMaxNs: 0, lost: 0, noSlot: 0, dropped: 0,
    },
    counters: {},
  };
}

/** `events` (oldest first) in front of `list` (newest first), newest first, at most `max`. */
function prepend<T>(list: readonly T[], events: readonly T[], max: number): T[] {
  const out: T[] = [];
  for (let i = events.length - 1; i >= 0 && out.length < max; i--) out.push(events[i]);
  for (let i = 0; i < list.length && out.length < max; i++) out.push(list[i]);
  return out;
}

/** The view after one poll's events. */
export function applyTracerEvents(view: TracerView, ev: TracerEvents, max = TRACER_LIST_MAX): TracerView {
  const t = view.totals;
  const byErrno = new Map(t.failuresByErrno.map((e) => [e.errno, e.count]));
  let failures = 0;
  for (const o of ev.opens) {
    if (o.errno === 0) continue;
    failures++;
    byErrno.set(o.errno, (byErrno.get(o.errno) ?? 0) + 1);
  }
  const counters = { ...view.counters };
  for (const [name, c] of Object.entries(ev.counters) as [TracerName, { lost: number; noSlot: number; dropped: number }][]) {
    counters[name] = { lost: c.lost, noSlot: c.noSlot, dropped: c.dropped };
  }
  const sum = (k: 'lost' | 'noSlot' | 'dropped') => Object.values(counters).reduce((s, c) => s + (c?.[k] ?? 0), 0);
  return {
    opens: prepend(view.opens, ev.opens, max),
    bio: prepend(view.bio, ev.bio, max),
    syscalls: prepend(view.syscalls, ev.syscalls, max),
    totals: {
      opens: t.opens + ev.opens.length,
      openFailures: t.openFailures + failures,
      failuresByErrno: [...byErrno]
        .map(([errno, count]) => ({ errno, name: errnoName(errno), count }))
        .sort((a, b) => b.count - a.count || a.errno - b.errno),
      slowIo: t.slowIo + ev.bio.length,
      slowIoBytes: t.slowIoBytes + ev.bio.reduce((s, b) => s + b.bytes, 0),
      slowIoMaxNs: ev.bio.reduce((m, b) => Math.max(m, b.latencyNs), t.slowIoMaxNs),
      slowSyscalls: t.slowSyscalls + ev.syscalls.length,
      slowSyscallMaxNs: ev.syscalls.reduce((m, s) => Math.max(m, s.latencyNs), t.slowSyscallMaxNs),
      lost: sum('lost'),
      noSlot: sum('noSlot'),
      dropped: sum('dropped'),
    },
    counters,
  };
}

// Where several names share a number, the one strace prints.
const ERRNO_PREFERRED: Record<number, string> = { 11: 'EAGAIN', 35: 'EDEADLK', 95: 'EOPNOTSUPP' };
let errnoNames: Map<number, string> | undefined;

/** The symbolic name of an errno (ENOENT), or "errno N" when unknown. */
export function errnoName(errno: number): string {
  if (!errnoNames) {
    errnoNames = new Map();
    for (const [name, n] of Object.entries(os.constants.errno)) if (!errnoNames.has(n)) errnoNames.set(n, name);
    for (const [n, name] of Object.entries(ERRNO_PREFERRED)) errnoNames.set(Number(n), name);
    // Kernel-internal codes a syscall can leak to tracepoints (restarted calls).
    errnoNames.set(512, 'ERESTARTSYS').set(513, 'ERESTARTNOINTR').set(514, 'ERESTARTNOHAND').set(516, 'ERESTART_RESTARTBLOCK');
  }
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

// Linux open flags. O_DIRECT, O_DIRECTORY, O_NOFOLLOW and O_LARGEFILE differ between x86 and
// arm64 (asm/fcntl.h); the others are asm-generic on both.
const ARCH_FLAGS: Record<string, Record<string, number>> = {
  x64: { O_DIRECT: 0o40000, O_LARGEFILE: 0o100000, O_DIRECTORY: 0o200000, O_NOFOLLOW: 0o400000 },
  arm64: { O_DIRECTORY: 0o40000, O_NOFOLLOW: 0o100000, O_DIRECT: 0o200000, O_LARGEFILE: 0o400000 },
};
const COMMON_FLAGS: [string, number][] = [
  ['O_CREAT', 0o100], ['O_EXCL', 0o200], ['O_NOCTTY', 0o400], ['O_TRUNC', 0o1000], ['O_APPEND', 0o2000],
  ['O_NONBLOCK', 0o4000], ['O_DSYNC', 0o10000], ['O_ASYNC', 0o20000], ['O_NOATIME', 0o1000000],
  ['O_CLOEXEC', 0o2000000], ['O_SYNC', 0o4010000], ['O_PATH', 0o10000000], ['O_TMPFILE', 0o20000000],
];

/**
 * Open flags as text: O_RDONLY|O_CREAT|O_CLOEXEC; bits without a name as 0x... . O_SYNC
 * includes O_DSYNC's bit and O_TMPFILE O_DIRECTORY's, as the kernel defines them.
 */
export function openFlagsText(flags: number, arch: string = process.arch): string {
  const acc = flags & 3;
  const parts = [acc === 0 ? 'O_RDONLY' : acc === 1 ? 'O_WRONLY' : acc === 2 ? 'O_RDWR' : 'O_ACCMODE'];
  let rest = flags & ~3;
  const table = [...COMMON_FLAGS, ...Object.entries(ARCH_FLAGS[arch] ?? ARCH_FLAGS.x64)];
  // Composite flags first, so that O_SYNC is not shown as O_DSYNC|0x100000.
  const dir = (ARCH_FLAGS[arch] ?? ARCH_FLAGS.x64).O_DIRECTORY;
  const composite: [string, number][] = [['O_SYNC', 0o4010000], ['O_TMPFILE', 0o20000000 | dir]];
  for (const [name, bits] of composite) {
    if ((rest & bits) === bits) {
      parts.push(name);
      rest &= ~bits;
    }
  }
  for (const [name, bit] of table) {
    if (name === 'O_SYNC' || name === 'O_TMPFILE') continue;
    if (rest & bit) {
      parts.push(name);
      rest &= ~bit;
    }
  }
  if (rest) parts.push(`0x${(rest >>> 0).toString(16)}`);
  return parts.join('|');
}

/** Short open flags for a narrow column: r, w, rw, then c(reat) t(runc) a(ppend) x(excl) d(irectory). */
export function openFlagsShort(flags: number, arch: string = process.arch): string {
  const acc = flags & 3;
  let s = acc === 0 ? 'r' : acc === 1 ? 'w' : 'rw';
  const a = ARCH_FLAGS[arch] ?? ARCH_FLAGS.x64;
  if (flags & 0o100) s += 'c';
  if (flags & 0o1000) s += 't';
  if (flags & 0o2000) s += 'a';
  if (flags & 0o200) s += 'x';
  if (flags & a.O_DIRECTORY && !(flags & 0o20000000)) s += 'd';
  if (flags & 0o10000000) s = 'path';
  return s;
}
