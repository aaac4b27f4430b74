/**
 * Sample: everything read in one tick — raw, cumulative, JSON-serializable (one line of a
 * recording). Snapshots are computed from two Samples.
 */
import type { RunqlatRaw } from '../probes/runqlat';
import type { CachestatRaw } from '../probes/cachestat';
import type { BiolatencyRaw } from '../probes/biolatency';
import type { ProceventsRaw } from '../probes/procevents';
import type { OffcputimeRaw } from '../probes/offcputime';
import type { ProcsRaw } from '../procfs/procs';
import type { SystemRaw } from '../procfs/system';
import type { ProgStats } from '../bpf/stats';

/** A probe's part of a Sample: its cumulative data, or why it is not running. */
export type ProbeSample<Raw> =
  | { status: 'ok'; variant: string; data: Raw }
  | { status: 'unavailable'; reason: string }
  | { status: 'disabled' };

/** The raw data of every probe, by probe name. */
export interface ProbesRaw {
  runqlat?: ProbeSample<RunqlatRaw>;
  biolatency?: ProbeSample<BiolatencyRaw>;
  cachestat?: ProbeSample<CachestatRaw>;
  procevents?: ProbeSample<ProceventsRaw>;
  offcputime?: ProbeSample<OffcputimeRaw>;
}

/** One tick's readings. */
export interface Sample {
  ts: number; // wall clock, ms since the epoch
  monoMs: number; // monotonic clock, ms (interval arithmetic)
  system: SystemRaw;
  probes: ProbesRaw;
  /** Every process in /proc (absent in samples of probetop versions that did not read it). */
  procs?: ProcsRaw;
  /** Cumulative run-time statistics of every loaded BPF program, by probe (empty when stats are off). */
  bpfStats?: Record<string, ProgStats[]>;
  /**
   * When bpfStats was read (monotonic ms), where that was before this sample: the full-screen UI
   * reads the statistics every few ticks (SamplerOptions.statsPeriodTicks). Absent: at `monoMs`.
   */
  bpfStatsMonoMs?: number;
  /**
   * The reading before bpfStats, where that is not the previous sample's: the BPF cost is the
   * difference between the two. Absent: the previous sample's bpfStats, as every tick reads them.
   */
  bpfStatsBase?: { monoMs: number; stats: Record<string, ProgStats[]> };
  /** probetop's own cost: cumulative user+system CPU, µs, and resident memory, bytes. */
  self?: { cpuUs: number; rssBytes: number };
}
