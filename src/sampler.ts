/**
 * The sampler: loads the probes once, then on each tick reads every probe once into a Sample.
 * It knows nothing about screens; live, paused and recording all consume its Samples.
 */
import { detectFeatures, Features } from './bpf/features';
import { startLibbpfLog, LogLine } from './bpf/object';
import { ensureLibbpf, trimNativeHeap } from './bpf/libbpf';
import { loadProbe, Attempt } from './probes/load';
import { PROBES, PROBE_NAMES, ProbeName } from './probes';
import type { LoadedProbe, ProbeOptions, ProbeSpec } from './probes/types';
import type { ProbeSample, ProbesRaw, Sample } from './model/sample';
import { readSystem, selfRssBytes } from './procfs/system';
import { fault } from './faults';
import { ProcCache, RanHint, readProcs } from './procfs/procs';
import type { RunqlatRaw } from './probes/runqlat';
import { setLivePids, sweepDead } from './bpf/maps';
import { enableBpfStats, disableBpfStats, progStats, ProgStats } from './bpf/stats';

/** How the sampler is set up. */
export interface SamplerOptions extends ProbeOptions {
  disable?: readonly string[]; // probe names not to load
  onLog?: (l: LogLine) => void; // libbpf's warn/info lines
  bpfDir?: string;
  noStats?: boolean; // do not turn BPF run-time statistics on (benchmarks of throughput)
  /** Probes to load instead of the registry (tests inject broken ones). */
  registry?: Record<string, ProbeSpec<unknown>>;
  /**
   * BPF statistics are read every this many samples (default 1: every sample). One read is a
   * syscall per program (17 with every probe loaded), ~4% of the full-screen UI's idle tick;
   * the samples between carry the last reading (Sample.bpfStatsMonoMs, bpfStatsBase).
   */
  statsPeriodTicks?: number;
}

/** What happened when one probe was loaded (for the probe-status view). */
export interface ProbeLoadInfo {
  name: ProbeName;
  variant?: string;
  reason?: string;
  attempts: Attempt[];
}

function statsPeriod(ticks: number | undefined): number {
  return ticks !== undefined && Number.isInteger(ticks) && ticks >= 1 ? ticks : 1;
}

/** Every this many samples, free native memory goes back to the system (trimNativeHeap). */
export const TRIM_PERIOD_TICKS = 10;

/** Loads probes and produces Samples. Call close() exactly once (it is idempotent). */
export class Sampler {
  private loaded = new Map<ProbeName, LoadedProbe<unknown>>();
  private failed = new Map<ProbeName, string>();
  private disabled = new Set<string>();
  readonly loadInfo: ProbeLoadInfo[] = [];
  readonly features: Features;
  private closed = false;
  /** Why BPF statistics are off, or null when they are on. */
  statsError: string | null = 'not started';
  private procCache = new ProcCache();
  private statsPeriod: number;
  private statsDue = 0; // samples until the next reading of the BPF statistics
  private statsLast: { monoMs: number; stats: Record<string, ProgStats[]> } | null = null;
  private statsBase: { monoMs: number; stats: Record<string, ProgStats[]> } | null = null;
  private lastMonoMs = -1; // the previous sample's monoMs
  private ranPrev: { counts: Map<number, number>; full: number } | null = null;

  constructor(private opts: SamplerOptions = {}) {
    this.features = detectFeatures();
    for (const d of opts.disable ?? []) this.disabled.add(d);
    this.statsPeriod = statsPeriod(opts.statsPeriodTicks);
  }

  /**
   * Reads the BPF statistics every `ticks` samples from now on (1: every sample, as the probe-
   * status view wants). A shorter period takes effect at the next sample.
   */
  setStatsPeriod(ticks: number): void {
    const p = statsPeriod(ticks);
    if (p < this.statsPeriod) this.statsDue = 0;
    this.statsPeriod = p;
  }

  private names(): ProbeName[] {
    return (this.opts.registry ? Object.keys(this.opts.registry) : PROBE_NAMES) as ProbeName[];
  }

  private spec(name: ProbeName): ProbeSpec<unknown> {
    return (this.opts.registry?.[name] ?? PROBES[name]) as ProbeSpec<unknown>;
  }

  /** Loads every enabled probe; failures are recorded, never thrown. */
  start(): void {
    let libErr: string | undefined;
    try {
      ensureLibbpf();
      startLibbpfLog(this.opts.onLog);
    } catch (e) {
      libErr = (e as Error).message;
    }
    for (const name of this.names()) {
      if (this.disabled.has(name)) {
        this.loadInfo.push({ name, reason: 'disabled', attempts: [] });
        continue;
      }
      if (libErr) {
        this.failed.set(name, libErr);
        this.loadInfo.push({ name, reason: libErr, attempts: [] });
        continue;
      }
      const r = loadProbe(this.spec(name), this.opts, this.features, this.opts.bpfDir);
      if (r.ok) {
        this.loaded.set(name, r.probe as LoadedProbe<unknown>);
        this.loadInfo.push({ name, variant: r.probe.variant, attempts: r.attempts });
      } else {
        this.failed.set(name, r.reason);
        this.loadInfo.push({ name, reason: r.reason, attempts: r.attempts });
      }
    }
    trimNativeHeap();
    if (this.opts.noStats) this.statsError = 'BPF statistics off (--no-bpf-stats)';
    else if (this.loaded.size) this.statsError = enableBpfStats();
  }

  private ticks = 0;
  /** Reads every probe once. A probe whose read throws becomes unavailable; the rest go on. */
  sample(): Sample {
    // The run-queue probe first: it sees every process that was switched in, which tells the
    // /proc reader which processes did not run and need not be read.
    const names = this.names();
    const early = names.includes('runqlat') ? this.readProbe('runqlat') : undefined;
    // /proc next: the probes' readers drop map entries of processes that are gone, and the
    // list of live processes answers that without a kill(pid, 0) per entry and probe.
    // Read before /proc is listed: an unchanged count of process forks lets the listing be reused.
    const churn = this.opts.filterTgid ? null : this.processChurn();
    // The run-queue probe measures each process's waits for a CPU itself (the process table
    // takes them from it): schedstat, one file per thread, is read only when it is not running.
    const procs = readProcs(this.procCache, this.ranHint(early), churn, early?.status !== 'ok');
    setLivePids(procs.procs);
    sweepDead();
    const probes: ProbesRaw = {};
    for (const name of names) (probes as Record<string, ProbeSample<unknown>>)[name] = name === 'runqlat' && early ? early : this.readProbe(name);
    const monoMs = Number(process.hrtime.bigint() / 1000n) / 1000;
    const stats = this.readStats(monoMs);
    // glibc keeps freed native memory (Buffers, koffi, libbpf's batch buffers, the kernel symbol
    // file read once) in its heap unless asked: ~17 MB under a fork storm. Asking costs ~0.35 ms.
    if (++this.ticks % TRIM_PERIOD_TICKS === 0) trimNativeHeap();
    const cpu = process.cpuUsage();
    const sample: Sample = {
      ts: Date.now(),
      monoMs,
      system: readSystem(procs.uptimeS), // the /proc reader has just read /proc/uptime
      probes,
      procs,
      bpfStats: stats.stats,
      self: { cpuUs: cpu.user + cpu.system, rssBytes: selfRssBytes(procs.pageSize) },
    };
    if (stats.monoMs !== monoMs) sample.bpfStatsMonoMs = stats.monoMs;
    // The reading before is the previous sample's when both were read a sample apart.
    if (this.statsBase && (stats.monoMs !== monoMs || this.statsBase.monoMs !== this.lastMonoMs)) sample.bpfStatsBase = this.statsBase;
    this.lastMonoMs = monoMs;
    return sample;
  }

  /**
   * The BPF statistics: read now when due (every statsPeriod samples, and at the first two so
   * that a cost can be shown from the second on), else the last reading.
   */
  private readStats(monoMs: number): { monoMs: number; stats: Record<string, ProgStats[]> } {
    if (this.statsError !== null) return { monoMs, stats: {} };
    if (this.statsLast && this.statsBase && --this.statsDue > 0) return this.statsLast;
    const stats: Record<string, ProgStats[]> = {};
    for (const [name, p] of this.loaded) {
      stats[name] = p.programs().map((x) => progStats(x.name, x.fd)).filter((x): x is ProgStats => x !== null);
    }
    this.statsBase = this.statsLast;
    this.statsLast = { monoMs, stats };
    this.statsDue = this.statsPeriod;
    return this.statsLast;
  }

  private readProbe(name: ProbeName): ProbeSample<unknown> {
    const p = this.loaded.get(name);
    if (this.disabled.has(name)) return { status: 'disabled' };
    if (!p) return { status: 'unavailable', reason: this.failed.get(name) ?? 'not loaded' };
    try {
      if (fault(`read:${name}`)) throw new Error('injected fault');
      return { status: 'ok', variant: p.variant, data: p.read() };
    } catch (e) {
      const reason = `read failed: ${(e as Error).message}`;
      this.failed.set(name, reason);
      this.loaded.delete(name);
      p.close();
      return { status: 'unavailable', reason };
    }
  }

  /** The process-event probe's count of process forks (see ProcChurn), or null. */
  private processChurn(): number | null {
    const p = this.loaded.get('procevents'); // absent when disabled, failed, or dropped after a failed read
    if (!p?.processChurn) return null;
    try {
      return p.processChurn();
    } catch {
      return null;
    }
  }

  /**
   * Which processes ran since the last tick, from the run-queue probe's per-process switch-in
   * counts: a process whose count did not move was not switched in, so its /proc files have
   * nothing new (RunqlatRaw). Trusted only when the probe sees everything: two readings in a
   * row, no per-process updates dropped for a full map, no process filter — and probetop itself,
   * which certainly ran, shows as running (which also fails when /proc is another pid namespace).
   */
  private ranHint(s: ProbeSample<unknown> | undefined): RanHint | null {
    const prev = this.ranPrev;
    this.ranPrev = null;
    if (s?.status !== 'ok' || this.opts.filterTgid) return null;
    const data = s.data as RunqlatRaw;
    if (!Array.isArray(data?.procs)) return null; // a test's stand-in probe
    const counts = new Map<number, number>();
    for (const p of data.procs) counts.set(p.pid, p.hist.count);
    this.ranPrev = { counts, full: data.procMapFull };
    if (!prev || prev.full !== data.procMapFull || counts.get(process.pid) === prev.counts.get(process.pid)) return null;
    return { ran: (pid) => counts.get(pid) !== prev.counts.get(pid) };
  }

  /** Processes whose /proc files were not read at the last tick because they did not run. */
  procsSkipped(): number {
    return this.procCache.skipped;
  }
  /** Ticks that reused the last /proc listing (no process fork counted since). */
  listingsReused(): number {
    return this.procCache.listingsReused;
  }

  /** The loaded probes (for BPF stats and tests). */
  probes(): ReadonlyMap<ProbeName, LoadedProbe<unknown>> {
    return this.loaded;
  }

  /** Detaches and unloads every probe. Safe to call more than once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.loaded.values()) {
      try {
        p.close();
      } catch {
        /* keep closing the others */
      }
    }
    this.loaded.clear();
    disableBpfStats();
    this.procCache.close();
    setLivePids(null);
    sweepDead(); // without a listing: forgets what was pending
  }
}
