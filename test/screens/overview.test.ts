/**
 * The overview rendered from a fixture Snapshot into an off-screen terminal, read back as text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testScreen } from '../helpers/screen';
import blessed from 'blessed';
import { Ui, fastAsciiWidth } from '../../screens/ui';
import { buildSnapshot } from '../../src/model/snapshot';
import { SAMPLE_A, SAMPLE_B } from '../fixtures/samples';
import type { Sample } from '../../src/model/sample';

const host = { hostname: 'testhost', kernel: '6.18.0-test', arch: 'x64' };

function render(cols: number, rows: number, sample = SAMPLE_B, prev: Sample = SAMPLE_A, color = true) {
  const t = testScreen(cols, rows);
  let quit = 0;
  const ui = new Ui({ host, intervalMs: 1000, color, screen: t.screen, onQuit: () => quit++, loadInfo: () => [], log: () => [] });
  ui.update(buildSnapshot(sample, prev));
  return { t, ui, text: t.text(), quits: () => quit };
}

for (const [cols, rows] of [[80, 24], [160, 48]] as const) {
  test(`overview at ${cols}x${rows}: header, histogram bars with labels and counts, percentiles`, () => {
    const { t, text } = render(cols, rows);
    try {
      const all = text.join('\n');
      assert.equal(text.length, rows);
      assert.ok(text.every((l) => l.length === cols), 'every row is exactly the terminal width');
      assert.match(text[0], /probetop\s+testhost/);
      assert.match(text[0], /load 0\.60 0\.40 0\.30/);
      assert.match(text[1], /runqlat tp_btf/);
      assert.match(all, /Run-queue latency/);
      // Buckets with their counts, on one row each.
      assert.match(all, /4-8us █+\s+600│/);
      assert.match(all, /64-128us █+.*\s300│/);
      assert.match(all, /1\.02-2\.05ms █+.*\s90│/);
      assert.match(all, /8\.19-16\.4ms .*\s10│/);
      // Percentiles: p50 inside [4,8) µs, p90 at the end of [64,128) µs, p99 at the end of [1.02,2.05) ms.
      // The percentile line keeps p50 and p99 even in a narrow panel; wide ones show p90 too.
      assert.match(all, /p50 7\.3us .*p99 2\.05ms/);
      assert.match(all, /1000\/s|1\.0K\/s/);
      // The process table, busiest CPU first, with run-queue waits merged in; a hostile name is shown inert.
      const i1 = all.indexOf('stress-ng');
      const i2 = all.indexOf(' evil');
      assert.ok(i1 > 0 && i2 > i1, 'stress-ng (90%) listed before evil (10%)');
      assert.match(all, /4242 .* 90 +250 .*stress-ng --cpu/);
      assert.match(all, /77 .* 10 +50 /);
      assert.ok(!all.includes('\x1b'), 'no escape character reaches the screen');
      assert.match(all, /CPU%▼/);
      assert.match(text[rows - 1], /q quit/);
    } finally {
      t.destroy();
    }
  });
}

test('resizing redraws for the new size; a terminal too small says so, then recovers', () => {
  const { t } = render(80, 24);
  try {
    t.output.resize(40, 10);
    t.screen.render();
    let text = t.text();
    assert.match(text.join('\n'), /terminal too small: 40x10/);
    t.output.resize(120, 30);
    t.screen.render();
    text = t.text();
    assert.equal(text[0].length, 120);
    assert.match(text.join('\n'), /Run-queue latency/);
    assert.doesNotMatch(text.join('\n'), /too small/);
  } finally {
    t.destroy();
  }
});

test('keys: ? shows help, d the probe status, Esc returns, q quits', async () => {
  const { t, quits } = render(80, 24);
  const wait = () => new Promise((r) => setTimeout(r, 20));
  try {
    t.type('?');
    await wait();
    assert.match(t.text().join('\n'), /probetop — keys/);
    t.type('\x1b');
    await wait();
    await wait();
    assert.match(t.text().join('\n'), /Run-queue latency/);
    t.type('d');
    await wait();
    assert.match(t.text().join('\n'), /libbpf log/);
    t.type('q');
    await wait();
    assert.equal(quits(), 0, 'q on a sub-view goes back');
    assert.match(t.text().join('\n'), /Run-queue latency/);
    t.type('q');
    await wait();
    assert.equal(quits(), 1);
  } finally {
    t.destroy();
  }
});

test('without colour no colour escapes are produced in the content', () => {
  const { t, ui } = render(80, 24, SAMPLE_B, SAMPLE_A, false);
  try {
    assert.match(t.text().join('\n'), /Run-queue latency/);
    assert.ok(ui);
  } finally {
    t.destroy();
  }
});

test('an unavailable probe shows its reason in the panel', () => {
  const un = (s: Sample): Sample => ({ ...s, probes: { runqlat: { status: 'unavailable', reason: 'rejected by the BPF verifier (Permission denied)' } } });
  const { t, text } = render(80, 24, un(SAMPLE_B), un(SAMPLE_A));
  try {
    assert.match(text.join('\n'), /unavailable: rejected by the BPF/);
    assert.match(text[1], /runqlat unavailable/);
  } finally {
    t.destroy();
  }
});

test('H shows the run-queue heatmap over time: slow buckets on top, a time axis, shade by share', async () => {
  const t = testScreen(160, 48);
  try {
    const ui = new Ui({ host, intervalMs: 1000, color: true, screen: t.screen, onQuit: () => {}, loadInfo: () => [], log: () => [] });
    // 120 ticks: the first 60 quiet, the last 60 with the fixture's latencies.
    for (let i = 0; i < 120; i++) ui.update(buildSnapshot(i < 60 ? SAMPLE_A : SAMPLE_B, SAMPLE_A));
    t.type('H');
    await new Promise((r) => setTimeout(r, 20));
    const text = t.text();
    const all = text.join('\n');
    assert.match(all, /Run-queue latency — heatmap/);
    assert.match(all, /-2m\s+now│/);
    const row = (label: string) => text.find((l) => l.includes(` ${label} `)) ?? '';
    // 600 of 1000 events in 4-8us: the darkest shade; 10 in 8.19-16.4ms: the lightest, but shown.
    assert.match(row('8.19-16.4ms'), /░/);
    assert.ok(text.findIndex((l) => l.includes('8.19-16.4ms')) < text.findIndex((l) => l.includes('64-128us')), 'slow buckets on top');
    // The quiet first minute is blank on the left, the busy one shaded on the right.
    const r = row('64-128us');
    assert.ok(r.lastIndexOf(' ░') < 0 || r.indexOf('▒') > 50, r);
    t.type('H');
    await new Promise((r2) => setTimeout(r2, 20));
    assert.doesNotMatch(t.text().join('\n'), /latency — heatmap/);
  } finally {
    t.destroy();
  }
});

test('the ASCII fast path of blessed charWidth answers as blessed does, for ASCII and beyond', () => {
  type Width = (s: string | number, i?: number) => number;
  const u = (blessed as unknown as { unicode: { charWidth: Width & { general?: Width } } }).unicode;
  const general = u.charWidth.general ?? u.charWidth; // other tests may have installed it already
  const samples = ['a', ' ', '~', '\t', '\x00', '\x1b', '\x7f', 'é', '\u0301', '│', '…', '█', '漢', '\uff21', '😀', 'x😀', ''];
  const before = samples.map((s) => general(s));
  const codes = Array.from({ length: 0x3100 }, (_, c) => general(c));
  fastAsciiWidth();
  fastAsciiWidth(); // idempotent: installed once
  assert.notEqual(u.charWidth, general, 'installed');
  assert.equal(u.charWidth.general, general);
  assert.deepEqual(samples.map((s) => u.charWidth(s)), before);
  assert.deepEqual(Array.from({ length: 0x3100 }, (_, c) => u.charWidth(c)), codes);
  assert.equal(u.charWidth('x😀', 1), general('x😀', 1));
  // Every code point of the Basic Multilingual Plane, as a number and in a string, asked twice
  // (the second answer comes from what was remembered), and surrogate pairs.
  const bmp = Array.from({ length: 0x10000 }, (_, c) => general(c));
  for (let round = 0; round < 2; round++) {
    for (let c = 0; c < 0x10000; c++) if (u.charWidth(c) !== bmp[c]) assert.fail(`U+${c.toString(16)}: ${u.charWidth(c)}, blessed ${bmp[c]}, round ${round}`);
    for (let c = 0; c < 0x10000; c++) {
      const str = `a${String.fromCharCode(c)}b`;
      if (u.charWidth(str, 1) !== general(str, 1)) assert.fail(`U+${c.toString(16)} in a string, round ${round}`);
    }
  }
  for (const pair of ['😀', '\ud83d\ude00x', '\ud840\udc00']) assert.equal(u.charWidth(pair, 0), general(pair, 0), pair);
});
