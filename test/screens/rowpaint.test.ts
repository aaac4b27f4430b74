/**
 * Row painting (screens/widgets/rowpaint): a box redraws only its changed rows, and the screen
 * it leaves — the cells, and what reached the terminal — is the one blessed's own render would
 * leave. Each test drives two screens the same way; on the reference one every render is a full
 * blessed render (invalidate() before each), and the two are compared cell by cell, attributes
 * included, after every render.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import blessed from 'blessed';
import { testScreen, TestScreen } from '../helpers/screen';
import { Ui } from '../../screens/ui';
import { fastAsciiWidth } from '../../screens/ui';
import { fixtureSnapshots } from '../helpers/fixture';
import { invalidate, rowPainted, setRows } from '../../screens/widgets/rowpaint';
import { useLeanDraw } from '../../screens/widgets/fastdraw';
import type { KeyAction } from '../../screens/keymap';


type Cells = [number, string][][];
const cells = (t: TestScreen, which: 'lines' | 'olines' = 'lines'): Cells => (t.screen as unknown as Record<string, Cells>)[which];

/** Every cell of `a` equals `b`'s (attribute and character); the first difference otherwise. */
function assertSameCells(a: TestScreen, b: TestScreen, what: string, skipRow = -1): void {
  for (const which of ['lines', 'olines'] as const) {
    const la = cells(a, which);
    const lb = cells(b, which);
    assert.equal(la.length, lb.length, `${what}: ${which} rows`);
    for (let y = 0; y < la.length; y++) {
      if (y === skipRow) continue;
      for (let x = 0; x < la[y].length; x++) {
        const ca = la[y][x];
        const cb = lb[y][x];
        if (ca[0] !== cb[0] || ca[1] !== cb[1]) {
          const row = (l: Cells) => l[y].map((c) => c[1]).join('');
          assert.fail(`${what}: ${which} differ at row ${y} column ${x}: ${JSON.stringify(ca)} vs blessed ${JSON.stringify(cb)}\n  row painted: ${row(la)}\n  blessed:     ${row(lb)}`);
        }
      }
    }
  }
}

/** A reference screen: every render goes through blessed's own Element.render. */
function referenceScreen(cols: number, rows: number): TestScreen {
  const t = testScreen(cols, rows);
  t.screen.on('prerender', () => invalidate(t.screen));
  return t;
}

/** Counts calls of _parseTags on a box (a row-painted box parses only the rows it repaints). */
function countParses(box: blessed.Widgets.BoxElement): { n: number } {
  const c = { n: 0 };
  const el = box as unknown as { _parseTags(s: string): string };
  const orig = el._parseTags;
  el._parseTags = function (this: unknown, s: string) {
    c.n++;
    return orig.call(this, s);
  };
  return c;
}

test('a recording through every view: the row-painted screen is blessed\'s, cell for cell, after each tick and key', () => {
  fastAsciiWidth();
  const { host, intervalMs, snaps: once } = fixtureSnapshots();
  assert.ok(once.length >= 3, `${once.length} snapshots in the fixture`);
  const snaps = Array.from({ length: 6 }, () => once).flat(); // the recording played 6 times
  for (const [cols, rows] of [[160, 48], [80, 24]]) {
    const a = testScreen(cols, rows);
    const b = referenceScreen(cols, rows);
    const mk = (t: TestScreen) => new Ui({ host, intervalMs, color: true, screen: t.screen, onQuit: () => {}, loadInfo: () => [], log: () => [] });
    const ua = mk(a);
    const ub = mk(b);
    try {
      // Keys between ticks: panel focus (labels, border colours), heatmap, feed, sorting, the
      // drill-down, help and probe views with scrolling, and back.
      const keys: KeyAction[][] = [[], ['nextPanel'], ['heatmap'], ['feed'], ['feed', 'sortPid'], ['down', 'down'], ['enter'], ['scrollDown', 'scrollDown'], ['back'], ['help'], ['scrollDown'], ['close'], ['probes'], ['close'], ['nextPanel', 'nextPanel', 'nextPanel'], ['tree'], []];
      let tick = 0;
      for (const s of snaps) {
        for (const u of [ua, ub]) u.update(s);
        assertSameCells(a, b, `${cols}x${rows} tick ${tick}`);
        for (const k of keys[tick % keys.length]) {
          ua.run(k);
          ub.run(k);
          assertSameCells(a, b, `${cols}x${rows} tick ${tick} after ${k}`);
        }
        tick++;
      }
      // A resize reallocates the screen: everything is drawn again.
      a.output.resize(cols - 7, rows - 3);
      b.output.resize(cols - 7, rows - 3);
      for (const u of [ua, ub]) u.update(snaps[snaps.length - 1]);
      assertSameCells(a, b, `${cols}x${rows} after a resize`);
    } finally {
      a.destroy();
      b.destroy();
    }
  }
});

// Pieces of rows: plain text, tags (balanced within the row), escaped braces, the block and
// box-drawing characters the panels use; rarely a wide character, a tab, a combining accent,
// characters outside the Basic Multilingual Plane (all of these go to blessed's render).
const PIECES = ['cpu ', '12.5%', ' ', '{bold}p99{/bold}', '{red-fg}hot{/red-fg}', '{yellow-fg}{bold}x{/bold}{/yellow-fg}', '{open}a{close}', '▁▂▃▅▇█', '│', '…', '→', 'µs', '{inverse} sel {/inverse}', '{blue-bg}{white-fg}bar{/white-fg}{/blue-bg}', 'x'.repeat(30)];
const RARE = ['漢字', '\t', 'e\u0301', '😀', '\u{1d400}'];

function randomRow(rnd: () => number, rare: boolean): string {
  let s = '';
  const n = Math.floor(rnd() * 8);
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(rnd() * PIECES.length)];
  if (rare && rnd() < 0.1) s += RARE[Math.floor(rnd() * RARE.length)];
  return s;
}

/** `row` with one character outside its tags replaced (the row itself when it has none). */
function nudge(row: string, rnd: () => number): string {
  const at: number[] = [];
  let inTag = false;
  for (let i = 0; i < row.length; i++) {
    if (row[i] === '{') inTag = true;
    else if (row[i] === '}') inTag = false;
    else if (!inTag && /[a-z0-9 ]/.test(row[i])) at.push(i);
  }
  if (at.length === 0) return row;
  const i = at[Math.floor(rnd() * at.length)];
  return row.slice(0, i) + 'az09 '[Math.floor(rnd() * 5)] + row.slice(i + 1);
}

test('random rows, frames that change some of them: the same cells as blessed; unchanged rows are not parsed again', () => {
  fastAsciiWidth();
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  // Also with the lean draw on the row-painted screen (it compares only the cells row painting
  // changed): what it leaves as drawn (olines) must still be blessed's.
  for (const [rare, lean] of [[false, false], [true, false], [false, true], [true, true]]) {
    const a = testScreen(60, 20);
    if (lean) useLeanDraw(a.screen);
    const b = referenceScreen(60, 20);
    const mk = (t: TestScreen) => ({
      // Drawn before the box (below it), then the box; then one drawn over it.
      under: blessed.box({ parent: t.screen, tags: true, top: 3, left: 0, width: 20, height: 6, content: 'under', hidden: true }),
      box: rowPainted(blessed.box({ parent: t.screen, tags: true, wrap: false, top: 1, left: 2, width: 40, height: 14, border: { type: 'line' }, label: ' t ', style: { fg: 'green' } } as blessed.Widgets.BoxOptions)),
      other: blessed.box({ parent: t.screen, tags: true, top: 5, left: 30, width: 20, height: 5, content: 'over', hidden: true }),
    });
    const A = mk(a);
    const B = mk(b);
    const parses = countParses(A.box);
    let rows = Array.from({ length: 14 }, () => randomRow(rnd, rare));
    let shown: string[] = [];
    for (let frame = 0; frame < 300; frame++) {
      rows = rows.slice(0, 10 + Math.floor(rnd() * 6)); // sometimes fewer rows than the box
      while (rows.length < 12) rows.push(randomRow(rnd, rare));
      for (let i = Math.floor(rnd() * 4); i > 0; i--) rows[Math.floor(rnd() * rows.length)] = randomRow(rnd, rare);
      // Rows that change a little, as most do between ticks: one character outside the tags
      // (a row painted again from its first difference, and in a row without tags, to its last),
      // or a table-like row of fixed width whose number moves.
      for (let i = Math.floor(rnd() * 4); i > 0; i--) {
        const k = Math.floor(rnd() * rows.length);
        rows[k] = rnd() < 0.5 ? nudge(rows[k], rnd) : `pid ${String(Math.floor(rnd() * 3000)).padStart(5)} cpu ${(rnd() * 3).toFixed(1)} ${'x'.repeat(Math.floor(rnd() * 3))}`.padEnd(36);
      }
      const changed = Array.from({ length: 12 }, (_, r) => (rows[r] ?? '') !== (shown[r] ?? '')).filter(Boolean).length;
      shown = [...rows];
      // Now and then another element covers part of the box, or stops covering it, or one
      // below the box is shown (the box must then be drawn over it again).
      const toggle = frame % 37 === 5 || frame % 41 === 7;
      for (const X of [A, B]) {
        setRows(X.box, [...rows]);
        if (frame % 37 === 5) X.other.hidden ? X.other.show() : X.other.hide();
        if (frame % 41 === 7) X.under.hidden ? X.under.show() : X.under.hide();
      }
      const before = parses.n;
      a.screen.render();
      b.screen.render();
      assertSameCells(a, b, `rare=${rare} lean=${lean} frame ${frame}`);
      if (!rare && !toggle && frame > 0 && A.under.hidden) {
        // Only rows with tags are parsed at all; at most the changed ones (and a row whose
        // starting attribute changed, which cannot happen with balanced tags). While the element
        // below overlaps the box, every render is a full one.
        assert.ok(parses.n - before <= changed, `frame ${frame}: ${parses.n - before} rows parsed, ${changed} changed`);
      }
    }
    a.destroy();
    b.destroy();
  }
});

test('every one-column character of the Basic Multilingual Plane is drawn as blessed draws it', () => {
  fastAsciiWidth();
  const a = testScreen(80, 6);
  const b = referenceScreen(80, 6);
  const A = rowPainted(blessed.box({ parent: a.screen, tags: true, wrap: false, top: 0, left: 0, width: 66, height: 3 } as blessed.Widgets.BoxOptions));
  const B = rowPainted(blessed.box({ parent: b.screen, tags: true, wrap: false, top: 0, left: 0, width: 66, height: 3 } as blessed.Widgets.BoxOptions));
  const u = (blessed as unknown as { unicode: { charWidth(c: number): number } }).unicode;
  let row = '';
  let checked = 0;
  const flush = () => {
    for (const [box, t] of [[A, a], [B, b]] as const) {
      setRows(box, ['{bold}>{/bold}' + row, row]);
      t.screen.render();
    }
    assertSameCells(a, b, `characters ${JSON.stringify(row)}`);
    row = '';
  };
  for (let c = 0x20; c <= 0xffff; c++) {
    if ((c >= 0xd800 && c <= 0xdfff) || c === 0x7b || c === 0x7d || u.charWidth(c) !== 1) continue;
    row += String.fromCharCode(c);
    checked++;
    if (row.length === 64) flush();
  }
  if (row) flush();
  assert.ok(checked > 15000, `${checked} characters`); // blessed: 20,442 (CJK and others are two wide)
  a.destroy();
  b.destroy();
});

test('the process count in the table\'s label changes in place: blessed\'s cells, and no full render of the table', () => {
  fastAsciiWidth();
  const { host, intervalMs, snaps } = fixtureSnapshots();
  const base = snaps[snaps.length - 1];
  const n = base.procs.length;
  assert.ok(n >= 12, `${n} processes in the fixture's last snapshot`);
  // Processes come and go: the count's width changes by a digit at most, as most ticks would.
  const counts = [n, n - 1, n - 1, n - 3, n, n - 2, n - 10, n - 11, n - 2];
  const frames = counts.map((c, i) => ({ ...base, ts: base.ts + i * intervalMs, procs: base.procs.slice(0, c) }));
  const a = testScreen(160, 48);
  const b = referenceScreen(160, 48);
  const mk = (t: TestScreen) => new Ui({ host, intervalMs, color: true, screen: t.screen, onQuit: () => {}, loadInfo: () => [], log: () => [] });
  const ua = mk(a);
  const ub = mk(b);
  // blessed's own render of a box parses its whole content; a row-painted render does not.
  let fullTable = 0;
  const spy = () => {
    const box = a.screen.children.find((c) => /processes/.test((c as unknown as { _label?: { content: string } })._label?.content ?? '')) as unknown as { parseContent(...x: unknown[]): unknown };
    const orig = box.parseContent;
    box.parseContent = function (this: unknown, ...x: unknown[]) {
      fullTable++;
      return orig.apply(this, x);
    };
  };
  try {
    let shown = -1; // the width of the label drawn
    let inPlace = 0;
    for (let i = 0; i < frames.length; i++) {
      const before = fullTable;
      // The reference sets every label anew (blessed's setLabel, no padding).
      for (const c of b.screen.children) delete (c as unknown as { _ptLabelShown?: string })._ptLabelShown;
      for (const u of [ua, ub]) u.update(frames[i]);
      const row = (t: TestScreen) => t.text().findIndex((l) => /─ \d+ processes/.test(l));
      const y = row(a);
      assert.equal(y, row(b));
      const count = (t: TestScreen) => /─ (\d+) processes ( *)─/.exec(t.text()[y])!;
      const [ca, cb] = [count(a), count(b)];
      assert.equal(ca[1], cb[1], `frame ${i}: the count shown`);
      assert.equal(cb[2], '', 'the reference is not padded');
      // Every other row is the same cells as blessed's.
      assertSameCells(a, b, `frame ${i} (${ca[1]} processes)`, y);
      // A label as wide as the one drawn or up to two cells narrower is written over it.
      const width = ` ${ca[1]} processes `.length;
      const full = fullTable - before;
      if (i === 0) spy();
      else if (width <= shown && shown - width <= 2) {
        assert.equal(full, 0, `frame ${i}: the table rendered in full`);
        inPlace++;
      } else assert.ok(full > 0, `frame ${i}: a new label, wider or much narrower, draws the box in full`);
      if (!(i > 0 && width <= shown && shown - width <= 2)) shown = width;
    }
    assert.ok(inPlace >= 5, `${inPlace} labels written in place`);
  } finally {
    a.destroy();
    b.destroy();
  }
});
