/**
 * buildProcevents(cur, prev, intervalMs): what one interval of process events shows — the
 * processes that exited, fork/exec/exit rates, losses, and the short-lived summary that answers
 * "top says 60% user CPU but shows nothing": who keeps starting processes too brief for /proc
 * sampling, and how much CPU they burn. Pure: inputs are not modified.
 */
import type { ProcEvent, ProceventsRaw } from '../probes/procevents';

/** A process that exited in the interval. */
export interface ExitedProc {
  ts: number; // wall clock of the exit, ms since the epoch
  pid: number;
  ppid: number;
  uid: number;
  comm: string;
  parentComm: string | null; // the parent's comm at exit, null when unknown
  filename: string | null; // what it exec'd, when the exec was seen
  args: string[]; // its argv when the exec was seen, else []
  argsTruncated: boolean;
  exitCode: number | null; // null when killed by a signal
  signal: number; // 0 for a normal exit
  coreDumped: boolean;
  lifetimeMs: number;
  cpuMs: number; // user + system CPU time of all its threads
  cpuAtExit: boolean; // cpuMs read at exit (not reaped in time): misses the exit path
  cgroupId: number;
}

/** Short-lived processes of one parent → command pair in the interval. */
export interface ShortLivedGroup {
  parent: string; // parent's comm ("?" when unknown)
  comm: string;
  count: number; // processes that exited in the interval
  perSec: number;
  cpuMs: number;
  cpuPct: number; // % of one CPU over the interval, like top
}

/** The short-lived summary. */
export interface ShortLivedSnap {
  maxLifetimeMs: number; // processes that lived at most this long count as short-lived
  count: number;
  perSec: number;
  cpuMs: number;
  cpuPct: number; // % of one CPU over the interval
  groups: ShortLivedGroup[]; // busiest first (CPU, then count), at most GROUPS_MAX
}

/** One line of the exec/exit feed. */
export interface FeedEntry {
  kind: 'exec' | 'exit';
  ts: number; // wall clock, ms since the epoch
  pid: number;
  ppid: number;
  comm: string;
  filename: string | null;
  args: string[];
  argsTruncated: boolean;
  exitCode: number | null; // exit only
  signal: number; // exit only, 0 otherwise
  coreDumped: boolean;
  lifetimeMs: number | null; // exit only
  cpuMs: number | null; // exit only
}

/** Process events for one interval. */
export interface ProceventsSnap {
  intervalMs: number;
  forkPerSec: number; // processes created
  execPerSec: number;
  exitPerSec: number; // processes ended
  forks: number; // in the interval
  execs: number;
  exits: number;
  lost: number; // records lost in the kernel (ring full) in the interval
  lostTotal: number; // since the probe was loaded
  budgetDrops: number; // records dropped by the user-space budget in the interval
  exited: ExitedProc[]; // every exit in the interval, newest first
  shortLived: ShortLivedSnap;
  feed: FeedEntry[]; // exec and exit events of the interval, newest first, at most FEED_MAX
}

/** Most feed entries one snapshot keeps (a screen shows far fewer; history fills in quiet ticks). */
export const FEED_MAX = 200;
/** Most parent → command groups in the short-lived summary. */
export const GROUPS_MAX = 50;
/** The short-lived threshold when the interval is unknown (first sample), ms. */
export const SHORT_LIVED_DEFAULT_MS = 1000;

function delta(cur: number, prev: number | undefined, fallback: number): number {
  if (prev === undefined) return fallback;
  return cur >= prev ? cur - prev : cur; // a smaller counter means the probe was reloaded
}

function exited(e: ProcEvent): ExitedProc {
  return {
    ts: e.ts,
    pid: e.pid,
    ppid: e.ppid,
    uid: e.uid,
    comm: e.comm,
    parentComm: e.parentComm ? e.parentComm : null,
    filename: e.filename ?? null,
    args: e.args ?? [],
    argsTruncated: e.argsTruncated ?? false,
    exitCode: e.exitCode ?? null,
    signal: e.signal ?? 0,
    coreDumped: e.coreDumped ?? false,
    lifetimeMs: (e.lifetimeNs ?? 0) / 1e6,
    cpuMs: (e.cpuNs ?? 0) / 1e6,
    cpuAtExit: e.cpuAtExit ?? false,
    cgroupId: e.cgroupId,
  };
}

function feedEntry(e: ProcEvent): FeedEntry {
  const exit = e.kind === 'exit';
  return {
    kind: exit ? 'exit' : 'exec',
    ts: e.ts,
    pid: e.pid,
    ppid: e.ppid,
    comm: e.comm,
    filename: e.filename ?? null,
    args: e.args ?? [],
    argsTruncated: e.argsTruncated ?? false,
    exitCode: exit ? (e.exitCode ?? null) : null,
    signal: exit ? (e.signal ?? 0) : 0,
    coreDumped: e.coreDumped ?? false,
    lifetimeMs: exit ? (e.lifetimeNs ?? 0) / 1e6 : null,
    cpuMs: exit ? (e.cpuNs ?? 0) / 1e6 : null,
  };
}

/** Process events of the interval ending at `cur` (`prev`: the reading before, for counter deltas). */
export function buildProcevents(cur: ProceventsRaw, prev: ProceventsRaw | undefined, intervalMs: number): ProceventsSnap {
  const seen = { fork: 0, exec: 0, exit: 0 };
  for (const e of cur.events) seen[e.kind]++;
  // Kernel counters include records the ring lost, so rates stay right when events are lost.
  const forks = delta(cur.counts.fork, prev?.counts.fork, seen.fork);
  const execs = delta(cur.counts.exec, prev?.counts.exec, seen.exec);
  const exits = delta(cur.counts.exit, prev?.counts.exit, seen.exit);
  const perSec = (n: number) => (intervalMs > 0 ? (n * 1000) / intervalMs : 0);
  const pctOfCpu = (ms: number) => (intervalMs > 0 ? (100 * ms) / intervalMs : 0);

  const exitedList = cur.events.filter((e) => e.kind === 'exit').map(exited);
  exitedList.sort((a, b) => b.ts - a.ts || b.pid - a.pid);

  const maxLifetimeMs = intervalMs > 0 ? intervalMs : SHORT_LIVED_DEFAULT_MS;
  const groups = new Map<string, ShortLivedGroup>();
  let count = 0;
  let cpuMs = 0;
  for (const p of exitedList) {
    if (p.lifetimeMs > maxLifetimeMs) continue;
    count++;
    cpuMs += p.cpuMs;
    const parent = p.parentComm ?? '?';
    const key = `${parent}\u0000${p.comm}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { parent, comm: p.comm, count: 0, perSec: 0, cpuMs: 0, cpuPct: 0 }));
    g.count++;
    g.cpuMs += p.cpuMs;
  }
  const groupList = [...groups.values()];
  for (const g of groupList) {
    g.perSec = perSec(g.count);
    g.cpuPct = pctOfCpu(g.cpuMs);
  }
  groupList.sort((a, b) => b.cpuMs - a.cpuMs || b.count - a.count || a.parent.localeCompare(b.parent) || a.comm.localeCompare(b.comm));

  // Newest first; only the FEED_MAX kept become feed entries (a storm has thousands a tick).
  const newest = cur.events.filter((e) => e.kind !== 'fork');
  newest.sort((a, b) => b.ts - a.ts || (a.kind === b.kind ? b.pid - a.pid : a.kind === 'exit' ? -1 : 1));
  const feed = newest.slice(0, FEED_MAX).map(feedEntry);

  return {
    intervalMs,
    forkPerSec: perSec(forks),
    execPerSec: perSec(execs),
    exitPerSec: perSec(exits),
    forks,
    execs,
    exits,
    lost: delta(cur.lost, prev?.lost, cur.lost),
    lostTotal: cur.lost,
    budgetDrops: delta(cur.budgetDrops, prev?.budgetDrops, cur.budgetDrops),
    exited: exitedList,
    shortLived: {
      maxLifetimeMs,
      count,
      perSec: perSec(count),
      cpuMs,
      cpuPct: pctOfCpu(cpuMs),
      groups: groupList.slice(0, GROUPS_MAX),
    },
    feed,
  };
}
