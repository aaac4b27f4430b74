/**
 * The off-CPU panel: the processes that spent the most time blocked this interval, with their
 * blocked time per second and why (the leaf kernel function of their heaviest stack), then
 * what the stacks do not cover and anything the probe had to drop.
 */
import type { OffcputimeSnap, OffcpuProcSnap, OffcpuDrops } from '../../src/model/offcputime';
import { thresholdLabel } from '../../src/model/offcputime';
import { formatUs } from '../../src/model/hist';
import { escapeText, formatPct, formatRate, pad } from '../widgets/text';
import type { PanelContext, PanelRenderer } from './types';
import { unavailableLines, wrap } from './common';

/** Blocked milliseconds per second as a short label: 0.4, 12, 998, 3.2K. */
export function formatMsPerSec(v: number): string {
  if (v < 10) return v.toFixed(1);
  if (v < 10000) return String(Math.round(v));
  return `${(v / 1000).toFixed(1)}K`;
}

/** What the reason column shows for a process. */
function reasonOf(p: OffcpuProcSnap, minBlockUs: number): string {
  if (p.topReason) return p.topReason;
  if (p.topKernelStack) return '?'; // captured, not symbolized (yet)
  if (p.longBlocks > 0) return '(no stack)';
  return `(blocks < ${thresholdLabel(minBlockUs)})`;
}

/** The drop counters that are not zero, as "name n" parts. */
function dropParts(d: OffcpuDrops): string[] {
  const names: [keyof OffcpuDrops, string][] = [
    ['procMapFull', 'process map full'],
    ['stackMapFull', 'stack table full'],
    ['kstackMapFull', 'kernel stack map full'],
    ['ustackMapFull', 'user stack map full'],
    ['tidMapFull', 'thread map full'],
    ['stackLost', 'stacks freed early'],
  ];
  return names.filter(([k]) => d[k] > 0).map(([k, label]) => `${label}: ${d[k]}`);
}

/** Column widths for a panel `width` columns wide (36..120 and beyond). */
function columns(width: number) {
  const pid = 7;
  const ms = 6;
  const blk = width >= 56 ? 7 : 0;
  // The reason is what the panel is for: it gets the most room, the name up to 16 columns.
  const comm = Math.max(6, Math.min(16, Math.floor((width - pid - ms - blk) / 4)));
  const gaps = blk ? 4 : 3;
  const reason = Math.max(4, width - pid - comm - ms - blk - gaps);
  return { pid, comm, ms, blk, reason };
}

function row(c: ReturnType<typeof columns>, pid: string, comm: string, ms: string, blk: string, reason: string): string {
  const cells = [pad(pid, c.pid, true), pad(comm, c.comm), pad(ms, c.ms, true)];
  if (c.blk) cells.push(pad(blk, c.blk, true));
  cells.push(pad(reason, c.reason));
  return cells.join(' ');
}

/** Renders the off-CPU panel body. */
export const renderOffcputime: PanelRenderer<OffcputimeSnap> = (data, ctx: PanelContext) => {
  if (data.status !== 'ok') return unavailableLines(data, ctx);
  const d = data.data;
  const w = ctx.width;
  const c = columns(w);
  const summary = [
    `blocked ${formatMsPerSec(d.offcpuMsPerSec)}ms/s`,
    `${formatRate(d.stats.perSec)} blocks/s`,
    `p50 ${formatUs(d.stats.p50Us)}`,
    `p99 ${formatUs(d.stats.p99Us)}`,
  ];
  while (summary.join('  ').length > w && summary.length > 1) summary.pop();
  const head = pad(summary.join('  '), w);

  // Footer: what the stacks do not cover, then drops and map fill when they need attention.
  const footer: string[] = [];
  const noteRows = ctx.height >= 8 ? 2 : 1;
  const note = wrap(d.captureNote, w);
  if (note.length > noteRows) {
    const rest = note.slice(noteRows - 1).join(' ');
    note.length = noteRows - 1;
    note.push(rest);
  }
  footer.push(...note.map((l) => escapeText(pad(l, w))));
  const drops = dropParts(d.drops);
  const fullest = Math.max(d.fill.procs, d.fill.stacks, d.fill.kstacks, d.fill.ustacks);
  if (fullest >= 0.8) drops.push(`maps ${formatPct(fullest * 100)} full`);
  if (drops.length) {
    const text = escapeText(pad(`dropped: ${drops.join(', ')}`, w));
    footer.push(ctx.color ? `{red-fg}${text}{/red-fg}` : text);
  }

  const lines = [head];
  const header = row(c, 'PID', 'COMM', 'ms/s', 'blk/s', 'WHY (leaf kernel frame)');
  lines.push(ctx.color ? `{bold}${header}{/bold}` : header);
  const room = Math.max(0, ctx.height - lines.length - footer.length);
  if (d.procs.length === 0 && room > 0) lines.push(pad('no blocked threads in this interval', w));
  for (const p of d.procs.slice(0, room)) {
    // Control characters become "?" before padding, so the width stays exact; braces are escaped after.
    const comm = p.comm.replace(/[\x00-\x1f\x7f-\x9f]/g, '?');
    lines.push(escapeText(row(c, String(p.pid), comm, formatMsPerSec(p.offcpuMsPerSec), formatRate(p.blocksPerSec), reasonOf(p, d.minBlockUs))));
  }
  lines.push(...footer);
  return lines.slice(0, ctx.height);
};
