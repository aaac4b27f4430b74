/**
 * Is the machine quiet? Foreign CPU load (CPU time not spent by the harness and its
 * descendants) and foreign BPF programs on hot paths (someone else's tracing), checked before
 * each run and over each run.
 */
import { allProcs, ownPids, systemTicks, sleep, CLK_TCK, ProcStat } from './sys';
import { heldBpf, listProgs, foreignProgs } from './bpf';

/** How quiet the machine must be. */
export interface QuietOptions {
  maxForeignPct: number; // foreign CPU allowed, % of one core
  windowMs: number; // length of the check before a run
  waitS: number; // how long to wait for quiet before giving up
  allowBusy: boolean; // go on (results labelled busy) instead of refusing
}

/** What a check saw. */
export interface QuietVerdict {
  quiet: boolean;
  foreignPct: number; // foreign CPU, % of one core
  top: string; // the busiest foreign processes, "comm[pid] 12%"
  foreignBpf: string[]; // foreign hot-path programs, "id:type:name"
  why: string; // '' when quiet
}

const key = (p: ProcStat) => `${p.pid}:${p.starttime}`;

/** CPU ticks each picked process spent between two snapshots (its own, plus reaped children when `withChildren`). */
function delta(p0: Map<number, ProcStat>, p1: Map<number, ProcStat>, pick: (p: ProcStat) => boolean, withChildren: boolean): Map<number, { p: ProcStat; ticks: number }> {
  const before = new Map([...p0.values()].map((p) => [key(p), p]));
  const out = new Map<number, { p: ProcStat; ticks: number }>();
  const t = (p: ProcStat) => p.ticks + (withChildren ? p.childTicks : 0);
  for (const p of p1.values()) {
    if (!pick(p)) continue;
    const b = before.get(key(p));
    const d = t(p) - (b ? t(b) : 0);
    if (d > 0) out.set(p.pid, { p, ticks: d });
  }
  return out;
}

const sum = (d: Map<number, { ticks: number }>) => [...d.values()].reduce((s, x) => s + x.ticks, 0);

function topOf(d: Map<number, { p: ProcStat; ticks: number }>, seconds: number): string {
  return [...d.values()]
    .sort((a, b) => b.ticks - a.ticks)
    .slice(0, 3)
    .map((x) => `${x.p.comm}[${x.p.pid}] ${((x.ticks / CLK_TCK / seconds) * 100).toFixed(0)}%`)
    .join(', ');
}

/**
 * Foreign CPU between two snapshots, % of one core: the machine's busy time minus the time of
 * the harness's processes (with the children they reaped). With `workloadRunning`, kernel threads
 * and interrupts are left out too: the workloads themselves drive them (I/O completions, writeback).
 */
function foreign(p0: Map<number, ProcStat>, p1: Map<number, ProcStat>, s0: ReturnType<typeof systemTicks>, s1: ReturnType<typeof systemTicks>, seconds: number, workloadRunning: boolean): { pct: number; top: string } {
  const own = new Set([...ownPids(p0), ...ownPids(p1)]);
  let ticks = s1.busy - s0.busy - sum(delta(p0, p1, (p) => own.has(p.pid), true));
  if (workloadRunning) ticks -= s1.irq - s0.irq + sum(delta(p0, p1, (p) => p.kthread && !own.has(p.pid), false));
  const top = topOf(delta(p0, p1, (p) => !own.has(p.pid) && !(workloadRunning && p.kthread), false), seconds);
  return { pct: (Math.max(0, ticks) / CLK_TCK / seconds) * 100, top };
}

/** Foreign hot-path BPF programs now (programs that no process of the harness holds). */
export async function foreignBpfNow(): Promise<string[]> {
  const own = ownPids(allProcs());
  const held = heldBpf(own).progs;
  return foreignProgs(await listProgs(), new Set(held.keys())).map((p) => `${p.id}:${p.type}:${p.name}`);
}

/**
 * Measures for `windowMs`: all CPU time of the machine (/proc/stat, kernel threads and
 * interrupts included) minus the harness's own processes' time is foreign.
 */
export async function checkQuiet(o: QuietOptions): Promise<QuietVerdict> {
  const p0 = allProcs();
  const s0 = systemTicks();
  const t0 = process.hrtime.bigint();
  await sleep(o.windowMs);
  const p1 = allProcs();
  const s1 = systemTicks();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const { pct: foreignPct, top } = foreign(p0, p1, s0, s1, seconds, false);
  const foreignBpf = await foreignBpfNow();
  const why: string[] = [];
  if (foreignPct > o.maxForeignPct) why.push(`foreign CPU ${foreignPct.toFixed(1)}% of a core > ${o.maxForeignPct}% (${top || 'short-lived processes'})`);
  if (foreignBpf.length) why.push(`foreign BPF programs: ${foreignBpf.slice(0, 6).join(' ')}${foreignBpf.length > 6 ? ` (+${foreignBpf.length - 6})` : ''}`);
  return { quiet: why.length === 0, foreignPct, top, foreignBpf, why: why.join('; ') };
}

/** Error thrown when the machine stays busy and busy runs are not allowed. */
export class BusyError extends Error {}

/**
 * Waits until a check passes, up to o.waitS; returns the last verdict. Throws BusyError when it
 * never passed and busy runs are not allowed.
 */
export async function waitQuiet(o: QuietOptions, log: (m: string) => void): Promise<QuietVerdict> {
  const end = Date.now() + o.waitS * 1000;
  let lastLog = 0;
  for (;;) {
    const v = await checkQuiet(o);
    if (v.quiet) return v;
    if (o.allowBusy || Date.now() >= end) {
      if (!o.allowBusy) throw new BusyError(`the machine is not quiet after waiting ${o.waitS} s: ${v.why}`);
      return v;
    }
    if (Date.now() - lastLog > 10_000) {
      log(`waiting for a quiet machine (${Math.round((end - Date.now()) / 1000)} s left): ${v.why}`);
      lastLog = Date.now();
    }
    await sleep(2000);
  }
}

/**
 * Watches a run: foreign CPU over the run (kernel threads and interrupts left out: the workloads
 * drive them) and foreign BPF programs at its end.
 */
export class RunWatch {
  private p0 = allProcs();
  private s0 = systemTicks();
  private t0 = process.hrtime.bigint();

  /** What happened during the run. */
  async end(o: QuietOptions): Promise<QuietVerdict> {
    const p1 = allProcs();
    const s1 = systemTicks();
    const seconds = Number(process.hrtime.bigint() - this.t0) / 1e9;
    const { pct: foreignPct, top } = foreign(this.p0, p1, this.s0, s1, seconds, true);
    const foreignBpf = await foreignBpfNow();
    const why: string[] = [];
    if (foreignPct > o.maxForeignPct) why.push(`foreign CPU during the run ${foreignPct.toFixed(1)}% of a core (${top})`);
    if (foreignBpf.length) why.push(`foreign BPF programs: ${foreignBpf.slice(0, 6).join(' ')}`);
    return { quiet: why.length === 0, foreignPct, top, foreignBpf, why: why.join('; ') };
  }
}
