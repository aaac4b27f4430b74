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
import { readSystem } from './procfs/system';
import { fault } from './faults';
import { ProcCache, readProcs } from './procfs/procs';
import { setLivePids } from './bpf/maps';
import { enableBpfStats, disableBpfStats, progStats, ProgStats } from './bpf/stats';

/** How the sampler is set up. */
export interface SamplerOptions extends ProbeOptions {
  disable?: readonly string[]; // probe names not to load
  onLog?: (l: LogLine) => void; // libbpf's warn/info lines
  bpfDir?: string;
  noStats?: boolean; // do not turn BPF run-time statistics on (benchmarks of throughput)
  /** Probes to load instead of the registry (tests inject broken ones). */
  registry?: Record<string, ProbeSpec<unknown>>;
}

/** What happened when one probe was loaded (for the probe-status view). */
export interface ProbeLoadInfo {
  name: ProbeName;
  variant?: string;
  reason?: string;
  attempts: Attempt[];
}

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

  constructor(private opts: SamplerOptions = {}) {
    this.features = detectFeatures();
    for (const d of opts.disable ?? []) this.disabled.add(d);
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

  /** Reads every probe once. A probe whose read throws becomes unavailable; the rest go on. */
  sample(): Sample {
    // /proc first: the probes' readers drop map entries of processes that are gone, and the
    // list of live processes answers that without a kill(pid, 0) per entry and probe.
    const procs = readProcs(this.procCache);
    setLivePids(procs.procs);
    const probes: ProbesRaw = {};
    for (const name of this.names()) {
      let s: ProbeSample<unknown>;
      const p = this.loaded.get(name);
      if (this.disabled.has(name)) s = { status: 'disabled' };
      else if (p) {
        try {
          if (fault(`read:${name}`)) throw new Error('injected fault');
          s = { status: 'ok', variant: p.variant, data: p.read() };
        } catch (e) {
          const reason = `read failed: ${(e as Error).message}`;
          this.failed.set(name, reason);
          this.loaded.delete(name);
          p.close();
          s = { status: 'unavailable', reason };
        }
      } else s = { status: 'unavailable', reason: this.failed.get(name) ?? 'not loaded' };
      (probes as Record<string, ProbeSample<unknown>>)[name] = s;
    }
    const bpfStats: Record<string, ProgStats[]> = {};
    if (this.statsError === null) {
      for (const [name, p] of this.loaded) {
        bpfStats[name] = p.programs().map((x) => progStats(x.name, x.fd)).filter((x): x is ProgStats => x !== null);
      }
    }
    const cpu = process.cpuUsage();
    return {
      ts: Date.now(),
      monoMs: Number(process.hrtime.bigint() / 1000n) / 1000,
      system: readSystem(),
      probes,
      procs,
      bpfStats,
      self: { cpuUs: cpu.user + cpu.system, rssBytes: process.memoryUsage.rss() },
    };
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
  }
}
