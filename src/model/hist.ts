/**
 * Log2 latency histograms (bpf/common/hist.h): decoding, deltas, percentiles, labels.
 * Slot 0 holds [0, 2) µs, slot k >= 1 holds [2^k, 2^(k+1)) µs.
 */
import { struct } from '../bpf/layout';

/** Number of log2 slots in every histogram (HIST_SLOTS in bpf/common/hist.h). */
export const HIST_SLOTS = 32;

/** Layout of struct hist. */
export const HIST_LAYOUT = struct('hist', [
  { name: 'count', type: 'u64' },
  { name: 'sum_ns', type: 'u64' },
  { name: 'slots', type: 'u64', count: HIST_SLOTS },
]);

/** A histogram's counters: cumulative in a Sample, per interval in a Snapshot. */
export interface Hist {
  count: number; // events
  sumNs: number; // total latency, ns
  slots: number[]; // events per log2 µs bucket, length HIST_SLOTS (trailing zeros may be cut)
}

/** An empty histogram. */
export function emptyHist(): Hist {
  return { count: 0, sumNs: 0, slots: new Array(HIST_SLOTS).fill(0) };
}

function u64(buf: Buffer, off: number): number {
  return buf.readUInt32LE(off) + buf.readUInt32LE(off + 4) * 0x100000000;
}

/** Decodes a struct hist at `off`, adding into `into` when given (to sum per-CPU copies). */
export function decodeHist(buf: Buffer, off = 0, into?: Hist): Hist {
  const h = into ?? emptyHist();
  h.count += u64(buf, off);
  h.sumNs += u64(buf, off + 8);
  for (let i = 0; i < HIST_SLOTS; i++) h.slots[i] += u64(buf, off + 16 + i * 8);
  return h;
}

/**
 * decodeHist then trimHist in one: the slots array is made at its trimmed length (one array
 * instead of two: per-process maps decode an entry for every new process, thousands a second
 * under a fork storm).
 */
export function decodeHistTrimmed(buf: Buffer, off = 0): Hist {
  const at = off + 16;
  let n = HIST_SLOTS;
  while (n > 0 && buf.readUInt32LE(at + (n - 1) * 8) === 0 && buf.readUInt32LE(at + (n - 1) * 8 + 4) === 0) n--;
  const slots: number[] = [];
  for (let i = 0; i < n; i++) slots.push(u64(buf, at + i * 8));
  return { count: u64(buf, off), sumNs: u64(buf, off + 8), slots };
}

/**
 * Drops trailing empty slots (smaller recordings); readers treat missing slots as 0. A histogram
 * with none to drop is returned as it is (callers treat histograms as read-only).
 */
export function trimHist(h: Hist): Hist {
  let n = h.slots.length;
  while (n > 0 && h.slots[n - 1] === 0) n--;
  return n === h.slots.length ? h : { count: h.count, sumNs: h.sumNs, slots: h.slots.slice(0, n) };
}

/**
 * True when a cumulative reading did not move since `prev` (same count and sum): nothing
 * happened in between, and diffHist need not be called (most processes, most ticks).
 */
export function unmoved(cur: Hist, prev: Hist | undefined): boolean {
  return prev !== undefined && prev.count === cur.count && prev.sumNs === cur.sumNs;
}

/**
 * The events between two cumulative readings. A counter that went down means the kernel-side
 * entry was recreated (map entry evicted or probe reloaded): the new reading is the delta.
 */
export function diffHist(cur: Hist, prev: Hist | undefined): Hist {
  if (!prev || cur.count < prev.count || cur.sumNs < prev.sumNs) return { ...cur, slots: cur.slots.slice() };
  const n = Math.max(cur.slots.length, prev.slots.length);
  const slots: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const d = (cur.slots[i] ?? 0) - (prev.slots[i] ?? 0);
    if (d < 0) return { ...cur, slots: cur.slots.slice() };
    slots[i] = d;
  }
  return { count: cur.count - prev.count, sumNs: cur.sumNs - prev.sumNs, slots };
}

/** Lower bound of a slot, µs. */
export function slotLowUs(i: number): number {
  return i === 0 ? 0 : 2 ** i;
}

/** Upper bound (exclusive) of a slot, µs. */
export function slotHighUs(i: number): number {
  return 2 ** (i + 1);
}

/**
 * The p-th percentile (0 < p <= 100) of a histogram, µs, interpolated linearly inside the
 * bucket that holds it; null when the histogram is empty.
 */
export function percentileUs(slots: readonly number[], p: number): number | null {
  let total = 0;
  for (let i = 0; i < slots.length; i++) total += slots[i];
  return percentileOf(slots, total, p);
}

/** percentileUs with the histogram's total already summed. */
function percentileOf(slots: readonly number[], total: number, p: number): number | null {
  if (total === 0) return null;
  const rank = (p / 100) * total;
  let seen = 0;
  for (let i = 0; i < slots.length; i++) {
    const c = slots[i];
    if (c === 0) continue;
    if (seen + c >= rank) {
      const frac = Math.min(1, Math.max(0, (rank - seen) / c));
      return slotLowUs(i) + frac * (slotHighUs(i) - slotLowUs(i));
    }
    seen += c;
  }
  return slotHighUs(slots.length - 1);
}

/** The upper bound of the highest non-empty slot, µs (the "max bucket"); null when empty. */
export function maxBucketUs(slots: readonly number[]): number | null {
  for (let i = slots.length - 1; i >= 0; i--) if (slots[i] > 0) return slotHighUs(i);
  return null;
}

/** Summary statistics of one interval's histogram. */
export interface HistStats {
  count: number; // events in the interval
  perSec: number; // events per second
  meanUs: number | null;
  p50Us: number | null;
  p90Us: number | null;
  p99Us: number | null;
  maxUs: number | null; // upper bound of the highest non-empty bucket
}

/** Stats of an interval histogram over `intervalMs`. */
export function histStats(h: Hist, intervalMs: number): HistStats {
  const slots = h.slots;
  let total = 0;
  for (let i = 0; i < slots.length; i++) total += slots[i];
  return {
    count: h.count,
    perSec: intervalMs > 0 ? (h.count * 1000) / intervalMs : 0,
    meanUs: h.count ? h.sumNs / h.count / 1000 : null,
    p50Us: percentileOf(slots, total, 50),
    p90Us: percentileOf(slots, total, 90),
    p99Us: percentileOf(slots, total, 99),
    maxUs: maxBucketUs(slots),
  };
}

/** A duration in µs as a short label: 850us, 12.5ms, 3.2s. */
export function formatUs(us: number | null): string {
  if (us === null || !isFinite(us)) return '-';
  if (us < 1000) return `${us < 10 ? us.toFixed(1) : Math.round(us)}us`;
  if (us < 1e6) return `${(us / 1000).toFixed(us < 1e4 ? 2 : 1)}ms`;
  return `${(us / 1e6).toFixed(us < 1e7 ? 2 : 1)}s`;
}

/** A number with at most 3 significant digits: 1, 16, 131, 1.02, 16.4. */
function sig3(v: number): string {
  if (v >= 100) return String(Math.round(v));
  return String(Number(v.toPrecision(3)));
}

/** A slot's range label in µs, ms or s, exact to 3 digits: "16-32us", "1.02-2.05ms", "0-2us". */
export function slotLabel(i: number): string {
  const lo = slotLowUs(i);
  const hi = slotHighUs(i);
  if (hi <= 1024) return `${lo}-${hi}us`;
  if (hi <= 1048576) return `${sig3(lo / 1000)}-${sig3(hi / 1000)}ms`;
  return `${sig3(lo / 1e6)}-${sig3(hi / 1e6)}s`;
}

/**
 * Finds each process's entry in the previous reading of a per-process list, where the lists are
 * read from the same kernel map every tick: mostly in the same order, and an entry that did not
 * change between the readings is often the same object (readProcMap hands it back). At index i
 * the entry at i of the previous list is tried first; only when it is another process is the
 * previous list indexed by pid (once). Builders that called new Map(prev.map(...)) every tick
 * made a map and an array per list per tick.
 */
export function prevByPid<T extends { pid: number }>(prev: readonly T[] | undefined): (i: number, pid: number) => T | undefined {
  if (!prev || prev.length === 0) return () => undefined;
  let index: Map<number, T> | null = null;
  return (i, pid) => {
    const at = prev[i];
    if (at !== undefined && at.pid === pid) return at;
    if (index === null) {
      index = new Map();
      for (let j = 0; j < prev.length; j++) index.set(prev[j].pid, prev[j]);
    }
    return index.get(pid);
  };
}
