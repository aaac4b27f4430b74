/**
 * The process screen (drill-down): everything probetop knows about one process this tick —
 * identity, parent chain, its own run-queue histogram, page cache, and what the other probes
 * add. When the process exits while shown, the screen says so and keeps its last data.
 */
import { detailWindow, type Snapshot } from '../src/model/snapshot';
import { buildProcTable, ProcRow } from '../src/model/proctable';
import { earlierOf } from './procarea';
import { formatUs, histStats, emptyHist } from '../src/model/hist';
import { userName } from '../src/procfs/users';
import { histogramRows, percentileLine } from './widgets/histogram';
import { escapeText, formatBytes, formatPct, signalName } from './widgets/text';
import type { PanelContext } from './panels/types';
import { namedOffcpu } from './symbols';
import type { FoldedStack } from '../src/export/folded';

/** What the process screen remembers between ticks. */
export interface ProcessView {
  pid: number;
  lastRow: ProcRow | null; // the last time the process was seen
  lastSeenTs: number | null;
  goneSince: number | null; // ts of the first tick it was missing
  expanded: boolean; // off-CPU stacks with every frame (x)
}

/** A new process view for `pid`. */
export function processView(pid: number): ProcessView {
  return { pid, lastRow: null, lastSeenTs: null, goneSince: null, expanded: false };
}

function section(title: string, color: boolean): string {
  return color ? `{bold}{blue-fg}${title}{/blue-fg}{/bold}` : `{bold}${title}{/bold}`;
}

/** The parent chain "1234 bash ← 1000 sshd ← 1 systemd" from the snapshot's process list. */
export function parentChain(snap: Snapshot, pid: number): string {
  const byPid = new Map(snap.procs.map((p) => [p.pid, p]));
  const parts: string[] = [];
  const seen = new Set<number>();
  let cur = byPid.get(pid);
  while (cur && !seen.has(cur.pid) && parts.length < 12) {
    seen.add(cur.pid);
    parts.push(`${cur.pid} ${escapeText(cur.comm, 32)}`);
    cur = cur.ppid ? byPid.get(cur.ppid) : undefined;
  }
  return parts.join(' ← ');
}

/** The process screen's lines for `width` columns; updates `view` with what it saw. */
export function processLines(snap: Snapshot | undefined, view: ProcessView, width: number, color: boolean, history: readonly Snapshot[] = []): string[] {
  if (!snap) return ['waiting for the first interval…'];
  const row = buildProcTable(snap, earlierOf(snap, history)).find((r) => r.pid === view.pid) ?? null;
  const inProc = snap.procs.some((p) => p.pid === view.pid);
  if (row && inProc && !row.exited) {
    view.lastRow = row;
    view.lastSeenTs = snap.ts;
    view.goneSince = null;
  } else if (row?.exited) {
    view.lastRow = { ...(view.lastRow ?? row), exited: row.exited, state: 'X' };
    view.goneSince ??= snap.ts;
  } else if (view.goneSince === null) view.goneSince = snap.ts;
  const r = view.lastRow;
  const out: string[] = [];
  if (!r) {
    out.push(`{bold}PID ${view.pid}{/bold}: no such process in this interval`);
    return out;
  }
  const live = view.goneSince === null;
  // The interval in which it exited still holds its numbers; later ones may be a reused pid's.
  const fresh = live || view.goneSince === snap.ts;
  const cmd = r.cmdline.length ? r.cmdline.join(' ') : `[${r.comm}]`;
  out.push(`{bold}PID ${r.pid}  ${escapeText(r.comm, 64)}{/bold}  user ${r.uid === null ? '-' : escapeText(userName(r.uid))}  state ${r.state}  threads ${r.threads ?? '-'}`);
  if (!live) {
    const why = r.exited
      ? `${r.exited.signal ? `was killed by ${signalName(r.exited.signal)} (${r.exited.signal})` : `exited with code ${r.exited.code}`} after ${formatUs(r.exited.lifetimeMs * 1000)}`
      : 'is gone (no longer in /proc)';
    const msg = `The process ${why}; showing its last data from ${new Date(view.lastSeenTs ?? snap.ts).toTimeString().slice(0, 8)}.`;
    out.push(color ? `{yellow-fg}${msg}{/yellow-fg}` : msg);
  }
  out.push(`command: ${escapeText(cmd, 4 * width)}`);
  if (live) out.push(`parents: ${parentChain(snap, r.pid)}`);
  out.push(`cgroup:  ${escapeText(r.cgroup || '-')}`);
  const started = r.ageS !== null && view.lastSeenTs !== null ? new Date(view.lastSeenTs - r.ageS * 1000).toLocaleString() : '-';
  out.push(`started: ${started}   CPU ${formatPct(r.cpuPct)}   RES ${r.rssBytes === null ? '-' : formatBytes(r.rssBytes)}`);
  out.push('');
  const ctx: PanelContext = { width: Math.max(30, width - 2), height: 12, color };

  out.push(section('Run-queue latency of this process', color));
  if (snap.runqlat.status === 'ok') {
    const me = fresh ? snap.runqlat.data.procs.find((p) => p.pid === r.pid) : undefined;
    const h = me?.hist ?? emptyHist();
    out.push(`  waiting ${me ? me.waitMsPerSec.toFixed(1) : '0'} ms/s   ${percentileLine(histStats(h, snap.intervalMs), ctx.width - 30)}`);
    out.push(...histogramRows(h, ctx, 10).map((l) => `  ${l}`));
  } else out.push(`  ${snap.runqlat.status === 'unavailable' ? `unavailable: ${escapeText(snap.runqlat.reason)}` : 'disabled'}`);
  out.push('');

  out.push(...offcpuLines(snap, r.pid, history, width, color, view.expanded));
  out.push('');

  out.push(section('Block I/O issued by this process', color));
  if (snap.biolatency.status === 'ok') {
    const b = fresh ? snap.biolatency.data.procs.find((p) => p.pid === r.pid) : undefined;
    out.push(b ? `  ${b.opsPerSec.toFixed(1)} ops/s  ${formatBytes(b.bytesPerSec)}/s  (${b.ops} requests, ${formatBytes(b.bytes)} this interval)  p99 ${formatUs(b.p99Us)}` : '  no block I/O this interval');
  } else out.push(`  ${snap.biolatency.status === 'unavailable' ? `unavailable: ${escapeText(snap.biolatency.reason)}` : 'disabled'}`);
  out.push('');

  out.push(...childrenLines(snap, r.pid, history, width, color));
  out.push('');

  out.push(section('Page cache of this process', color));
  if (snap.cachestat.status === 'ok') {
    const c = fresh ? snap.cachestat.data.procs.find((p) => p.pid === r.pid) : undefined;
    out.push(c ? `  accesses ${c.accesses}  misses ${c.misses}  dirtied ${c.dirtied}  hit ${c.hitPct === null ? '-' : formatPct(c.hitPct)}` : '  no page-cache activity this interval');
  } else out.push(`  ${snap.cachestat.status === 'unavailable' ? `unavailable: ${escapeText(snap.cachestat.reason)}` : 'disabled'}`);
  return out;
}

/** Children of `pid`: the ones alive now, and the ones that exited over the history, by command. */
export function childrenLines(snap: Snapshot, pid: number, history: readonly Snapshot[], width: number, color: boolean): string[] {
  const out = [section('Children of this process', color)];
  const live = snap.procs.filter((p) => p.ppid === pid);
  out.push(`  alive now: ${live.length}${live.length ? `  (${live.slice(0, 8).map((p) => `${p.pid} ${escapeText(p.comm, 16)}`).join(', ')}${live.length > 8 ? ', …' : ''})` : ''}`);
  if (snap.procevents.status !== 'ok') {
    out.push(`  exits: ${snap.procevents.status === 'unavailable' ? `unavailable: ${escapeText(snap.procevents.reason)}` : 'process events disabled'}`);
    return out;
  }
  const all = detailWindow(snap, history);
  const exited = all.flatMap((s) => (s.procevents.status === 'ok' ? s.procevents.data.exited : [])).filter((x) => x.ppid === pid);
  const spanS = all.length > 1 ? (all[all.length - 1].ts - all[0].ts) / 1000 + snap.intervalMs / 1000 : snap.intervalMs / 1000;
  const byComm = new Map<string, { n: number; cpuMs: number; failed: number }>();
  for (const x of exited) {
    const g = byComm.get(x.comm) ?? { n: 0, cpuMs: 0, failed: 0 };
    g.n++;
    g.cpuMs += x.cpuMs;
    if (x.signal || x.exitCode) g.failed++;
    byComm.set(x.comm, g);
  }
  out.push(`  exited in the last ${Math.round(spanS)} s: ${exited.length}${spanS > 0 ? ` (${(exited.length / spanS).toFixed(1)}/s)` : ''}`);
  for (const [comm, g] of [...byComm.entries()].sort((a, b) => b[1].n - a[1].n).slice(0, 6))
    out.push(`    ${escapeText(comm, 16).padEnd(16)} ${String(g.n).padStart(6)} exits  ${g.cpuMs.toFixed(1).padStart(8)} ms CPU  ${g.failed ? `${g.failed} failed` : ''}`);
  for (const x of exited.slice(-8).reverse()) {
    const how = x.signal ? `signal ${x.signal}` : `exit ${x.exitCode}`;
    out.push(`    ${new Date(x.ts).toTimeString().slice(0, 8)} ${String(x.pid).padStart(7)} ${escapeText((x.args.length ? x.args.join(' ') : x.comm), Math.max(20, width - 60))}  ${how}  lived ${formatUs(x.lifetimeMs * 1000)}`);
  }
  return out;
}

/** One process's off-CPU stacks summed over `snaps`, heaviest first, with its total blocked time. */
export function offcpuOf(snaps: readonly Snapshot[], pid: number): { totalNs: number; comm: string; stacks: FoldedStack[] } {
  let totalNs = 0;
  let comm = '';
  const byKey = new Map<string, FoldedStack & { kernelStack: string[]; userStack: string[] | null }>();
  for (const s of snaps) {
    if (s.offcputime.status !== 'ok') continue;
    const named = namedOffcpu(s.offcputime, { pid, stacks: 1e6 });
    if (named.status !== 'ok') continue;
    for (const p of named.data.procs) {
      totalNs += p.offcpuNs;
      comm = p.comm;
    }
    for (const st of named.data.stacks) {
      const key = `${st.kernelStack.join(',')}|${st.userStack?.join(',') ?? '-'}`;
      const e = byKey.get(key) ?? { comm: st.comm, kernelFrames: st.kernelFrames ?? [], userFrames: st.userFrames ?? null, offcpuNs: 0, kernelStack: st.kernelStack, userStack: st.userStack };
      e.offcpuNs += st.offcpuNs;
      byKey.set(key, e);
    }
  }
  return { totalNs, comm, stacks: [...byKey.values()].sort((a, b) => b.offcpuNs - a.offcpuNs) };
}

/** The off-CPU section of the process view: blocked time and the top stacks of the last `span` ticks. */
export function offcpuLines(snap: Snapshot, pid: number, history: readonly Snapshot[], width: number, color: boolean, expanded: boolean): string[] {
  const out = [section('Off-CPU time of this process', color)];
  if (snap.offcputime.status !== 'ok') {
    out.push(`  ${snap.offcputime.status === 'unavailable' ? `unavailable: ${escapeText(snap.offcputime.reason)}` : 'disabled'}`);
    return out;
  }
  const me = snap.offcputime.data.procs.find((p) => p.pid === pid);
  out.push(`  blocked ${me ? me.offcpuMsPerSec.toFixed(1) : '0'} ms/s, ${me ? me.blocks : 0} blocks this interval (${me ? me.longBlocks : 0} of ${formatUs(snap.offcputime.data.minBlockUs)} or more, with stacks)`);
  if (me?.hist) {
    out.push(`  durations: ${percentileLine(histStats(me.hist, snap.intervalMs), width - 14)}`);
    out.push(...histogramRows(me.hist, { width: Math.max(30, width - 4), height: 8, color }, 8).map((l) => `  ${l}`));
  }
  const recent = detailWindow(snap, history).slice(-10);
  const agg = offcpuOf(recent, pid);
  const spanS = Math.round(recent.reduce((s, x) => s + x.intervalMs, 0) / 1000);
  out.push(`  top stacks of the last ${spanS} s (${formatUs(agg.totalNs / 1000)} blocked in all)${expanded ? '' : ' — x: all frames'}:`);
  if (agg.stacks.length === 0) out.push('    no stack captured (no block above the threshold)');
  for (const st of agg.stacks.slice(0, expanded ? 20 : 5)) {
    const pct = agg.totalNs ? (100 * st.offcpuNs) / agg.totalNs : 0;
    out.push(`    ${formatUs(st.offcpuNs / 1000).padStart(8)} ${pct.toFixed(0).padStart(3)}%  ${escapeText(st.kernelFrames.slice(0, expanded ? 64 : 4).join(' ← '), 4 * width)}`);
    const user = st.userFrames === null ? '[user stack not captured]' : st.userFrames.slice(0, expanded ? 64 : 3).join(' ← ');
    out.push(`                   user: ${escapeText(user, 4 * width)}`);
  }
  out.push(`  ${escapeText(snap.offcputime.data.captureNote)}`);
  return out;
}
