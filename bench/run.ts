/**
 * probetop's benchmarks (issue 8), all in one command: `bash bench/run` (which builds, installs
 * what is missing, then runs this as `node dist/bench/run.js`). Results go to
 * bench/results/<time>.json and .md; BENCHMARKS.md says what each number means.
 *
 *  1 throughput  workloads alone, beside each libbpf-tools tool, beside probetop: ratios
 *  2 cost        ns per event of every probetop and libbpf-tools program (statistics on)
 *  3 self        probetop's own CPU (user space + BPF) and RSS at 1 s refresh
 *  4 lost        process events lost in a fork/exec storm (normal priority and nice 19)
 *  5 tick        ms to read every map and build the snapshot, with 1,000 extra processes
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { children, holdProcesses, processCpuNs, processRss, run, runOk, sleep, start, which } from './lib/sys';
import { heldBpf, listProgs, mapNames, dumpPercpu0, statsSysctl, setStatsSysctl } from './lib/bpf';
import { BusyError, QuietOptions, QuietVerdict, RunWatch, waitQuiet } from './lib/quiet';
import { calibrate, defaultDir, prepareFiles, removeFiles, WorkCtx, WORKLOADS } from './lib/workloads';
import { CONFIGS, ConfigDef, ownerOf, Running, startConfig, startTui, TOOLS } from './lib/configs';
import type { CostProg, CostRun, Guard, LostRun, Results, SelfRun, ThroughputBlock, TickResult } from './lib/results';
import { renderReport } from './lib/report';

const ROOT = path.resolve(__dirname, '..', '..');
const BENCHES = ['throughput', 'cost', 'self', 'lost', 'tick'] as const;
type Bench = (typeof BENCHES)[number];

const t0 = Date.now();
function log(m: string): void {
  const s = ((Date.now() - t0) / 1000).toFixed(0).padStart(5);
  process.stderr.write(`bench ${s}s  ${m}\n`);
}

function num(min: number, max: number) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`expected a number from ${min} to ${max}`);
    return n;
  };
}

function list<T extends string>(allowed: readonly T[]) {
  return (v: string) => {
    const xs = v.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = xs.filter((x) => !allowed.includes(x as T));
    if (bad.length) throw new InvalidArgumentError(`unknown ${bad.join(', ')} (choose from ${allowed.join(', ')})`);
    return xs as T[];
  };
}

const program = new Command('bench/run')
  .description("probetop's benchmarks: throughput ratios, ns/event, own CPU and RSS, lost events, tick cost")
  .option('--only <benches>', `which benchmarks (${BENCHES.join(',')})`, list(BENCHES), [...BENCHES])
  .option('--pairs <n>', 'throughput: rounds of alternating baseline/configuration runs', num(1, 50), 11)
  .option('--seconds <s>', 'length of one time-bounded workload run (pipe runs ~1.5x this)', num(0.5, 60), 2)
  .option('--configs <names>', 'throughput: configurations besides the baseline', list(CONFIGS.filter((c) => c.kind !== 'none').map((c) => c.name)), CONFIGS.filter((c) => c.kind !== 'none').map((c) => c.name))
  .option('--cost-rounds <n>', 'cost: passes per configuration (statistics on)', num(1, 20), 3)
  .option('--self-seconds <s>', 'self: measured window per scenario', num(2, 600), 60)
  .option('--self-warmup <s>', 'self: seconds each mode runs before its first window (V8 compiles the hot code in the first minutes)', num(0, 1200), 150)
  .option('--self-settle <s>', 'self: seconds between starting the extra processes and the window', num(0, 600), 15)
  .option('--self-idle-windows <n>', 'self: windows in a row at idle (judged on their median)', num(1, 20), 3)
  .option('--storm-seconds <s>', 'lost: length of the fork/exec storm', num(1, 120), 5)
  .option('--ticks <n>', 'tick: ticks timed', num(2, 1000), 20)
  .option('--procs <n>', 'self/tick: extra sleeping processes (the 1,000 of the targets)', num(0, 20000), 1000)
  .option('--max-foreign <pct>', 'quiet: foreign CPU allowed, % of one core', num(0, 200), 5)
  .option('--quiet-window <ms>', 'quiet: length of the check before each run', num(200, 60000), 1000)
  .option('--wait-quiet <s>', 'quiet: how long to wait for a quiet machine before refusing', num(0, 86400), 600)
  .option('--retries <n>', 'quiet: reruns of a disturbed run', num(0, 20), 2)
  .option('--allow-busy', 'run on a busy machine anyway (results are labelled "machine was busy: not representative")', false)
  .option('--dir <path>', 'scratch directory for fio files (on the disk to measure)', defaultDir())
  .option('--cache-mib <n>', 'size of the page-cache file', num(16, 65536), 1024)
  .option('--out <dir>', 'where results go', path.join(ROOT, 'bench', 'results'))
  .option('--keep-files', 'keep the fio scratch files', false)
  .showHelpAfterError();

interface Opts {
  only: Bench[];
  pairs: number;
  seconds: number;
  configs: string[];
  costRounds: number;
  selfSeconds: number;
  selfWarmup: number;
  selfSettle: number;
  selfIdleWindows: number;
  stormSeconds: number;
  ticks: number;
  procs: number;
  maxForeign: number;
  quietWindow: number;
  waitQuiet: number;
  retries: number;
  allowBusy: boolean;
  dir: string;
  cacheMib: number;
  out: string;
  keepFiles: boolean;
}

let opts: Opts;
let quiet: QuietOptions;
let results: Results;
let statsBefore = 0;
let outBase = '';
let restored = false;

function restoreStats(): void {
  if (restored) return;
  try {
    if (statsSysctl() !== statsBefore) setStatsSysctl(statsBefore);
    results.meta.statsSysctlAfter = statsSysctl();
    restored = true;
  } catch (e) {
    process.stderr.write(`bench: could not restore kernel.bpf_stats_enabled=${statsBefore}: ${(e as Error).message}\n`);
  }
}

function save(): void {
  fs.mkdirSync(path.dirname(outBase), { recursive: true });
  fs.writeFileSync(`${outBase}.json`, JSON.stringify(results, null, 1) + '\n');
  fs.writeFileSync(`${outBase}.md`, renderReport(results));
}

/** Waits until none of `ids` is loaded any more (programs are freed after their last fd closes). */
async function gone(ids: Iterable<number>, ms = 5000): Promise<void> {
  const want = [...ids];
  if (!want.length) return;
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const now = await listProgs();
    if (!want.some((id) => now.has(id))) return;
    await sleep(100);
  }
}

/**
 * Runs `body` on a quiet machine: checks before (waiting for quiet, or refusing), watches during,
 * reruns when disturbed. `body` returns its value and a stop function, called after the watch
 * ends (so that its own programs are still held when foreign programs are looked for).
 */
async function guarded<T>(label: string, body: () => Promise<{ value: T; stop: () => Promise<void> }>): Promise<{ value: T; guard: Guard }> {
  for (let attempt = 1; ; attempt++) {
    const pre: QuietVerdict = await waitQuiet(quiet, log);
    if (!pre.quiet) log(`${label}: machine busy, running anyway (--allow-busy): ${pre.why}`);
    const watch = new RunWatch();
    const { value, stop } = await body();
    const during = await watch.end(quiet);
    await stop();
    if (pre.quiet && during.quiet) return { value, guard: { attempts: attempt, busyBefore: null, disturbed: null } };
    if (!during.quiet) log(`${label}: disturbed: ${during.why}`);
    if (attempt <= opts.retries) {
      log(`${label}: rerunning (${attempt}/${opts.retries})`);
      continue;
    }
    if (!opts.allowBusy) throw new BusyError(`${label}: still disturbed after ${opts.retries} reruns: ${during.why || pre.why}`);
    return { value, guard: { attempts: attempt, busyBefore: pre.quiet ? null : pre.why, disturbed: during.quiet ? null : during.why } };
  }
}

/** Starts a configuration for a guarded body; returns it and a stop that also waits for its programs to go. */
async function withConfig(def: ConfigDef, extra: { out?: string; nice?: number; stats?: boolean } = {}): Promise<{ r: Running; stop: () => Promise<void> }> {
  const r = await startConfig(def, { root: ROOT, ...extra });
  return {
    r,
    stop: async () => {
      const ids = [...r.programs().keys()];
      const alive = r.alive();
      await r.stop();
      await gone(ids);
      if (!alive) throw new Error(`${def.name} died during the run: ${r.stderr().trim().slice(-800)}`);
    },
  };
}

async function withTui(): Promise<{ r: Running; stop: () => Promise<void> }> {
  const r = await startTui({ root: ROOT });
  return {
    r,
    stop: async () => {
      const ids = [...r.programs().keys()];
      const alive = r.alive();
      await r.stop();
      await gone(ids);
      if (!alive) throw new Error(`the TUI died during the run: ${r.stderr().trim().slice(-800)}`);
    },
  };
}

// ---------------------------------------------------------------- 1. throughput

async function benchThroughput(ctx: WorkCtx): Promise<void> {
  setStatsSysctl(0);
  const configs = CONFIGS.filter((c) => opts.configs.includes(c.name));
  const order: ConfigDef[] = [];
  const rounds: number[] = [];
  const none = CONFIGS[0];
  for (let round = 0; round < opts.pairs; round++) {
    // Rotate the configurations each round so that none always follows the same one.
    for (let i = 0; i < configs.length; i++) {
      order.push(none, configs[(i + round) % configs.length]);
      rounds.push(round + 1, round + 1);
    }
  }
  order.push(none);
  rounds.push(opts.pairs);
  results.throughput = {
    workloads: WORKLOADS.map((w) => ({ name: w.name, title: w.title, unit: w.unit, judged: w.judged })),
    configs: CONFIGS.filter((c) => c.kind === 'none' || opts.configs.includes(c.name)).map((c) => ({ name: c.name, title: c.title })),
    seconds: ctx.seconds,
    pipeLoops: ctx.pipeLoops,
    msgLoops: ctx.msgLoops,
    blocks: [],
  };
  for (let seq = 0; seq < order.length; seq++) {
    const def = order[seq];
    const label = `throughput ${seq + 1}/${order.length} ${def.name}`;
    const { value, guard } = await guarded(label, async () => {
      const { r, stop } = await withConfig(def);
      const values: Record<string, number> = {};
      for (const w of WORKLOADS) values[w.name] = await w.run(ctx);
      // Statistics were on if the configuration's programs counted runs (probetop holds them on itself).
      const ids = [...r.programs().keys()];
      const now = await listProgs();
      const statsOn = ids.some((id) => (now.get(id)?.runCnt ?? 0) > 0);
      return { value: { values, statsOn }, stop };
    });
    const block: ThroughputBlock = { seq, round: rounds[seq], config: def.name, ...value, ...guard };
    results.throughput.blocks.push(block);
    log(`${label}: ${WORKLOADS.map((w) => `${w.name} ${fmt(value.values[w.name])}`).join('  ')}${value.statsOn ? '  [stats on]' : ''}`);
    save();
  }
}

function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v.toFixed(2);
}

// ---------------------------------------------------------------- 2. cost

async function benchCost(ctx: WorkCtx): Promise<void> {
  setStatsSysctl(1);
  const configs = CONFIGS.filter((c) => c.kind !== 'none');
  const costWorkloads = WORKLOADS.filter((w) => ['pipe', 'forkexec', 'fio', 'cache-cold', 'cache-warm'].includes(w.name));
  results.cost = [];
  for (let round = 1; round <= opts.costRounds; round++) {
    for (let i = 0; i < configs.length; i++) {
      const def = configs[(i + round - 1) % configs.length];
      const label = `cost ${round}/${opts.costRounds} ${def.name}`;
      const { value, guard } = await guarded(label, async () => {
        const { r, stop } = await withConfig(def);
        const held = r.programs();
        const before = await listProgs();
        for (const w of costWorkloads) await w.run(ctx);
        const after = await listProgs();
        const progs: CostProg[] = [];
        for (const [id, h] of held) {
          const a = after.get(id);
          const b = before.get(id);
          if (!a || !b) continue;
          progs.push({ id, name: a.name, owner: def.kind === 'probetop' ? ownerOf(a.name) : def.name, attach: h.attach ?? '?', runs: a.runCnt - b.runCnt, ns: a.runTimeNs - b.runTimeNs });
        }
        return { value: progs, stop };
      });
      const run: CostRun = { round, config: def.name, progs: value, ...guard };
      results.cost.push(run);
      log(`${label}: ${value.filter((p) => p.runs).map((p) => `${p.name}@${p.attach} ${(p.ns / p.runs).toFixed(0)}ns`).join('  ')}`);
      save();
    }
  }
  setStatsSysctl(0);
}

/** Cumulative run time (ns, while statistics were on) of programs `ids`, summed by the probe that owns each. */
async function bpfNsByProbe(ids: readonly number[]): Promise<Record<string, number>> {
  const all = await listProgs();
  const m: Record<string, number> = {};
  for (const id of ids) {
    const p = all.get(id);
    if (p) m[ownerOf(p.name)] = (m[ownerOf(p.name)] ?? 0) + p.runTimeNs;
  }
  return m;
}

// ---------------------------------------------------------------- 3. self

async function benchSelf(ctx: WorkCtx): Promise<void> {
  // Statistics on, so that probetop's BPF time is measured whether or not it holds them on itself.
  setStatsSysctl(1);
  const base: [string, number][] = [['idle', 0], ['500 sleeping processes', 500], [`${opts.procs} extra processes`, opts.procs]];
  results.self = [];
  // Headless (--json) and the full-screen UI a user runs (in tmux, 160x48), each as a user runs
  // it (BPF statistics on, as by default: the headless mode reads them every tick, the UI every
  // 5 s outside its probe-status view). One process per mode, measured after a warm-up: V8 keeps
  // compiling the hot code for the first minutes at one tick a second (measured: ~0.45% of a
  // core at 90-120 s, ~0.1% at 4 min), and an always-on tool is judged on what it costs after
  // that. The warm-up's own cost is reported beside it.
  for (const ui of ['json', 'tui'] as const) {
    const { r, stop } = ui === 'tui' ? await withTui() : await withConfig(CONFIGS.find((c) => c.kind === 'probetop')!, { stats: true });
    // The reference (bench/reference.ts): fixed work once a second, measured in the same windows.
    const ref = start(process.execPath, ['--single-threaded', path.join(ROOT, 'dist/bench/reference.js')], 'ignore');
    const refCpu = () => (ref.pid === undefined ? null : processCpuNs(ref.pid));
    const pid = r.pid!;
    const ids = [...r.programs().keys()];
    const bpfNs = async () => Object.values(await bpfNsByProbe(ids)).reduce((a, b) => a + b, 0);
    const cpuW = processCpuNs(pid) ?? 0;
    const wW = process.hrtime.bigint();
    await sleep(opts.selfWarmup * 1000);
    const warmupCpuPct = (((processCpuNs(pid) ?? 0) - cpuW) / Number(process.hrtime.bigint() - wW)) * 100;
    log(`self ${ui}: warm-up ${opts.selfWarmup} s: ${warmupCpuPct.toFixed(2)}% of a core (started with its probes loaded)`);
    try {
      // The idle scenario is measured in several windows in a row and judged on their median: a
      // disturbance of a minute (the host's load is not visible from the guest, see the
      // reference) then moves one window, not the verdict.
      const windows = base.flatMap(([scenario, extra]) => Array.from({ length: extra === 0 ? opts.selfIdleWindows : 1 }, (_, i) => ({ scenario, extra, window: extra === 0 && opts.selfIdleWindows > 1 ? i + 1 : undefined })));
      for (const { scenario, extra, window } of windows) {
        const label = `self ${ui} ${scenario}${window ? ` (window ${window})` : ''}`;
        const { value, guard } = await guarded(label, async () => {
          if (!r.alive()) throw new Error(`probetop (${ui}) died: ${r.stderr().trim().slice(-800)}`);
          const release = await holdProcesses(ctx.forkexec, extra);
          // New processes are read in full once and their code paths compiled: not the steady state.
          if (extra > 0) await sleep(opts.selfSettle * 1000);
          const cpu0 = processCpuNs(pid) ?? 0;
          const ref0 = refCpu();
          const bpf0 = await bpfNs();
          const w0 = process.hrtime.bigint();
          let rssMax = 0;
          const end = Date.now() + opts.selfSeconds * 1000;
          while (Date.now() < end) {
            rssMax = Math.max(rssMax, processRss(pid)?.rss ?? 0);
            await sleep(Math.min(1000, Math.max(0, end - Date.now())));
          }
          const cpu1 = processCpuNs(pid) ?? 0;
          const ref1 = refCpu();
          const bpf1 = await bpfNs();
          const wallNs = Number(process.hrtime.bigint() - w0);
          const mem = processRss(pid);
          rssMax = Math.max(rssMax, mem?.rss ?? 0);
          const v: Omit<SelfRun, keyof Guard> = {
            ui,
            scenario,
            extraProcs: extra,
            window,
            seconds: wallNs / 1e9,
            warmupSeconds: opts.selfWarmup,
            warmupCpuPct,
            userCpuPct: ((cpu1 - cpu0) / wallNs) * 100,
            bpfCpuPct: ((bpf1 - bpf0) / wallNs) * 100,
            referenceCpuPct: ref0 !== null && ref1 !== null ? ((ref1 - ref0) / wallNs) * 100 : undefined,
            rssMaxBytes: rssMax,
            hwmBytes: mem?.hwm ?? 0,
          };
          return { value: v, stop: release };
        });
        results.self.push({ ...value, ...guard });
        log(`${label}: user ${value.userCpuPct.toFixed(2)}% + BPF ${value.bpfCpuPct.toFixed(2)}% of a core, RSS max ${(value.rssMaxBytes / 1e6).toFixed(0)} MB; reference ${value.referenceCpuPct?.toFixed(2) ?? '-'}%`);
        save();
      }
    } finally {
      ref.kill('SIGTERM');
      await stop();
    }
  }
  setStatsSysctl(0);
}

// ---------------------------------------------------------------- 4. lost

function sumKinds(vals: Record<string, unknown>[], field: string): number[] {
  const out = [0, 0, 0, 0];
  for (const v of vals) {
    const a = v[field];
    if (Array.isArray(a)) a.forEach((x, i) => (out[i] = (out[i] ?? 0) + Number(x)));
  }
  return out;
}

/** Sums procevents' per-tick lost and budgetDrops over probetop's JSON lines, where it reports them. */
function jsonCounts(file: string): { lost: number | null; budgetDrops: number | null; ticks: number } {
  let lost: number | null = null;
  let drops: number | null = null;
  let ticks = 0;
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return { lost, budgetDrops: drops, ticks };
  }
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let j: any;
    try {
      j = JSON.parse(line);
    } catch {
      continue; // the last line may be cut when probetop is stopped
    }
    ticks++;
    const pe = j?.procevents?.data ?? j?.procevents;
    if (pe && typeof pe.lost === 'number') lost = (lost ?? 0) + pe.lost;
    if (pe && typeof pe.budgetDrops === 'number') drops = (drops ?? 0) + pe.budgetDrops;
  }
  return { lost, budgetDrops: drops, ticks };
}

async function benchLost(ctx: WorkCtx): Promise<void> {
  results.lost = [];
  const forkers = os.cpus().length;
  for (const nice of [0, 19]) {
    const label = `lost nice ${nice}`;
    const jsonFile = `${outBase}.lost-nice${nice}.jsonl`;
    const { value, guard } = await guarded<Omit<LostRun, keyof Guard>>(label, async () => {
      // As users run it: BPF statistics on (probetop's default), which also gives its BPF time.
      const { r, stop } = await withConfig(CONFIGS.find((c) => c.kind === 'probetop')!, { out: jsonFile, nice, stats: true });
      const names = await mapNames(heldBpf([r.pid!]).maps.keys());
      const stats = names.find((m) => m.name === 'pe_stats');
      const base: Omit<LostRun, keyof Guard> = { nice, forkers, seconds: opts.stormSeconds, spawned: 0 };
      if (!stats) return { value: { ...base, skipped: 'probetop did not load procevents (no pe_stats map): not integrated yet, or it failed to load' }, stop };
      const ids = [...r.programs().keys()];
      const bpfByProbe = () => bpfNsByProbe(ids);
      const b = await dumpPercpu0(stats.id);
      // A tick or two before the storm; probetop's CPU over it is its idle rate.
      const cpuI = processCpuNs(r.pid!) ?? 0;
      const tI = process.hrtime.bigint();
      await sleep(1500);
      const cpu0 = processCpuNs(r.pid!) ?? 0;
      const t0 = process.hrtime.bigint();
      const bpf0 = await bpfByProbe();
      const outs = await Promise.all(Array.from({ length: forkers }, () => runOk(ctx.forkexec, ['storm', String(opts.stormSeconds)])));
      const spawned = outs.reduce((s, o) => s + Number(/spawned (\d+)/.exec(o)?.[1] ?? 0), 0);
      await sleep(3000); // let probetop drain the ring and print the storm's ticks
      const cpu1 = processCpuNs(r.pid!) ?? 0;
      const t1 = process.hrtime.bigint();
      const bpf1 = await bpfByProbe();
      const a = await dumpPercpu0(stats.id);
      // probetop's CPU per spawned process: storm and drain, less what it spends idle in as long.
      const idleNsPerNs = (cpu0 - cpuI) / Number(t0 - tI);
      const windowNs = Number(t1 - t0);
      const bpfUsByProbe = Object.fromEntries(Object.keys(bpf1).map((k) => [k, spawned ? (bpf1[k] - (bpf0[k] ?? 0)) / 1000 / spawned : 0]));
      const cost = spawned
        ? {
            windowS: windowNs / 1e9,
            userUsPerSpawned: Math.max(0, cpu1 - cpu0 - idleNsPerNs * windowNs) / 1000 / spawned,
            bpfUsPerSpawned: Object.values(bpfUsByProbe).reduce((x, y) => x + y, 0),
            bpfUsByProbe,
          }
        : undefined;
      const ev0 = sumKinds(b, 'events');
      const ev1 = sumKinds(a, 'events');
      const l0 = sumKinds(b, 'lost');
      const l1 = sumKinds(a, 'lost');
      const kinds = ['fork', 'exec', 'exit', 'freed'];
      const lostByKind = Object.fromEntries(kinds.map((k, i) => [k, l1[i] - l0[i]]));
      return {
        value: {
          ...base,
          spawned,
          kernel: { forks: ev1[0] - ev0[0], execs: ev1[1] - ev0[1], exits: ev1[2] - ev0[2], lost: kinds.reduce((s, _, i) => s + l1[i] - l0[i], 0), lostByKind },
          cost,
        },
        stop,
      };
    });
    const v: LostRun = { ...value, ...guard };
    if (!v.skipped) v.json = jsonCounts(jsonFile);
    fs.rmSync(jsonFile, { force: true });
    results.lost.push(v);
    const c = v.cost ? `; per spawned process: ${v.cost.userUsPerSpawned.toFixed(1)} µs user space, ${v.cost.bpfUsPerSpawned.toFixed(1)} µs BPF` : '';
    log(v.skipped ? `${label}: skipped: ${v.skipped}` : `${label}: spawned ${v.spawned}, forks seen ${v.kernel!.forks}, lost in kernel ${v.kernel!.lost}, budget drops ${v.json?.budgetDrops ?? 'n/a'}${c}`);
    save();
  }
}

// ---------------------------------------------------------------- 5. tick

async function benchTick(ctx: WorkCtx): Promise<void> {
  const { value, guard } = await guarded('tick', async () => {
    const r = await run(process.execPath, [path.join(ROOT, 'dist', 'bench', 'tick.js'), '--procs', String(opts.procs), '--ticks', String(opts.ticks), '--interval-ms', '1000', '--forkexec', ctx.forkexec], (opts.ticks + 60) * 1000);
    if (r.code !== 0) throw new Error(`tick benchmark failed: ${r.stderr.trim().slice(-800)}`);
    return { value: JSON.parse(r.stdout.trim().split('\n').pop()!) as Omit<TickResult, keyof Guard>, stop: async () => undefined };
  });
  results.tick = { ...value, ...guard };
  results.meta.probetopProbes = value.loaded;
  const tot = value.sampleMs.map((s, i) => s + value.buildMs[i]).sort((a, b) => a - b);
  log(`tick: ${value.procsSeen} processes, ${value.loaded.join(' ')}; median ${tot[tot.length >> 1].toFixed(1)} ms, max ${tot[tot.length - 1].toFixed(1)} ms`);
  save();
}

// ---------------------------------------------------------------- main

function gitInfo(): { commit: string; dirty: boolean } {
  try {
    const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
    const commit = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src', 'bpf', 'screens'], { encoding: 'utf8' }).trim() !== '';
    return { commit, dirty };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}

/** Rough length of a run with these options on a quiet machine, s (measured here: ~2.5 s per block besides the workloads). */
function estimateS(o: Opts): number {
  const overhead = 2.5 + o.quietWindow / 1000;
  const block = o.seconds * 4.5 + 0.7 + overhead;
  const costPass = o.seconds * 4 + 0.7 + overhead;
  let s = 0;
  if (o.only.includes('throughput') || o.only.includes('cost')) s += 10;
  if (o.only.includes('throughput')) s += (o.pairs * o.configs.length * 2 + 1) * block;
  if (o.only.includes('cost')) s += o.costRounds * 6 * costPass;
  if (o.only.includes('self')) s += 2 * (o.selfWarmup + (o.selfIdleWindows + 2) * (o.selfSeconds + o.selfSettle + 10));
  if (o.only.includes('lost')) s += 2 * (o.stormSeconds + 10);
  if (o.only.includes('tick')) s += o.ticks + 10;
  return s;
}

async function main(): Promise<number> {
  try {
    program.parse(process.argv);
  } catch {
    return 2;
  }
  opts = program.opts<Opts>();
  if (process.geteuid?.() !== 0) {
    process.stderr.write('bench: needs root (BPF, bpftool, kernel.bpf_stats_enabled)\n');
    return 2;
  }
  for (const [cmd, pkg] of [['perf', 'linux-perf'], ['fio', 'fio'], ['bpftool', 'bpftool'], ['taskset', 'util-linux']]) {
    if (!which(cmd)) {
      process.stderr.write(`bench: ${cmd} is missing (apt-get install ${pkg}; bash bench/run installs it)\n`);
      return 2;
    }
  }
  const missingTools = Object.values(TOOLS).filter((t) => !fs.existsSync(t.bin));
  if (missingTools.length && (opts.only.includes('throughput') || opts.only.includes('cost'))) {
    process.stderr.write(`bench: libbpf-tools missing (${missingTools.map((t) => t.bin).join(' ')}): apt-get install libbpf-tools\n`);
    return 2;
  }
  const forkexec = path.join(ROOT, 'bench', '.build', 'forkexec');
  if (!fs.existsSync(forkexec)) {
    process.stderr.write(`bench: ${forkexec} is not built (bash bench/run builds it)\n`);
    return 2;
  }
  if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli.js'))) {
    process.stderr.write('bench: dist/src/cli.js is missing: build first (node scripts/build.js)\n');
    return 2;
  }
  quiet = { maxForeignPct: opts.maxForeign, windowMs: opts.quietWindow, waitS: opts.waitQuiet, allowBusy: opts.allowBusy };
  statsBefore = statsSysctl();
  const stamp = new Date().toISOString().replace(/[:]/g, '').replace(/\..*/, '');
  outBase = path.join(opts.out, stamp);
  const g = gitInfo();
  results = {
    meta: {
      startedAt: new Date().toISOString(),
      host: os.hostname(),
      kernel: os.release(),
      cpus: os.cpus().length,
      commit: g.commit,
      dirty: g.dirty,
      command: `bash bench/run ${process.argv.slice(2).join(' ')}`.trim(),
      options: { ...opts },
      statsSysctlBefore: statsBefore,
      probetopProbes: [],
      notes: [],
    },
  };
  const abort = (sig: string) => {
    log(`${sig}: stopping`);
    results.meta.aborted = sig;
    for (const c of children) if (c.pid) c.kill('SIGKILL');
    restoreStats();
    save();
    process.exit(130);
  };
  process.on('SIGINT', () => abort('SIGINT'));
  process.on('SIGTERM', () => abort('SIGTERM'));
  process.on('exit', restoreStats);

  const ctx: WorkCtx = { dir: opts.dir, forkexec, seconds: opts.seconds, pipeLoops: 0, msgLoops: 0, cacheMiB: opts.cacheMib, ioMiB: 256 };
  log(`results: ${outBase}.{json,md}; estimated ${Math.round(estimateS(opts) / 60)} min on a quiet machine; kernel.bpf_stats_enabled was ${statsBefore}`);
  let code = 0;
  try {
    if (opts.only.includes('throughput') || opts.only.includes('cost')) {
      log(`preparing fio files in ${ctx.dir}`);
      await prepareFiles(ctx);
      await waitQuiet(quiet, log);
      await calibrate(ctx);
      log(`calibrated: pipe ${ctx.pipeLoops} loops, messaging ${ctx.msgLoops} loops`);
    }
    const benches: Record<Bench, () => Promise<void>> = {
      throughput: () => benchThroughput(ctx),
      cost: () => benchCost(ctx),
      self: () => benchSelf(ctx),
      lost: () => benchLost(ctx),
      tick: () => benchTick(ctx),
    };
    for (const b of BENCHES) {
      if (!opts.only.includes(b)) continue;
      try {
        await benches[b]();
      } catch (e) {
        if (e instanceof BusyError) throw e;
        // One benchmark failing (a tool that does not load, say) does not lose the others.
        results.meta.notes.push(`benchmark ${b} failed: ${(e as Error).message}`);
        log(`${b} failed: ${(e as Error).message}`);
        code = 1;
        for (const c of children) if (c.pid) c.kill('SIGKILL');
      }
    }
  } catch (e) {
    code = e instanceof BusyError ? 3 : 1;
    results.meta.aborted = (e as Error).message;
    log(`${e instanceof BusyError ? 'refused' : 'failed'}: ${(e as Error).message}`);
  } finally {
    for (const c of children) if (c.pid) c.kill('SIGKILL');
    restoreStats();
    if (!opts.keepFiles) removeFiles(ctx);
  }
  results.meta.finishedAt = new Date().toISOString();
  results.meta.durationS = (Date.now() - t0) / 1000;
  save();
  log(`done in ${(results.meta.durationS / 60).toFixed(1)} min; kernel.bpf_stats_enabled restored to ${results.meta.statsSysctlAfter}; report: ${outBase}.md`);
  return code;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`bench: ${(e as Error).stack ?? e}\n`);
    restoreStats();
    process.exit(1);
  },
);
