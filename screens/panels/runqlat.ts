/**
 * The run-queue latency panel: the interval's histogram as bars, percentiles and events/s.
 */
import type { RunqlatSnap } from '../../src/model/snapshot';
import { histogramRows, percentileLine } from '../widgets/histogram';
import { pad } from '../widgets/text';
import type { PanelRenderer } from './types';
import { unavailableLines } from './common';

/** Renders the run-queue latency panel body. */
export const renderRunqlat: PanelRenderer<RunqlatSnap> = (data, ctx) => {
  if (data.status !== 'ok') return unavailableLines(data, ctx);
  const d = data.data;
  const lines = [pad(percentileLine(d.stats, ctx.width), ctx.width)];
  const notes: string[] = [];
  if (d.procMapFull > 0) notes.push(ctx.color ? `{red-fg}per-process map full: ${d.procMapFull} dropped{/red-fg}` : `per-process map full: ${d.procMapFull} dropped`);
  lines.push(...histogramRows(d.hist, ctx, ctx.height - lines.length - notes.length));
  lines.push(...notes);
  return lines.slice(0, ctx.height);
};
