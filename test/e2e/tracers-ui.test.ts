/**
 * The per-event tracers come and go with the process view: Enter attaches them (shown in the
 * view and on the probe-status view), Esc detaches them — probetop holds the same programs as
 * before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { bpfSkipReason, progsHeldBy, sleep } from '../helpers/bpf';
import { haveTmux, TmuxApp } from '../helpers/tmux';

const skip = bpfSkipReason() ?? (haveTmux() ? null : 'tmux not installed');

test('process view: tracers attached while open, detached on Esc', { skip: skip ?? false, timeout: 40000 }, async () => {
  // A process that opens a missing file every 100 ms.
  const child = spawn('python3', ['-c', 'import time\nwhile True:\n  try: open("/nonexistent-pt-file")\n  except OSError: pass\n  time.sleep(0.1)'], { stdio: 'ignore' });
  const app = new TmuxApp(['-p', String(child.pid)], 140, 70);
  try {
    const s = await app.waitFor(/Files opened +\d+ opens, [1-9]\d* failed/, 15000);
    assert.match(s, /\/nonexistent-pt-file/);
    assert.match(s, /ENOENT/);
    const pid = app.pid();
    const withTracers = progsHeldBy(pid);
    app.keys('d');
    assert.match(await app.waitFor(/Tracers of the open process view/), /opensnoop +running/);
    app.keys('Escape');
    await sleep(300);
    app.keys('Escape');
    await app.waitFor(/processes/);
    let now = progsHeldBy(pid);
    for (let i = 0; i < 30 && now.length >= withTracers.length; i++) {
      await sleep(200);
      now = progsHeldBy(pid);
    }
    assert.ok(now.length < withTracers.length, `still ${now.length} programs (had ${withTracers.length})`);
    assert.ok(now.every((id) => withTracers.includes(id)), 'no new program appeared');
    app.keys('q');
    assert.equal(await app.exitCode(), 0);
  } finally {
    app.kill();
    child.kill('SIGKILL');
  }
});
