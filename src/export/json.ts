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

function convert(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(convert);
  if (isHist(v)) {
    const buckets: JsonHist['buckets'] = [];
    v.slots.forEach((count, i) => {
      if (count > 0) buckets.push({ lowUs: slotLowUs(i), highUs: slotHighUs(i), count });
    });
    return { count: v.count, sumNs: v.sumNs, buckets } satisfies JsonHist;
  }
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = convert(x);
    return out;
  }
  if (typeof v === 'number' && !isFinite(v)) return null;
  return v;
}

/** The JSON object for one snapshot. */
export function snapshotJson(snap: Snapshot, host: { hostname: string; kernel: string }): Record<string, unknown> {
  return { version: JSON_VERSION, host: host.hostname, kernel: host.kernel, ...(convert(snap) as Record<string, unknown>) };
}
