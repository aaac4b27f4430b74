/**
 * The header: host, kernel, uptime, load, CPU split, interval and a one-line probe status.
 */
import type { Snapshot } from '../src/model/snapshot';
import type { HostInfo } from '../src/procfs/system';
import { escapeText, formatBytes, formatPct, formatUptime, visibleLength } from './widgets/text';

/** What the header shows besides the snapshot. */
export interface HeaderInfo {
  host: HostInfo;
  intervalMs: number; // the configured refresh interval
  mode: string; // "live", "paused", "replay 12:03:01"...
}

/** The two header lines for `width` columns (blessed tags included). */
export function headerLines(snap: Snapshot | undefined, info: HeaderInfo, width: number, color: boolean): string[] {
  const b = (s: string) => `{bold}${s}{/bold}`;
  // [text, priority]: when the line is too long the lowest priorities go first.
  const parts: [string, number][] = [[b('probetop'), 9], [escapeText(info.host.hostname), 8]];
  if (snap) {
    const s = snap.system;
    parts.push([`load ${s.loadavg.map((l) => l.toFixed(2)).join(' ')}`, 6]);
    if (s.cpuPct) parts.push([`cpu ${formatPct(s.cpuPct.user)} usr ${formatPct(s.cpuPct.system)} sys ${formatPct(s.cpuPct.iowait)} io`, 7]);
  }
  if (snap) parts.push([`up ${formatUptime(snap.system.uptimeS)}`, 3]);
  parts.push([`kernel ${escapeText(info.host.kernel)}`, 2]);
  const line1 = fitByPriority(parts, width);
  const probes = (snap?.probes ?? []).map((p) => {
    if (p.status === 'ok') return color ? `${p.name} {green-fg}${p.variant}{/green-fg}` : `${p.name} ${p.variant}`;
    if (p.status === 'disabled') return `${p.name} off`;
    return color ? `${p.name} {yellow-fg}unavailable{/yellow-fg}` : `${p.name} unavailable`;
  });
  const every = `every ${(info.intervalMs / 1000).toFixed(info.intervalMs % 1000 ? 1 : 0)}s`;
  const cost = snap?.cost;
  const costText = cost && snap!.intervalMs > 0
    ? `cost: bpf ${formatPct(cost.bpfCpuPct)}${cost.selfCpuPct !== null ? ` self ${formatPct(cost.selfCpuPct)}` : ''}${cost.rssBytes ? ` ${formatBytes(cost.rssBytes)}` : ''}`
    : '';
  // Lost process events are the one loss a user must never miss: say it in the header.
  const lost = snap && snap.procevents?.status === 'ok' ? snap.procevents.data.lost + snap.procevents.data.budgetDrops : 0;
  const lostText = lost > 0 ? (color ? `{red-fg}lost ${lost} events{/red-fg}` : `lost ${lost} events`) : '';
  // Events the kernel skipped for a probe (its program was already running on that CPU): `d` says which.
  const missed = (cost?.probes ?? []).reduce((n, p) => n + (p.missed ?? 0), 0);
  const missedText = missed > 0 ? (color ? `{yellow-fg}${missed} skipped by the kernel{/yellow-fg}` : `${missed} skipped by the kernel`) : '';
  const line2 = fit([info.mode, every, ...(costText ? [costText] : []), ...(lostText ? [lostText] : []), ...(missedText ? [missedText] : []), ' probes:', ...probes], width);
  return [line1, line2];
}


/** Joins parts with two spaces, dropping the least important until they fit. */
function fitByPriority(parts: [string, number][], width: number): string {
  const p = parts.slice();
  while (p.length > 1 && visibleLength(p.map((x) => x[0]).join('  ')) > width) {
    let low = 0;
    for (let i = 1; i < p.length; i++) if (p[i][1] < p[low][1]) low = i;
    p.splice(low, 1);
  }
  return p.map((x) => x[0]).join('  ');
}

/** Joins parts with two spaces, dropping from the end until they fit. */
function fit(parts: string[], width: number): string {
  const p = parts.slice();
  while (p.length > 1 && visibleLength(p.join('  ')) > width) p.pop();
  return p.join('  ');
}
