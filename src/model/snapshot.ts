/**
 * buildSnapshot(sample, prev): a pure function from two Samples to what screens and exporters
 * show — per-interval counts, rates, percentiles. Live, paused and replay all go through it.
 */
import { diffHist, Hist, histStats, HistStats, trimHist, prevByPid, unmoved } from './hist';
import type { Sample, ProbeSample } from './sample';
import type { CpuTimes } from '../procfs/system';
import type { RunqlatRaw } from '../probes/runqlat';
import { PROBE_NAMES } from '../probes';
import { buildCachestat, CachestatSnap } from './cachestat';
import { buildBiolatency, BiolatencySnap } from './biolatency';
import { buildProcevents, ProceventsSnap } from './procevents';
import { buildOffcputime, OffcputimeSnap } from './offcputime';
import { buildProcs, ProcSnap } from './procs';

/** A probe's state as screens show it. */
export type ProbeStatus = { name: string; status: 'ok'; variant: string } | { name: string; status: 'unavailable'; reason: string } | { name: string; status: 'disabled' };

/** Header numbers. */
export interface SystemSnap {
  loadavg: [number, number, number];
  uptimeS: number;
  ncpu: number;
  cpuPct: { user: number; system: number; iowait: number; idle: number } | null; // % of all CPUs this interval
}

/** Run-queue latency of one process in the interval. */
export interface RunqlatProcSnap {
  pid: number;
  comm: string;
  count: number; // waits in the interval
  waitMsPerSec: number; // total time spent waiting for a CPU, ms per second of interval
  p99Us: number | null;
  meanUs: number | null;
  maxUs: number | null;
  hist: Hist; // this process's waits by bucket in the interval (trailing empty buckets cut)
}

/** Run-queue latency for the interval. */
export interface RunqlatSnap {
  hist: Hist; // events per bucket in the interval
  stats: HistStats;
  procs: RunqlatProcSnap[]; // sorted by waitMsPerSec, highest first
  procMapFull: number; // updates dropped in the interval because the per-process map was full
  procMapFill: number; // 0..1
}

/** What one probe's BPF programs cost in the interval. */
export interface ProbeCost {
  name: string;
  eventsPerSec: number; // program runs per second
  nsPerEvent: number | null; // mean run time per run, ns
  cpuPct: number; // % of one CPU spent in the probe's programs
  /** Runs the kernel skipped in the interval (the program, or on classic tracepoints any BPF
   * program, was already running on that CPU): events the probe did not see. */
  missed: number;
  programs: { name: string; eventsPerSec: number; nsPerEvent: number | null; missed: number }[];
}

/** probetop's own overhead in the interval. */
export interface CostSnap {
  probes: ProbeCost[];
  bpfCpuPct: number; // all probes' programs, % of one CPU
  /**
   * The time the BPF figures (bpfCpuPct, probes) cover, ms: the interval, or the last few when
   * the statistics are read every few ticks (the full-screen UI); 0 before a second reading.
   */
  bpfWindowMs?: number;
  selfCpuPct: number | null; // probetop's user-space process, % of one CPU
  rssBytes: number | null;
}

/** A probe's part of a Snapshot. */
export type ProbeSnap<T> = { status: 'ok'; variant: string; data: T } | { status: 'unavailable'; reason: string } | { status: 'disabled' };

/** What one tick shows. */
export interface Snapshot {
  ts: number;
  intervalMs: number; // time covered by the deltas (0 for the very first sample)
  system: SystemSnap;
  probes: ProbeStatus[];
  runqlat: ProbeSnap<RunqlatSnap>;
  biolatency: ProbeSnap<BiolatencySnap>;
  cachestat: ProbeSnap<CachestatSnap>;
  procevents: ProbeSnap<ProceventsSnap>;
  offcputime: ProbeSnap<OffcputimeSnap>;
  /** Every process seen in /proc this tick, with its CPU%, memory, state (unsorted). */
  procs: ProcSnap[];
  cost: CostSnap;
}

/** BPF and user-space cost for the interval (pure). */
export function buildCost(sample: Sample, prev: Sample | undefined, intervalMs: number): CostSnap {
  const probes: ProbeCost[] = [];
  let bpfNs = 0;
  // The BPF figures cover the time between two readings of the statistics: this sample's and
  // the one before it, which is the previous sample's unless the sample says otherwise.
  const base = sample.bpfStatsBase ?? (prev && { monoMs: prev.bpfStatsMonoMs ?? prev.monoMs, stats: prev.bpfStats });
  const windowMs = base ? Math.max(0, (sample.bpfStatsMonoMs ?? sample.monoMs) - base.monoMs) : 0;
  for (const [name, progs] of Object.entries(sample.bpfStats ?? {})) {
    const before = new Map((base?.stats?.[name] ?? []).map((p) => [p.id, p]));
    let runs = 0;
    let ns = 0;
    let missed = 0;
    const programs = progs.map((p) => {
      const b = before.get(p.id);
      const dRuns = b && p.runCnt >= b.runCnt ? p.runCnt - b.runCnt : b ? p.runCnt : 0;
      const dNs = b && p.runTimeNs >= b.runTimeNs ? p.runTimeNs - b.runTimeNs : b ? p.runTimeNs : 0;
      // Recordings made before misses were kept have none: 0.
      const m = p.recursionMisses ?? 0;
      const bm = b?.recursionMisses ?? 0;
      const dMissed = b && m >= bm ? m - bm : b ? m : 0;
      runs += dRuns;
      ns += dNs;
      missed += dMissed;
      return { name: p.name, eventsPerSec: windowMs ? (dRuns * 1000) / windowMs : 0, nsPerEvent: dRuns ? dNs / dRuns : null, missed: dMissed };
    });
    bpfNs += ns;
    probes.push({
      name,
      eventsPerSec: windowMs ? (runs * 1000) / windowMs : 0,
      nsPerEvent: runs ? ns / runs : null,
      cpuPct: windowMs ? (ns / 1e6 / windowMs) * 100 : 0,
      missed,
      programs,
    });
  }
  const selfCpuPct = sample.self && prev?.self && intervalMs ? ((sample.self.cpuUs - prev.self.cpuUs) / 1000 / intervalMs) * 100 : null;
  return { probes, bpfCpuPct: windowMs ? (bpfNs / 1e6 / windowMs) * 100 : 0, bpfWindowMs: windowMs, selfCpuPct, rssBytes: sample.self?.rssBytes ?? null };
}

function cpuPct(cur: CpuTimes, prev: CpuTimes | undefined): SystemSnap['cpuPct'] {
  if (!prev) return null;
  const d = (k: keyof CpuTimes) => Math.max(0, cur[k] - prev[k]);
  const total = (Object.keys(cur) as (keyof CpuTimes)[]).reduce((s, k) => s + d(k), 0);
  if (total <= 0) return null;
  const pct = (v: number) => (100 * v) / total;
  return { user: pct(d('user') + d('nice')), system: pct(d('system') + d('irq') + d('softirq')), iowait: pct(d('iowait')), idle: pct(d('idle')) };
}

function probeSnap<Raw, T>(cur: ProbeSample<Raw> | undefined, prev: ProbeSample<Raw> | undefined, build: (c: Raw, p: Raw | undefined) => T): ProbeSnap<T> {
  if (!cur || cur.status === 'disabled') return { status: 'disabled' };
  if (cur.status === 'unavailable') return { status: 'unavailable', reason: cur.reason };
  // A variant change means the probe was reloaded: counters restarted, prev is not comparable.
  const p = prev?.status === 'ok' && prev.variant === cur.variant ? prev.data : undefined;
  return { status: 'ok', variant: cur.variant, data: build(cur.data, p) };
}

/** Run-queue latency deltas for one interval. */
export function buildRunqlat(cur: RunqlatRaw, prev: RunqlatRaw | undefined, intervalMs: number): RunqlatSnap {
  const hist = diffHist(cur.hist, prev?.hist);
  const prevOf = prevByPid(prev?.procs);
  const procs: RunqlatProcSnap[] = [];
  for (let i = 0; i < cur.procs.length; i++) {
    const p = cur.procs[i];
    const was = prevOf(i, p.pid)?.hist;
    // Did not run in the interval (most processes on an idle machine): nothing to subtract.
    if (unmoved(p.hist, was)) continue;
    // A process first seen (most, under a fork storm): its reading is the interval's, as it is.
    const h = was ? diffHist(p.hist, was) : p.hist;
    if (h.count === 0) continue;
    const s = histStats(h, intervalMs);
    procs.push({
      pid: p.pid,
      comm: p.comm,
      count: h.count,
      waitMsPerSec: intervalMs > 0 ? h.sumNs / 1e6 / (intervalMs / 1000) : 0,
      p99Us: s.p99Us,
      meanUs: s.meanUs,
      maxUs: s.maxUs,
      hist: trimHist(h),
    });
  }
  procs.sort((a, b) => b.waitMsPerSec - a.waitMsPerSec || a.pid - b.pid);
  const full = prev && cur.procMapFull >= prev.procMapFull ? cur.procMapFull - prev.procMapFull : cur.procMapFull;
  return { hist, stats: histStats(hist, intervalMs), procs, procMapFull: full, procMapFill: cur.procMapMax ? cur.procMapSize / cur.procMapMax : 0 };
}

function statusOf(name: string, s: ProbeSample<unknown> | undefined): ProbeStatus {
  if (!s || s.status === 'disabled') return { name, status: 'disabled' };
  if (s.status === 'unavailable') return { name, status: 'unavailable', reason: s.reason };
  return { name, status: 'ok', variant: s.variant };
}

/** Builds the Snapshot for the interval ending at `sample` (pure: inputs are not modified). */
export function buildSnapshot(sample: Sample, prev?: Sample): Snapshot {
  const intervalMs = prev ? Math.max(0, sample.monoMs - prev.monoMs) : 0;
  return {
    ts: sample.ts,
    intervalMs,
    system: {
      loadavg: sample.system.loadavg,
      uptimeS: sample.system.uptimeS,
      ncpu: sample.system.ncpu,
      cpuPct: cpuPct(sample.system.cpu, prev?.system.cpu),
    },
    probes: PROBE_NAMES.map((name) => statusOf(name, sample.probes[name])),
    runqlat: probeSnap(sample.probes.runqlat, prev?.probes.runqlat, (c, p) => buildRunqlat(c, p, intervalMs)),
    biolatency: probeSnap(sample.probes.biolatency, prev?.probes.biolatency, (c, p) => buildBiolatency(c, p, intervalMs)),
    cachestat: probeSnap(sample.probes.cachestat, prev?.probes.cachestat, (c, p) => buildCachestat(c, p, intervalMs)),
    offcputime: probeSnap(sample.probes.offcputime, prev?.probes.offcputime, (c, p) => buildOffcputime(c, p, intervalMs)),
    procevents: probeSnap(sample.probes.procevents, prev?.probes.procevents, (c, p) => buildProcevents(c, p, intervalMs)),
    procs: sample.procs ? buildProcs(sample.procs.procs, prev?.procs?.procs, intervalMs, { ...sample.procs, ts: sample.ts }) : [],
    cost: buildCost(sample, prev, intervalMs),
  };
}

/** How many of the newest snapshots the UI keeps whole (per-process detail, exits, stacks). */
export const FULL_HISTORY = 12;

/**
 * A snapshot once a newer one is on screen: without the per-process lists that only the snapshot
 * on screen is read for — the /proc process list and the run-queue, block I/O and page-cache
 * per-process entries. It keeps what the UI reads from the recent past: the exits (recently
 * exited rows, a process's children, the feed) and the off-CPU processes and stacks (a process's
 * stacks over the last ticks, folded-stack export), and every total and histogram. Under a fork
 * storm the dropped lists are half of a snapshot (~1,100 short-lived processes a tick each in
 * the run-queue and page-cache lists); FULL_HISTORY of them were ~7 MB of live heap. The cost
 * keeps its totals, not its rows per program. Pure: the input is not changed.
 */
export function pastSnapshot(s: Snapshot): Snapshot {
  const drop = <T extends { procs: unknown[] }>(p: ProbeSnap<T>): ProbeSnap<T> => (p.status === 'ok' && p.data.procs.length ? { ...p, data: { ...p.data, procs: [] } } : p);
  return { ...s, procs: [], runqlat: drop(s.runqlat), biolatency: drop(s.biolatency), cachestat: drop(s.cachestat), cost: pastCost(s.cost) };
}

/**
 * `snap` and the snapshots before it in `history`, oldest first, at most FULL_HISTORY in all: the
 * window whose exits and off-CPU stacks the UI keeps (older ones are slimmed). Views that sum
 * exits or stacks over time use it, so that what they count and the span they state agree.
 */
export function detailWindow(snap: Snapshot, history: readonly Snapshot[]): Snapshot[] {
  const i = history.indexOf(snap);
  // Not in it: a history that ends before `snap`, or one that has moved on past it (a snapshot
  // paused on for longer than the history holds), whose later snapshots are not its past.
  return (i >= 0 ? history.slice(0, i + 1) : [...history.filter((s) => s.ts < snap.ts), snap]).slice(-FULL_HISTORY);
}

/** The cost totals without the per-program rows (the header and probe view read the snapshot on screen). */
function pastCost(c: CostSnap): CostSnap {
  return c.probes.length ? { ...c, probes: [] } : c;
}

const HEAVY = new Set(['procs', 'stacks', 'exited', 'feed']);

/**
 * A snapshot without its per-process detail (process lists, stacks, exits, feed) and per-program
 * cost rows: what the history beyond the last FULL_HISTORY ticks keeps for charts. Under a fork
 * storm a whole snapshot holds thousands of exits; 600 of them would hold hundreds of MB.
 */
export function slimSnapshot(s: Snapshot): Snapshot {
  const slimData = (d: unknown): unknown => {
    if (typeof d !== 'object' || d === null || Array.isArray(d)) return d;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(d)) out[k] = HEAVY.has(k) && Array.isArray(v) ? [] : v;
    return out;
  };
  const out: Record<string, unknown> = { ...s, procs: [], cost: pastCost(s.cost) };
  for (const [k, v] of Object.entries(s)) {
    const p = v as { status?: string; data?: unknown };
    if (p && typeof p === 'object' && p.status === 'ok' && 'data' in p) out[k] = { ...p, data: slimData(p.data) };
  }
  return out as unknown as Snapshot;
}
