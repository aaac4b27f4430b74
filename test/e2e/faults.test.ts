/**
 * Faults: whatever ends probetop, the terminal is restored and no BPF program or link stays
 * behind; a probe that fails leaves the others running; kill -9 leaves nothing either, because
 * every program and link is held only by probetop's file descriptors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { bpfSkipReason, loadedProgIds, idMarks, leakedSince, runqlatVariant, sleep } from '../helpers/bpf';
import { haveTmux, TmuxApp, CLI } from '../helpers/tmux';
import { unsafeObjectReason, BPF_DIR } from '../../src/probes/load';

const skip = bpfSkipReason() ?? (haveTmux() ? null : 'tmux not installed');
if (skip) console.log(`# skipping fault tests: ${skip}`);

async function clean(marks: { prog: number; link: number }) {
  const left = await leakedSince(marks);
  assert.deepEqual(left.progs, [], 'no program left loaded');
  assert.deepEqual(left.links, [], 'no link left attached');
}

for (const [what, faultName, code, message] of [
  ['an uncaught exception', 'uncaught', 70, /injected uncaught exception/],
  ['an error inside a tick', 'tick', 70, /injected fault in a tick/],
] as const) {
  test(`${what}: terminal restored, error printed, every probe detached`, { skip: skip ?? false }, async () => {
    const marks = idMarks();
    const app = new TmuxApp([], 100, 30, [`PROBETOP_FAULT=${faultName}`]);
    try {
      assert.equal(await app.exitCode(), code);
      const s = app.screen();
      assert.match(s, message);
      assert.doesNotMatch(s, /Run-queue latency/, 'the TUI is gone');
    } finally {
      app.kill();
    }
    await clean(marks);
  });
}

test('the terminal goes away (its pane closed, as when ssh drops): exit 129 as on a hang-up, no crash, every probe detached', { skip: skip ?? false }, async () => {
  const marks = idMarks();
  const errFile = path.join(os.tmpdir(), `probetop-hangup-${process.pid}.err`);
  fs.rmSync(errFile, { force: true });
  // The shell ignores the hang-up so that it outlives probetop and records its exit code; its
  // stderr (and so probetop's) goes to a file, the terminal being gone. It ends right after
  // (no pane is left to read, and an ignored hang-up would keep a lingering sleep alive).
  const app = new TmuxApp([], 100, 30, [`trap "" HUP; exec 2>${errFile};`], 0);
  try {
    await app.waitFor(/Run-queue latency/);
    app.kill();
    assert.equal(await app.exitCode(), 129);
    const err = fs.readFileSync(errFile, 'utf8');
    assert.doesNotMatch(err, /Assertion failed|EIO/, err.slice(0, 2000));
  } finally {
    app.kill();
    fs.rmSync(errFile, { force: true });
  }
  await clean(marks);
});

test('a probe whose reads fail becomes unavailable; the others keep updating', { skip: skip ?? false }, async () => {
  const app = new TmuxApp(['--interval', '300'], 120, 34, ['PROBETOP_FAULT=read:runqlat']);
  try {
    const s = await app.waitFor(/unavailable: read failed: injected/);
    assert.match(s, /Block I\/O latency/);
    const before = /(\d+) processes/.exec(s);
    assert.ok(before, 'the process table is there');
    await sleep(700);
    assert.match(app.screen(), /biolatency tp_btf|biolatency raw_tp|biolatency tracepoint/);
    app.keys('q');
    assert.equal(await app.exitCode(), 0);
  } finally {
    app.kill();
  }
});

test('kill -9: the kernel releases every program and link with the file descriptors', { skip: skip ?? false }, async () => {
  const marks = idMarks();
  const app = new TmuxApp([]);
  try {
    await app.waitFor(new RegExp(`runqlat ${runqlatVariant()}`));
    assert.ok(loadedProgIds().some((id) => id > marks.prog), 'programs were loaded');
    process.kill(app.pid(), 'SIGKILL');
    await clean(marks);
  } finally {
    app.kill();
  }
});

test('BPF objects other users can write: probetop refuses to start (exit 2)', { skip: process.geteuid?.() === 0 ? false : 'needs root to own the objects' }, () => {
  const obj = path.join(BPF_DIR, 'runqlat.bpf.o');
  const mode = fs.statSync(obj).mode & 0o7777;
  fs.chmodSync(obj, mode | 0o002);
  try {
    const r = spawnSync(process.execPath, [CLI, '--json', '-n', '1'], { encoding: 'utf8', timeout: 10000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /refusing to start: .*runqlat\.bpf\.o is writable by every user .*chmod go-w/);
  } finally {
    fs.chmodSync(obj, mode);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pt-perm-'));
  fs.writeFileSync(path.join(dir, 'x.o'), '');
  assert.equal(unsafeObjectReason(path.join(dir, 'x.o')), null, 'a private dir under sticky /tmp is fine');
  fs.chmodSync(dir, 0o775);
  assert.match(unsafeObjectReason(path.join(dir, 'x.o'))!, /writable by its group/);
});
