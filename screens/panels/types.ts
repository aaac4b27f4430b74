/**
 * The contract of an overview panel: a pure function from one probe's part of the Snapshot to
 * the lines of its box; `history` is this probe's part of the newest snapshots (as many as the
 * panel asks for, up to HISTORY_TICKS), oldest first, the current one last. The overview places
 * panels; a panel never reads anything else.
 */
import type { ProbeSnap } from '../../src/model/snapshot';

/** Size and style of the area a panel draws into. */
export interface PanelContext {
  width: number; // columns available inside the border
  height: number; // rows available inside the border
  color: boolean; // false with NO_COLOR / --no-color: no colour tags, only {bold}/{inverse}
}

/**
 * Renders a panel body: at most ctx.height lines, each at most ctx.width visible characters.
 * Lines may carry blessed tags ({bold}, {red-fg}, ...); text from the system must go through
 * escapeText() so that a "{" in a process name is shown, not interpreted.
 */
export type PanelRenderer<T> = (data: ProbeSnap<T>, ctx: PanelContext, history: readonly ProbeSnap<T>[]) => string[];

/** How many past snapshots the overview keeps for panels' history: the 5-minute heatmaps at 1 s, and a margin. */
export const HISTORY_TICKS = 330;
