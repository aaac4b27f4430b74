/**
 * Log2 latency histogram drawn as horizontal bars with bucket labels and a percentile line —
 * shared by every latency panel (run queue, block I/O, off-CPU).
 */
import { Hist, HistStats, slotLabel, formatUs } from '../../src/model/hist';
import { formatRate, pad } from './text';
import type { PanelContext } from '../panels/types';

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** A bar of `frac` (0..1) of `width` cells, with eighth-cell resolution. */
export function bar(frac: number, width: number): string {
  const cells = Math.max(0, Math.min(1, frac)) * width;
  const full = Math.floor(cells);
  const part = EIGHTHS[Math.round((cells - full) * 8)] ?? '';
  return '█'.repeat(full) + (full < width ? part : '');
}

/** "p50 1.2ms  p90 3.0ms  p99 8.1ms  max<16ms  530/s" — fitted to `width`. */
export function percentileLine(s: HistStats, width: number): string {
  const parts = [
    `p50 ${formatUs(s.p50Us)}`,
    `p90 ${formatUs(s.p90Us)}`,
    `p99 ${formatUs(s.p99Us)}`,
    `max<${formatUs(s.maxUs)}`,
    `${formatRate(s.perSec)}/s`,
  ];
  let line = parts.join('  ');
  while (line.length > width && parts.length > 1) {
    // Drop max< first, then p90, then the rate: p50 and p99 are what people read.
    const drop = parts.findIndex((p) => p.startsWith('max<'));
    const p90 = parts.findIndex((p) => p.startsWith('p90'));
    parts.splice(drop >= 0 ? drop : p90 >= 0 ? p90 : parts.length - 1, 1);
    line = parts.join('  ');
  }
  return line.slice(0, width);
}

/**
 * Bars for the non-empty range of buckets, at most `rows` rows (the busiest window of
 * consecutive buckets when there are more). Each row: label, bar, count.
 */
export function histogramRows(h: Hist, ctx: PanelContext, rows: number): string[] {
  if (rows <= 0) return [];
  let lo = h.slots.findIndex((c) => c > 0);
  if (lo < 0) return [pad('no events in this interval', ctx.width)];
  let hi = h.slots.length - 1;
  while (hi > lo && h.slots[hi] === 0) hi--;
  let show: number[] = [];
  for (let i = lo; i <= hi; i++) show.push(i);
  if (show.length > rows) {
    // Too many rows: leave out the empty buckets first, so that a tail bucket stays visible.
    const nonEmpty = show.filter((i) => h.slots[i] > 0);
    if (nonEmpty.length <= rows) show = nonEmpty;
  }
  if (show.length > rows) {
    // Keep the window of `rows` buckets that holds the most events.
    let best = lo;
    let bestSum = -1;
    for (let s = lo; s + rows - 1 <= hi; s++) {
      let sum = 0;
      for (let i = s; i < s + rows; i++) sum += h.slots[i];
      if (sum > bestSum) {
        bestSum = sum;
        best = s;
      }
    }
    show = [];
    for (let i = best; i < best + rows; i++) show.push(i);
  }
  let max = 0;
  for (const i of show) max = Math.max(max, h.slots[i]);
  const labelW = 13;
  const countW = 7;
  const barW = Math.max(1, ctx.width - labelW - countW - 2);
  const out: string[] = [];
  for (const i of show) {
    const c = h.slots[i] ?? 0;
    const b = bar(max ? c / max : 0, barW);
    // Colour only the bar itself: blessed mis-wraps a tag that opens on a run of spaces.
    const colored = ctx.color && b ? `{cyan-fg}${b}{/cyan-fg}${' '.repeat(barW - b.length)}` : pad(b, barW);
    out.push(`${pad(slotLabel(i), labelW, true)} ${colored} ${pad(formatRate(c), countW, true)}`);
  }
  return out;
}
