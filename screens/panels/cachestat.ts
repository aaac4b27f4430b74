/**
 * The page-cache panel: the interval's hit ratio (large, with a bar), accesses/misses/dirtied
 * pages per second, sparklines of hit ratio and miss rate over the history, and how the
 * numbers are measured (method and known inaccuracy).
 */
import type { CachestatSnap } from '../../src/model/cachestat';
import type { ProbeSnap } from '../../src/model/snapshot';
import { bar } from '../widgets/histogram';
import { cell, escapeText, formatRate, pad } from '../widgets/text';
import type { PanelContext, PanelRenderer } from './types';
import { unavailableLines, wrap } from './common';
import { mapWindow, windowMemo } from '../widgets/memo';

const LEVELS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const HIT_LABEL = 'hit%   ';
const MISS_LABEL = 'miss/s ';
const MAX_SUFFIX = 6; // " 1.2K" after the miss-rate sparkline: its scale

/**
 * A sparkline of `values` (oldest first) in `width` cells, right-aligned to the newest value:
 * 0 is ▁, only `max` itself is █ (so 97% and 100% differ), any value above 0 at least ▂;
 * null (no data) is a blank.
 */
export function sparkline(values: readonly (number | null)[], max: number, width: number): string {
  const tail = values.slice(Math.max(0, values.length - width));
  const cells = tail.map((v) => {
    if (v === null || !isFinite(v)) return ' ';
    if (v <= 0 || max <= 0) return LEVELS[0];
    if (v >= max) return LEVELS[7];
    return LEVELS[Math.max(1, Math.min(6, Math.floor((v / max) * 7)))];
  });
  return cells.join('').padStart(width);
}

/** Our own text (no control characters) padded or cut with "…" to `width`, braces escaped. */
function fit(text: string, width: number): string {
  return escapeText(pad(text, width));
}

function hitColor(pct: number): string {
  return pct >= 90 ? 'green' : pct >= 50 ? 'yellow' : 'red';
}

/** "pages/s  acc 12.3K  miss 340  dirty 1.2K", shortened to fit `width`. */
function rateLine(d: CachestatSnap, width: number): string {
  const t = d.totals;
  const parts = [`acc ${formatRate(t.accessesPerSec)}`, `miss ${formatRate(t.missesPerSec)}`, `dirty ${formatRate(t.dirtiedPerSec)}`];
  for (const [head, sep] of [['pages/s  ', '  '], ['pages/s ', ' '], ['pg/s ', ' ']] as const) {
    const line = head + parts.join(sep);
    if (line.length <= width) return pad(line, width);
  }
  return pad(`pg/s ${parts.join(' ')}`, width);
}

/** One snapshot's point of both sparklines (null: the probe had no data then). */
type Point = { hit: number | null; miss: number } | null;

// The points of the last history drawn: most are the same snapshots again (see mapWindow).
const points = windowMemo<ProbeSnap<CachestatSnap>, Point>();

function pointOf(h: ProbeSnap<CachestatSnap>): Point {
  return h.status === 'ok' ? { hit: h.data.totals.hitPct, miss: h.data.totals.missesPerSec } : null;
}

/** Cells of a sparkline after `label` and before a suffix of `suffixLen` columns. */
function sparkCells(label: string, suffixLen: number, ctx: PanelContext): number {
  return Math.max(1, ctx.width - label.length - suffixLen);
}

/** A labelled sparkline row: "hit%   ▇▇█▇▆" (+ " max 1.2K" for rates). */
function sparkRow(label: string, values: (number | null)[], max: number, suffix: string, ctx: PanelContext): string {
  const s = sparkline(values, max, sparkCells(label, suffix.length, ctx));
  return label + (ctx.color ? `{cyan-fg}${s}{/cyan-fg}` : s) + suffix;
}

/** Renders the page-cache panel body. */
export const renderCachestat: PanelRenderer<CachestatSnap> = (data, ctx, history) => {
  if (data.status !== 'ok') return unavailableLines(data, ctx);
  const d = data.data;
  const w = ctx.width;
  const pct = d.totals.hitPct;
  const lines: string[] = [];

  // Row 1: the hit ratio, bold, and a bar of it.
  const head = pct === null ? 'HIT    -  ' : `HIT ${(pct.toFixed(1) + '%').padStart(6)} `;
  if (pct === null) {
    lines.push(`{bold}${head}{/bold}${pad('no page-cache accesses', w - head.length)}`);
  } else {
    const b = pad(bar(pct / 100, w - head.length), w - head.length);
    lines.push(ctx.color ? `{bold}{${hitColor(pct)}-fg}${head}{/}{${hitColor(pct)}-fg}${b}{/}` : `{bold}${head}{/bold}${b}`);
  }
  // Row 2: the rates.
  lines.push(rateLine(d, w));

  // History: hit ratio, then miss rate, scaled to its largest value shown (the values that fit).
  const hist = mapWindow(points, history.length ? history : [data], pointOf);
  const hitRow = sparkRow(HIT_LABEL, hist.map((p) => (p ? p.hit : null)), 100, '', ctx);
  const misses = hist.slice(-sparkCells(MISS_LABEL, MAX_SUFFIX, ctx)).map((p) => (p ? p.miss : null));
  let maxMiss = 0;
  for (const v of misses) if (v !== null && v > maxMiss) maxMiss = v;
  const missRow = sparkRow(MISS_LABEL, misses, maxMiss, ` ${pad(formatRate(maxMiss), MAX_SUFFIX - 1, true)}`, ctx);

  const methodText = `${d.method}: ${d.accuracy}`;
  const notes: string[] = [];
  if (d.procMapFull > 0) {
    const n = `per-process map full: ${d.procMapFull} dropped`;
    notes.push(ctx.color ? `{red-fg}${pad(n, w)}{/red-fg}` : pad(n, w));
  }

  const left = ctx.height - lines.length;
  if (left <= 0) return lines.slice(0, ctx.height);
  if (left === 1) return [...lines, hitRow];
  if (left === 2) return [...lines, hitRow, fit(methodText, w)];
  lines.push(hitRow, missRow);
  // The method and its inaccuracy: whole when there is room, else cut on its last row.
  const room = ctx.height - lines.length - notes.length;
  const wrapped = wrap(methodText, w);
  if (wrapped.length <= room) lines.push(...wrapped.map((l) => fit(l, w)));
  else if (room > 0) lines.push(...wrapped.slice(0, room - 1).map((l) => fit(l, w)), fit(wrapped.slice(room - 1).join(' '), w));
  // Busiest processes, when rows remain.
  const procRows = ctx.height - lines.length - notes.length;
  if (procRows >= 2 && d.procs.length) {
    const commW = Math.max(4, Math.min(16, w - 29));
    lines.push(pad(`${pad('PID', 7, true)} ${pad('COMM', commW)} ${pad('ACC', 6, true)} ${pad('MISS', 6, true)} ${pad('HIT', 6, true)}`, w));
    for (const p of d.procs.slice(0, procRows - 1)) {
      const hit = p.hitPct === null ? '-' : `${p.hitPct.toFixed(p.hitPct >= 99.95 || p.hitPct < 0.05 ? 0 : 1)}%`;
      lines.push(pad(`${pad(String(p.pid), 7, true)} `, 8) + cell(p.comm, commW) + pad(` ${pad(formatRate(p.accesses), 6, true)} ${pad(formatRate(p.misses), 6, true)} ${pad(hit, 6, true)}`, w - 8 - commW));
    }
  }
  lines.push(...notes);
  return lines.slice(0, ctx.height);
};
