/**
 * Off-CPU time for one interval: per-process blocked time, the interval's stacks, the block
 * duration histogram, what was not captured. buildOffcputime is pure and leaves stacks as raw
 * addresses; symbolizeOffcputime fills in names for what is shown, through a FrameNamer the app
 * passes in (src/symbols' Symbolizer is one).
 */
import { diffHist, Hist, histStats, HistStats, prevByPid, trimHist } from './hist';
import type { OffcputimeRaw, OffcpuStatsRaw } from '../probes/offcputime';

/** A code address as lower-case hex without "0x" (kernel addresses do not fit a double). */
export type Address = string;

/** One process's blocked time in the interval. */
export interface OffcpuProcSnap {
  pid: number;
  comm: string;
  // Blocked time in the interval, summed over its threads, of the blocks that ended in it: a
  // block that began before the interval counts from the interval's start (the probe clips it at
  // the previous read), so one thread never adds more than the interval's length.
  offcpuNs: number;
  offcpuMsPerSec: number; // the same per second of interval (at most 1000 per thread)
  blocks: number; // blocks that ended in the interval
  blocksPerSec: number;
  longBlocks: number; // ... of which >= the threshold (the ones with stacks)
  topKernelStack: Address[] | null; // kernel stack with the most blocked time, leaf first; null = none captured
  topReason: string | null; // leaf kernel function of topKernelStack; null until symbolized
  hist: Hist; // its blocks by their whole duration (count = blocks; sumNs = offcpuNs, the clipped time)
}

/** Blocked time of one (process, kernel stack, user stack) in the interval, long blocks only. */
export interface OffcpuStackSnap {
  pid: number;
  comm: string;
  kernelStack: Address[]; // leaf first; [] = not captured
  userStack: Address[] | null; // leaf first; null = not captured
  offcpuNs: number;
  blocks: number;
  kernelFrames?: string[]; // symbolized kernelStack (function names, or 0x-addresses)
  userFrames?: string[] | null; // symbolized userStack
}

/** What the probe could not record in the interval (all should stay 0). */
export interface OffcpuDrops {
  procMapFull: number; // blocks missing from their process's total
  stackMapFull: number; // long blocks missing from the stack table
  kstackMapFull: number; // kernel stacks not stored
  ustackMapFull: number; // user stacks not stored
  tidMapFull: number; // blocks not tracked (raw_tp map full, tp_btf task storage refused)
  stackLost: number; // stacks freed between a thread's switch-out and switch-in
  kstackFailed: number; // kernel stack walks that returned nothing
}

/** Off-CPU time for the interval. */
export interface OffcputimeSnap {
  hist: Hist; // block durations in the interval
  stats: HistStats;
  offcpuMsPerSec: number; // every process's blocked time, ms per second
  procs: OffcpuProcSnap[]; // blocked time desc
  stacks: OffcpuStackSnap[]; // blocked time desc
  minBlockUs: number; // stacks are taken for blocks at least this long
  longBlocks: number; // blocks >= minBlockUs in the interval
  withKernelStack: number; // ... with a kernel stack
  withUserStack: number; // ... with a user stack
  walksSkipped: number; // stack captures skipped over the per-CPU budget in the interval
  captureNote: string; // what is and is not captured, for the panel
  fill: { procs: number; stacks: number; kstacks: number; ustacks: number }; // kernel map occupancy, 0..1
  drops: OffcpuDrops;
  symbolized: boolean; // topReason/frames filled in (symbolizeOffcputime)
}

/** Resolves addresses to function names (null when unknown). */
export interface FrameNamer {
  kernelName(addr: Address): string | null;
  userName(pid: number, addr: Address): string | null;
}

function delta(cur: number, prev: number | undefined): number {
  return prev !== undefined && cur >= prev ? cur - prev : cur;
}

/** A duration threshold in µs as a short label: 500us, 1ms, 2.5ms, 1s. */
export function thresholdLabel(us: number): string {
  if (us < 1000) return `${us}us`;
  if (us < 1e6) return `${Number((us / 1000).toPrecision(3))}ms`;
  return `${Number((us / 1e6).toPrecision(3))}s`;
}

/** What the interval's stacks cover, in words: the capture rules and how many long blocks got stacks. */
export function captureNote(
  mode: Pick<OffcputimeRaw, 'minBlockUs' | 'kernelStacks' | 'userStacks' | 'walksPerSec'>,
  longBlocks: number,
  withKernel: number,
  withUser: number,
  walksSkipped: number,
): string {
  const t = thresholdLabel(mode.minBlockUs);
  const pct = (n: number) => `${Math.round((100 * n) / longBlocks)}%`;
  const parts = [`stacks only for blocks >= ${t}`];
  if (longBlocks > 0) parts[0] += ` (kernel ${pct(withKernel)}, user ${mode.userStacks === 'off' ? 'off' : pct(withUser)})`;
  if (mode.kernelStacks === 'after-long-block') parts.push(`kernel and user stacks only when the thread's previous block was >= ${t} too`);
  else if (mode.userStacks === 'after-long-block') parts.push(`user stacks only when the thread's previous block was >= ${t} too`);
  else if (mode.userStacks === 'off') parts.push('user stacks off');
  if (walksSkipped > 0) parts.push(`${walksSkipped} stack captures skipped over the budget of ${mode.walksPerSec} walks/s per CPU`);
  return parts.join('; ');
}

/** Off-CPU deltas for one interval (pure: inputs are not modified, no symbolization). */
export function buildOffcputime(cur: OffcputimeRaw, prev: OffcputimeRaw | undefined, intervalMs: number): OffcputimeSnap {
  const hist = diffHist(cur.hist, prev?.hist);
  const perSec = (ns: number) => (intervalMs > 0 ? ns / 1e6 / (intervalMs / 1000) : 0);

  const stacks: OffcpuStackSnap[] = cur.stacks.map((s) => ({
    pid: s.pid,
    comm: s.comm,
    kernelStack: s.kstack ? (cur.kframes[s.kstack] ?? []).slice() : [],
    userStack: s.ustack ? (cur.uframes[s.ustack] ?? []).slice() : null,
    offcpuNs: s.offcpuNs,
    blocks: s.blocks,
  }));
  stacks.sort((a, b) => b.offcpuNs - a.offcpuNs || a.pid - b.pid);

  // Per process: its long blocks and its heaviest kernel stack (stacks are sorted already).
  const longByPid = new Map<number, number>();
  const topByPid = new Map<number, Address[]>();
  for (const s of stacks) {
    longByPid.set(s.pid, (longByPid.get(s.pid) ?? 0) + s.blocks);
    if (s.kernelStack.length && !topByPid.has(s.pid)) topByPid.set(s.pid, s.kernelStack);
  }

  const prevOf = prevByPid(prev?.procs);
  const procs: OffcpuProcSnap[] = [];
  let totalNs = 0;
  for (let i = 0; i < cur.procs.length; i++) {
    const p = cur.procs[i];
    const old = prevOf(i, p.pid);
    if (old === p) continue; // the same reading (readProcMap): no block in the interval
    const same = old !== undefined && old.createdNs === p.createdNs;
    const ns = delta(p.totalNs, same ? old.totalNs : undefined);
    const blocks = delta(p.blocks, same ? old.blocks : undefined);
    if (blocks === 0) continue;
    // Recordings of older builds have no per-process slots: an empty histogram then.
    const ph = trimHist(diffHist({ count: blocks, sumNs: ns, slots: p.slots ?? [] }, same && old.slots ? { count: 0, sumNs: 0, slots: old.slots } : undefined));
    totalNs += ns;
    procs.push({
      pid: p.pid,
      comm: p.comm,
      offcpuNs: ns,
      offcpuMsPerSec: perSec(ns),
      hist: { count: blocks, sumNs: ns, slots: ph.slots },
      blocks,
      blocksPerSec: intervalMs > 0 ? (blocks * 1000) / intervalMs : 0,
      longBlocks: longByPid.get(p.pid) ?? 0,
      topKernelStack: topByPid.get(p.pid)?.slice() ?? null,
      topReason: null,
    });
  }
  procs.sort((a, b) => b.offcpuNs - a.offcpuNs || a.pid - b.pid);

  const d = (k: keyof OffcpuStatsRaw) => delta(cur.stats[k], prev?.stats[k]);
  const longBlocks = d('longBlocks');
  const withKernelStack = d('longWithKstack');
  const withUserStack = d('longWithUstack');
  const walksSkipped = d('walksSkipped');
  const fill = (m: { size: number; max: number }) => (m.max ? m.size / m.max : 0);
  return {
    hist,
    stats: histStats(hist, intervalMs),
    offcpuMsPerSec: perSec(totalNs),
    procs,
    stacks,
    minBlockUs: cur.minBlockUs,
    longBlocks,
    withKernelStack,
    withUserStack,
    walksSkipped,
    captureNote: captureNote(cur, longBlocks, withKernelStack, withUserStack, walksSkipped),
    fill: { procs: fill(cur.maps.procs), stacks: fill(cur.maps.stacks), kstacks: fill(cur.maps.kstacks), ustacks: fill(cur.maps.ustacks) },
    drops: {
      procMapFull: d('procMapFull'),
      stackMapFull: d('stackMapFull'),
      kstackMapFull: d('kstackMapFull'),
      ustackMapFull: d('ustackMapFull'),
      tidMapFull: d('tidMapFull'),
      stackLost: d('stackLost'),
      kstackFailed: d('kstackFailed'),
    },
    symbolized: false,
  };
}

/** Scheduler and tracing frames that say nothing about why a thread blocked. */
const NOT_A_REASON =
  /^(__schedule|schedule|schedule_idle|schedule_preempt_disabled|schedule_timeout|schedule_hrtimeout|schedule_hrtimeout_range|schedule_hrtimeout_range_clock|__schedule_loop|schedule_rtlock|preempt_schedule\w*|__cond_resched|bpf_prog_\w+|bpf_trace_run\d+|__bpf_trace_\w+|__traceiter_\w+|trace_\w+|perf_trace_\w+)$/;

/** A kernel function name without compiler suffixes: "foo.isra.0" -> "foo". */
function baseName(name: string): string {
  const dot = name.indexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}

/**
 * Why a thread blocked, from its symbolized kernel stack (leaf first): the first frame past
 * the scheduler (and, for stacks taken from inside the tracepoint, past the tracing frames),
 * e.g. futex_wait_queue, do_nanosleep, ep_poll, io_schedule, pipe_read. null for no frames.
 */
export function leafReason(frames: readonly string[]): string | null {
  if (!frames.length) return null;
  const names = frames.map(baseName);
  const sched = names.indexOf('__schedule');
  for (let i = sched >= 0 ? sched + 1 : 0; i < names.length; i++) if (!NOT_A_REASON.test(names[i])) return names[i];
  return names[names.length - 1];
}

/** The address of the call instruction before a return address (for symbolizing callers). */
function callSite(addr: Address): Address {
  const a = BigInt('0x' + addr);
  return a > 0n ? (a - 1n).toString(16) : addr;
}

/**
 * Fills in topReason and frame names for the first `limit.procs` processes and `limit.stacks`
 * stacks (what is shown), returning a new snapshot. Every kernel frame, and every user frame
 * but the first, is a return address: the caller is looked up at address - 1.
 */
export function symbolizeOffcputime(snap: OffcputimeSnap, namer: FrameNamer, limit: { procs?: number; stacks?: number } = {}): OffcputimeSnap {
  const kernel = (stack: readonly Address[]) => stack.map((a) => namer.kernelName(callSite(a)) ?? `0x${a}`);
  const user = (pid: number, stack: readonly Address[]) => stack.map((a, i) => namer.userName(pid, i === 0 ? a : callSite(a)) ?? `0x${a}`);
  const nProcs = limit.procs ?? snap.procs.length;
  const nStacks = limit.stacks ?? snap.stacks.length;
  // What is not named is shared with `snap`, not copied (snapshots are never modified).
  return {
    ...snap,
    procs: snap.procs.map((p, i) => (i < nProcs && p.topKernelStack ? { ...p, topReason: leafReason(kernel(p.topKernelStack)) } : p)),
    stacks: snap.stacks.map((s, i) =>
      i < nStacks ? { ...s, kernelFrames: kernel(s.kernelStack), userFrames: s.userStack ? user(s.pid, s.userStack) : null } : s,
    ),
    symbolized: true,
  };
}
