/**
 * Row painting: a box redraws only the rows whose text changed since it last drew.
 *
 * blessed's Element.render re-parses a box's whole content when any of it changed (tags, wrap,
 * per-line attributes) and then visits every cell of the box, every render. Once a second that
 * was most of the full-screen UI's cost, though between two ticks most rows of most panels are
 * the same text. A row-painted box keeps, per row, the text it drew and the attribute the row
 * started with; a row is parsed and painted again only when one of them changed. Rows painted
 * the same way as blessed would: the same tag parser (Element._parseTags), the same SGR decoder
 * (Screen.attrCode), the attribute carried from one row to the next, a short row filled to
 * the right edge with the attribute at its end, a long row cut at the edge.
 *
 * Anything else goes through blessed's own render ("a full render"): the first render, a moved
 * or resized box, a new label or style, a row with a control character or a character blessed
 * does not draw as one cell of its own (wide, combining, a surrogate pair, or one its
 * parseContent treats as wide), a box overlapped by an element drawn before it (below it), and
 * every box after the screen's cells were changed behind its back — a region cleared or filled
 * (an element hidden, moved or destroyed), the screen reallocated (resize), lines scrolled, or
 * the set of visible top-level elements changed (a prompt opened or closed over a box). Those
 * bump the screen's epoch; a box whose epoch differs renders in full.
 *
 * Rule for the text: every row closes the tags it opens. Rows are parsed one by one, so a tag
 * left open across a line break would not carry to the next row as blessed carries it.
 */
import blessed from 'blessed';
import { markChanged, type Line } from './fastdraw';

interface Coords {
  xi: number;
  xl: number;
  yi: number;
  yl: number;
}

interface ScreenInternals {
  lines: Line[];
  children: ElementInternals[];
  _ci: number;
  _borderStops: Record<number, boolean>;
  attrCode(code: string, cur: number, def: number): number;
  on(event: string, fn: () => void): void;
  _ptEpoch?: number;
  _ptSig?: string;
}

interface PaintState {
  epoch: number;
  xi: number;
  xl: number;
  yi: number;
  yl: number;
  dattr: number;
  rows: (string | undefined)[]; // text painted on each row
  parsed: (string | undefined)[]; // the same after tag parsing (what the cells were painted from)
  starts: number[]; // attribute each row started with
  ends: number[]; // attribute at the end of each row (carried to the next)
}

interface ElementInternals {
  screen: ScreenInternals;
  hidden: boolean;
  uid: number;
  index: number;
  content: string;
  ch: string;
  style: Record<string, unknown>;
  border?: { type?: string };
  scrollable?: boolean;
  wrap?: boolean;
  tpadding?: number;
  valign?: string;
  children: ElementInternals[];
  lpos?: Coords;
  render(): Coords | undefined;
  _getCoords(get: boolean): Coords | undefined;
  _parseTags(text: string): string;
  _emit(event: string, args?: unknown[]): void;
  sattr(style: unknown): number;
  _ptRows?: readonly string[];
  _ptContent?: string; // the content setRows() set (blessed's own setContent leaves the rows stale)
  _ptPaint?: PaintState | null;
  _ptFull?: boolean;
  _label?: ElementInternals; // the box's label (blessed draws it over the top border)
  _ptDrawn?: string; // a label's content when its box last rendered in full
}

/** Screen methods that change cells outside an element's render: each bumps the epoch. */
const CELL_WRITERS = ['alloc', 'fillRegion', 'insertLine', 'deleteLine', 'insertLineNC', 'deleteLineNC'] as const;

/** Prepares a screen for row-painted boxes (once per screen). */
function watchScreen(screen: ScreenInternals): void {
  if (screen._ptEpoch !== undefined) return;
  screen._ptEpoch = 0;
  const s = screen as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const name of CELL_WRITERS) {
    const orig = s[name];
    if (typeof orig !== 'function') continue;
    s[name] = function (this: ScreenInternals, ...a: unknown[]) {
      this._ptEpoch!++;
      return orig.apply(this, a);
    };
  }
  // The visible top-level elements, in drawing order: a change means one now covers (or no
  // longer covers) another's cells.
  screen.on('prerender', () => {
    let sig = '';
    for (const c of screen.children) if (!c.hidden) sig += `${c.uid},`;
    if (sig !== screen._ptSig) {
      screen._ptSig = sig;
      screen._ptEpoch!++;
    }
    // An element drawn before a row-painted box (below it) that overlaps it draws over the
    // box's unchanged rows each time: such a box renders in full while the overlap lasts.
    const below: Coords[] = [];
    for (const c of screen.children) {
      if (c.hidden || !c.lpos) continue;
      const p = c.lpos;
      if (c._ptPaint && below.some((q) => q.xi < p.xl && p.xi < q.xl && q.yi < p.yl && p.yi < q.yl)) c._ptFull = true;
      below.push(p);
    }
  });
}

// Characters blessed drops or rewrites before drawing (controls, tabs, CR, raw escapes).
const UNSAFE = /[\x00-\x1f\x7f]/;
const unicode = (blessed as unknown as { unicode: { charWidth(c: number): number; chars: { all: RegExp } } }).unicode;
// Per code unit of the Basic Multilingual Plane: 1 when blessed draws it as one cell of its own,
// 2 when not (wide, combining, zero-width, or rewritten by parseContent, which puts a blank cell
// after what its "wide" pattern matches — a pattern that differs from charWidth on some
// unassigned code points), 0 not asked yet.
const oneCell = new Int8Array(0x10000);
let widePattern: RegExp | null = null;
function isOneCell(code: number): boolean {
  let v = oneCell[code];
  if (v === 0) {
    widePattern ??= new RegExp(unicode.chars.all.source, unicode.chars.all.flags.replace('g', ''));
    const surrogate = code >= 0xd800 && code <= 0xdfff; // a pair goes in one cell
    v = oneCell[code] = !surrogate && unicode.charWidth(code) === 1 && !widePattern.test(String.fromCharCode(code)) ? 1 : 2;
  }
  return v === 1;
}

/**
 * Gives up on a row half painted: the cells it changed are noted as changed (blessed's render,
 * which follows, writes the same into them and would not see a change), then false.
 */
function bail(screen: unknown, line: Line | undefined, lo: number, hi: number): false {
  if (line && lo >= 0) markChanged(screen, line, lo, hi);
  return false;
}

/**
 * Paints the rows of `el` inside its paint state's area (border excluded): the rows whose text
 * or starting attribute changed since they were painted. With `record`, after blessed's own
 * full render, nothing is painted: every row's text and attributes are only noted. Returns false
 * when a row needs blessed's own handling (the caller then renders in full); the rows painted
 * before it were painted as blessed paints them.
 */
function paintRows(el: ElementInternals, st: PaintState, record: boolean): boolean {
  const screen = el.screen;
  const lines = screen.lines;
  const rows = el._ptRows ?? [];
  const bch = el.ch;
  const { xi, xl, yi, yl, dattr } = st;
  let attr = dattr;
  for (let y = yi, r = 0; y < yl; y++, r++) {
    const text = r < rows.length ? rows[r] : '';
    if (!record && text === st.rows[r] && attr === st.starts[r]) {
      attr = st.ends[r];
      continue;
    }
    if (UNSAFE.test(text)) return false;
    const s = text.includes('{') ? el._parseTags(text) : text;
    const start = attr;
    const line = record ? undefined : lines[y];
    // Where this row differs from what was painted on it, when that is cheap to tell: the
    // characters before the first difference (and before any escape) are on the screen already;
    // in a row without escapes, then and now, of the same length, so are those after the last
    // difference, and the fill after the text. Comparing strings is cheaper than visiting cells.
    let from = 0;
    let to = s.length;
    let fill = true;
    const was = record ? undefined : st.parsed[r];
    if (was !== undefined && start === st.starts[r]) {
      const esc = s.indexOf('\x1b');
      const lim = Math.min(to, was.length, esc < 0 ? to : esc);
      while (from < lim && s.charCodeAt(from) === was.charCodeAt(from)) from++;
      if (esc < 0 && was.length === to && was.indexOf('\x1b') < 0) {
        while (to > from && s.charCodeAt(to - 1) === was.charCodeAt(to - 1)) to--;
        fill = false;
      }
    }
    let x = xi + from; // one cell per character before the first escape
    let lo = -1; // first and last cell of this row that changed
    let hi = -1;
    for (let i = from; i < to; i++) {
      const code = s.charCodeAt(i);
      if (code === 0x1b) {
        const end = s.indexOf('m', i);
        if (end < 0) return bail(screen, line, lo, hi);
        attr = screen.attrCode(s.slice(i, end + 1), attr, dattr);
        i = end;
        continue;
      }
      if (code >= 0x7f && !isOneCell(code)) return bail(screen, line, lo, hi);
      if (x >= xl || !line) continue; // past the edge: keep reading attributes for the next row
      const cell = line[x];
      if (!cell) {
        x = xl;
        continue;
      }
      const ch = s[i];
      if (cell[0] !== attr || cell[1] !== ch) {
        cell[0] = attr;
        cell[1] = ch;
        if (lo < 0) lo = x;
        hi = x;
      }
      x++;
    }
    if (line) {
      for (; fill && x < xl; x++) {
        const cell = line[x];
        if (!cell) break;
        if (cell[0] !== attr || cell[1] !== bch) {
          cell[0] = attr;
          cell[1] = bch;
          if (lo < 0) lo = x;
          hi = x;
        }
      }
      if (lo >= 0) markChanged(screen, line, lo, hi);
    }
    st.rows[r] = text;
    st.parsed[r] = s;
    st.starts[r] = start;
    st.ends[r] = attr;
  }
  return true;
}

/** The inner area and default attribute of `el` at `coords`, as a fresh paint state. */
function stateFor(el: ElementInternals, coords: Coords, epoch: number): PaintState {
  const b = el.border ? 1 : 0;
  return { epoch, xi: coords.xi + b, xl: coords.xl - b, yi: coords.yi + b, yl: coords.yl - b, dattr: el.sattr(el.style), rows: [], parsed: [], starts: [], ends: [] };
}

/**
 * Makes `box` row-painted: set its text with setRows() from then on. Rows are cut at the edge,
 * so the box must not wrap (`wrap: false`); boxes that wrap, scroll, or have padding or vertical
 * alignment are left to blessed (always a full render).
 */
export function rowPainted<T>(box: T): T {
  const el = box as unknown as ElementInternals;
  watchScreen(el.screen);
  const orig = el.render;
  const full = function (this: ElementInternals): Coords | undefined {
    const coords = orig.call(this);
    this._ptFull = false;
    this._ptPaint = null;
    if (!coords || this.hidden || this.scrollable || this.wrap !== false || this.tpadding || (this.valign && this.valign !== 'top')) return coords;
    if (this._ptContent !== this.content) return coords; // set by blessed's setContent: rows unknown
    // Note what is on each row, for the next renders.
    const st = stateFor(this, coords, this.screen._ptEpoch!);
    if (paintRows(this, st, true)) this._ptPaint = st;
    if (this._label) this._label._ptDrawn = this._label.content;
    return coords;
  };
  el.render = function (this: ElementInternals): Coords | undefined {
    // Hidden: what blessed's render does then, without its prerender event and content parse
    // (a hidden full-screen page cost ~30 µs a tick). Shown again, the epoch has moved (the set
    // of visible elements changed), so its next render is a full one.
    if (this.hidden) {
      delete this.lpos;
      return undefined;
    }
    const st = this._ptPaint;
    const screen = this.screen;
    if (!st || this._ptFull || st.epoch !== screen._ptEpoch || this._ptContent !== this.content) return full.call(this);
    this._emit('prerender');
    const coords = this._getCoords(true);
    if (!coords) return full.call(this);
    const b = this.border ? 1 : 0;
    if (coords.xi + b !== st.xi || coords.xl - b !== st.xl || coords.yi + b !== st.yi || coords.yl - b !== st.yl || this.sattr(this.style) !== st.dattr) return full.call(this);
    if (!paintRows(this, st, false)) {
      this._ptPaint = null;
      return full.call(this);
    }
    this.lpos = coords;
    if (this.border?.type === 'line') {
      screen._borderStops[coords.yi] = true;
      screen._borderStops[coords.yl - 1] = true;
    }
    for (const child of this.children) {
      if (screen._ci !== -1) child.index = screen._ci++;
      // The label lies on the top border, which only a full render draws: unchanged, its cells
      // are still there (a new label makes the next render a full one).
      if (child === this._label && child._ptDrawn === child.content && child.lpos) continue;
      child.render();
      // A label given new text of its width (screens/overview.ts's setLabel) is drawn over the
      // old one here; as long as the text stays, its cells stay.
      if (child === this._label && child.lpos) child._ptDrawn = child.content;
    }
    this._emit('render', [coords]);
    return coords;
  };
  return box;
}

/**
 * Sets the rows of a row-painted box. Its content (what blessed parses on a full render) is the
 * rows joined; nothing is parsed here.
 */
export function setRows(box: unknown, rows: readonly string[]): void {
  const el = box as ElementInternals;
  el._ptRows = rows;
  el.content = el._ptContent = rows.join('\n');
}

/** Makes the next render of a row-painted box a full one (its label or border changed). */
export function repaintFully(box: unknown): void {
  (box as ElementInternals)._ptFull = true;
}

/** Makes every row-painted box of `screen` render in full the next time (e.g. a redraw key). */
export function invalidate(screen: unknown): void {
  const s = screen as ScreenInternals;
  if (s._ptEpoch !== undefined) s._ptEpoch++;
}
