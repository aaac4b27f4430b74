/**
 * The app driven off-screen with key sequences, as a user's hands would: selection, sorting,
 * filtering, tree, drill-down and back, help listing every key of the mode.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testScreen } from '../helpers/screen';
import { Ui } from '../../screens/ui';
import { KEYMAP } from '../../screens/keymap';
import { buildSnapshot } from '../../src/model/snapshot';
import { SAMPLE_A, SAMPLE_B } from '../fixtures/samples';

const host = { hostname: 'testhost', kernel: '6.18.0-test', arch: 'x64' };
const tick = () => new Promise((r) => setTimeout(r, 15));
const KEYS = { up: '\x1b[A', down: '\x1b[B', enter: '\r', esc: '\x1b', home: '\x1b[H', end: '\x1b[F' };

function start(cols = 120, rows = 40) {
  const t = testScreen(cols, rows);
  const killed: [number, string][] = [];
  const ui = new Ui({
    host, intervalMs: 1000, color: false, screen: t.screen, onQuit: () => {}, loadInfo: () => [], log: () => [],
    kill: (pid, sig) => {
      killed.push([pid, sig]);
      return null;
    },
  });
  ui.update(buildSnapshot(SAMPLE_B, SAMPLE_A));
  const table = () => t.text().filter((l) => /^│ +\d+ /.test(l)).map((l) => Number(/^│ +(\d+)/.exec(l)![1]));
  const type = async (...keys: string[]) => {
    for (const k of keys) {
      t.type(k);
      await tick();
      // blessed waits for more bytes after a lone ESC before calling it a key
      if (k === '\x1b') await new Promise((r) => setTimeout(r, 80));
    }
  };
  return { t, ui, table, type, killed };
}

test('sorting: P by CPU (default), N by pid, r reverses, R by run-queue wait; the header shows it', async () => {
  const { t, table, type } = start();
  try {
    assert.deepEqual(table(), [4242, 77, 1]);
    await type('N');
    assert.deepEqual(table(), [1, 77, 4242]);
    assert.match(t.text().join('\n'), /PID▲/);
    await type('r');
    assert.deepEqual(table(), [4242, 77, 1]);
    assert.match(t.text().join('\n'), /PID▼/);
    await type('R');
    assert.match(t.text().join('\n'), /RUNQ ms\/s▼/);
    assert.deepEqual(table(), [4242, 77, 1]);
    await type('<', '<');
    assert.match(t.text().join('\n'), /USER▼|PPID▼/);
  } finally {
    t.destroy();
  }
});

test('filter: / narrows the rows, the count shows shown vs total, ~ takes a regex, Esc clears', async () => {
  const { t, table, type } = start();
  try {
    await type('/', ...'stress', KEYS.enter);
    assert.deepEqual(table(), [4242]);
    assert.match(t.text().join('\n'), /1 of 3 processes matching "stress"/);
    await type('/');
    // The prompt starts with the current filter: clear it and type a regex.
    await type(...Array(10).fill('\x7f'), ...'~^(init|evil)', KEYS.enter);
    assert.deepEqual(table().sort((a, b) => a - b), [1, 77]);
    await type('/', ...Array(20).fill('\x7f'), ...'4242', KEYS.enter);
    assert.deepEqual(table(), [4242], 'a pid matches');
    // Ctrl-U empties the prompt's line, as in a shell.
    await type('/', '\x15', ...'init', KEYS.enter);
    assert.deepEqual(table(), [1], 'Ctrl-U cleared "4242" before "init" was typed');
    assert.match(t.text().join('\n'), /1 of 3 processes matching "init"/);
    await type(KEYS.esc);
    assert.deepEqual(table(), [4242, 77, 1]);
  } finally {
    t.destroy();
  }
});

test('Enter opens the selected process; Esc returns with the same selection', async () => {
  const { t, ui, type } = start();
  try {
    await type(KEYS.down, KEYS.down);
    assert.equal(ui.table.selectedPid, 77);
    await type(KEYS.enter);
    const screen = t.text().join('\n');
    assert.match(screen, /PID 77 /);
    assert.match(screen, /Run-queue latency of this process/);
    assert.match(screen, /waiting 50\.0 ms\/s/);
    assert.match(screen, /parents: 77 evil.*← 1 init/);
    await type(KEYS.esc);
    assert.equal(ui.mode, 'overview');
    assert.equal(ui.table.selectedPid, 77);
    // The selected row is drawn inverse: find it by its pid in the text and check the attribute.
    const y = t.text().findIndex((l) => /^│ +77 /.test(l));
    const lines = (t.screen as unknown as { lines: [number, string][][] }).lines;
    assert.ok(((lines[y][3][0] >> 18) & 8) !== 0, 'the selected row is inverse');
  } finally {
    t.destroy();
  }
});

test('? lists every key of the current mode; Esc closes it', async () => {
  const { t, ui, type } = start(120, 60);
  try {
    await type('?');
    const help = t.text().join('\n');
    for (const b of KEYMAP.overview.filter((k) => !k.replayOnly)) assert.ok(help.includes(b.what), `help lists "${b.what}"`);
    await type(KEYS.esc);
    assert.equal(ui.mode, 'overview');
    await type(KEYS.enter, '?');
    const phelp = t.text().join('\n');
    for (const b of KEYMAP.process.filter((k) => !k.replayOnly)) assert.ok(phelp.includes(b.what), `process help lists "${b.what}"`);
  } finally {
    t.destroy();
  }
});

test('t shows the tree by parent; c groups by cgroup and Enter lists the group', async () => {
  const { t, table, type } = start();
  try {
    await type('t');
    assert.deepEqual(table(), [1, 4242, 77]);
    assert.match(t.text().join('\n'), /└─ evil/);
    await type('t', 'c');
    assert.match(t.text().join('\n'), /3 procs {2}\/system\.slice/);
    await type(KEYS.down, KEYS.enter);
    assert.match(t.text().join('\n'), /matching "cgroup=\/system\.slice\/test\.service"/);
    assert.equal(table().length, 3);
  } finally {
    t.destroy();
  }
});

test('F9 asks before sending a signal; Esc cancels, Enter sends', async () => {
  const { t, type, killed } = start();
  try {
    await type(KEYS.down, '\x1b[20~');
    assert.match(t.text().join('\n'), /Send a signal to 4242 \(stress-ng\)/);
    await type(KEYS.esc);
    assert.deepEqual(killed, []);
    await type('\x1b[20~', KEYS.enter);
    assert.deepEqual(killed, [[4242, 'TERM']]);
  } finally {
    t.destroy();
  }
});

test('Up and Down scroll a view taller than the screen (help here), to its last line and back', async () => {
  const { t, type } = start(120, 12);
  try {
    await type('?');
    const first = t.text()[0];
    assert.match(first, /keys of the overview/);
    await type(KEYS.down, KEYS.down);
    const scrolled = t.text();
    assert.notEqual(scrolled[0], first, 'Down scrolled the help');
    assert.ok(!scrolled.join('\n').includes('keys of the overview'), 'the title scrolled off');
    // Down far past the end stops at the last page: the last help line is on screen.
    for (let i = 0; i < 60; i++) t.type(KEYS.down);
    await type();
    await tick();
    const end = t.text().join('\n');
    assert.match(end, /Press Esc or q to close this help/);
    await type(KEYS.up);
    assert.doesNotMatch(t.text().join('\n'), /Press Esc or q to close this help/, 'one Up from the end shows one line less of the end');
    for (let i = 0; i < 80; i++) t.type(KEYS.up);
    await tick();
    await tick();
    assert.equal(t.text()[0], first, 'back at the top');
  } finally {
    t.destroy();
  }
});

test('the probe-status view asks for BPF statistics every tick while it is open, and gives that up when it closes', async () => {
  const t = testScreen(120, 40);
  const calls: boolean[] = [];
  const ui = new Ui({ host, intervalMs: 1000, color: false, screen: t.screen, onQuit: () => {}, loadInfo: () => [], log: () => [], liveStats: (on) => calls.push(on) });
  ui.update(buildSnapshot(SAMPLE_B, SAMPLE_A));
  const type = async (k: string) => {
    t.type(k);
    await tick();
    if (k === KEYS.esc) await new Promise((r) => setTimeout(r, 80));
  };
  try {
    await type('?');
    assert.deepEqual(calls, [], 'other views leave the statistics period alone');
    await type(KEYS.esc);
    await type('d');
    assert.match(t.text().join('\n'), /Cost/);
    assert.deepEqual(calls, [true]);
    await type('d');
    assert.deepEqual(calls, [true, false], 'd again closes it');
    await type('d');
    await type(KEYS.esc);
    assert.deepEqual(calls, [true, false, true, false], 'Esc closes it');
  } finally {
    t.destroy();
  }
});
