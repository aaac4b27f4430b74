/**
 * The overview screen: header, one panel per probe, the process area and a key footer — all
 * drawn from one Snapshot per tick. It never mutates the snapshot.
 */
import blessed from 'blessed';
import type { Snapshot, ProbeSnap } from '../src/model/snapshot';
import { headerLines, HeaderInfo } from './header';
import { overviewLayout, panelCapacity, OverviewLayout, MIN_COLS, MIN_ROWS, Rect } from './layout';
import type { PanelContext, PanelRenderer } from './panels/types';
import { renderRunqlat } from './panels/runqlat';
import { renderCachestat } from './panels/cachestat';
import { renderBiolatency } from './panels/biolatency';
import { renderShortLived, renderProcfeed } from './panels/procfeed';
import { renderOffcputime } from './panels/offcputime';
import { namedOffcpu } from './symbols';
import type { OffcputimeSnap } from '../src/model/offcputime';
import { processAreaLines, TableView } from './procarea';
import { heatmapRows } from './widgets/heatmap';
import { escapeText } from './widgets/text';
import { repaintFully, rowPainted, setRows } from './widgets/rowpaint';
import type { Hist } from '../src/model/hist';
import { mapWindow, windowMemo, WindowMemo } from './widgets/memo';

/** A panel of the overview: its title and how it is drawn from the snapshot. */
export interface PanelDef {
  name: string;
  title: string;
  select(s: Snapshot): ProbeSnap<unknown>;
  render: PanelRenderer<any>;
  /** Extra work on the current snapshot's data only (e.g. naming stack frames), not on history. */
  prepare?(data: ProbeSnap<any>): ProbeSnap<any>;
  /** The interval's latency histogram, for panels that can show a heatmap over time. */
  hist?(data: ProbeSnap<any>): Hist | null;
  /**
   * How many of the newest snapshots `render` reads as its history (none when absent). Each is
   * an old object somewhere in the heap: walking all 330 for every panel every tick cost more
   * than most panels' own text.
   */
  historyTicks?(ctx: PanelContext): number;
}

/** The overview's panels, in screen order. */
export const PANELS: PanelDef[] = [
  {
    name: 'runqlat',
    title: 'Run-queue latency',
    select: (s) => s.runqlat,
    render: renderRunqlat,
    hist: (d) => (d.status === 'ok' ? (d.data as { hist: Hist }).hist : null),
  },
  {
    name: 'offcputime',
    title: 'Off-CPU time',
    // Name the leaf kernel frame ("why") of the processes the panel can show, and only those.
    select: (s) => s.offcputime,
    prepare: (d) => namedOffcpu(d as ProbeSnap<OffcputimeSnap>, { procs: 12 }),
    render: renderOffcputime,
    hist: (d) => (d.status === 'ok' ? (d.data as { hist: Hist }).hist : null),
  },
  {
    name: 'biolatency',
    title: 'Block I/O latency',
    select: (s) => s.biolatency,
    render: renderBiolatency,
    hist: (d) => (d.status === 'ok' ? (d.data as { total: { hist: Hist } }).total.hist : null),
  },
  { name: 'procevents', title: 'Short-lived processes', select: (s) => s.procevents, render: renderShortLived },
  // Its sparklines show at most a value per column.
  { name: 'cachestat', title: 'Page cache', select: (s) => s.cachestat, render: renderCachestat, historyTicks: (ctx) => ctx.width },
];

/** Everything the overview needs to draw. */
export interface OverviewInput {
  snap: Snapshot | undefined;
  history: readonly Snapshot[];
  info: HeaderInfo;
  color: boolean;
  footer: string;
  focused: number; // index of the panel that Tab selected (-1: none)
  heatmap: ReadonlySet<string>; // names of panels showing their heatmap
  intervalMs: number;
  table: TableView;
  banner?: string | null;
  panelStart: number; // index of the first panel shown (Tab scrolls panels that do not fit)
  feed?: boolean; // the process area shows the exec/exit feed instead of the table
}

/**
 * Sets a box's label only when its text changed: blessed's setLabel re-sets the label's content
 * with a blank-out of its area each time, which cost more than the panel's own text.
 */
function setLabel(el: blessed.Widgets.BoxElement, s: string): void {
  const e = el as unknown as { _ptLabel?: string; _ptLabelShown?: string; _label?: blessed.Widgets.BoxElement };
  if (e._ptLabel === s) return;
  e._ptLabel = s;
  // A label as wide as the one drawn, or a little narrower (a count that changed: the process
  // area's "68 processes" whenever a process starts or ends): its cells are written over in
  // place, padded with blanks, and the box goes on painting only its changed rows.
  const shown = e._ptLabelShown;
  if (e._label && shown !== undefined && !s.includes('{') && !shown.includes('{') && s.length <= shown.length && shown.length - s.length <= LABEL_SLACK) {
    const padded = s.padEnd(shown.length);
    e._ptLabelShown = padded;
    // No blank-out of its area (setContent's second argument): it is drawn over whole.
    (e._label as unknown as { setContent(t: string, noClear: boolean): void }).setContent(padded, true);
    return;
  }
  e._ptLabelShown = s;
  el.setLabel(s);
  repaintFully(el);
}

/** How many cells narrower a new label may be and still be written over the old in place. */
const LABEL_SLACK = 2;

function place(el: blessed.Widgets.BoxElement, r: Rect): void {
  // Moved or resized: blank where it was drawn (content is set without clearing, see below).
  if (el.left !== r.left || el.top !== r.top || el.width !== r.width || el.height !== r.height) (el as unknown as { clearPos(): void }).clearPos();
  el.left = r.left;
  el.top = r.top;
  el.width = r.width;
  el.height = r.height;
}

/** The overview's blessed widgets on a screen. */
export class OverviewScreen {
  private header: blessed.Widgets.BoxElement;
  private panels: blessed.Widgets.BoxElement[];
  private procs: blessed.Widgets.BoxElement;
  private footer: blessed.Widgets.BoxElement;
  private tooSmall: blessed.Widgets.BoxElement;
  private layout: OverviewLayout | null = null;
  // Per panel: its part of the history window it drew last (old snapshots are not read again).
  private windows: WindowMemo<Snapshot, ProbeSnap<unknown>>[] = PANELS.map(() => windowMemo());

  constructor(private screen: blessed.Widgets.Screen, color: boolean, onTableClick?: (x: number, y: number) => void) {
    const style = color ? { border: { fg: 'blue' }, label: { bold: true } } : { label: { bold: true } };
    // Row-painted (widgets/rowpaint): between ticks most rows are the same text, drawn once.
    this.header = rowPainted(blessed.box({ parent: screen, tags: true, wrap: false, height: 2 } as blessed.Widgets.BoxOptions));
    this.panels = PANELS.map((p) =>
      rowPainted(blessed.box({ parent: screen, tags: true, wrap: false, border: { type: 'line' }, label: ` ${p.title} `, style } as blessed.Widgets.BoxOptions)),
    );
    this.procs = rowPainted(blessed.box({ parent: screen, tags: true, wrap: false, border: { type: 'line' }, label: ' Processes ', style, clickable: true } as blessed.Widgets.BoxOptions));
    if (onTableClick) {
      screen.enableMouse(this.procs);
      this.procs.on('click', (data: { x: number; y: number }) => {
        const x = data.x - (this.procs.aleft as number) - 1;
        const y = data.y - (this.procs.atop as number) - 1;
        if (x >= 0 && y >= 0) onTableClick(x, y);
      });
    }
    this.footer = rowPainted(blessed.box({ parent: screen, tags: true, wrap: false, height: 1, style: color ? { bg: 'blue', fg: 'white' } : { inverse: true } } as blessed.Widgets.BoxOptions));
    this.tooSmall = blessed.box({ parent: screen, tags: true, top: 0, left: 0, width: '100%', height: '100%', hidden: true });
  }

  /** Rows inside the process area (header included). */
  tableHeight(): number {
    return this.layout ? this.layout.procs.height - 2 : 10;
  }

  /** Columns inside the process area. */
  tableWidth(): number {
    return this.layout ? this.layout.procs.width - 2 : 78;
  }

  /** Shows or hides every widget of this screen. */
  setVisible(v: boolean): void {
    for (const el of [this.header, ...this.panels, this.procs, this.footer]) v ? el.show() : el.hide();
    if (!v) this.tooSmall.hide();
  }

  /** Redraws the widgets' content for `input` at the screen's current size. */
  render(input: OverviewInput): void {
    const cols = this.screen.width as number;
    const rows = this.screen.height as number;
    // In the /proc-only mode no probe runs: the process table takes the panels' room.
    // As many panels as fit at a readable size, starting at the window the user scrolled to (Tab).
    const shown = input.banner ? 0 : Math.min(PANELS.length, panelCapacity(cols, rows));
    const order = PANELS.map((_, i) => (i + input.panelStart) % PANELS.length).slice(0, shown);
    this.layout = overviewLayout(cols, rows, shown);
    if (!this.layout) {
      this.setVisible(false);
      this.tooSmall.show();
      this.tooSmall.setContent(`terminal too small: ${cols}x${rows}\nprobetop needs at least ${MIN_COLS}x${MIN_ROWS}\n(resize, or press q to quit)`);
      return;
    }
    this.tooSmall.hide();
    this.setVisible(true);
    const L = this.layout;
    place(this.header, L.header);
    const head = headerLines(input.snap, input.info, L.header.width, input.color);
    // The /proc-only banner replaces the probe line, where the probes would be listed.
    if (input.banner) head[1] = input.color ? `{yellow-fg}${escapeText(input.banner)}{/yellow-fg}` : escapeText(input.banner);
    setRows(this.header, head);
    this.panels.forEach((b, i) => (order.includes(i) ? b.show() : b.hide()));
    order.forEach((pi, i) => {
      const p = PANELS[pi];
      const box = this.panels[pi];
      place(box, L.panels[i]);
      const ctx: PanelContext = { width: L.panels[i].width - 2, height: L.panels[i].height - 2, color: input.color };
      if (!input.snap) {
        setRows(box, ['waiting for the first interval…']);
        return;
      }
      const heat = p.hist && input.heatmap.has(p.name);
      const want = heat ? input.history.length : p.historyTicks?.(ctx) ?? 0;
      const history = want > 0 ? mapWindow(this.windows[pi], input.history.slice(-want), p.select) : [];
      setLabel(box, ` ${p.title}${heat ? ' — heatmap' : ''}${pi === input.focused ? ' [H]' : ''} `);
      const borderFg = input.color ? (pi === input.focused ? 'yellow' : 'blue') : undefined;
      if (box.style.border?.fg !== borderFg) {
        box.style.border = borderFg ? { fg: borderFg } : {};
        repaintFully(box);
      }
      const lines = heat
        ? heatmapRows(history.map((h) => p.hist!(h)), input.intervalMs, ctx)
        : p.render(p.prepare ? p.prepare(p.select(input.snap)) : p.select(input.snap), ctx, history);
      setRows(box, lines.length > ctx.height ? lines.slice(0, ctx.height) : lines);
    });
    place(this.procs, L.procs);
    const pctx = { width: L.procs.width - 2, height: L.procs.height - 2, color: input.color };
    const area = input.feed && input.snap
      ? { title: 'exec / exit feed, newest first (e: back to the table)', lines: renderProcfeed(input.snap.procevents, pctx, input.history.map((s) => s.procevents)) }
      : processAreaLines(input.snap, pctx, input.table, input.history);
    setLabel(this.procs, ` ${area.title} `);
    setRows(this.procs, area.lines);
    place(this.footer, L.footer);
    setRows(this.footer, [input.footer]);
  }
}
