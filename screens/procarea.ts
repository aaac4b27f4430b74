/**
 * The process area of the overview: the merged process table, sorted and scrolled as the view
 * state says.
 */
import type { Snapshot } from '../src/model/snapshot';
import { buildProcTable, ProcRow } from '../src/model/proctable';
import { procTableLines, sortRows, SortState } from './proctable';
import type { PanelContext } from './panels/types';

/** What the user chose for the table. */
export interface TableView {
  sort: SortState;
  selected: number; // index into the sorted rows
  offset: number; // first row shown
}

/** The sorted rows of a snapshot. */
export function tableRows(snap: Snapshot | undefined, sort: SortState): ProcRow[] {
  if (!snap) return [];
  return sortRows(buildProcTable(snap), sort);
}

/** Title and lines of the process area. */
export function processAreaLines(snap: Snapshot | undefined, ctx: PanelContext, view: TableView): { title: string; lines: string[] } {
  const rows = tableRows(snap, view.sort);
  const title = `Processes ${rows.length}`;
  if (!snap) return { title, lines: [] };
  const height = Math.max(1, ctx.height - 1);
  let offset = view.offset;
  if (view.selected < offset) offset = view.selected;
  if (view.selected >= offset + height) offset = view.selected - height + 1;
  return { title, lines: procTableLines(rows, view.sort, view.selected, ctx, Math.max(0, offset)) };
}
