/**
 * The process table's columns — one table of field definitions (id, title, width, value,
 * format) used for drawing, sorting and the header — and its renderer.
 */
import type { ProcRow } from '../src/model/proctable';
import { formatUs } from '../src/model/hist';
import { userName } from '../src/procfs/users';
import { cell, formatBytes, formatRate, pad, signalName } from './widgets/text';
import type { PanelContext } from './panels/types';
import type { DisplayRow } from './tableview';

/** One column of the process table. */
export interface Column {
  id: string;
  title: string;
  width: number;
  right: boolean;
  /** The value sorted by (null sorts last). */
  value(r: ProcRow): number | string | null;
  /** The text shown (raw: escaped by the renderer). */
  text(r: ProcRow): string;
  /** Narrow terminals drop the columns with the lowest priority first. */
  priority: number;
  /** Every field of the row that `text` reads (a row whose fields are unchanged keeps its line). */
  reads: readonly (keyof ProcRow)[];
}

const num = (v: number | null, f: (x: number) => string) => (v === null ? '-' : f(v));
const ms = (v: number) => (v < 10 ? v.toFixed(1) : String(Math.round(v)));

/** Every column, in screen order. */
export const COLUMNS: Column[] = [
  { id: 'pid', title: 'PID', width: 7, right: true, priority: 10, reads: ['pid'], value: (r) => r.pid, text: (r) => String(r.pid) },
  { id: 'ppid', title: 'PPID', width: 7, right: true, priority: 3, reads: ['ppid'], value: (r) => r.ppid, text: (r) => num(r.ppid, String) },
  { id: 'user', title: 'USER', width: 8, right: false, priority: 4, reads: ['uid'], value: (r) => (r.uid === null ? null : userName(r.uid)), text: (r) => (r.uid === null ? '-' : userName(r.uid)) },
  { id: 'cpu', title: 'CPU%', width: 6, right: true, priority: 9, reads: ['cpuPct'], value: (r) => r.cpuPct, text: (r) => num(r.cpuPct, (v) => v.toFixed(v < 10 ? 1 : 0)) },
  { id: 'runq', title: 'RUNQ ms/s', width: 10, right: true, priority: 8, reads: ['runqMsPerSec'], value: (r) => r.runqMsPerSec, text: (r) => num(r.runqMsPerSec, ms) },
  { id: 'runqp99', title: 'RQ p99', width: 7, right: true, priority: 5, reads: ['runqP99Us'], value: (r) => r.runqP99Us, text: (r) => (r.runqP99Us === null ? '-' : formatUs(r.runqP99Us)) },
  { id: 'offcpu', title: 'OFFCPU', width: 7, right: true, priority: 7, reads: ['offcpuMsPerSec'], value: (r) => r.offcpuMsPerSec, text: (r) => num(r.offcpuMsPerSec, ms) },
  { id: 'io', title: 'IO/s', width: 6, right: true, priority: 6, reads: ['ioOpsPerSec'], value: (r) => r.ioOpsPerSec, text: (r) => num(r.ioOpsPerSec, formatRate) },
  { id: 'iobytes', title: 'IO B/s', width: 7, right: true, priority: 5, reads: ['ioBytesPerSec'], value: (r) => r.ioBytesPerSec, text: (r) => num(r.ioBytesPerSec, formatBytes) },
  { id: 'iop99', title: 'IO p99', width: 7, right: true, priority: 2, reads: ['ioP99Us'], value: (r) => r.ioP99Us, text: (r) => (r.ioP99Us === null ? '-' : formatUs(r.ioP99Us)) },
  { id: 'cache', title: 'CACHE%', width: 6, right: true, priority: 4, reads: ['cacheHitPct'], value: (r) => r.cacheHitPct, text: (r) => num(r.cacheHitPct, (v) => v.toFixed(0)) },
  { id: 'mem', title: 'RES', width: 6, right: true, priority: 3, reads: ['rssBytes'], value: (r) => r.rssBytes, text: (r) => num(r.rssBytes, formatBytes) },
  { id: 'state', title: 'S', width: 1, right: false, priority: 6, reads: ['state'], value: (r) => r.state, text: (r) => r.state },
  {
    id: 'command', title: 'COMMAND', width: 0, right: false, priority: 10, reads: ['cmdline', 'exited', 'comm'],
    value: (r) => r.comm,
    text: (r) => {
      // [name] is ps's convention for kernel threads: only for live processes without a command line.
      const cmd = r.cmdline.length ? r.cmdline.join(' ') : r.exited ? r.comm : `[${r.comm}]`;
      if (!r.exited) return cmd;
      const how = r.exited.signal ? `killed by ${signalName(r.exited.signal)}` : `exit ${r.exited.code}`;
      return `${cmd}  (${how}, lived ${formatUs(r.exited.lifetimeMs * 1000)})`;
    },
  },
];

/** How the table is sorted. */
export interface SortState {
  column: string; // a Column id
  descending: boolean;
}

/** Sorts rows by a column (nulls last, ties by pid); returns a new array. */
export function sortRows(rows: readonly ProcRow[], sort: SortState): ProcRow[] {
  const col = COLUMNS.find((c) => c.id === sort.column) ?? COLUMNS[3];
  const dir = sort.descending ? -1 : 1;
  return rows.slice().sort((a, b) => {
    const va = col.value(a);
    const vb = col.value(b);
    if (va === null && vb === null) return a.pid - b.pid;
    if (va === null) return 1;
    if (vb === null) return -1;
    const c = typeof va === 'string' || typeof vb === 'string' ? String(va).localeCompare(String(vb)) : va - vb;
    return c !== 0 ? c * dir : a.pid - b.pid;
  });
}

/** The columns that fit in `width` (lowest priority dropped first), COMMAND taking the rest. */
export function visibleColumns(width: number): Column[] {
  let cols = COLUMNS.slice();
  const need = () => cols.reduce((s, c) => s + (c.width || 24) + 1, 0); // COMMAND wants 24 at least
  while (need() > width) {
    const victim = cols.filter((c) => c.priority < 10).sort((a, b) => a.priority - b.priority)[0];
    if (!victim) break;
    cols = cols.filter((c) => c !== victim);
  }
  return cols;
}

/**
 * The lines of the rows drawn at the last call, by pid, with what each was drawn from (the fields
 * its columns read, its user name and tree prefix) — for one layout (columns, widths). At idle
 * most rows are the same from one tick to the next: comparing their fields costs less than
 * building their cells again (~40 rows of 14 cells a second).
 */
interface RowMemo {
  layout: string;
  reads: (keyof ProcRow)[]; // the fields the layout's columns read, in column order
  rows: Map<number, { from: unknown[]; line: string }>;
}
const memo: RowMemo = { layout: '', reads: [], rows: new Map() };

/** Drops what procTableLines remembers (tests: a fresh start). */
export function forgetRowLines(): void {
  memo.layout = '';
  memo.reads = [];
  memo.rows = new Map();
}

/** Renders header + rows; `selected` (an index into `rows`) is highlighted. */
export function procTableLines(rows: readonly DisplayRow[], sort: SortState, selected: number, ctx: PanelContext, offset = 0): string[] {
  const cols = visibleColumns(ctx.width);
  const fixed = cols.reduce((s, c) => s + (c.width ? c.width + 1 : 0), 0);
  const cmdW = Math.max(8, ctx.width - fixed);
  const w = (c: Column) => c.width || cmdW;
  const arrow = sort.descending ? '▼' : '▲';
  // The sorted column's arrow always shows: where title and arrow are wider than the column,
  // the title gives way (CACHE▼, not CACHE…).
  const title = (c: Column) => (c.id !== sort.column ? c.title : c.title.length + 1 > w(c) ? c.title.slice(0, Math.max(0, w(c) - 1)) + arrow : c.title + arrow);
  const head = cols.map((c) => pad(title(c), w(c), c.right)).join(' ');
  const out = [ctx.color ? `{bold}{underline}${pad(head, ctx.width)}{/underline}{/bold}` : pad(head, ctx.width)];
  const layout = `${cols.map((c) => c.id).join(',')}/${cmdW}`;
  if (layout !== memo.layout) {
    forgetRowLines();
    memo.reads = cols.flatMap((c) => c.reads);
  }
  memo.layout = layout;
  const reads = memo.reads;
  const was = memo.rows;
  const kept = new Map<number, { from: unknown[]; line: string }>();
  const end = Math.min(rows.length, offset + Math.max(0, ctx.height - 1));
  for (let i = offset; i < end; i++) {
    const d = rows[i];
    const r = d.row;
    // Group rows (cgroups) are few and not kept.
    const m = d.group ? undefined : was.get(r.pid);
    let line: string;
    if (m && sameFrom(m.from, reads, r, d.prefix)) {
      line = m.line;
      kept.set(r.pid, m);
    } else {
      line = cols.map((c) => cell(c.id === 'command' ? d.prefix + c.text(r) : c.text(r), w(c), c.right)).join(' ');
      if (!d.group) kept.set(r.pid, { from: fromOf(reads, r, d.prefix), line });
    }
    if (i === selected) line = `{inverse}${line}{/inverse}`;
    else if (r.exited) line = ctx.color ? `{gray-fg}${line}{/gray-fg}` : `{underline}${line}{/underline}`;
    out.push(line);
  }
  memo.rows = kept;
  return out;
}

// What a row's line is drawn from: the fields its columns read, then its user name (the passwd
// file may change) and tree prefix. Indexed loops: this runs for every row on screen every tick,
// mostly in V8's baseline tiers, where for-of allocates an iterator result per step.
function fromOf(reads: readonly (keyof ProcRow)[], r: ProcRow, prefix: string): unknown[] {
  const from: unknown[] = new Array(reads.length + 2);
  for (let k = 0; k < reads.length; k++) from[k] = r[reads[k]];
  from[reads.length] = r.uid === null ? null : userName(r.uid);
  from[reads.length + 1] = prefix;
  return from;
}

function sameFrom(from: readonly unknown[], reads: readonly (keyof ProcRow)[], r: ProcRow, prefix: string): boolean {
  const n = reads.length;
  for (let k = 0; k < n; k++) if (from[k] !== r[reads[k]]) return false;
  return from[n] === (r.uid === null ? null : userName(r.uid)) && from[n + 1] === prefix;
}

/** The column under screen column `x` of the header (for mouse clicks), or null. */
export function columnAt(x: number, width: number): Column | null {
  const cols = visibleColumns(width);
  const fixed = cols.reduce((s, c) => s + (c.width ? c.width + 1 : 0), 0);
  const cmdW = Math.max(8, width - fixed);
  let pos = 0;
  for (const c of cols) {
    const w = c.width || cmdW;
    if (x >= pos && x < pos + w + 1) return c;
    pos += w + 1;
  }
  return null;
}
