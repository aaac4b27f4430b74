/**
 * Where the overview's boxes go for a terminal size: a pure function, so every size is testable.
 */

/** A rectangle in cells. */
export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** The overview's boxes. */
export interface OverviewLayout {
  header: Rect;
  panels: Rect[]; // one per panel, in order
  procs: Rect; // the process area
  footer: Rect;
}

/** Smallest terminal the overview draws in; smaller ones get a "too small" message. */
export const MIN_COLS = 60;
/** Smallest number of rows the overview draws in. */
export const MIN_ROWS = 16;

/** How many panels fit on a terminal: grid rows of at least 8 rows in ~62% of the body. */
export function panelCapacity(cols: number, rows: number): number {
  const body = rows - 3;
  const perRow = Math.max(1, Math.floor(cols / 40));
  const gridRows = Math.max(1, Math.floor((body * 0.62) / 8));
  return perRow * gridRows;
}

/**
 * Panels take the upper part in a grid (as many 40+-column columns as fit, up to one per
 * panel); the process area takes the rest, never less than a third of the screen.
 */
export function overviewLayout(cols: number, rows: number, nPanels: number): OverviewLayout | null {
  if (cols < MIN_COLS || rows < MIN_ROWS) return null;
  const headerH = 2;
  const footerH = 1;
  const body = rows - headerH - footerH;
  if (nPanels === 0) {
    return {
      header: { left: 0, top: 0, width: cols, height: headerH },
      panels: [],
      procs: { left: 0, top: headerH, width: cols, height: body },
      footer: { left: 0, top: rows - footerH, width: cols, height: footerH },
    };
  }
  const perRow = Math.max(1, Math.min(nPanels, Math.floor(cols / 40)));
  const gridRows = Math.max(1, Math.ceil(nPanels / perRow));
  // Each panel wants ~12 rows (10 lines inside the border) on big screens, 7 at least.
  const want = gridRows * Math.min(14, Math.max(7, Math.floor((body * 0.62) / gridRows)));
  const panelsH = Math.min(want, body - Math.max(5, Math.floor(body / 3)));
  const rowH = Math.floor(panelsH / gridRows);
  const panels: Rect[] = [];
  for (let i = 0; i < nPanels; i++) {
    const r = Math.floor(i / perRow);
    const c = i % perRow;
    const inRow = r === gridRows - 1 ? nPanels - r * perRow : perRow;
    const w = Math.floor(cols / inRow);
    const left = c * w;
    panels.push({ left, top: headerH + r * rowH, width: c === inRow - 1 ? cols - left : w, height: rowH });
  }
  const procTop = headerH + rowH * gridRows;
  return {
    header: { left: 0, top: 0, width: cols, height: headerH },
    panels,
    procs: { left: 0, top: procTop, width: cols, height: rows - footerH - procTop },
    footer: { left: 0, top: rows - footerH, width: cols, height: footerH },
  };
}
