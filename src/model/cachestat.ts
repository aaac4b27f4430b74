/**
 * Page-cache statistics for one interval: accesses, misses, hits and dirtied pages, global and
 * per process, from two cumulative readings of the cachestat probe (a pure function).
 */
import type { CachestatCounts, CachestatRaw } from '../probes/cachestat';
import { prevByPid } from './hist';

/** Page-cache totals for the interval, in pages. */
export interface CachestatTotals {
  accesses: number; // pages looked up
  misses: number; // pages read into the cache (insertions that writes did not create)
  hits: number; // accesses - misses, never below 0
  dirtied: number; // pages that became dirty
  hitPct: number | null; // 100 * hits / accesses; null when there were no accesses
  accessesPerSec: number;
  missesPerSec: number;
  dirtiedPerSec: number;
}

/** Page-cache use of one process in the interval, in pages. */
export interface CachestatProcSnap {
  pid: number;
  comm: string;
  accesses: number;
  misses: number;
  dirtied: number;
  hitPct: number | null; // null when the process made no accesses
}

/** The cachestat part of a Snapshot. */
export interface CachestatSnap {
  totals: CachestatTotals;
  method: string; // how the numbers are obtained, e.g. "tracepoints (tp_btf)"
  accuracy: string; // the method's known inaccuracy, measured (shown on the panel)
  procs: CachestatProcSnap[]; // processes active in the interval, most accesses first
  procMapFull: number; // per-process updates dropped in the interval because the map was full
  procMapFill: number; // 0..1
}

/**
 * How each probe variant counts and how far off it is, measured on 6.18/ext4 against known
 * workloads (read/pread of a 32 MiB file: within 1%; mmap touching every page: 10-80% counted,
 * fewer when large folios are mapped whole by one fault). Pages a write creates are not misses.
 */
export const CACHESTAT_METHODS: Readonly<Record<string, { method: string; accuracy: string }>> = {
  fentry: {
    method: 'fentry + tracepoints',
    accuracy: 'read() accesses exact, other lookups per folio marked; mmap pages counted only as they fault in (10-80%); misses exact',
  },
  fentry_nomap: {
    method: 'fentry folio_mark_accessed',
    accuracy: 'accesses per folio marked (a small read of a large folio counts all its pages); mmap faults not seen; misses exact',
  },
  tp_btf: {
    method: 'tracepoints (tp_btf)',
    accuracy: 'read() accesses exact; mmap pages counted only as they fault in (10-80%); misses exact',
  },
  raw_tp: {
    method: 'tracepoints (raw_tp)',
    accuracy: 'read() accesses exact; mmap pages counted only as they fault in (10-80%); misses exact',
  },
  tracepoint: {
    method: 'tracepoints (classic)',
    accuracy: 'read() accesses within 1% (a read past EOF counts its whole buffer); mmap pages counted only as they fault in (10-80%); misses exact; a dirtied large folio counts as 1 page',
  },
};

/** The growth of a cumulative counter; a counter that went down was reset, so all of it is new. */
function delta(cur: number, prev: number | undefined): number {
  return prev !== undefined && cur >= prev ? cur - prev : cur;
}

/** Pages accessed, missed and dirtied between two readings of one set of counters. */
function interval(cur: CachestatCounts, prev: CachestatCounts | undefined): { accesses: number; misses: number; dirtied: number } {
  const added = delta(cur.added, prev?.added);
  const writeAdded = delta(cur.writeAdded, prev?.writeAdded);
  return {
    accesses: delta(cur.accessed, prev?.accessed),
    misses: Math.max(0, added - writeAdded),
    dirtied: delta(cur.dirtied, prev?.dirtied),
  };
}

function hitPct(accesses: number, misses: number): number | null {
  return accesses > 0 ? (100 * Math.max(0, accesses - misses)) / accesses : null;
}

/** Page-cache deltas for one interval; `prev` is undefined on the first tick or after a reload. */
export function buildCachestat(cur: CachestatRaw, prev: CachestatRaw | undefined, intervalMs: number): CachestatSnap {
  // A different method means a reloaded probe: its counters are not comparable.
  const p = prev && prev.method === cur.method ? prev : undefined;
  const t = interval(cur.total, p?.total);
  const perSec = (v: number) => (intervalMs > 0 ? (v * 1000) / intervalMs : 0);
  const totals: CachestatTotals = {
    accesses: t.accesses,
    misses: t.misses,
    hits: Math.max(0, t.accesses - t.misses),
    dirtied: t.dirtied,
    hitPct: hitPct(t.accesses, t.misses),
    accessesPerSec: perSec(t.accesses),
    missesPerSec: perSec(t.misses),
    dirtiedPerSec: perSec(t.dirtied),
  };
  const prevOf = prevByPid(p?.procs);
  const procs: CachestatProcSnap[] = [];
  for (let i = 0; i < cur.procs.length; i++) {
    const cp = cur.procs[i];
    const was = prevOf(i, cp.pid);
    if (was === cp) continue; // the same reading (readProcMap): nothing in the interval
    const d = interval(cp, was);
    if (d.accesses === 0 && d.misses === 0 && d.dirtied === 0) continue;
    procs.push({ pid: cp.pid, comm: cp.comm, accesses: d.accesses, misses: d.misses, dirtied: d.dirtied, hitPct: hitPct(d.accesses, d.misses) });
  }
  procs.sort((a, b) => b.accesses - a.accesses || b.misses - a.misses || a.pid - b.pid);
  const known = CACHESTAT_METHODS[cur.method] ?? { method: cur.method, accuracy: 'unknown method' };
  return {
    totals,
    method: known.method,
    accuracy: known.accuracy,
    procs,
    procMapFull: delta(cur.procMapFull, p?.procMapFull),
    procMapFill: cur.procMapMax ? cur.procMapSize / cur.procMapMax : 0,
  };
}
