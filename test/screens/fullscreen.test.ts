/**
 * The whole overview from a real recording (test/fixtures/workload.jsonl.gz: a few seconds of CPU
 * contention, direct I/O, page-cache reads, sleeping and short-lived processes, recorded on the
 * project's CI-kind machine) at 80x24 and 200x60: every panel is there and shows the snapshot's
 * own numbers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testScreen } from '../helpers/screen';
import { Ui } from '../../screens/ui';
import { fixtureSnapshots } from '../helpers/fixture';
import { formatRate } from '../../screens/widgets/text';

function render(cols: number, rows: number) {
  const { host, intervalMs, snaps } = fixtureSnapshots();
  const t = testScreen(cols, rows);
  const ui = new Ui({ host, intervalMs, color: true, screen: t.screen, onQuit: () => {}, loadInfo: () => [], log: () => [] });
  for (const s of snaps) ui.update(s);
  return { t, ui, snap: snaps[snaps.length - 1], text: t.text().join('\n'), lines: t.text() };
}

test('200x60: all five panels side by side with the snapshot\'s numbers, and a full process table', () => {
  const { t, snap, text, lines } = render(200, 60);
  try {
    assert.ok(lines.every((l) => l.length === 200));
    for (const title of ['Run-queue latency', 'Off-CPU time', 'Block I/O latency', 'Short-lived processes', 'Page cache']) assert.match(text, new RegExp(title), title);
    assert.equal(snap.runqlat.status, 'ok');
    if (snap.runqlat.status === 'ok') assert.ok(text.includes(`${formatRate(snap.runqlat.data.stats.perSec)}/s`), 'run-queue events/s');
    if (snap.biolatency.status === 'ok') assert.match(text, new RegExp(`${Math.round(snap.biolatency.data.total.iops)} IOPS`));
    if (snap.procevents.status === 'ok') assert.match(text, new RegExp(`exec ${formatRate(snap.procevents.data.execPerSec)}/s`));
    if (snap.offcputime.status === 'ok') assert.match(text, /blocked [\d.]+K?ms\/s/);
    if (snap.cachestat.status === 'ok') assert.match(text, /HIT +[\d.-]+%?/);
    // The process table fills the rest, sorted by CPU.
    const rowsShown = lines.filter((l) => /^│ +\d+ /.test(l)).length;
    assert.ok(rowsShown >= 20, `${rowsShown} process rows`);
    assert.match(text, /\d+ processes/);
  } finally {
    t.destroy();
  }
});

test('80x24: the panels that fit are readable, the rest one Tab away; the table still shows rows', () => {
  const { t, ui, text, lines } = render(80, 24);
  try {
    assert.ok(lines.every((l) => l.length === 80));
    assert.match(text, /Run-queue latency/);
    assert.match(text, /p50 /);
    assert.ok(lines.filter((l) => /^│ +\d+ /.test(l)).length >= 3, 'process rows');
    // Tab to the last panel scrolls the panel window to it.
    for (let i = 0; i < 5; i++) ui.run('nextPanel');
    assert.match(t.text().join('\n'), /Page cache \[H\]/);
  } finally {
    t.destroy();
  }
});
