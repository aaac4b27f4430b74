/**
 * A latency heatmap over time: columns are time (oldest left), rows are log2 buckets (slowest
 * on top), the shade is the share of that column's events in the bucket.
 */
import { Hist, slotLabel } from '../../src/model/hist';
import { pad } from './text';
import type { PanelContext } from '../panels/types';

const SHADES = [' ', '░', '▒', '▓', '█'];

/** Seconds of history a heatmap covers at least (columns merge ticks to fit). */
export const HEATMAP_SECONDS = 300;

/**
 * Draws `hists` (one per tick, oldest first, null where the probe had no data) into ctx.
 * Each column sums enough ticks that the width covers `seconds` of history; the last line is
 * a time axis.
 */
export function heatmapRows(hists: readonly (Hist | null)[], intervalMs: number, ctx: PanelContext, seconds = HEATMAP_SECONDS): string[] {
  const labelW = 13;
  const cols = Math.max(1, ctx.width - labelW - 1);
  const rows = Math.max(1, ctx.height - 1);
  const ticksWanted = Math.max(1, Math.ceil((seconds * 1000) / Math.max(1, intervalMs)));
  const perCol = Math.max(1, Math.ceil(ticksWanted / cols));
  // Columns from the newest backwards, so the right edge is always "now".
  const columns: number[][] = [];
  for (let end = hists.length; end > 0 && columns.length < cols; end -= perCol) {
    const col: number[] = [];
    for (let t = Math.max(0, end - perCol); t < end; t++) {
      const h = hists[t];
      if (!h) continue;
      h.slots.forEach((c, i) => (col[i] = (col[i] ?? 0) + c));
    }
    columns.unshift(col);
  }
  let lo = Infinity;
  let hi = -1;
  for (const col of columns) col.forEach((c, i) => {
    if (c > 0) {
      lo = Math.min(lo, i);
      hi = Math.max(hi, i);
    }
  });
  if (hi < 0) return [pad('no events in the last minutes', ctx.width)];
  // Keep the `rows` slowest buckets seen: the tail is what a heatmap is for.
  lo = Math.max(lo, hi - rows + 1);
  const out: string[] = [];
  for (let i = hi; i >= lo; i--) {
    let line = '';
    for (const col of columns) {
      const total = col.reduce((a, b) => a + (b ?? 0), 0);
      const c = col[i] ?? 0;
      const level = c === 0 ? 0 : Math.min(4, 1 + Math.floor((c / total) * 4));
      line += SHADES[level];
    }
    const body = pad(line, cols, true);
    // Colour only the shaded runs: blessed mis-wraps a tag that opens on a run of spaces.
    const shown = ctx.color ? body.replace(/[░▒▓█]+/g, (m) => `{magenta-fg}${m}{/magenta-fg}`) : body;
    out.push(`${pad(slotLabel(i), labelW, true)} ${shown}`);
  }
  const spanS = Math.round((Math.min(hists.length, columns.length * perCol) * intervalMs) / 1000);
  const axis = `-${spanS >= 60 ? `${Math.floor(spanS / 60)}m${spanS % 60 ? `${spanS % 60}s` : ''}` : `${spanS}s`}`;
  out.push(`${pad('', labelW)} ${pad(axis, Math.max(0, cols - 3))}now`);
  return out.slice(0, ctx.height);
}
