/**
 * Turns a run's Results into Markdown: conditions, the targets with met / not met, then each
 * benchmark's table. Pure: the same Results always give the same text.
 */
import type { CostRun, Guard, Results, SelfRun, ThroughputResult } from './results';
import { quantile, summary, Summary } from './stats';

/** One target and how the run measured against it. */
export interface Verdict {
  target: string;
  measured: string;
  verdict: 'met' | 'NOT met' | 'not measured';
  busy: boolean; // measured on a busy machine (or in disturbed runs): not representative
}

/** Per configuration and workload: the per-pair ratios to the neighbouring baseline runs. */
export function throughputRatios(t: ThroughputResult): Map<string, Map<string, { ratios: number[]; busy: number }>> {
  const out = new Map<string, Map<string, { ratios: number[]; busy: number }>>();
  const blocks = [...t.blocks].sort((a, b) => a.seq - b.seq);
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i];
    if (b.config === 'none') continue;
    // The baseline runs just before and after (A B A): their mean cancels a linear drift.
    const prev = blocks.slice(0, i).reverse().find((x) => x.config === 'none');
    const next = blocks.slice(i + 1).find((x) => x.config === 'none');
    const m = out.get(b.config) ?? new Map();
    out.set(b.config, m);
    for (const w of t.workloads) {
      const base = [prev, next].filter((x) => x && Number.isFinite(x.values[w.name])).map((x) => x!.values[w.name]);
      if (!base.length || !Number.isFinite(b.values[w.name])) continue;
      const e = m.get(w.name) ?? { ratios: [], busy: 0 };
      e.ratios.push(b.values[w.name] / (base.reduce((s, v) => s + v, 0) / base.length));
      if (isBusy(b) || (prev && isBusy(prev)) || (next && isBusy(next))) e.busy++;
      m.set(w.name, e);
    }
  }
  return out;
}

function isBusy(g: Guard): boolean {
  return g.busyBefore !== null || g.disturbed !== null;
}

/** A program's cost over the rounds of benchmark 2. */
export interface ProgCost {
  config: string;
  owner: string;
  name: string;
  attach: string;
  ns: Summary; // ns/event over the rounds that ran it
  runs: number; // events, all rounds
}

/** Groups the cost passes by configuration and program. */
export function aggregateCost(runs: CostRun[]): ProgCost[] {
  const m = new Map<string, { p: ProgCost; xs: number[] }>();
  for (const r of runs) {
    for (const p of r.progs) {
      const k = `${r.config}|${p.name}|${p.attach}`;
      const e = m.get(k) ?? { p: { config: r.config, owner: p.owner, name: p.name, attach: p.attach, ns: summary([]), runs: 0 }, xs: [] };
      e.p.runs += p.runs;
      if (p.runs > 0) e.xs.push(p.ns / p.runs);
      m.set(k, e);
    }
  }
  return [...m.values()].map((e) => ({ ...e.p, ns: summary(e.xs) }));
}

/** probetop programs and the libbpf-tools programs that do the same job. */
export const COUNTERPARTS: { owner: string; attach: string; tool: string; toolAttaches: string[] }[] = [
  { owner: 'runqlat', attach: 'sched_switch', tool: 'runqlat', toolAttaches: ['sched_switch'] },
  { owner: 'runqlat', attach: 'sched_wakeup', tool: 'runqlat', toolAttaches: ['sched_wakeup'] },
  { owner: 'runqlat', attach: 'sched_wakeup_new', tool: 'runqlat', toolAttaches: ['sched_wakeup_new'] },
  { owner: 'offcputime', attach: 'sched_switch', tool: 'offcputime', toolAttaches: ['sched_switch'] },
  { owner: 'biolatency', attach: 'block_rq_issue', tool: 'biolatency', toolAttaches: ['block_rq_issue'] },
  { owner: 'biolatency', attach: 'block_rq_complete', tool: 'biolatency', toolAttaches: ['block_rq_complete'] },
  // execsnoop runs two programs per exec (syscall entry and exit): its cost per exec is their sum.
  { owner: 'procevents', attach: 'sched_process_exec', tool: 'execsnoop', toolAttaches: ['sys_enter_execve', 'sys_exit_execve'] },
  { owner: 'procevents', attach: 'sched_process_exit', tool: 'exitsnoop', toolAttaches: ['sched_process_exit'] },
];

/** The absolute ns/event target for a probetop program attached at `attach`, or null. */
export function absTarget(attach: string): number | null {
  if (attach === 'sched_switch') return 200;
  if (attach === 'sched_wakeup' || attach === 'sched_wakeup_new') return 150;
  if (attach.startsWith('block_rq_')) return 300;
  if (['sched_process_fork', 'sched_process_exec', 'sched_process_exit', 'sched_process_free', 'task_newtask'].includes(attach)) return 1000;
  return null;
}

const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '–');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '–');
const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
const range = (s: Summary, f: (x: number) => string) => (s.n > 1 ? `${f(s.min)}–${f(s.max)}` : 'n=1');

function table(head: string[], rows: string[][]): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  return [`| ${head.map(esc).join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

function guards(r: Results): Guard[] {
  return [...(r.throughput?.blocks ?? []), ...(r.cost ?? []), ...(r.self ?? []), ...(r.lost ?? []), ...(r.tick ? [r.tick] : [])];
}

/** Every target of the issue, judged on this run. */
export function verdicts(r: Results): Verdict[] {
  const v: Verdict[] = [];
  const judge = (target: string, measured: string, ok: boolean | null, busy = false) => v.push({ target, measured, verdict: ok === null ? 'not measured' : ok ? 'met' : 'NOT met', busy: ok !== null && busy });
  const costBusy = (configs: string[]) => (r.cost ?? []).some((c) => configs.includes(c.config) && isBusy(c));
  // Cost.
  const cost = r.cost ? aggregateCost(r.cost) : [];
  const pt = cost.filter((c) => c.config === 'probetop');
  for (const cp of COUNTERPARTS) {
    const mine = pt.filter((c) => c.owner === cp.owner && c.attach === cp.attach && c.ns.n);
    const theirs = cp.toolAttaches.map((a) => cost.find((c) => c.config === cp.tool && c.attach === a && c.ns.n));
    const label = `${cp.owner} ${cp.attach} ≤ 0.8× libbpf-tools ${cp.tool}`;
    // The probe ran (its other programs counted events) but has no program on this event at
    // all (runqlat's schedinfo variant reads the enqueue time the kernel keeps): 0 ns.
    const probeRan = pt.some((c) => c.owner === cp.owner && c.ns.n);
    if (r.cost && !mine.length && probeRan && theirs.every(Boolean)) {
      judge(label, `no ${cp.owner} program on ${cp.attach} (0 ns) vs ${f0(theirs.reduce((s, c) => s + c!.ns.median, 0))} ns`, true, costBusy(['probetop', cp.tool]));
      continue;
    }
    if (!mine.length || theirs.some((t) => !t)) {
      judge(label, !r.cost ? 'cost benchmark not run' : !mine.length ? `no probetop ${cp.owner} program ran on ${cp.attach}` : `no ${cp.tool} program ran on ${cp.toolAttaches.join('+')}`, null);
      continue;
    }
    const a = mine.reduce((s, c) => s + c.ns.median, 0);
    const b = theirs.reduce((s, c) => s + c!.ns.median, 0);
    judge(label, `${f0(a)} ns vs ${f0(b)} ns = ${f2(a / b)}×`, a <= 0.8 * b, costBusy(['probetop', cp.tool]));
  }
  for (const [label, attaches, limit] of [
    ['sched_switch ≤ 200 ns (each probetop program)', ['sched_switch'], 200],
    ['wakeup ≤ 150 ns (each probetop program)', ['sched_wakeup', 'sched_wakeup_new'], 150],
    ['block I/O ≤ 300 ns (each probetop program)', ['block_rq_insert', 'block_rq_issue', 'block_rq_merge', 'block_rq_requeue', 'block_rq_complete'], 300],
    ['fork/exec/exit ≤ 1 µs (each probetop program)', ['sched_process_fork', 'task_newtask', 'sched_process_exec', 'sched_process_exit', 'sched_process_free'], 1000],
  ] as [string, string[], number][]) {
    const ps = pt.filter((c) => attaches.includes(c.attach) && c.ns.n);
    if (!ps.length && r.cost && attaches.includes('sched_wakeup') && pt.some((c) => c.owner === 'runqlat' && c.ns.n)) {
      judge(label, 'no probetop program on wakeups (runqlat reads the enqueue time the kernel keeps at sched_switch)', true, costBusy(['probetop']));
      continue;
    }
    if (!ps.length) {
      judge(label, r.cost ? 'no probetop program ran there' : 'cost benchmark not run', null);
      continue;
    }
    judge(label, ps.map((p) => `${p.name} ${f0(p.ns.median)} ns`).join(', '), ps.every((p) => p.ns.median <= limit), costBusy(['probetop']));
  }
  // Throughput.
  const ratios = r.throughput ? throughputRatios(r.throughput) : undefined;
  const pr = (w: string) => ratios?.get('probetop')?.get(w);
  const pipe = pr('pipe');
  judge('probetop: pipe ping-pong ≥ 0.75 of baseline (aim 0.90)', pipe ? `median ${f3(summary(pipe.ratios).median)} (${range(summary(pipe.ratios), f3)}, ${pipe.ratios.length} pairs)` : 'not run', pipe ? summary(pipe.ratios).median >= 0.75 : null, (pipe?.busy ?? 0) > 0);
  if (pipe) judge('probetop: pipe ping-pong ≥ 0.90 (the aim)', `median ${f3(summary(pipe.ratios).median)}`, summary(pipe.ratios).median >= 0.9, pipe.busy > 0);
  const fe = pr('forkexec');
  judge('probetop: fork/exec throughput ≥ 0.97 of baseline', fe ? `median ${f3(summary(fe.ratios).median)} (${range(summary(fe.ratios), f3)}, ${fe.ratios.length} pairs)` : 'not run', fe ? summary(fe.ratios).median >= 0.97 : null, (fe?.busy ?? 0) > 0);
  // Lost.
  const l0 = r.lost?.find((l) => l.nice === 0);
  if (!l0 || l0.skipped || !l0.kernel) judge('zero lost process events at normal priority', l0?.skipped ?? 'not run', null);
  else {
    const drops = l0.json?.budgetDrops ?? 0;
    judge('zero lost process events at normal priority', `${l0.kernel.lost} lost in the kernel + ${l0.json?.budgetDrops ?? 'n/a'} dropped in user space, ${l0.spawned} processes spawned`, l0.kernel.lost + drops === 0, isBusy(l0));
  }
  // Self: judged on the full-screen UI (what a user runs) and on the headless mode alike.
  for (const ui of ['json', 'tui'] as const) {
    const name = ui === 'tui' ? 'full-screen UI' : 'headless --json';
    const self = (n: number) => r.self?.find((s) => (s.ui ?? 'json') === ui && s.extraProcs === n);
    // Idle: the median of its windows (one window in runs before they were repeated).
    const idles = r.self?.filter((s) => (s.ui ?? 'json') === ui && s.extraProcs === 0) ?? [];
    if (idles.length) {
      const tot = summary(idles.map((s) => s.userCpuPct + s.bpfCpuPct));
      const med = (f: (s: SelfRun) => number) => f2(summary(idles.map(f)).median);
      const refs = idles.filter((s) => s.referenceCpuPct !== undefined).map((s) => s.referenceCpuPct!);
      const detail = idles.length > 1 ? `median of ${idles.length} windows ${f2(tot.median)}% (${range(tot, f2)}); user space ${med((s) => s.userCpuPct)}% + BPF ${med((s) => s.bpfCpuPct)}%` : `${f2(idles[0].userCpuPct)}% + ${f2(idles[0].bpfCpuPct)}% = ${f2(tot.median)}%`;
      judge(`probetop (${name}) CPU (user space + BPF) idle, 1 s refresh ≤ 0.5% of a core`, `${detail}${refs.length ? `; reference ${f2(summary(refs).median)}%` : ''}`, tot.median <= 0.5, idles.some(isBusy));
    } else judge(`probetop (${name}) CPU (user space + BPF) idle, 1 s refresh ≤ 0.5% of a core`, 'not run', null);
    const s500 = self(500);
    judge(`probetop (${name}) CPU with 500 sleeping processes ≤ 1.5% of a core`, s500 ? `${f2(s500.userCpuPct)}% + ${f2(s500.bpfCpuPct)}% = ${f2(s500.userCpuPct + s500.bpfCpuPct)}%` : 'not run', s500 ? s500.userCpuPct + s500.bpfCpuPct <= 1.5 : null, !!s500 && isBusy(s500));
    const runs = r.self?.filter((s) => (s.ui ?? 'json') === ui) ?? [];
    if (runs.length) {
      const max = Math.max(...runs.map((s) => Math.max(s.rssMaxBytes, s.hwmBytes)));
      judge(`probetop (${name}) RSS ≤ 150 MB`, `max ${mb(max)} (VmRSS/VmHWM, all scenarios)`, max <= 150e6, runs.some(isBusy));
    } else judge(`probetop (${name}) RSS ≤ 150 MB`, 'not run', null);
  }
  // Tick.
  if (r.tick) {
    const tot = r.tick.sampleMs.map((s, i) => s + r.tick!.buildMs[i]);
    const p95 = quantile(tot, 0.95);
    judge(`tick ≤ 20 ms with ${r.tick.procsExtra} extra processes (judged on the 95th percentile)`, `median ${f2(quantile(tot, 0.5))} ms, p95 ${f2(p95)} ms, max ${f2(Math.max(...tot))} ms`, p95 <= 20, isBusy(r.tick));
  } else judge('tick ≤ 20 ms with 1,000 processes', 'not run', null);
  return v;
}

/** The whole report. */
export function renderReport(r: Results): string {
  const out: string[] = [];
  const g = guards(r);
  const busy = g.filter(isBusy);
  out.push(`## Run of ${r.meta.startedAt.replace('T', ' ').replace(/\..*/, '')} UTC`);
  out.push('');
  if (busy.length) out.push(`**Machine was busy: not representative.** ${busy.length} of ${g.length} measured runs started on a busy machine or were disturbed and kept (--allow-busy).`, '');
  if (r.meta.aborted) out.push(`**Run stopped early:** ${r.meta.aborted}`, '');
  out.push(
    table(
      ['', ''],
      [
        ['command', `\`${r.meta.command}\``],
        ['machine', `${r.meta.host}, ${r.meta.cpus} CPUs, kernel ${r.meta.kernel}`],
        ['probetop', `commit ${r.meta.commit}${r.meta.dirty ? ' + uncommitted changes in src/bpf/screens' : ''}${r.meta.probetopProbes.length ? `; probes: ${r.meta.probetopProbes.join(', ')}` : ''}`],
        ['duration', r.meta.durationS ? `${(r.meta.durationS / 60).toFixed(1)} min` : 'unfinished'],
        ['kernel.bpf_stats_enabled', `${r.meta.statsSysctlBefore} before, ${r.meta.statsSysctlAfter ?? '?'} after`],
      ],
    ),
    '',
  );
  out.push('### Targets', '');
  out.push(table(['target', 'measured', 'verdict'], verdicts(r).map((v) => [v.target, v.measured, `${v.verdict === 'met' ? 'met' : `**${v.verdict}**`}${v.busy ? ' (busy machine)' : ''}`])), '');

  if (r.throughput) {
    const t = r.throughput;
    const ratios = throughputRatios(t);
    const nRounds = Math.max(0, ...t.blocks.map((b) => b.round));
    out.push('### 1. Throughput beside each tool (ratio to nothing running)', '');
    out.push(`${nRounds} round${nRounds === 1 ? '' : 's'}; each configuration's run is divided by the mean of the baseline runs just before and after it; median (min–max) over the pairs. Workload runs ${t.seconds} s (pipe: ${t.pipeLoops} loops; messaging: ${t.msgLoops} loops). BPF statistics off except where probetop holds them on itself.`, '');
    const cfgs = t.configs.filter((c) => c.name !== 'none');
    const head = ['workload', 'baseline (median)', ...cfgs.map((c) => c.name)];
    const rows = t.workloads.map((w) => {
      const base = summary(t.blocks.filter((b) => b.config === 'none').map((b) => b.values[w.name]).filter(Number.isFinite));
      return [
        `${w.name}${w.judged ? '' : ' (noisy: reported, not judged)'}`,
        `${f0(base.median)} ${w.unit}`,
        ...cfgs.map((c) => {
          const e = ratios.get(c.name)?.get(w.name);
          if (!e?.ratios.length) return '–';
          const s = summary(e.ratios);
          return `${f3(s.median)} (${s.n > 1 ? `${f3(s.min)}–${f3(s.max)}` : 'n=1'})${e.busy ? ` [${e.busy} busy]` : ''}`;
        }),
      ];
    });
    out.push(table(head, rows), '');
    const statsOn = [...new Set(t.blocks.filter((b) => b.statsOn).map((b) => b.config))];
    const others = statsOn.filter((c) => c !== 'probetop');
    if (statsOn.includes('probetop')) out.push('probetop turns BPF run-time statistics on while it runs (for its own-cost display), so its runs include their cost.', '');
    if (others.length) out.push(`BPF run-time statistics were also on during runs of ${others.join(', ')}: something else held them on (kernel.bpf_stats_enabled or a BPF_ENABLE_STATS fd).`, '');
  }

  if (r.cost) {
    const cost = aggregateCost(r.cost);
    out.push('### 2. Cost per event in the kernel (kernel.bpf_stats_enabled=1, run_time_ns / run_cnt)', '');
    const passes = Math.max(...r.cost.map((c) => c.round));
    out.push(`${passes} pass${passes === 1 ? '' : 'es'} per configuration; each pass runs the workloads once beside it; median (min–max) ns/event over the passes.`, '');
    const pt = cost.filter((c) => c.config === 'probetop').sort((a, b) => a.owner.localeCompare(b.owner) || a.attach.localeCompare(b.attach));
    const rows = pt.map((p) => {
      const cp = COUNTERPARTS.find((c) => c.owner === p.owner && c.attach === p.attach);
      const theirs = cp ? cp.toolAttaches.map((a) => cost.find((c) => c.config === cp.tool && c.attach === a && c.ns.n)) : [];
      const tns = theirs.length && theirs.every(Boolean) ? theirs.reduce((s, c) => s + c!.ns.median, 0) : NaN;
      const lim = absTarget(p.attach);
      return [
        p.owner,
        p.attach,
        p.name,
        p.ns.n ? `${f0(p.ns.median)}${p.ns.n > 1 ? ` (${range(p.ns, f0)})` : ''}` : 'no events',
        f0(p.runs),
        cp ? `${cp.tool}: ${cp.toolAttaches.join(' + ')}` : '–',
        Number.isFinite(tns) ? f0(tns) : cp ? 'not measured' : '–',
        Number.isFinite(tns) && p.ns.n ? `${f2(p.ns.median / tns)}×` : '–',
        lim ? `≤ ${lim}` : '–',
      ];
    });
    out.push(table(['probe', 'event', 'program', 'ns/event', 'events', 'libbpf-tools counterpart', 'its ns/event', 'ratio', 'target ns'], rows), '');
    const sw = pt.filter((p) => p.attach === 'sched_switch' && p.ns.n);
    if (sw.length > 1) out.push(`All probetop programs on sched_switch together: ${f0(sw.reduce((s, p) => s + p.ns.median, 0))} ns per switch.`, '');
    const tools = cost.filter((c) => c.config !== 'probetop').sort((a, b) => a.config.localeCompare(b.config) || a.attach.localeCompare(b.attach));
    out.push('libbpf-tools programs:', '');
    out.push(table(['tool', 'event', 'program', 'ns/event', 'events'], tools.map((p) => [p.config, p.attach, p.name, p.ns.n ? `${f0(p.ns.median)}${p.ns.n > 1 ? ` (${range(p.ns, f0)})` : ''}` : 'no events', f0(p.runs)])), '');
  }

  if (r.self) {
    out.push("### 3. probetop's own cost at 1 s refresh (headless `--json -i 1000 > /dev/null`, and the full-screen UI in tmux at 160x48)", '');
    out.push(
      table(
        ['mode', 'scenario', 'window', 'user space (% of a core)', 'BPF (% of a core)', 'total', 'reference (% of a core)', 'RSS max', 'VmHWM', 'conditions'],
        r.self.map((s) => [s.ui === 'tui' ? 'full-screen UI' : 'headless --json', `${s.scenario}${s.window ? ` (window ${s.window})` : ''}`, `${f0(s.seconds)} s`, f2(s.userCpuPct), f2(s.bpfCpuPct), f2(s.userCpuPct + s.bpfCpuPct), s.referenceCpuPct === undefined ? '-' : f2(s.referenceCpuPct), mb(s.rssMaxBytes), mb(s.hwmBytes), isBusy(s) ? 'busy' : 'quiet']),
      ),
      '',
    );
    if (r.self.some((s) => s.referenceCpuPct !== undefined)) {
      out.push(
        'Reference: `dist/bench/reference.js` (bench/reference.ts), the same fixed work once a second, run beside probetop in the same windows. It says how fast the machine ran in each window (the host\'s load is not visible from the guest): compare a probetop number with another run\'s together with the two references.',
        '',
      );
    }
    const warm = ['json', 'tui'].map((ui) => r.self!.find((s) => (s.ui ?? 'json') === ui && s.warmupCpuPct !== undefined)).filter((s): s is NonNullable<typeof s> => !!s);
    if (warm.length) {
      out.push(
        `Each mode is one process: it runs ${warm[0].warmupSeconds} s before its first window (V8 compiles the hot code during the first minutes), then the three scenarios follow (idle in ${Math.max(1, ...r.self!.map((s) => s.window ?? 1))} window${r.self!.some((s) => (s.window ?? 1) > 1) ? 's in a row, judged on their median' : ''}), each window after the extra processes have settled. CPU during that warm-up, user space: ${warm.map((s) => `${s.ui === 'tui' ? 'full-screen UI' : 'headless'} ${f2(s.warmupCpuPct!)}%`).join(', ')}.`,
        '',
      );
    }
  }

  if (r.lost) {
    out.push('### 4. Lost process events in a fork/exec storm', '');
    out.push(
      table(
        ['probetop priority', 'spawned', 'forks seen', 'execs seen', 'exits seen', 'lost in kernel (ring full)', 'dropped in user space', 'lost per spawned', 'conditions'],
        r.lost.map((l) =>
          l.skipped || !l.kernel
            ? [`nice ${l.nice}`, `skipped: ${l.skipped ?? '?'}`, '', '', '', '', '', '', '']
            : [
                `nice ${l.nice}`,
                `${l.spawned} (${l.forkers} × ${l.seconds} s)`,
                String(l.kernel.forks),
                String(l.kernel.execs),
                String(l.kernel.exits),
                `${l.kernel.lost} (${Object.entries(l.kernel.lostByKind).filter(([, n]) => n).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'})`,
                l.json?.budgetDrops === null || l.json?.budgetDrops === undefined ? 'not in --json output' : String(l.json.budgetDrops),
                l.spawned ? f3((l.kernel.lost + (l.json?.budgetDrops ?? 0)) / l.spawned) : '–',
                isBusy(l) ? 'busy' : 'quiet',
              ],
        ),
      ),
      '',
    );
    out.push('"seen" counts every process on the machine in the window (kernel counters), so it can exceed "spawned".', '');
    const costed = r.lost.filter((l) => l.cost);
    if (costed.length) {
      const probes = [...new Set(costed.flatMap((l) => Object.keys(l.cost!.bpfUsByProbe)))].sort();
      out.push(
        "probetop's cost per spawned process, from the storm's start until 3 s after it (its BPF statistics on, as by default): user-space CPU (all threads, its idle rate taken off) and BPF run time (`run_time_ns`) by probe. The BPF part runs in the storm's own fork/exec/exit path; the user-space part mostly on another CPU.",
        '',
        table(
          ['probetop priority', 'window', 'user space µs', 'BPF µs', ...probes.map((p) => `${p} µs`)],
          costed.map((l) => [`nice ${l.nice}`, `${l.cost!.windowS.toFixed(1)} s`, l.cost!.userUsPerSpawned.toFixed(1), l.cost!.bpfUsPerSpawned.toFixed(1), ...probes.map((p) => (l.cost!.bpfUsByProbe[p] ?? 0).toFixed(2))]),
        ),
        '',
      );
    }
  }

  if (r.tick) {
    const t = r.tick;
    const s = (xs: number[]) => `${f2(quantile(xs, 0.5))} / ${f2(quantile(xs, 0.95))} / ${f2(Math.max(...xs))}`;
    const tot = t.sampleMs.map((x, i) => x + t.buildMs[i]);
    out.push('### 5. Tick cost (sample() + buildSnapshot(), bench/tick.ts)', '');
    out.push(`${t.ticks} ticks at ${t.intervalMs} ms, ${t.procsExtra} extra sleeping processes (${t.procsSeen} processes in the snapshot); probes ${t.loaded.join(', ')}${t.failed.length ? `; failed: ${t.failed.join('; ')}` : ''}. ${isBusy(t) ? 'Machine busy.' : ''}`, '');
    const reads = Object.entries(t.readMs ?? {}).filter(([, xs]) => xs.length).map(([k, xs]) => [`  of which ${k}.read()`, s(xs)]);
    out.push(table(['part', 'median / p95 / max ms'], [['sample() (read maps, /proc)', s(t.sampleMs)], ...reads, ['buildSnapshot()', s(t.buildMs)], ['tick', s(tot)]]), '');
  }
  const notes = [...r.meta.notes];
  const disturbed = g.filter((x) => x.disturbed).map((x) => x.disturbed!);
  if (disturbed.length) notes.push(`${disturbed.length} disturbed runs kept; the first: ${[...new Set(disturbed)].slice(0, 3).map((d) => d.slice(0, 240)).join(' / ')}`);
  if (notes.length) out.push('### Notes', '', ...notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}
