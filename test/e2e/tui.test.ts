/**
 * The real monitor in a real terminal (tmux): it shows a live run-queue histogram that moves
 * under load, and q / Ctrl-C / SIGTERM each leave a clean terminal with no probe loaded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bpfSkipReason, idMarks, leakedSince, runqlatVariant, spinners } from '../helpers/bpf';
import { haveTmux, TmuxApp } from '../helpers/tmux';

const skip = bpfSkipReason() ?? (haveTmux() ? null : 'tmux not installed');
if (skip) console.log(`# skipping TUI tests: ${skip}`);

test('live: the histogram fills under CPU contention, then q quits cleanly', { skip: skip ?? false }, async () => {
  const marks = idMarks();
  const app = new TmuxApp(['--interval', '500']);
  try {
    await app.waitFor(new RegExp(`runqlat ${runqlatVariant()}`));
    const load = spinners(4, 2500);
    // Contention shows as waits in the milliseconds; sorted by run-queue wait (R), a spinner
    // that waited 100+ ms per second tops the table.
    app.keys('R');
    const s = await app.waitFor(/│ +\d+ +[\d.]+ +[1-9]\d{2,}(\.\d)? .*node -e const end/, 8000);
    assert.match(s, /Run-queue latency/);
    assert.match(s, /\d+-\d+us|ms █/);
    await load.done;
    app.keys('q');
    assert.equal(await app.exitCode(), 0);
    const after = app.screen();
    assert.doesNotMatch(after, /Run-queue latency/, 'the alternate screen is gone');
  } finally {
    app.kill();
  }
  const left = await leakedSince(marks);
  assert.deepEqual(left.progs, [], 'no program left loaded');
  assert.deepEqual(left.links, [], 'no link left attached');
});

for (const [how, act, code] of [
  ['Ctrl-C', (a: TmuxApp) => a.keys('C-c'), 0],
  ['SIGTERM', (a: TmuxApp) => process.kill(a.pid(), 'SIGTERM'), 143],
  ['SIGHUP', (a: TmuxApp) => process.kill(a.pid(), 'SIGHUP'), 129],
] as const) {
  test(`${how} restores the terminal and detaches every probe`, { skip: skip ?? false }, async () => {
    const marks = idMarks();
    const app = new TmuxApp([]);
    try {
      await app.waitFor(new RegExp(`runqlat ${runqlatVariant()}`));
      act(app);
      assert.equal(await app.exitCode(), code);
      assert.doesNotMatch(app.screen(), /Run-queue latency/);
    } finally {
      app.kill();
    }
    const left = await leakedSince(marks);
    assert.deepEqual(left, { progs: [], links: [] });
  });
}
