/**
 * Block I/O latency for one interval: deltas of the biolatency probe's cumulative counters,
 * rates and percentiles (a pure function of two readings, like buildRunqlat).
 */
import { diffHist, emptyHist, Hist, histStats, HistStats, HIST_SLOTS, prevByPid, unmoved } from './hist';
import type { BioOp, BiolatencyRaw } from '../probes/biolatency';

/** One disk in one direction over the interval. */
export interface BiolatencyDiskSnap {
  dev: string; // "major:minor"
  name: string; // e.g. "vda"
  op: BioOp;
  hist: Hist; // completions per bucket in the interval
  stats: HistStats;
  iops: number; // completed requests per second
  bytesPerSec: number;
}

/** One issuing process over the interval. */
export interface BiolatencyProcSnap {
  pid: number;
  comm: string;
  ops: number; // completed requests in the interval
  bytes: number; // in the interval
  opsPerSec: number;
  bytesPerSec: number;
  p99Us: number | null;
}

/** Every disk and direction together over the interval. */
export interface BiolatencyTotalSnap {
  hist: Hist;
  stats: HistStats;
  iops: number; // completed requests per second
  bytesPerSec: number;
  readIops: number;
  writeIops: number;
}

/** Block I/O latency for the interval. */
export interface BiolatencySnap {
  queued: boolean; // latency includes time in the I/O scheduler
  total: BiolatencyTotalSnap;
  disks: BiolatencyDiskSnap[]; // every disk+direction seen since load, in the probe's order
  procs: BiolatencyProcSnap[]; // processes with I/O in the interval, most requests first
  noStart: number; // completions without a recorded start, in the interval
  dropped: number; // updates lost to full maps, in the interval
  procMapFill: number; // 0..1
}

/** A hist plus a byte counter: both reset together when the kernel entry is recreated. */
interface Counted {
  hist: Hist;
  bytes: number;
}

/** The interval's part of a cumulative (hist, bytes) pair, treating any decrease as a reset. */
function diffCounted(cur: Counted, prev: Counted | undefined): Counted {
  const reset =
    !prev ||
    cur.bytes < prev.bytes ||
    cur.hist.count < prev.hist.count ||
    cur.hist.sumNs < prev.hist.sumNs ||
    prev.hist.slots.some((v, i) => (cur.hist.slots[i] ?? 0) < v);
  if (reset) return { hist: diffHist(cur.hist, undefined), bytes: cur.bytes };
  return { hist: diffHist(cur.hist, prev.hist), bytes: cur.bytes - prev.bytes };
}

function counterDelta(cur: number, prev: number | undefined): number {
  return prev !== undefined && cur >= prev ? cur - prev : cur;
}

/** Block I/O deltas and rates for one interval of `intervalMs` (prev undefined: since load). */
export function buildBiolatency(cur: BiolatencyRaw, prev: BiolatencyRaw | undefined, intervalMs: number): BiolatencySnap {
  const perSec = (n: number) => (intervalMs > 0 ? (n * 1000) / intervalMs : 0);
  const prevDisks = new Map(prev?.disks.map((d) => [`${d.dev}/${d.op}`, d]));
  const total = emptyHist();
  let totalBytes = 0;
  let readOps = 0;
  let writeOps = 0;
  const disks: BiolatencyDiskSnap[] = cur.disks.map((d) => {
    const { hist, bytes } = diffCounted(d, prevDisks.get(`${d.dev}/${d.op}`));
    total.count += hist.count;
    total.sumNs += hist.sumNs;
    hist.slots.forEach((v, i) => (total.slots[i] += v));
    totalBytes += bytes;
    if (d.op === 'read') readOps += hist.count;
    else if (d.op === 'write') writeOps += hist.count;
    return { dev: d.dev, name: d.name, op: d.op, hist, stats: histStats(hist, intervalMs), iops: perSec(hist.count), bytesPerSec: perSec(bytes) };
  });
  total.slots.length = Math.min(HIST_SLOTS, lastNonZero(total.slots) + 1);

  const prevOf = prevByPid(prev?.procs);
  const procs: BiolatencyProcSnap[] = [];
  for (let i = 0; i < cur.procs.length; i++) {
    const p = cur.procs[i];
    const was = prevOf(i, p.pid);
    // No I/O in the interval (most processes): nothing to subtract.
    if (was && was.bytes === p.bytes && unmoved(p.hist, was.hist)) continue;
    const { hist, bytes } = diffCounted(p, was);
    if (hist.count === 0 && bytes === 0) continue;
    procs.push({
      pid: p.pid,
      comm: p.comm,
      ops: hist.count,
      bytes,
      opsPerSec: perSec(hist.count),
      bytesPerSec: perSec(bytes),
      p99Us: histStats(hist, intervalMs).p99Us,
    });
  }
  procs.sort((a, b) => b.ops - a.ops || b.bytes - a.bytes || a.pid - b.pid);

  return {
    queued: cur.queued,
    total: {
      hist: total,
      stats: histStats(total, intervalMs),
      iops: perSec(total.count),
      bytesPerSec: perSec(totalBytes),
      readIops: perSec(readOps),
      writeIops: perSec(writeOps),
    },
    disks,
    procs,
    noStart: counterDelta(cur.noStart, prev?.noStart),
    dropped: counterDelta(cur.procMapFull, prev?.procMapFull) + counterDelta(cur.diskMapFull, prev?.diskMapFull),
    procMapFill: cur.procMapMax ? cur.procMapSize / cur.procMapMax : 0,
  };
}

function lastNonZero(a: readonly number[]): number {
  for (let i = a.length - 1; i >= 0; i--) if (a[i] !== 0) return i;
  return -1;
}
