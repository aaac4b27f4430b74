/**
 * The process area of the overview. Until the process table lands it lists the processes
 * that waited longest for a CPU in the interval.
 */
import type { Snapshot } from '../src/model/snapshot';
import { formatUs } from '../src/model/hist';
import { cell, formatRate, pad } from './widgets/text';
import type { PanelContext } from './panels/types';

/** Title and lines of the process area. */
export function processAreaLines(snap: Snapshot | undefined, ctx: PanelContext): { title: string; lines: string[] } {
  const title = 'Processes waiting for a CPU (run-queue wait this interval)';
  if (!snap) return { title, lines: [] };
  if (snap.runqlat.status !== 'ok') return { title, lines: ['run-queue latency probe not running'] };
  const head = `${pad('PID', 8, true)} ${pad('COMMAND', 16)} ${pad('WAIT ms/s', 10, true)} ${pad('WAITS/s', 8, true)} ${pad('MEAN', 8, true)} ${pad('P99', 8, true)}`;
  const lines = [ctx.color ? `{bold}${pad(head, ctx.width)}{/bold}` : pad(head, ctx.width)];
  const perSec = snap.intervalMs > 0 ? 1000 / snap.intervalMs : 0;
  for (const p of snap.runqlat.data.procs.slice(0, Math.max(0, ctx.height - 1))) {
    lines.push(
      `${pad(String(p.pid), 8, true)} ${cell(p.comm, 16)} ${pad(p.waitMsPerSec.toFixed(1), 10, true)} ${pad(formatRate(p.count * perSec), 8, true)} ${pad(formatUs(p.meanUs), 8, true)} ${pad(formatUs(p.p99Us), 8, true)}`,
    );
  }
  if (lines.length === 1) lines.push('no process waited for a CPU in this interval');
  return { title, lines };
}
