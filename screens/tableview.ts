/**
 * What the process table shows for a view state: filter, sort, tree or cgroup grouping, and
 * where the selection is. Pure functions of (rows, view), so every key's effect is testable.
 */
import type { ProcRow } from '../src/model/proctable';
import { procTree, treePrefix } from '../src/model/procs';
import { userName } from '../src/procfs/users';
import { COLUMNS, sortRows, SortState } from './proctable';

/** The table's view state, kept by the UI across ticks. */
export interface TableView {
  sort: SortState;
  filter: string; // substring of command, pid, user or cgroup; "~regex"; "" for none
  tree: boolean; // process tree by parent
  group: boolean; // one summed row per cgroup
  selectedPid: number | null; // selection follows the process across ticks and re-sorts
  offset: number; // first row shown
}

/** A row as displayed: a process (with its tree prefix) or a cgroup group. */
export interface DisplayRow {
  row: ProcRow;
  prefix: string; // tree drawing before the command
  group?: { cgroup: string; members: number };
}

/** A new view: sorted by CPU, highest first. */
export function defaultView(): TableView {
  return { sort: { column: 'cpu', descending: true }, filter: '', tree: false, group: false, selectedPid: null, offset: 0 };
}

/** Compiles a filter; returns an error message for a bad regex. */
export function compileFilter(filter: string): ((r: ProcRow) => boolean) | string {
  const f = filter.trim();
  if (!f) return () => true;
  let test: (s: string) => boolean;
  if (f.startsWith('~')) {
    try {
      const re = new RegExp(f.slice(1), 'i');
      test = (s) => re.test(s);
    } catch (e) {
      return `bad regular expression: ${(e as Error).message}`;
    }
  } else if (f.startsWith('cgroup=')) {
    const cg = f.slice(7);
    return (r) => r.cgroup === cg;
  } else {
    const needle = f.toLowerCase();
    test = (s) => s.toLowerCase().includes(needle);
  }
  return (r) =>
    test(String(r.pid)) || test(r.comm) || test(r.cmdline.join(' ')) || (r.uid !== null && test(userName(r.uid))) || test(r.cgroup);
}

function groupRows(rows: readonly ProcRow[]): DisplayRow[] {
  const groups = new Map<string, ProcRow[]>();
  for (const r of rows) {
    const k = r.cgroup || '(none)';
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(r);
  }
  let n = 0;
  return [...groups.entries()].map(([cgroup, members]) => {
    const sum = (f: (r: ProcRow) => number | null) => {
      const vals = members.map(f).filter((v): v is number => v !== null);
      return vals.length ? vals.reduce((a, b) => a + b, 0) : null;
    };
    const row: ProcRow = {
      ...members[0],
      pid: -(++n), // groups are not processes; negative ids keep selection stable
      ppid: null,
      comm: cgroup,
      cmdline: [cgroup],
      cgroup,
      state: ' ',
      threads: sum((r) => r.threads),
      rssBytes: sum((r) => r.rssBytes),
      cpuPct: sum((r) => r.cpuPct),
      runqMsPerSec: sum((r) => r.runqMsPerSec),
      runqP99Us: null,
      offcpuMsPerSec: sum((r) => r.offcpuMsPerSec),
      ioOpsPerSec: sum((r) => r.ioOpsPerSec),
      ioBytesPerSec: sum((r) => r.ioBytesPerSec),
      ioP99Us: null,
      cacheAccesses: sum((r) => r.cacheAccesses),
      cacheHitPct: null,
      exited: null,
    };
    return { row, prefix: `${members.length} procs  `, group: { cgroup, members: members.length } };
  });
}

/** The rows to display, in order, and the index of the selected one (-1: none). */
export function displayRows(rows: readonly ProcRow[], view: TableView): { rows: DisplayRow[]; total: number; selected: number; filterError: string | null } {
  const f = compileFilter(view.filter);
  const filterError = typeof f === 'string' ? f : null;
  const kept = typeof f === 'string' ? rows.slice() : rows.filter(f);
  let out: DisplayRow[];
  if (view.group) {
    out = groupRows(kept);
    out = sortRows(out.map((d) => d.row), view.sort).map((r) => out.find((d) => d.row === r)!);
  } else if (view.tree) {
    const sorted = sortRows(kept, view.sort);
    const order = new Map(sorted.map((r, i) => [r.pid, i]));
    const items = kept.map((r) => ({ ...r, ppid: r.ppid ?? 0, src: r }));
    out = procTree(items, (a, b) => order.get(a.pid)! - order.get(b.pid)!).map((t) => ({ row: t.item.src, prefix: treePrefix(t) }));
  } else {
    out = sortRows(kept, view.sort).map((row) => ({ row, prefix: '' }));
  }
  const selected = view.selectedPid === null ? -1 : out.findIndex((d) => d.row.pid === view.selectedPid);
  return { rows: out, total: rows.length, selected, filterError };
}

/** Moves the selection by `delta` rows (clamped); selects the first row when none is. */
export function moveSelection(view: TableView, rows: readonly DisplayRow[], delta: number): void {
  if (rows.length === 0) return;
  const cur = view.selectedPid === null ? -1 : rows.findIndex((d) => d.row.pid === view.selectedPid);
  const next = cur < 0 ? (delta < 0 ? rows.length - 1 : 0) : Math.max(0, Math.min(rows.length - 1, cur + delta));
  view.selectedPid = rows[next].row.pid;
}

/** Sorts by the column `step` places left/right of the current one. */
export function shiftSort(view: TableView, step: number): void {
  const i = COLUMNS.findIndex((c) => c.id === view.sort.column);
  const j = Math.max(0, Math.min(COLUMNS.length - 1, i + step));
  view.sort = { column: COLUMNS[j].id, descending: view.sort.descending };
}

/** Sorts by `column`; choosing the current column again reverses the order. */
export function sortBy(view: TableView, column: string): void {
  if (view.sort.column === column) view.sort = { column, descending: !view.sort.descending };
  else view.sort = { column, descending: column !== 'pid' && column !== 'command' && column !== 'user' };
}
