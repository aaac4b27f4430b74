/**
 * The drill-down's tracer sections: files opened (failures highlighted with their errno name),
 * slow block I/O (queue vs service time) and slow syscalls (with the file's path), newest
 * first. Pure functions of the TracerView and the session's status; every string from the
 * system goes through escapeText (via cell()).
 */
import type { TracerView } from '../../src/model/tracers';
import { errnoName, openFlagsShort } from '../../src/model/tracers';
import { formatUs } from '../../src/model/hist';
import type { TracerStatus, TracerName } from '../../src/tracers/session';
import type { BioEvent, OpenEvent, SyscallEvent } from '../../src/tracers/types';
import { cell, escapeText, formatBytes, pad } from '../widgets/text';
import { formatClock, visible } from './procfeed';
import { wrap } from './common';
import type { PanelContext } from './types';

/** What the tracer sections draw. */
export interface TracerPanelInput {
  view: TracerView;
  status: readonly TracerStatus[]; // TracerSession.status()
  thresholds: { slowIoMs: number; slowSyscallMs: number }; // TracerSession.thresholds()
}

const latency = (ns: number) => formatUs(ns / 1000);

/**
 * Cuts a tagged line to `width` visible columns: tags are kept (they take no room, and stay
 * balanced), visible characters past the width are dropped. The last resort of narrow panels.
 */
export function clip(line: string, width: number): string {
  let out = '';
  let n = 0;
  for (const m of line.matchAll(/\{(?:open|close)\}|\{\/?[a-z0-9-]*\}|[^{]+|\{/gi)) {
    const tok = m[0];
    const isTag = /^\{\/?[a-z0-9-]*\}$/i.test(tok) && tok !== '{open}' && tok !== '{close}';
    if (isTag) {
      out += tok;
      continue;
    }
    if (tok === '{open}' || tok === '{close}') {
      if (n < width) out += tok;
      n++;
      continue;
    }
    const room = Math.max(0, width - n);
    out += [...tok].slice(0, room).join('');
    n += [...tok].length;
  }
  return out;
}

const fitAll = (lines: string[], ctx: PanelContext) => lines.slice(0, Math.max(0, ctx.height)).map((l) => clip(l, ctx.width));

function colorize(ctx: PanelContext, color: string, s: string): string {
  return ctx.color ? `{${color}-fg}${s}{/${color}-fg}` : `{bold}${s}{/bold}`;
}

/** A section title line: bold title and summary; losses (red) and the variant in use at the right. */
function title(ctx: PanelContext, text: string, summary: string, st: TracerStatus | undefined, loss: string): string {
  const variant = st?.variant ? `[${st.variant}]` : '';
  const right = [loss, variant].filter(Boolean).join(' ');
  const leftW = right && ctx.width >= right.length + 13 ? ctx.width - right.length - 1 : ctx.width;
  const left = escapeText(pad(`${text}  ${summary}`.trimEnd(), leftW));
  let line = ctx.color ? `{bold}{blue-fg}${left}{/blue-fg}{/bold}` : `{bold}${left}{/bold}`;
  if (leftW < ctx.width) line += ' ' + (loss ? colorize(ctx, 'red', escapeText(loss)) + (variant ? ' ' : '') : '') + escapeText(variant);
  return line;
}

/** The lines of a tracer that is not running: "unavailable: reason", wrapped. */
function unavailable(ctx: PanelContext, st: TracerStatus | undefined, rows: number): string[] {
  const why = st ? st.reason ?? 'not running' : 'not started';
  const lines = wrap(`unavailable: ${why}`, ctx.width).slice(0, rows).map((l) => escapeText(l));
  if (ctx.color && lines.length) lines[0] = `{yellow-fg}${lines[0]}{/yellow-fg}`;
  return lines;
}

function statusOf(input: TracerPanelInput, name: TracerName): TracerStatus | undefined {
  return input.status.find((s) => s.name === name);
}

const running = (st: TracerStatus | undefined) => !!st && st.variant !== null && st.reason === null;

/** The losses of a tracer, red, or '' when none. */
function losses(input: TracerPanelInput, name: TracerName): string {
  const c = input.view.counters[name];
  if (!c) return '';
  const parts = [c.lost && `lost ${c.lost}`, c.noSlot && `untracked ${c.noSlot}`, c.dropped && `dropped ${c.dropped}`].filter(Boolean);
  return parts.join(' ');
}

/** Column widths that fit `width`: optional columns are dropped, right to left of importance. */
function fit(width: number, fixed: [string, number][], optional: [string, number][], minRest: number): Set<string> {
  const on = new Set(fixed.map(([n]) => n));
  let used = fixed.reduce((s, [, w]) => s + w + 1, 0);
  for (const [n, w] of optional) {
    if (used + w + 1 + minRest <= width) {
      on.add(n);
      used += w + 1;
    }
  }
  return on;
}

// ---- files opened ----

const OPEN_COLS = { time: 12, tid: 7, result: 12, lat: 8, flags: 5 };

/** One open: time, tid, fd or errno (highlighted), latency, flags, path. */
function openRow(o: OpenEvent, ctx: PanelContext, on: Set<string>): string {
  const restW = ctx.width - [...on].reduce((s, c) => s + OPEN_COLS[c as keyof typeof OPEN_COLS] + 1, 0);
  const result = o.errno ? pad(errnoName(o.errno), OPEN_COLS.result) : pad(`fd ${o.fd}`, OPEN_COLS.result);
  const path = (o.dfd !== null && !o.path.startsWith('/') ? `[dirfd ${o.dfd}] ` : '') + visible(o.path) + (o.pathTruncated ? '…' : '') + (o.pathUnreadable ? '?' : '');
  return (
    (on.has('time') ? pad(formatClock(o.ts), OPEN_COLS.time) + ' ' : '') +
    (on.has('tid') ? pad(String(o.tid), OPEN_COLS.tid, true) + ' ' : '') +
    (o.errno ? colorize(ctx, 'red', escapeText(result)) : result) + ' ' +
    (on.has('lat') ? pad(latency(o.latencyNs), OPEN_COLS.lat, true) + ' ' : '') +
    (on.has('flags') ? pad(openFlagsShort(o.flags), OPEN_COLS.flags) + ' ' : '') +
    cell(path, Math.max(1, restW))
  );
}

function renderOpensLines(input: TracerPanelInput, ctx: PanelContext): string[] {
  const st = statusOf(input, 'opensnoop');
  const t = input.view.totals;
  const fails = t.failuresByErrno.slice(0, 3).map((e) => `${e.name} ${e.count}`).join(', ');
  const summary = `${t.opens} opens, ${t.openFailures} failed${fails ? ` (${fails})` : ''}`;
  const out = [title(ctx, 'Files opened', running(st) ? summary : '', st, losses(input, 'opensnoop'))];
  if (!running(st)) return out.concat(unavailable(ctx, st, ctx.height - 1)).slice(0, ctx.height);
  const on = fit(ctx.width, [['result', OPEN_COLS.result]], [['lat', OPEN_COLS.lat], ['time', OPEN_COLS.time], ['flags', OPEN_COLS.flags], ['tid', OPEN_COLS.tid]], 16);
  if (input.view.opens.length === 0) return out.concat(pad('no opens yet', ctx.width)).slice(0, ctx.height);
  if (out.length < ctx.height) {
    const restW = ctx.width - [...on].reduce((s, c) => s + OPEN_COLS[c as keyof typeof OPEN_COLS] + 1, 0);
    out.push(
      (on.has('time') ? pad('TIME', OPEN_COLS.time) + ' ' : '') +
        (on.has('tid') ? pad('TID', OPEN_COLS.tid, true) + ' ' : '') +
        pad('RESULT', OPEN_COLS.result) + ' ' +
        (on.has('lat') ? pad('LAT', OPEN_COLS.lat, true) + ' ' : '') +
        (on.has('flags') ? pad('FLAGS', OPEN_COLS.flags) + ' ' : '') +
        pad('PATH', Math.max(1, restW)),
    );
  }
  for (const o of input.view.opens) {
    if (out.length >= ctx.height) break;
    out.push(openRow(o, ctx, on));
  }
  return out;
}

// ---- slow block I/O ----

const BIO_COLS = { time: 12, disk: 8, op: 4, sector: 12, bytes: 6, lat: 8, queue: 8, svc: 8 };

/** rwbs-like text: [F]op[F][S][M] as blktrace prints it. */
export function bioOpText(b: Pick<BioEvent, 'op' | 'preflush' | 'fua' | 'sync' | 'meta'>): string {
  return (b.preflush ? 'F' : '') + b.op + (b.fua ? 'F' : '') + (b.sync ? 'S' : '') + (b.meta ? 'M' : '');
}

function bioRow(b: BioEvent, ctx: PanelContext, on: Set<string>): string {
  const restW = ctx.width - [...on].reduce((s, c) => s + BIO_COLS[c as keyof typeof BIO_COLS] + 1, 0);
  const tail = b.error ? `error ${b.error}` : `${b.tid} ${visible(b.comm)}`;
  return (
    (on.has('time') ? pad(formatClock(b.ts), BIO_COLS.time) + ' ' : '') +
    cell(b.disk, BIO_COLS.disk) + ' ' +
    pad(bioOpText(b), BIO_COLS.op) + ' ' +
    (on.has('sector') ? pad(String(b.sector), BIO_COLS.sector, true) + ' ' : '') +
    pad(formatBytes(b.bytes), BIO_COLS.bytes, true) + ' ' +
    pad(latency(b.latencyNs), BIO_COLS.lat, true) + ' ' +
    (on.has('queue') ? pad(b.queueNs === null ? '-' : latency(b.queueNs), BIO_COLS.queue, true) + ' ' : '') +
    (on.has('svc') ? pad(latency(b.serviceNs), BIO_COLS.svc, true) + ' ' : '') +
    (restW > 0 ? (b.error ? colorize(ctx, 'red', escapeText(pad(tail, restW))) : cell(tail, restW)) : '')
  );
}

function renderSlowIoLines(input: TracerPanelInput, ctx: PanelContext): string[] {
  const st = statusOf(input, 'biosnoop');
  const t = input.view.totals;
  const summary = `> ${input.thresholds.slowIoMs} ms: ${t.slowIo} requests, ${formatBytes(t.slowIoBytes)}${t.slowIo ? `, max ${latency(t.slowIoMaxNs)}` : ''}`;
  const out = [title(ctx, 'Slow block I/O', running(st) ? summary : '', st, losses(input, 'biosnoop'))];
  if (!running(st)) return out.concat(unavailable(ctx, st, ctx.height - 1)).slice(0, ctx.height);
  if (input.view.bio.length === 0) return out.concat(pad(`no request above ${input.thresholds.slowIoMs} ms`, ctx.width)).slice(0, ctx.height);
  const fixed: [string, number][] = [['disk', BIO_COLS.disk], ['op', BIO_COLS.op], ['bytes', BIO_COLS.bytes], ['lat', BIO_COLS.lat]];
  const on = fit(ctx.width, fixed, [['queue', BIO_COLS.queue], ['svc', BIO_COLS.svc], ['time', BIO_COLS.time], ['sector', BIO_COLS.sector]], 0);
  if (out.length < ctx.height) {
    const head =
      (on.has('time') ? pad('TIME', BIO_COLS.time) + ' ' : '') + pad('DISK', BIO_COLS.disk) + ' ' + pad('OP', BIO_COLS.op) + ' ' +
      (on.has('sector') ? pad('SECTOR', BIO_COLS.sector, true) + ' ' : '') + pad('BYTES', BIO_COLS.bytes, true) + ' ' + pad('LAT', BIO_COLS.lat, true) + ' ' +
      (on.has('queue') ? pad('QUEUE', BIO_COLS.queue, true) + ' ' : '') + (on.has('svc') ? pad('SERVICE', BIO_COLS.svc, true) + ' ' : '');
    out.push(pad(head + 'TID COMM', ctx.width));
  }
  for (const b of input.view.bio) {
    if (out.length >= ctx.height) break;
    out.push(bioRow(b, ctx, on));
  }
  return out;
}

// ---- slow syscalls ----

const SYS_COLS = { time: 12, tid: 7, call: 10, fd: 4, lat: 8, result: 9 };

function syscallRow(s: SyscallEvent, ctx: PanelContext, on: Set<string>): string {
  const restW = ctx.width - [...on].reduce((n, c) => n + SYS_COLS[c as keyof typeof SYS_COLS] + 1, 0);
  const result = s.errno ? errnoName(s.errno) : /sync/.test(s.call) ? 'ok' : formatBytes(s.ret);
  const note = s.fdState === 'closed' ? ' (fd closed since)' : s.fdState === 'reused' ? ' (fd reused since)' : '';
  const path = s.path === null ? '?' : visible(s.path) + note;
  return (
    (on.has('time') ? pad(formatClock(s.ts), SYS_COLS.time) + ' ' : '') +
    (on.has('tid') ? pad(String(s.tid), SYS_COLS.tid, true) + ' ' : '') +
    pad(s.call, SYS_COLS.call) + ' ' +
    (on.has('fd') ? pad(s.fd === null ? '-' : String(s.fd), SYS_COLS.fd, true) + ' ' : '') +
    pad(latency(s.latencyNs), SYS_COLS.lat, true) + ' ' +
    (on.has('result') ? (s.errno ? colorize(ctx, 'red', escapeText(pad(result, SYS_COLS.result))) : pad(result, SYS_COLS.result)) + ' ' : '') +
    cell(path, Math.max(1, restW))
  );
}

function renderSlowSyscallsLines(input: TracerPanelInput, ctx: PanelContext): string[] {
  const st = statusOf(input, 'syscallslow');
  const t = input.view.totals;
  const summary = `> ${input.thresholds.slowSyscallMs} ms: ${t.slowSyscalls} calls${t.slowSyscalls ? `, max ${latency(t.slowSyscallMaxNs)}` : ''}`;
  const out = [title(ctx, 'Slow syscalls', running(st) ? summary : '', st, losses(input, 'syscallslow'))];
  if (!running(st)) return out.concat(unavailable(ctx, st, ctx.height - 1)).slice(0, ctx.height);
  if (input.view.syscalls.length === 0) return out.concat(pad(`no call above ${input.thresholds.slowSyscallMs} ms`, ctx.width)).slice(0, ctx.height);
  const on = fit(ctx.width, [['call', SYS_COLS.call], ['lat', SYS_COLS.lat]], [['result', SYS_COLS.result], ['fd', SYS_COLS.fd], ['time', SYS_COLS.time], ['tid', SYS_COLS.tid]], 12);
  if (out.length < ctx.height) {
    const restW = ctx.width - [...on].reduce((n, c) => n + SYS_COLS[c as keyof typeof SYS_COLS] + 1, 0);
    out.push(
      (on.has('time') ? pad('TIME', SYS_COLS.time) + ' ' : '') +
        (on.has('tid') ? pad('TID', SYS_COLS.tid, true) + ' ' : '') +
        pad('CALL', SYS_COLS.call) + ' ' +
        (on.has('fd') ? pad('FD', SYS_COLS.fd, true) + ' ' : '') +
        pad('LAT', SYS_COLS.lat, true) + ' ' +
        (on.has('result') ? pad('RESULT', SYS_COLS.result) + ' ' : '') +
        pad('FILE', Math.max(1, restW)),
    );
  }
  for (const s of input.view.syscalls) {
    if (out.length >= ctx.height) break;
    out.push(syscallRow(s, ctx, on));
  }
  return out;
}

/** Files opened: a summary (failures by errno), column header, the newest opens; at most ctx.height lines. */
export const renderOpens = (input: TracerPanelInput, ctx: PanelContext): string[] => fitAll(renderOpensLines(input, ctx), ctx);
/** Slow block I/O: a summary, column header, the newest requests above the threshold. */
export const renderSlowIo = (input: TracerPanelInput, ctx: PanelContext): string[] => fitAll(renderSlowIoLines(input, ctx), ctx);
/** Slow syscalls: a summary, column header, the newest calls above the threshold with their files. */
export const renderSlowSyscalls = (input: TracerPanelInput, ctx: PanelContext): string[] => fitAll(renderSlowSyscallsLines(input, ctx), ctx);

/**
 * The three sections stacked in ctx.height lines: each gets its title and one line, then the
 * rest goes round-robin to the sections that have more to show, opens first.
 */
export function tracerLines(input: TracerPanelInput, ctx: PanelContext): string[] {
  const v = input.view;
  const renderers = [renderOpens, renderSlowIo, renderSlowSyscalls];
  // Lines each section could use: title, column header (when there are rows), rows.
  const want = [v.opens.length, v.bio.length, v.syscalls.length].map((n) => 1 + (n ? 1 + n : 1));
  const give = want.map((w) => Math.min(w, 2));
  let left = ctx.height - give.reduce((a, b) => a + b, 0);
  while (left > 0) {
    let moved = false;
    for (let i = 0; i < give.length && left > 0; i++) {
      if (give[i] < want[i]) {
        give[i]++;
        left--;
        moved = true;
      }
    }
    if (!moved) break;
  }
  const out: string[] = [];
  renderers.forEach((r, i) => {
    if (give[i] > 0) out.push(...r(input, { ...ctx, height: give[i] }));
  });
  return out.slice(0, ctx.height);
}
