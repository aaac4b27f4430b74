/**
 * The lean draw (screens/widgets/fastdraw): two screens get the same boxes and the same changes,
 * frame after frame; one draws with blessed's Screen.draw, the other with the lean one. What
 * each writes to the terminal must be the same bytes, and the cells each believes are on the
 * terminal (olines) the same cells.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import blessed from 'blessed';
import { testScreen, TestScreen } from '../helpers/screen';
import { fastAsciiWidth } from '../../screens/ui';
import { leanDraws, useLeanDraw } from '../../screens/widgets/fastdraw';
import { rowPainted, setRows } from '../../screens/widgets/rowpaint';

type Cells = [number, string][][];

/** Collects what the screen's draws write (instead of the fake terminal swallowing it). */
function capture(t: TestScreen): { text: string } {
  const c = { text: '' };
  const program = t.screen.program as unknown as { _write(s: string): unknown };
  program._write = (s: string) => {
    c.text += s;
    return true;
  };
  return c;
}

/** A tiny seeded generator (the same sequence on every run). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

// Pieces of row text: plain ASCII, colours and attributes (16, 256 and RGB colours), the
// characters the panels draw, wide characters (also at a row's end and beside a border), a
// surrogate pair, and a combining mark.
const PIECES = [
  'abc', '  12.5ms ', 'PID COMM', '{red-fg}err{/red-fg}', '{bold}B{/bold}', '{inverse} sel {/inverse}',
  '{green-bg}{black-fg}ok{/black-fg}{/green-bg}', '{#ff8800-fg}orange{/#ff8800-fg}', '{underline}u{/underline}',
  '{blink}!{/blink}', '{light-blue-fg}lb{/light-blue-fg}', '{yellow-bg} {/yellow-bg}', '████▌', '▁▂▃▄▅▆▇█', '─┼│',
  '漢字', '日本', '😀', 'é', '{cyan-fg}漢{/cyan-fg}', '      ', 'x',
];

function rowText(r: () => number, width: number): string {
  let s = '';
  const n = 1 + Math.floor(r() * 8);
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(r() * PIECES.length)];
  // Sometimes exactly as wide as the box (a wide character may land in its last column).
  if (r() < 0.2) s = 'x'.repeat(Math.max(0, width - 3)) + '漢字';
  return s;
}

interface Scene {
  t: TestScreen;
  out: { text: string };
  boxes: blessed.Widgets.BoxElement[];
  painted: blessed.Widgets.BoxElement[]; // row-painted: the lean draw compares only the cells they changed
}

function scene(lean: boolean, cols: number, rows: number): Scene {
  const t = testScreen(cols, rows);
  // As the UI sets it: box characters as Unicode, not the alternate charset.
  (t.screen as unknown as { tput: { brokenACS: boolean } }).tput.brokenACS = true;
  if (lean) useLeanDraw(t.screen);
  const out = capture(t);
  // Top half: blessed's own boxes. Bottom half: three row-painted boxes, drawn middle first (the
  // next ones widen a line's changed range to the left, then to the right), and a box of
  // blessed's on the same lines whose wide characters stay put while the rows beside them change.
  const boxes = [
    blessed.box({ parent: t.screen, top: 0, left: 0, width: '50%', height: '50%', border: { type: 'line' }, tags: true, label: ' one ' }),
    blessed.box({ parent: t.screen, top: 0, left: '50%', width: '50%', height: '50%', border: { type: 'line' }, tags: true, style: { fg: 'white', bg: 'blue' } }),
    blessed.box({ parent: t.screen, top: '50%', left: '75%', width: '25%', height: '50%', tags: true }),
  ];
  const painted = [
    rowPainted(blessed.box({ parent: t.screen, top: '50%', left: '25%', width: '25%', height: '50%', tags: true, wrap: false, border: { type: 'line' } })),
    rowPainted(blessed.box({ parent: t.screen, top: '50%', left: 0, width: '25%', height: '50%', tags: true, wrap: false })),
    rowPainted(blessed.box({ parent: t.screen, top: '50%', left: '50%', width: '25%', height: '50%', tags: true, wrap: false })),
  ];
  return { t, out, boxes, painted };
}

test('the lean draw writes what blessed\'s draw writes, byte for byte, and leaves the same olines', () => {
  fastAsciiWidth(); // as the UI runs (the lean draw must agree with blessed under it too)
  for (const [cols, rows] of [[80, 24], [161, 48], [41, 13]]) {
    const a = scene(false, cols, rows);
    const b = scene(true, cols, rows);
    const r1 = rng(cols * 7 + rows);
    const r2 = rng(cols * 7 + rows);
    const before = leanDraws();
    for (let frame = 0; frame < 60; frame++) {
      for (const [s, r] of [[a, r1], [b, r2]] as const) {
        for (const box of s.boxes) {
          const w = (box.width as number) - 2;
          const lines: string[] = [];
          // Beside the row-painted boxes, a wide character on every fourth row only.
          const beside = box === s.boxes[2];
          for (let i = 0; i < (box.height as number); i++) lines.push(!beside ? rowText(r, w) : i % 4 === 1 ? `{green-fg}漢{/green-fg}${i}` : `plain ${i}`);
          // Every few frames blessed's own boxes change (setContent clears their region,
          // which makes row-painted boxes render in full too); in between only row painting.
          if (frame % 5 === 0 && (frame % 7 === 0 || r() < 0.5)) box.setContent(lines.join('\n'));
        }
        for (const box of s.painted) {
          const w = (box.width as number) - 2;
          const rows: string[] = [];
          // Rows change a little, as at a tick: a number, a run of x; now and then anything
          // (a wide character makes the box render in full, through blessed).
          for (let i = 0; i < (box.height as number); i++) rows.push(frame % 10 === 3 && r() < 0.3 ? rowText(r, w) : `row ${i} {red-fg}${r() < 0.5 ? frame : ''}{/red-fg} ${r() < 0.3 ? 'x'.repeat(frame % w) : ''}`);
          setRows(box, rows);
        }
        if (frame === 20) s.t.screen.program.hideCursor();
        if (frame === 40) s.t.screen.program.showCursor();
        s.out.text = '';
        s.t.screen.render();
      }
      assert.equal(JSON.stringify(b.out.text), JSON.stringify(a.out.text), `${cols}x${rows} frame ${frame}: the bytes written differ`);
      const cellsOf = (t: TestScreen) => (t.screen as unknown as { olines: Cells }).olines.map((l) => l.map((c) => [c[0], c[1]]));
      const oa = cellsOf(a.t);
      const ob = cellsOf(b.t);
      assert.deepEqual(ob, oa, `${cols}x${rows} frame ${frame}: olines differ`);
      assert.ok(a.out.text.length > 0 || frame > 0, 'the first frame writes something');
    }
    const after = leanDraws();
    assert.ok(after.draws - before.draws >= 60, `the lean draw ran (${after.draws - before.draws} times)`);
    assert.ok(after.partial - before.partial >= 40, `lines compared only where row painting changed them (${after.partial - before.partial})`);
    a.t.destroy();
    b.t.destroy();
  }
});

test('one changed cell in the middle of the screen: the lean draw moves the cursor there as blessed does', () => {
  const make = (lean: boolean) => {
    const t = testScreen(40, 12);
    (t.screen as unknown as { tput: { brokenACS: boolean } }).tput.brokenACS = true;
    if (lean) useLeanDraw(t.screen);
    const out = capture(t);
    const box = rowPainted(blessed.box({ parent: t.screen, top: 3, left: 10, width: 20, height: 4, tags: true, wrap: false }));
    return { t, out, box };
  };
  const a = make(false);
  const b = make(true);
  const before = leanDraws();
  for (const rows of [['abc', 'def', 'ghi'], ['abc', 'dXf', 'ghi'], ['abc', 'dXf', 'ghY'], ['{red-fg}abc{/red-fg}', 'dXf', 'ghY']]) {
    for (const s of [a, b]) {
      setRows(s.box, rows);
      s.out.text = '';
      s.t.screen.render();
    }
    assert.equal(JSON.stringify(b.out.text), JSON.stringify(a.out.text), rows.join('|'));
  }
  assert.equal(leanDraws().partial - before.partial, 3, 'the three changes after the first frame were compared as ranges');
  a.t.destroy();
  b.t.destroy();
});

test('the lean draw steps aside where blessed has per-cell work to do (back-colour erase)', () => {
  const a = scene(false, 60, 20);
  const b = scene(true, 60, 20);
  (b.t.screen as unknown as { options: { useBCE: boolean } }).options.useBCE = true;
  (a.t.screen as unknown as { options: { useBCE: boolean } }).options.useBCE = true;
  const before = leanDraws();
  for (const s of [a, b]) {
    s.boxes[2].setContent('{red-bg}' + ' '.repeat(30) + '{/red-bg}\nabc');
    s.t.screen.render();
  }
  assert.equal(leanDraws().draws, before.draws, 'blessed\'s draw ran');
  assert.equal(b.out.text, a.out.text);
  a.t.destroy();
  b.t.destroy();
});
