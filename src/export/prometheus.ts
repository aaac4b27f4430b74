/**
 * Prometheus exposition: the Snapshot stream folded into monotonic counters and cumulative
 * histograms (le buckets in seconds), rendered in the text format for /metrics. Per-process
 * series only for the top N, so cardinality stays bounded.
 */
import type { Snapshot } from '../model/snapshot';
import { Hist, HIST_SLOTS, slotHighUs } from '../model/hist';

type Labels = Record<string, string>;

/** A histogram metric: where each interval's histogram comes from. */
interface HistDef {
  name: string;
  help: string;
  get(s: Snapshot): { labels: Labels; hist: Hist }[];
}

/** A counter metric: each interval's increment. */
interface CounterDef {
  name: string;
  help: string;
  get(s: Snapshot): { labels: Labels; value: number }[];
}

/** A gauge metric: the interval's value. */
interface GaugeDef {
  name: string;
  help: string;
  get(s: Snapshot): { labels: Labels; value: number | null }[];
}

/** How many processes get per-process series. */
export const TOP_N = 10;

const HISTS: HistDef[] = [
  {
    name: 'probetop_runqueue_latency_seconds',
    help: 'Time tasks waited on a run queue before running.',
    get: (s) => (s.runqlat.status === 'ok' ? [{ labels: {}, hist: s.runqlat.data.hist }] : []),
  },
  {
    name: 'probetop_block_io_latency_seconds',
    help: 'Block I/O latency, issue to completion (insert to completion with --bio-queued), by disk and direction.',
    get: (s) => (s.biolatency.status === 'ok' ? s.biolatency.data.disks.map((d) => ({ labels: { disk: d.name, op: d.op }, hist: d.hist })) : []),
  },
];

const COUNTERS: CounterDef[] = [
  {
    name: 'probetop_process_runqueue_wait_seconds_total',
    help: 'Run-queue wait of the processes that waited most (top N per interval).',
    get: (s) =>
      s.runqlat.status === 'ok'
        ? s.runqlat.data.procs.slice(0, TOP_N).map((p) => ({ labels: { pid: String(p.pid), comm: p.comm }, value: (p.waitMsPerSec * s.intervalMs) / 1e6 }))
        : [],
  },
  {
    name: 'probetop_runqlat_map_full_total',
    help: 'Per-process run-queue updates dropped because the map was full.',
    get: (s) => (s.runqlat.status === 'ok' ? [{ labels: {}, value: s.runqlat.data.procMapFull }] : []),
  },
  {
    name: 'probetop_bpf_runs_total',
    help: 'Runs of probetop BPF programs, by probe.',
    get: (s) => s.cost.probes.map((p) => ({ labels: { probe: p.name }, value: (p.eventsPerSec * s.intervalMs) / 1000 })),
  },
  {
    name: 'probetop_bpf_missed_runs_total',
    help: 'Runs of probetop BPF programs the kernel skipped (already running on that CPU): events not seen, by probe.',
    get: (s) => s.cost.probes.map((p) => ({ labels: { probe: p.name }, value: p.missed ?? 0 })),
  },
  {
    name: 'probetop_bpf_run_seconds_total',
    help: 'CPU time spent in probetop BPF programs, by probe.',
    get: (s) => s.cost.probes.map((p) => ({ labels: { probe: p.name }, value: (p.cpuPct / 100) * (s.intervalMs / 1000) })),
  },
];

COUNTERS.push(
  {
    name: 'probetop_block_io_bytes_total',
    help: 'Bytes of completed block I/O, by disk and direction.',
    get: (s) => (s.biolatency.status === 'ok' ? s.biolatency.data.disks.map((d) => ({ labels: { disk: d.name, op: d.op }, value: (d.bytesPerSec * s.intervalMs) / 1000 })) : []),
  },
  {
    name: 'probetop_page_cache_accesses_total',
    help: 'Page-cache page accesses.',
    get: (s) => (s.cachestat.status === 'ok' ? [{ labels: {}, value: s.cachestat.data.totals.accesses }] : []),
  },
  {
    name: 'probetop_page_cache_misses_total',
    help: 'Page-cache misses (pages added to the cache by reads).',
    get: (s) => (s.cachestat.status === 'ok' ? [{ labels: {}, value: s.cachestat.data.totals.misses }] : []),
  },
  {
    name: 'probetop_page_cache_dirtied_total',
    help: 'Pages dirtied in the page cache.',
    get: (s) => (s.cachestat.status === 'ok' ? [{ labels: {}, value: s.cachestat.data.totals.dirtied }] : []),
  },
);

const GAUGES: GaugeDef[] = [
  {
    name: 'probetop_probe_up',
    help: '1 when the probe is loaded and attached, 0 when unavailable or disabled.',
    get: (s) => s.probes.map((p) => ({ labels: { probe: p.name, variant: p.status === 'ok' ? p.variant : p.status }, value: p.status === 'ok' ? 1 : 0 })),
  },
  {
    name: 'probetop_self_cpu_ratio',
    help: "probetop's own user-space CPU, fraction of one CPU over the last interval.",
    get: (s) => [{ labels: {}, value: s.cost.selfCpuPct === null ? null : s.cost.selfCpuPct / 100 }],
  },
  {
    name: 'probetop_self_resident_bytes',
    help: "probetop's resident memory.",
    get: (s) => [{ labels: {}, value: s.cost.rssBytes }],
  },
];

function escapeLabel(v: string): string {
  // Label values are arbitrary text (process names): escape as the format requires, and drop
  // control characters so no escape sequence reaches whoever reads the page.
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/[\x00-\x1f\x7f]/g, '?');
}

function labelText(l: Labels, extra?: [string, string]): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  if (extra) parts.push(`${extra[0]}="${extra[1]}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(12)));
}

/** Folds snapshots into cumulative series and renders them. */
export class PrometheusState {
  private hists = new Map<string, Map<string, { labels: Labels; slots: number[]; count: number; sumNs: number }>>();
  private counters = new Map<string, Map<string, { labels: Labels; value: number }>>();
  private last: Snapshot | undefined;

  /** Adds one interval. */
  add(s: Snapshot): void {
    this.last = s;
    for (const d of HISTS) {
      const m = this.hists.get(d.name) ?? new Map();
      this.hists.set(d.name, m);
      for (const { labels, hist } of d.get(s)) {
        const k = JSON.stringify(labels);
        const e = m.get(k) ?? { labels, slots: [], count: 0, sumNs: 0 };
        hist.slots.forEach((c, i) => (e.slots[i] = (e.slots[i] ?? 0) + c));
        e.count += hist.count;
        e.sumNs += hist.sumNs;
        m.set(k, e);
      }
    }
    for (const d of COUNTERS) {
      const m = this.counters.get(d.name) ?? new Map();
      this.counters.set(d.name, m);
      for (const { labels, value } of d.get(s)) {
        const k = JSON.stringify(labels);
        const e = m.get(k) ?? { labels, value: 0 };
        e.value += value;
        m.set(k, e);
      }
      // Bound per-process series: keep the TOP_N largest.
      if (m.size > TOP_N * 5) {
        const keep = [...m.entries()].sort((a, b) => b[1].value - a[1].value).slice(0, TOP_N * 5);
        this.counters.set(d.name, new Map(keep));
      }
    }
  }

  /** The /metrics page. */
  render(): string {
    const out: string[] = [];
    for (const d of HISTS) {
      out.push(`# HELP ${d.name} ${d.help}`, `# TYPE ${d.name} histogram`);
      for (const e of this.hists.get(d.name)?.values() ?? []) {
        let cum = 0;
        // Every bucket, always: a stable set of series per histogram.
        for (let i = 0; i < HIST_SLOTS; i++) {
          cum += e.slots[i] ?? 0;
          out.push(`${d.name}_bucket${labelText(e.labels, ['le', fmt(slotHighUs(i) / 1e6)])} ${cum}`);
        }
        out.push(`${d.name}_bucket${labelText(e.labels, ['le', '+Inf'])} ${e.count}`);
        out.push(`${d.name}_sum${labelText(e.labels)} ${fmt(e.sumNs / 1e9)}`);
        out.push(`${d.name}_count${labelText(e.labels)} ${e.count}`);
      }
    }
    for (const d of COUNTERS) {
      out.push(`# HELP ${d.name} ${d.help}`, `# TYPE ${d.name} counter`);
      for (const e of this.counters.get(d.name)?.values() ?? []) out.push(`${d.name}${labelText(e.labels)} ${fmt(e.value)}`);
    }
    if (this.last) {
      for (const d of GAUGES) {
        out.push(`# HELP ${d.name} ${d.help}`, `# TYPE ${d.name} gauge`);
        for (const e of d.get(this.last)) if (e.value !== null) out.push(`${d.name}${labelText(e.labels)} ${fmt(e.value)}`);
      }
    }
    return out.join('\n') + '\n';
  }
}
