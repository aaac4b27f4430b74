/**
 * The process table: one row per process, merging /proc sampling with what every probe saw of
 * it this interval. Processes that exited recently stay as rows, marked, with exit code and
 * lifetime. A pure function of the Snapshot's parts.
 */
import type { ProcSnap } from './procs';
import type { RunqlatSnap, ProbeSnap } from './snapshot';
import type { CachestatSnap } from './cachestat';
import type { BiolatencySnap } from './biolatency';
import type { ProceventsSnap, ExitedProc } from './procevents';
import type { OffcputimeSnap } from './offcputime';

/** One row of the process table. */
export interface ProcRow {
  pid: number;
  ppid: number | null;
  uid: number | null;
  comm: string; // raw
  cmdline: string[]; // raw
  cgroup: string;
  state: string; // /proc state letter, or 'X' for exited
  threads: number | null;
  rssBytes: number | null;
  cpuPct: number | null; // % of one CPU this interval
  runqMsPerSec: number | null; // waiting for a CPU, ms per second
  runqP99Us: number | null;
  offcpuMsPerSec: number | null; // blocked (off-CPU), ms per second
  ioOpsPerSec: number | null;
  ioBytesPerSec: number | null;
  ioP99Us: number | null;
  cacheAccesses: number | null; // page-cache accesses this interval
  cacheHitPct: number | null;
  ageS: number | null;
  exited: { code: number | null; signal: number | null; lifetimeMs: number; ts: number } | null;
}

/** The parts of a Snapshot the table is built from. */
export interface ProcTableInput {
  procs: readonly ProcSnap[];
  runqlat: ProbeSnap<RunqlatSnap>;
  cachestat: ProbeSnap<CachestatSnap>;
  biolatency: ProbeSnap<BiolatencySnap>;
  procevents: ProbeSnap<ProceventsSnap>;
  offcputime: ProbeSnap<OffcputimeSnap>;
}

/** How long exited processes stay in the table, ms. */
export const EXITED_KEEP_MS = 3000;

function blank(pid: number): ProcRow {
  return {
    pid, ppid: null, uid: null, comm: '', cmdline: [], cgroup: '', state: '?', threads: null, rssBytes: null, cpuPct: null,
    runqMsPerSec: null, runqP99Us: null, offcpuMsPerSec: null, ioOpsPerSec: null, ioBytesPerSec: null, ioP99Us: null,
    cacheAccesses: null, cacheHitPct: null, ageS: null, exited: null,
  };
}

/**
 * Builds the rows (unsorted). Probe data for a pid /proc did not list adds a row of its own.
 * `earlier` are the snapshots before this one (oldest first): processes that exited in the last
 * EXITED_KEEP_MS stay as rows, marked, with exit code and lifetime.
 */
export function buildProcTable(input: ProcTableInput & { ts?: number }, earlier: readonly { ts: number; procevents: ProbeSnap<ProceventsSnap> }[] = []): ProcRow[] {
  const rows = new Map<number, ProcRow>();
  // One object per process (a literal, not a spread of blank(): this runs for every process each tick).
  const probed = input.runqlat.status === 'ok';
  for (const p of input.procs) {
    rows.set(p.pid, {
      pid: p.pid, ppid: p.ppid, uid: p.uid, comm: p.comm, cmdline: p.cmdline, cgroup: p.cgroup, state: p.state, threads: p.threads,
      rssBytes: p.rssBytes, cpuPct: p.cpuPct,
      // /proc's schedstat wait is the fallback when the run-queue probe is not running.
      runqMsPerSec: probed ? 0 : p.runqWaitMsPerSec,
      runqP99Us: null, offcpuMsPerSec: null, ioOpsPerSec: null, ioBytesPerSec: null, ioP99Us: null,
      cacheAccesses: null, cacheHitPct: null, ageS: p.ageS, exited: null,
    });
  }
  const row = (pid: number, comm: string) => {
    let r = rows.get(pid);
    if (!r) {
      r = { ...blank(pid), comm };
      rows.set(pid, r);
    }
    return r;
  };
  if (input.runqlat.status === 'ok') {
    for (const q of input.runqlat.data.procs) {
      const r = row(q.pid, q.comm);
      r.runqMsPerSec = q.waitMsPerSec;
      r.runqP99Us = q.p99Us;
    }
  }
  if (input.offcputime.status === 'ok') {
    for (const o of input.offcputime.data.procs) row(o.pid, o.comm).offcpuMsPerSec = o.offcpuMsPerSec;
  }
  if (input.biolatency.status === 'ok') {
    for (const b of input.biolatency.data.procs) {
      const r = row(b.pid, b.comm);
      r.ioOpsPerSec = b.opsPerSec;
      r.ioBytesPerSec = b.bytesPerSec;
      r.ioP99Us = b.p99Us;
    }
  }
  if (input.cachestat.status === 'ok') {
    for (const c of input.cachestat.data.procs) {
      const r = row(c.pid, c.comm);
      r.cacheAccesses = c.accesses;
      r.cacheHitPct = c.hitPct;
    }
  }
  // Exits: this interval's, then the recent past's (newest wins), as dimmed rows.
  const exits: ExitedProc[] = [];
  if (input.procevents.status === 'ok') exits.push(...input.procevents.data.exited);
  const now = input.ts ?? Date.now();
  for (let i = earlier.length - 1; i >= 0; i--) {
    const e = earlier[i];
    if (now - e.ts > EXITED_KEEP_MS) break;
    if (e.procevents.status === 'ok') exits.push(...e.procevents.data.exited);
  }
  for (const x of exits) {
    const live = rows.get(x.pid);
    if (live && live.exited) continue; // a newer exit of a reused pid was placed first
    if (live && live.state !== '?' && live.ageS !== null && live.ageS * 1000 < now - x.ts) continue; // pid reused by a live process
    const r = live ?? { ...blank(x.pid), comm: x.comm };
    r.ppid ??= x.ppid;
    r.uid ??= x.uid;
    if (!r.cmdline.length) r.cmdline = x.args.length ? x.args : x.filename ? [x.filename] : [];
    r.state = 'X';
    r.exited = { code: x.exitCode, signal: x.signal || null, lifetimeMs: x.lifetimeMs, ts: x.ts };
    // Its CPU over the interval, or over its life when it lived longer (a process that ran a
    // whole interval never shows more than its real share of a CPU).
    if (r.cpuPct === null && input.procevents.status === 'ok' && input.procevents.data.intervalMs > 0)
      r.cpuPct = (x.cpuMs / Math.max(input.procevents.data.intervalMs, x.lifetimeMs)) * 100;
    rows.set(x.pid, r);
  }
  return [...rows.values()];
}
