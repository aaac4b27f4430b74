/**
 * The process area of the overview: the merged process table under the view's filter, sort,
 * tree or grouping, scrolled to keep the selection visible.
 */
import type { Snapshot } from '../src/model/snapshot';
import { buildProcTable } from '../src/model/proctable';
import { procTableLines } from './proctable';
import { displayRows, DisplayRow, TableView } from './tableview';
import type { PanelContext } from './panels/types';

export type { TableView } from './tableview';

/** The display rows of a snapshot under a view. */
export function tableDisplay(snap: Snapshot | undefined, view: TableView, history: readonly Snapshot[] = []): ReturnType<typeof displayRows> {
  return displayRows(snap ? buildProcTable(snap, earlierOf(snap, history)) : [], view);
}

/** The snapshots before `snap` in `history` (for recently exited processes). */
export function earlierOf(snap: Snapshot, history: readonly Snapshot[]): Snapshot[] {
  const i = history.indexOf(snap);
  return (i >= 0 ? history.slice(Math.max(0, i - 10), i) : history.slice(-10)).filter((s) => s.ts < snap.ts);
}

/** Title and lines of the process area; updates view.offset to keep the selection in sight. */
export function processAreaLines(snap: Snapshot | undefined, ctx: PanelContext, view: TableView, history: readonly Snapshot[] = []): { title: string; lines: string[]; rows: DisplayRow[] } {
  const d = tableDisplay(snap, view, history);
  const what = view.group ? 'cgroups' : 'processes';
  let title = `${view.group ? d.rows.length : d.rows.length} ${what}`;
  if (view.filter) title = `${d.rows.length} of ${view.group ? '' : d.total + ' '}${what} matching "${view.filter}"${d.filterError ? ` (${d.filterError})` : ''}`;
  if (view.tree) title += ', tree';
  const height = Math.max(1, ctx.height - 1);
  if (d.selected >= 0) {
    if (d.selected < view.offset) view.offset = d.selected;
    if (d.selected >= view.offset + height) view.offset = d.selected - height + 1;
  }
  view.offset = Math.max(0, Math.min(view.offset, Math.max(0, d.rows.length - height)));
  return { title, lines: snap ? procTableLines(d.rows, view.sort, d.selected, ctx, view.offset) : [], rows: d.rows };
}
