/**
 * The probe-status view: per probe the variant in use, or why it is unavailable with each
 * variant tried and the verifier's last lines; then libbpf's recent log.
 */
import type { Snapshot } from '../src/model/snapshot';
import type { ProbeLoadInfo } from '../src/sampler';
import type { LogLine } from '../src/bpf/object';
import { escapeText, formatBytes, formatPct, formatRate, pad } from './widgets/text';

/** What the probe-status view shows. */
export interface ProbesViewInput {
  snap: Snapshot | undefined;
  loadInfo: readonly ProbeLoadInfo[];
  log: readonly LogLine[];
  color: boolean;
  statsError: string | null; // why BPF statistics are off, or null
  tracers?: { name: string; variant: string | null; reason: string | null }[]; // the process view's, while attached
}

/** The probe-status view's lines (blessed tags included). */
export function probeStatusLines(input: ProbesViewInput, width: number): string[] {
  const c = (color: string, s: string) => (input.color ? `{${color}-fg}${s}{/${color}-fg}` : s);
  const out: string[] = ['{bold}Probes{/bold}', ''];
  for (const p of input.loadInfo) {
    const now = input.snap?.probes.find((x) => x.name === p.name);
    if (now?.status === 'ok') out.push(`  ${p.name.padEnd(12)} ${c('green', 'running')}  variant ${now.variant}`);
    else if (now?.status === 'disabled' || p.reason === 'disabled') out.push(`  ${p.name.padEnd(12)} disabled`);
    else out.push(`  ${p.name.padEnd(12)} ${c('yellow', 'unavailable')}: ${escapeText(now?.status === 'unavailable' ? now.reason : p.reason ?? '')}`);
    for (const a of p.attempts) {
      out.push(`      tried ${a.variant}: ${escapeText(a.error)}`);
      for (const l of a.logTail ?? []) out.push(`        ${escapeText(l).slice(0, Math.max(10, width - 10))}`);
    }
  }
  if (input.tracers?.length) {
    out.push('', '{bold}Tracers of the open process view{/bold} (attached while it is open)', '');
    for (const t of input.tracers)
      out.push(`  ${t.name.padEnd(12)} ${t.variant ? `${c('green', 'running')}  variant ${t.variant}` : `${c('yellow', 'unavailable')}: ${escapeText(t.reason ?? '')}`}`);
  }
  if (input.snap) {
    out.push('', '{bold}Lost events and map fill{/bold} (this interval)', '');
    for (const h of probeHealth(input.snap)) out.push(`  ${h.name.padEnd(12)} ${h.bad ? c('red', h.text) : h.text}`);
  }
  const cost = input.snap?.cost;
  const window = cost?.bpfWindowMs ? `, over the last ${formatSeconds(cost.bpfWindowMs)}` : '';
  out.push('', `{bold}Cost{/bold} (BPF run-time statistics, on while probetop runs${window})`, '');
  if (input.statsError) out.push(`  ${escapeText(input.statsError)}`);
  if (cost) {
    out.push(`  ${pad('PROBE / PROGRAM', 28)} ${pad('EVENTS/s', 10, true)} ${pad('ns/EVENT', 9, true)} ${pad('CPU', 7, true)}`);
    for (const p of cost.probes) {
      out.push(`  ${pad(p.name, 28)} ${pad(formatRate(p.eventsPerSec), 10, true)} ${pad(p.nsPerEvent === null ? '-' : String(Math.round(p.nsPerEvent)), 9, true)} ${pad(formatPct(p.cpuPct), 7, true)}`);
      for (const g of p.programs)
        out.push(`    ${pad(g.name, 26)} ${pad(formatRate(g.eventsPerSec), 10, true)} ${pad(g.nsPerEvent === null ? '-' : String(Math.round(g.nsPerEvent)), 9, true)}`);
    }
    out.push(`  all probes: ${formatPct(cost.bpfCpuPct)} of a CPU in the kernel; probetop itself ${cost.selfCpuPct === null ? '-' : formatPct(cost.selfCpuPct)} of a CPU, ${cost.rssBytes ? formatBytes(cost.rssBytes) : '-'} resident`);
  }
  out.push('', '{bold}libbpf log{/bold} (warnings and info; --log FILE keeps all of it)', '');
  const tail = input.log.slice(-40);
  if (tail.length === 0) out.push('  (empty)');
  for (const l of tail) out.push(`  ${new Date(l.ts).toISOString().slice(11, 19)} ${l.level.padEnd(5)} ${escapeText(l.text).slice(0, Math.max(10, width - 20))}`);
  return out;
}

/** A span of a few seconds: "1 s", "4.9 s". */
function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${s >= 9.95 ? Math.round(s) : Number(s.toFixed(1))} s`;
}

/** Lost events, dropped updates and map fill of each running probe in the interval. */
export function probeHealth(snap: Snapshot): { name: string; text: string; bad: boolean }[] {
  const out: { name: string; text: string; bad: boolean }[] = [];
  const pct = (v: number) => `${Math.round(v * 100)}%`;
  if (snap.runqlat.status === 'ok') {
    const d = snap.runqlat.data;
    out.push({ name: 'runqlat', text: `per-process map ${pct(d.procMapFill)} full, ${d.procMapFull} updates dropped`, bad: d.procMapFull > 0 });
  }
  if (snap.offcputime.status === 'ok') {
    const d = snap.offcputime.data;
    const drops = Object.values(d.drops).reduce((a, b) => a + b, 0);
    out.push({ name: 'offcputime', text: `maps ${pct(Math.max(d.fill.procs, d.fill.stacks, d.fill.kstacks, d.fill.ustacks))} full at most, ${drops} dropped, ${d.walksSkipped} stack walks over budget`, bad: drops > 0 });
  }
  if (snap.biolatency.status === 'ok') out.push({ name: 'biolatency', text: `${snap.biolatency.data.dropped} updates dropped (full maps)`, bad: snap.biolatency.data.dropped > 0 });
  if (snap.cachestat.status === 'ok') out.push({ name: 'cachestat', text: `${snap.cachestat.data.procMapFull} per-process updates dropped`, bad: snap.cachestat.data.procMapFull > 0 });
  if (snap.procevents.status === 'ok') {
    const d = snap.procevents.data;
    out.push({ name: 'procevents', text: `${d.lost} events lost in the kernel (ring full), ${d.lostTotal} since start; ${d.budgetDrops} over the per-drain budget`, bad: d.lost + d.budgetDrops > 0 });
  }
  // Events the kernel did not give the programs at all: a run skipped because the program (on
  // classic tracepoints, any BPF program) was already running on that CPU.
  for (const h of out) {
    const missed = snap.cost?.probes.find((p) => p.name === h.name)?.missed ?? 0;
    if (missed > 0) {
      h.text += `; ${missed} events skipped by the kernel (a BPF program was already running on that CPU)`;
      h.bad = true;
    }
  }
  return out;
}
