/**
 * JSON output: one Snapshot per line for scripts, with every histogram spelled out as buckets
 * with bounds. Versioned; the schema is schema/snapshot.schema.json.
 */
import type { Snapshot } from '../model/snapshot';
import { slotLowUs, slotHighUs } from '../model/hist';

/** Version of the JSON output format (bumped on incompatible changes). */
export const JSON_VERSION = 1;

function isHist(v: unknown): v is { count: number; sumNs: number; slots: number[] } {
  const h = v as { count: unknown; sumNs: unknown; slots: unknown };
  return typeof v === 'object' && v !== null && typeof h.count === 'number' && typeof h.sumNs === 'number' && Array.isArray(h.slots);
}

/** A histogram as JSON: non-empty buckets with bounds in µs. */
export interface JsonHist {
  count: number;
  sumNs: number;
  buckets: { lowUs: number; highUs: number; count: number }[];
}

/** Buckets of a count below this are shared objects, one per slot and count (see bucketOf). */
const SHARED_BUCKET_COUNTS = 16;
const shared: JsonHist['buckets'][number][][] = [];

/**
 * The JSON bucket of slot `i` holding `count` events. Small counts are shared, frozen objects:
 * under a fork storm each of ~1,500 short-lived processes a tick has a run-queue histogram of a
 * bucket or two with a count of 1 or 2, and JSON.stringify does not care whose object it is.
 */
function bucketOf(i: number, count: number): JsonHist['buckets'][number] {
  if (count >= SHARED_BUCKET_COUNTS || !Number.isInteger(count)) return { lowUs: slotLowUs(i), highUs: slotHighUs(i), count };
  const bySlot = (shared[i] ??= []);
  return (bySlot[count] ??= Object.freeze({ lowUs: slotLowUs(i), highUs: slotHighUs(i), count }));
}

// One pass: a histogram becomes its JSON form, and an object or array is copied only when
// something inside it changed — most of a snapshot (process lists, exits) has no histogram and
// goes to JSON.stringify as it is, which writes non-finite numbers as null by itself.
function convert(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (isHist(v)) {
    const buckets: JsonHist['buckets'] = [];
    const slots = v.slots;
    for (let i = 0; i < slots.length; i++) {
      const count = slots[i];
      if (count > 0) buckets.push(bucketOf(i, count));
    }
    const h: JsonHist = { count: v.count, sumNs: v.sumNs, buckets };
    return h;
  }
  if (Array.isArray(v)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < v.length; i++) {
      const c = convert(v[i]);
      if (c !== v[i]) (out ??= v.slice())[i] = c;
    }
    return out ?? v;
  }
  const o = v as Record<string, unknown>;
  let out: Record<string, unknown> | null = null;
  for (const k in o) {
    const c = convert(o[k]);
    if (c !== o[k]) (out ??= { ...o })[k] = c;
  }
  return out ?? v;
}

/**
 * Parts of a Snapshot that hold no histogram (their types have none; a test walks them): they go
 * to JSON.stringify as they are. Under a fork/exec storm the process events' exits were most of
 * what convert() walked, field by field, for nothing.
 */
export const HIST_FREE: ReadonlySet<string> = new Set(['system', 'probes', 'procevents', 'procs', 'cost']);

/** The JSON object for one snapshot. */
export function snapshotJson(snap: Snapshot, host: { hostname: string; kernel: string }): Record<string, unknown> {
  const out: Record<string, unknown> = { version: JSON_VERSION, host: host.hostname, kernel: host.kernel };
  for (const [k, v] of Object.entries(snap)) out[k] = HIST_FREE.has(k) ? v : convert(v);
  return out;
}

/** Whether a value holds a histogram anywhere inside (for the test of HIST_FREE). */
export function holdsHist(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  if (isHist(v)) return true;
  return Object.values(v).some(holdsHist);
}
