/**
 * Text helpers of the screens (screens/widgets/text): escaping system strings and fitting them
 * to a column; and the process table's header, which fits titles to their columns.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cell, escapeText, visibleLength } from '../../screens/widgets/text';
import { COLUMNS, procTableLines } from '../../screens/proctable';

test('escapeText: controls, DEL, C1, braces, replacement characters and lone surrogates are made safe; the rest stays', () => {
  assert.equal(escapeText('plain text 1/2 | ~'), 'plain text 1/2 | ~');
  assert.equal(escapeText('a\x1b[31mb'), 'a^[[31mb');
  assert.equal(escapeText('tab\there\x7f\x85'), 'tab?here??');
  assert.equal(escapeText('{red-fg}x{/red-fg}'), '{open}red-fg{close}x{open}/red-fg{close}');
  assert.equal(escapeText('bad \ufffd byte \udc80'), 'bad ? byte ?');
  // Characters outside the Basic Multilingual Plane are one code point: kept whole.
  assert.equal(escapeText('emoji 😀 é 漢字 \u00a0'), 'emoji 😀 é 漢字 \u00a0');
  assert.equal(escapeText('lone \ud83d high'), 'lone ? high');
  // Capped: the first `max` code units, then an ellipsis.
  assert.equal(escapeText('abcdef{', 4), 'abcd…');
  assert.equal(escapeText('x'.repeat(600)), 'x'.repeat(512) + '…');
});

test('cell: exactly n columns, cut at the edge; plain text is cut as text that needs escaping is', () => {
  for (let n = 0; n <= 12; n++) {
    for (let len = 0; len <= 24; len++) {
      const raw = 'abcdefghijklmnopqrstuvwxyz'.slice(0, len);
      for (const right of [false, true]) {
        const got = cell(raw, n, right);
        assert.equal(visibleLength(got), n, `cell(${JSON.stringify(raw)}, ${n}, ${right})`);
        if (len <= n) {
          assert.equal(got, right ? raw.padStart(n) : raw.padEnd(n));
        } else {
          // A control character past the cut takes the general path (escape, then cut): the
          // visible result must be the same.
          assert.equal(got, cell(raw + '\x01', n, right), `cell(${JSON.stringify(raw)}, ${n}, ${right}) against the escaping path`);
          assert.equal(got, raw.slice(0, n));
        }
      }
    }
  }
  // Escapes are never split by the cut, and {open} counts as one column.
  assert.equal(cell('ab{cd}ef', 4), 'ab{open}c');
  assert.equal(cell('ab{cd}ef', 3), 'ab{open}');
  assert.equal(cell('a\x1bbcdef', 3), 'a^[');
});

test('process table header: the sorted column shows its arrow, whichever column it is (also where title and arrow are wider than the column)', () => {
  for (const col of COLUMNS) {
    for (const descending of [true, false]) {
      const [head] = procTableLines([], { column: col.id, descending }, 0, { width: 400, height: 5, color: false });
      const arrow = descending ? '▼' : '▲';
      assert.equal([...head].filter((c) => c === '▼' || c === '▲').join(''), arrow, `sorted by ${col.id}: ${head.trimEnd()}`);
      assert.equal(head.length, 400, 'the header fills the width');
    }
  }
});
