/**
 * mapWindow (screens/widgets/memo): mapping a sliding window of the history, reading only the
 * snapshots that were not in the previous window.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapWindow, windowMemo } from '../../screens/widgets/memo';

interface Item {
  v: number;
}

test('mapWindow: a window sliding by one maps only the newest item', () => {
  const history: Item[] = [];
  const memo = windowMemo<Item, number>();
  let calls = 0;
  const f = (a: Item) => (calls++, a.v * 2);
  for (let t = 0; t < 100; t++) {
    history.push({ v: t });
    calls = 0;
    const out = mapWindow(memo, history.slice(-37), f);
    assert.deepEqual(out, history.slice(-37).map((a) => a.v * 2));
    assert.equal(calls, 1, `tick ${t}: ${calls} items mapped`);
  }
});

test('mapWindow: equals items.map(f) over random slides, replacements, shrinks and jumps', () => {
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  const history: Item[] = [];
  const memo = windowMemo<Item, number>();
  for (let t = 0; t < 3000; t++) {
    const op = rnd(10);
    if (op < 5 || history.length < 3) history.push({ v: t });
    else if (op < 7) history[rnd(history.length)] = { v: -t }; // a snapshot replaced by a slimmer copy
    else if (op < 8) history.splice(0, rnd(history.length)); // trimmed
    else if (op < 9) history.reverse(); // order changed: every reuse would be wrong
    const want = 1 + rnd(60);
    const items = rnd(4) === 0 ? history.slice(0, want) : history.slice(-want);
    let calls = 0;
    const out = mapWindow(memo, items, (a) => (calls++, a.v * 3 + 1));
    assert.deepEqual(out, items.map((a) => a.v * 3 + 1), `step ${t}`);
    assert.ok(calls <= items.length);
  }
});

test('mapWindow: items that reappear after a replacement are not confused with their neighbours', () => {
  const a = { v: 1 };
  const b = { v: 2 };
  const c = { v: 3 };
  const memo = windowMemo<Item, number>();
  assert.deepEqual(mapWindow(memo, [a, b, c], (x) => x.v), [1, 2, 3]);
  const b2 = { v: 20 };
  assert.deepEqual(mapWindow(memo, [a, b2, c], (x) => x.v), [1, 20, 3]);
  assert.deepEqual(mapWindow(memo, [b2, c], (x) => x.v), [20, 3]);
  assert.deepEqual(mapWindow(memo, [c, b2], (x) => x.v), [3, 20]);
  assert.deepEqual(mapWindow(memo, [], (x) => x.v), []);
  assert.deepEqual(mapWindow(memo, [a], (x) => x.v), [1]);
});
