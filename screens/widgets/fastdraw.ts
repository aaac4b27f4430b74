/**
 * A leaner Screen.draw: the same bytes to the terminal as blessed's, with less work per cell.
 *
 * Once a second blessed's draw visits every cell of each changed line; at idle that is about
 * 25 lines of 160 cells, of which ~600 changed, and it was the largest single part of the
 * full-screen UI's tick (1.5 ms of 7.6). Per cell it re-read options that cannot change while it
 * runs (the artificial cursor, back-colour erase, the alternate charset), asked for the
 * character's width, and built the SGR sequence of every changed attribute anew. This draw
 * decides those once per draw, remembers each attribute's SGR sequence and each cursor
 * movement per screen, and asks for a width only of characters from U+1100 on (nothing below
 * is two columns wide).
 *
 * It also compares fewer cells. Row painting (widgets/rowpaint) knows which cells of a line it
 * changed: it notes that range (markChanged) instead of marking the line dirty, and this draw
 * compares only the range — unless blessed wrote to the line too (dirty), or a wide character
 * on it makes blessed redraw it whole each time. Outside the range the cells are known to be as
 * the terminal has them, so the cursor movements written are the ones blessed would write.
 *
 * It applies only where those settings make blessed's per-cell checks dead code: no artificial
 * cursor, no back-colour erase, no alternate charset (probetop turns ACS off), a Unicode
 * terminal. Otherwise blessed's own draw runs. What it writes, and the `olines` it leaves, are
 * blessed's byte for byte (test/screens/fastdraw.test.ts compares them).
 */
import blessed from 'blessed';

/** A screen cell: attribute and character. */
export type Cell = [number, string];
/**
 * A screen line. `dirty`: blessed wrote some cell (the whole line is compared). `_rp`: only row
 * painting wrote, and only cells `_rpLo`..`_rpHi` changed (the lean draw compares just those).
 * On an olines line, `_fdWide`: a wide character's cells hold '\0', which never equals the
 * line's cell, so blessed redraws them with every draw of the line: the whole line is compared.
 */
export type Line = Cell[] & { dirty?: boolean; _rp?: boolean; _rpLo?: number; _rpHi?: number; _fdWide?: boolean };

interface Tput {
  bools: Record<string, boolean>;
  strings: Record<string, string | undefined>;
  numbers: Record<string, number>;
  unicode: boolean;
  brokenACS: boolean;
  colors: number;
  cup(y: number, x: number): string;
  cuf(n: number): string;
  sc(): string;
  rc(): string;
  civis(): string;
  cnorm(): string;
}

interface ScreenInternals {
  lines: Line[];
  olines: Line[];
  dattr: number;
  _buf: string;
  fullUnicode: boolean;
  options: { useBCE?: boolean };
  cursor: { artificial?: boolean };
  tput: Tput;
  program: { cursorHidden: boolean; _write(s: string): unknown };
  _reduceColor(c: number): number;
  draw(start: number, end: number): void;
  _fdSgr?: Map<number, string>;
  _fdMove?: Map<number, string>;
  _fdDraw?: (start: number, end: number) => void;
}

const unicode = (blessed as unknown as { unicode: { charWidth(s: string, i?: number): number } }).unicode;

// The corner and line characters after which blessed's draw will not place a wide character
// (its private `angles` table): the wide character is drawn as a blank instead.
const ANGLES = new Set(['\u2518', '\u2510', '\u250c', '\u2514', '\u253c', '\u251c', '\u2524', '\u2534', '\u252c', '\u2502', '\u2500']);

/** At most this many cursor movements are remembered (a huge screen starts over). */
const MOVES_KEPT = 20000;

/** The SGR sequence blessed writes to switch to attribute `data` (not the default one). */
function sgr(s: ScreenInternals, data: number): string {
  let out = '\x1b[';
  let bg = data & 0x1ff;
  let fg = (data >> 9) & 0x1ff;
  const flags = data >> 18;
  if (flags & 1) out += '1;';
  if (flags & 2) out += '4;';
  if (flags & 4) out += '5;';
  if (flags & 8) out += '7;';
  if (flags & 16) out += '8;';
  if (bg !== 0x1ff) {
    bg = s._reduceColor(bg);
    if (bg < 16) out += `${bg < 8 ? bg + 40 : bg - 8 + 100};`;
    else out += `48;5;${bg};`;
  }
  if (fg !== 0x1ff) {
    fg = s._reduceColor(fg);
    if (fg < 16) out += `${fg < 8 ? fg + 30 : fg - 8 + 90};`;
    else out += `38;5;${fg};`;
  }
  if (out.endsWith(';')) out = out.slice(0, -1);
  return out + 'm';
}

/** Whether blessed's per-cell special cases are all off for this screen right now. */
function plain(s: ScreenInternals): boolean {
  const t = s.tput;
  return !s.options.useBCE && !s.cursor.artificial && (t.brokenACS || !t.strings.enter_alt_charset_mode) && t.unicode;
}

let drawn = 0;
let partial = 0;
/** How many draws the lean draw did, and in how many lines it compared only the changed cells (tests check both happen). */
export function leanDraws(): { draws: number; partial: number } {
  return { draws: drawn, partial };
}

function leanDraw(s: ScreenInternals, start: number, end: number): void {
  drawn++;
  let main = '';
  if (s._buf) {
    main += s._buf;
    s._buf = '';
  }
  const dattr = s.dattr;
  const tput = s.tput;
  const useCuf = !!tput.strings.parm_right_cursor;
  const wide = s.fullUnicode;
  let cache = s._fdSgr;
  if (!cache) cache = s._fdSgr = new Map();
  // Cursor movements, remembered too: terminfo's compiled cup/cuf build each string anew.
  let moves = s._fdMove;
  if (!moves || moves.size > MOVES_KEPT) moves = s._fdMove = new Map();
  const cup = (row: number, col: number): string => {
    const k = row * 0x10000 + col;
    let m = moves!.get(k);
    if (m === undefined) moves!.set(k, (m = tput.cup(row, col)));
    return m;
  };
  const cuf = (n: number): string => {
    const k = -1 - n;
    let m = moves!.get(k);
    if (m === undefined) moves!.set(k, (m = tput.cuf(n)));
    return m;
  };
  // Where a run of unchanged cells began (kept across lines, as blessed keeps it).
  let lx = -1;
  let ly = -1;
  for (let y = start; y <= end; y++) {
    const line = s.lines[y];
    const o = s.olines[y];
    const n = line.length;
    let x = 0;
    let last = n - 1;
    if (line.dirty) line.dirty = false;
    else if (!line._rp) continue;
    else if (!o._fdWide) {
      partial++;
      x = line._rpLo!;
      last = line._rpHi!;
      // The cells before x are as the terminal has them: blessed would have passed over them.
      if (x > 0 && lx === -1) {
        lx = 0;
        ly = y;
      }
    }
    const whole = x === 0 && last === n - 1;
    line._rp = false;
    let wroteWide = false;
    let out = '';
    let attr = dattr;
    for (; x <= last; x++) {
      const cell = line[x];
      const old = o[x];
      const data = cell[0];
      let ch = cell[1];
      if (data === old[0] && ch === old[1]) {
        if (lx === -1) {
          lx = x;
          ly = y;
        }
        continue;
      }
      if (lx !== -1) {
        out += useCuf && y === ly ? cuf(x - lx) : cup(y, x);
        lx = -1;
        ly = -1;
      }
      old[0] = data;
      old[1] = ch;
      if (data !== attr) {
        if (attr !== dattr) out += '\x1b[m';
        if (data !== dattr) {
          let code = cache.get(data);
          if (code === undefined) cache.set(data, (code = sgr(s, data)));
          out += code;
        }
      }
      // A wide character: the cell after it holds the blank parseContent put there.
      if (wide && ch.charCodeAt(0) >= 0x1100 && unicode.charWidth(ch) === 2) {
        wroteWide = true;
        if (x === n - 1 || ANGLES.has(line[x + 1][1])) {
          ch = ' ';
          old[1] = '\0';
        } else {
          old[1] = '\0';
          o[++x][1] = '\0';
        }
      }
      out += ch;
      attr = data;
    }
    // The cells after the compared ones are as the terminal has them too.
    if (x < n && lx === -1) {
      lx = x;
      ly = y;
    }
    if (whole || wroteWide) o._fdWide = wroteWide;
    if (attr !== dattr) out += '\x1b[m';
    if (out) main += cup(y, 0) + out;
  }
  if (main) {
    let pre = tput.sc();
    let post = tput.rc();
    if (!s.program.cursorHidden) {
      pre += tput.civis();
      post += tput.cnorm();
    }
    s.program._write(pre + main + post);
  }
}

/** Installs the lean draw on `screen` (once); blessed's own draw stays for the cases it alone handles. */
export function useLeanDraw(screen: blessed.Widgets.Screen): void {
  const s = screen as unknown as ScreenInternals;
  if (s._fdDraw) return;
  const blessedDraw = s.draw;
  s._fdDraw = blessedDraw;
  s.draw = function (this: ScreenInternals, start: number, end: number): void {
    if (plain(this)) return leanDraw(this, start, end);
    // blessed's draw knows only `dirty`, and may leave '\0' cells on any line it draws.
    for (const line of this.lines) {
      if (line._rp) {
        line._rp = false;
        line.dirty = true;
      }
    }
    blessedDraw.call(this, start, end);
    for (const o of this.olines) o._fdWide = true;
  };
}

/**
 * Notes that row painting changed cells `lo`..`hi` of `line` (and nothing else wrote them):
 * on a screen with the lean draw only those are compared; elsewhere the line is dirty.
 */
export function markChanged(screen: unknown, line: Line, lo: number, hi: number): void {
  if ((screen as ScreenInternals)._fdDraw === undefined) {
    line.dirty = true;
    return;
  }
  if (line._rp) {
    if (lo < line._rpLo!) line._rpLo = lo;
    if (hi > line._rpHi!) line._rpHi = hi;
  } else {
    line._rp = true;
    line._rpLo = lo;
    line._rpHi = hi;
  }
}
