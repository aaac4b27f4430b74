/**
 * The shape of a benchmark run's results (written as JSON, turned into Markdown by report.ts).
 */

/** How a measured run went with respect to the machine's quiet. */
export interface Guard {
  attempts: number; // runs made (1 = no rerun)
  busyBefore: string | null; // the machine was not quiet before the run (kept because of --allow-busy)
  disturbed: string | null; // something foreign ran during the kept run
}

/** One block of the throughput benchmark: one configuration, every workload once. */
export interface ThroughputBlock extends Guard {
  seq: number; // position in the run order
  round: number;
  config: string;
  values: Record<string, number>; // workload -> throughput
  statsOn: boolean; // BPF run-time statistics were active during the block
}

/** Benchmark 1. */
export interface ThroughputResult {
  workloads: { name: string; title: string; unit: string; judged: boolean }[];
  configs: { name: string; title: string }[];
  seconds: number;
  pipeLoops: number;
  msgLoops: number;
  blocks: ThroughputBlock[];
}

/** One program's cost over one pass. */
export interface CostProg {
  id: number;
  name: string;
  owner: string; // probetop probe (runqlat, biolatency, ...) or the libbpf-tools tool
  attach: string; // tracepoint name
  runs: number;
  ns: number; // total run time in the pass
}

/** One pass of benchmark 2: one configuration with statistics on, every workload once. */
export interface CostRun extends Guard {
  round: number;
  config: string;
  progs: CostProg[];
}

/** Benchmark 3, one scenario. */
export interface SelfRun extends Guard {
  ui: 'json' | 'tui'; // headless --json to /dev/null, or the full-screen UI in tmux
  scenario: string;
  extraProcs: number;
  window?: number; // 1, 2, ... for the windows in a row of one scenario (the idle one); absent when it has one
  seconds: number; // measured window
  warmupSeconds?: number; // how long the process ran before its first window
  warmupCpuPct?: number; // its CPU over that warm-up, % of one core
  userCpuPct: number; // probetop's process (all threads), % of one core
  bpfCpuPct: number; // probetop's BPF programs, % of one core
  referenceCpuPct?: number; // bench/reference.ts (fixed work once a second) in the same window, % of one core
  rssMaxBytes: number; // highest VmRSS sampled in the window
  hwmBytes: number; // VmHWM at the end
}

/** Benchmark 4, one priority. */
export interface LostRun extends Guard {
  nice: number;
  skipped?: string;
  forkers: number;
  seconds: number;
  spawned: number; // processes the storm actually ran
  kernel?: { forks: number; execs: number; exits: number; lost: number; lostByKind: Record<string, number> }; // pe_stats deltas
  json?: { lost: number | null; budgetDrops: number | null; ticks: number }; // from probetop's own --json output
  /** probetop's cost per spawned process over the storm and its drain (idle rate taken off the user-space part). */
  cost?: { windowS: number; userUsPerSpawned: number; bpfUsPerSpawned: number; bpfUsByProbe: Record<string, number> };
}

/** Benchmark 5. */
export interface TickResult extends Guard {
  procsExtra: number;
  procsSeen: number;
  ticks: number;
  intervalMs: number;
  loaded: string[];
  failed: string[];
  sampleMs: number[];
  buildMs: number[];
  readMs?: Record<string, number[]>; // each probe's read() inside sample()
}

/** A whole run. */
export interface Results {
  meta: {
    startedAt: string;
    finishedAt?: string;
    durationS?: number;
    host: string;
    kernel: string;
    cpus: number;
    commit: string;
    dirty: boolean;
    command: string;
    options: Record<string, unknown>;
    statsSysctlBefore: number;
    statsSysctlAfter?: number;
    probetopProbes: string[]; // probes probetop loaded (from the tick pass or a probe check)
    notes: string[];
    aborted?: string;
  };
  throughput?: ThroughputResult;
  cost?: CostRun[];
  self?: SelfRun[];
  lost?: LostRun[];
  tick?: TickResult;
}
