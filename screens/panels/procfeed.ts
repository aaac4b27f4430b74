/**
 * Process-event panels: the live exec/exit feed (newest first) and the short-lived summary
 * (who keeps starting processes too brief for top to see, and the CPU they burn).
 */
import type { FeedEntry, ProceventsSnap } from '../../src/model/procevents';
import type { ProbeSnap } from '../../src/model/snapshot';
import { cell, formatPct, formatRate, pad, signalName } from '../widgets/text';
import type { PanelRenderer } from './types';
import { unavailableLines } from './common';

const NAMED_CONTROLS: Record<number, string> = { 0x09: '\\t', 0x0a: '\\n', 0x0d: '\\r', 0x1b: '\\e' };

/**
 * Bytes a process chose (args, names) made visible before escaping: control characters and
 * bytes that were not valid UTF-8 (kept by the probe as U+DC80+byte) become \n, \xNN, ...;
 * a backslash is doubled so that the escapes stay unambiguous.
 */
export function visible(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) out += '\\\\';
    else if (c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0)) out += NAMED_CONTROLS[c] ?? `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c >= 0xdc80 && c <= 0xdcff) out += `\\x${(c - 0xdc00).toString(16).padStart(2, '0')}`;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      out += s[i] + s[i + 1]; // a proper surrogate pair: one astral character
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) out += '\\u' + c.toString(16);
    else out += s[i];
  }
  return out;
}

/** The command line of a feed entry: argv when known (arguments with spaces quoted), else the comm. */
export function commandLine(e: Pick<FeedEntry, 'args' | 'comm' | 'argsTruncated'>): string {
  if (e.args.length === 0) return `[${visible(e.comm)}]`;
  const words = e.args.map((a) => {
    const v = visible(a);
    return v === '' || /[\s'"]/.test(v) ? `'${v.replace(/'/g, "'\\''")}'` : v;
  });
  return words.join(' ') + (e.argsTruncated ? ' …' : '');
}

/** A duration given in ms as 850us, 12ms, 3.4s, 5m07, 2h03. */
export function formatLifetime(ms: number): string {
  if (ms < 1) return `${Math.round(ms * 1000)}us`;
  if (ms < 10) return `${ms.toFixed(1)}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)}s`;
  const two = (n: number) => String(Math.floor(n)).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${two((s % 3600) / 60)}`;
  return `${Math.floor(s / 86400)}d${two((s % 86400) / 3600)}`;
}

/** Wall-clock time of day with ms, local time: 14:03:07.123. */
export function formatClock(ts: number): string {
  const d = new Date(ts);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** "exit 0", "exit 3", "SIGKILL", "SIGSEGV core" — and the colour it deserves. */
function outcome(e: FeedEntry): { text: string; color: string | null } {
  if (e.kind === 'exec') return { text: 'exec', color: 'cyan' };
  if (e.signal) return { text: signalName(e.signal) + (e.coreDumped ? ' core' : ''), color: 'red' };
  return { text: `exit ${e.exitCode ?? '?'}`, color: e.exitCode ? 'yellow' : null };
}

/** The feed entries of the current snapshot and then older ones, newest first. */
function feedEntries(data: ProbeSnap<ProceventsSnap>, history: readonly ProbeSnap<ProceventsSnap>[], n: number): FeedEntry[] {
  const snaps = history.length && history[history.length - 1] === data ? [...history].reverse() : [data, ...[...history].reverse()];
  const out: FeedEntry[] = [];
  for (const s of snaps) {
    if (s.status !== 'ok') continue;
    for (const e of s.data.feed) {
      if (out.length >= n) return out;
      out.push(e);
    }
  }
  return out;
}

/** Renders the exec/exit feed: time, pid, ppid, outcome, lifetime, command line (escaped). */
export const renderProcfeed: PanelRenderer<ProceventsSnap> = (data, ctx, history) => {
  if (data.status !== 'ok') return unavailableLines(data, ctx);
  // Columns, dropped right to left of importance when the panel is narrow.
  const cols = { time: 12, pid: 7, ppid: 7, what: 12, life: 7 };
  const minCmd = 12;
  let showTime = true;
  let showPpid = true;
  let showLife = true;
  const fixed = () => (showTime ? cols.time + 1 : 0) + cols.pid + 1 + (showPpid ? cols.ppid + 1 : 0) + cols.what + 1 + (showLife ? cols.life + 1 : 0);
  if (fixed() + minCmd > ctx.width) showPpid = false;
  if (fixed() + minCmd > ctx.width) showLife = false;
  if (fixed() + minCmd > ctx.width) showTime = false;
  const cmdW = Math.max(1, ctx.width - fixed());
  const header =
    (showTime ? pad('TIME', cols.time) + ' ' : '') +
    pad('PID', cols.pid, true) + ' ' +
    (showPpid ? pad('PPID', cols.ppid, true) + ' ' : '') +
    pad('EVENT', cols.what) + ' ' +
    (showLife ? pad('LIFE', cols.life, true) + ' ' : '') +
    pad('COMMAND', cmdW);
  const lines = [ctx.color ? `{bold}${pad(header, ctx.width)}{/bold}` : pad(header, ctx.width)];
  const entries = feedEntries(data, history, ctx.height - 1);
  if (entries.length === 0 && ctx.height > 1) lines.push(pad('no exec or exit yet', ctx.width));
  for (const e of entries) {
    const o = outcome(e);
    const what = pad(o.text, cols.what);
    const row =
      (showTime ? pad(formatClock(e.ts), cols.time) + ' ' : '') +
      pad(String(e.pid), cols.pid, true) + ' ' +
      (showPpid ? pad(String(e.ppid), cols.ppid, true) + ' ' : '') +
      (ctx.color && o.color ? `{${o.color}-fg}${what}{/${o.color}-fg}` : what) + ' ' +
      (showLife ? pad(e.lifetimeMs === null ? '' : formatLifetime(e.lifetimeMs), cols.life, true) + ' ' : '') +
      cell(commandLine(e), cmdW);
    lines.push(row);
  }
  return lines.slice(0, ctx.height);
};

/** Renders the short-lived summary: rates, losses (red), and parent → command groups by CPU. */
export const renderShortLived: PanelRenderer<ProceventsSnap> = (data, ctx) => {
  if (data.status !== 'ok') return unavailableLines(data, ctx);
  const d = data.data;
  const red = (s: string) => (ctx.color ? `{red-fg}${s}{/red-fg}` : `{bold}${s}{/bold}`);
  const lines: string[] = [];
  const rates = `exec ${formatRate(d.execPerSec)}/s  fork ${formatRate(d.forkPerSec)}/s  exit ${formatRate(d.exitPerSec)}/s`;
  const warn: string[] = [];
  if (d.lost > 0) warn.push(`lost ${d.lost}`);
  if (d.budgetDrops > 0) warn.push(`dropped ${d.budgetDrops}`);
  if (warn.length) {
    const w = warn.join(' ');
    const room = ctx.width - w.length - 2;
    lines.push(room >= 10 ? `${pad(rates, room)}  ${red(w)}` : red(pad(w, ctx.width)));
  } else lines.push(pad(rates, ctx.width));
  const sl = d.shortLived;
  const head = `short-lived (<${formatLifetime(sl.maxLifetimeMs)}): ${formatRate(sl.perSec)}/s, ${formatPct(sl.cpuPct)} CPU`;
  lines.push(ctx.color ? `{bold}${pad(head, ctx.width)}{/bold}` : pad(head, ctx.width));
  if (sl.groups.length === 0) {
    lines.push(pad('no short-lived processes in this interval', ctx.width));
    return lines.slice(0, ctx.height);
  }
  const numW = 16; // " 12.3K/s  100% CPU"
  const labelW = Math.max(4, ctx.width - numW - 1);
  for (const g of sl.groups) {
    if (lines.length >= ctx.height) break;
    const label = cell(`${visible(g.parent)} → ${visible(g.comm)}`, labelW);
    const nums = pad(`${formatRate(g.perSec)}/s ${pad(formatPct(g.cpuPct), 5, true)} CPU`, numW, true);
    lines.push(`${label} ${nums}`);
  }
  return lines.slice(0, ctx.height);
};
