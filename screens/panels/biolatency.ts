/**
 * The block I/O panel: IOPS and throughput, percentiles, one line per active disk and
 * direction, and the interval's latency histogram as bars.
 */
import type { BiolatencyDiskSnap, BiolatencySnap } from '../../src/model/biolatency';
import { formatUs } from '../../src/model/hist';
import { histogramRows, percentileLine } from '../widgets/histogram';
import { escapeText, formatBytes, formatRate, pad } from '../widgets/text';
import type { PanelContext, PanelRenderer } from './types';
import { unavailableLines } from './common';

const DIR = { read: 'R', write: 'W', other: 'O' } as const;

/** "vda      W   850/s   3.3M/s p99 1.20ms", fitted to the width (p99 dropped below 32 columns). */
function diskLine(d: BiolatencyDiskSnap, width: number): string {
  const withP99 = width >= 32;
  const nameW = Math.max(3, Math.min(16, width - (withP99 ? 29 : 18)));
  let line = `${pad(d.name, nameW)} ${DIR[d.op]} ${pad(`${formatRate(d.iops)}/s`, 7, true)} ${pad(`${formatBytes(d.bytesPerSec)}/s`, 7, true)}`;
  if (withP99) line += ` ${pad(`p99 ${formatUs(d.stats.p99Us)}`, 10)}`;
  return escapeText(pad(line, width));
}

function headerLine(d: BiolatencySnap, ctx: PanelContext): string {
  const t = d.total;
  const parts = [`${formatRate(t.iops)} IOPS`, `R ${formatRate(t.readIops)}`, `W ${formatRate(t.writeIops)}`, `${formatBytes(t.bytesPerSec)}/s`];
  if (d.queued) parts.push('(from queue)');
  let line = parts.join('  ');
  while (line.length > ctx.width && parts.length > 1) {
    parts.splice(parts.length - 1, 1);
    line = parts.join('  ');
  }
  line = pad(line, ctx.width);
  return ctx.color ? `{bold}${line}{/bold}` : line;
}

/** Renders the block I/O latency panel body. */
export const renderBiolatency: PanelRenderer<BiolatencySnap> = (data, ctx) => {
  if (data.status !== 'ok') return unavailableLines(data, ctx);
  const d = data.data;
  const lines = [headerLine(d, ctx)];
  if (ctx.height < 2) return lines;
  lines.push(pad(percentileLine(d.total.stats, ctx.width), ctx.width));
  const rest = ctx.height - lines.length;
  if (d.total.hist.count === 0) {
    if (rest > 0) lines.push(pad('no I/O completed in this interval', ctx.width));
    return lines;
  }
  // Busiest disks first; a third of what is left (at least one row), the rest for the bars.
  const active = d.disks.filter((x) => x.hist.count > 0).sort((a, b) => b.iops - a.iops || a.name.localeCompare(b.name));
  let diskRows = Math.min(active.length, Math.max(1, Math.floor(rest / 3)));
  if (rest <= 0) diskRows = 0;
  const shown = active.slice(0, diskRows).map((x) => diskLine(x, ctx.width));
  if (active.length > diskRows && diskRows >= 2) shown[diskRows - 1] = pad(`… ${active.length - diskRows + 1} more disks/directions`, ctx.width);
  lines.push(...shown);
  const notes: string[] = [];
  if (d.dropped > 0 && rest - diskRows >= 2) {
    const text = pad(`maps full: ${d.dropped} updates dropped`, ctx.width);
    notes.push(ctx.color ? `{red-fg}${text}{/red-fg}` : text);
  }
  lines.push(...histogramRows(d.total.hist, ctx, ctx.height - lines.length - notes.length));
  lines.push(...notes);
  return lines.slice(0, ctx.height);
};
