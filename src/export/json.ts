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

// Bucket bounds by slot, computed once.
const bounds: { lowUs: number; highUs: number }[] = [];
function boundsOf(i: number): { lowUs: number; highUs: number } {
  return (bounds[i] ??= { lowUs: slotLowUs(i), highUs: slotHighUs(i) });
}

// True when a histogram sits somewhere inside `v` (no allocation: most of a snapshot, the
// process lists and exits, has none and is handed to JSON.stringify as it is, which writes
// non-finite numbers as null by itself).
function hasHist(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (hasHist(v[i])) return true;
    return false;
  }
  if (isHist(v)) return true;
  for (const k in v) if (hasHist((v as Record<string, unknown>)[k])) return true;
  return false;
}

function convert(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return typeof v === 'number' && !isFinite(v) ? null : v;
  if (!hasHist(v)) return v;
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = convert(v[i]);
    return out;
  }
  if (isHist(v)) {
    const buckets: JsonHist['buckets'] = [];
    const slots = v.slots;
    for (let i = 0; i < slots.length; i++) {
      const count = slots[i];
      if (count > 0) {
        const b = boundsOf(i);
        buckets.push({ lowUs: b.lowUs, highUs: b.highUs, count });
      }
    }
    const h: JsonHist = { count: v.count, sumNs: v.sumNs, buckets };
    return h;
  }
  const out: Record<string, unknown> = {};
  for (const k in v) if (Object.prototype.hasOwnProperty.call(v, k)) out[k] = convert((v as Record<string, unknown>)[k]);
  return out;
}

/** The JSON object for one snapshot. */
export function snapshotJson(snap: Snapshot, host: { hostname: string; kernel: string }): Record<string, unknown> {
  return { version: JSON_VERSION, host: host.hostname, kernel: host.kernel, ...(convert(snap) as Record<string, unknown>) };
}
