/**
 * An idle probetop wakes once a tick: every wakeup costs a few hundred microseconds of CPU in a
 * VM, which is what an always-on monitor must not spend. Counted as the main thread's voluntary
 * context switches (each sleep in epoll is one) of the real program with every probe loaded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { bpfSkipReason, idMarks, leakedSince, sleep } from '../helpers/bpf';

// The installed command (it execs node with probetop's flags, so the child's pid is node's).
const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'probetop');

const skip = bpfSkipReason();
if (skip) console.log(`# skipping the wakeup test: ${skip}`);

function voluntarySwitches(pid: number): number {
  const m = /\nvoluntary_ctxt_switches:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no voluntary_ctxt_switches for ${pid}`);
  return Number(m[1]);
}

test('idle, 1 s ticks, every probe: the main thread wakes about once a second (no drain timer beside the tick)', { skip: skip ?? false }, async () => {
  const marks = idMarks();
  const child = spawn('sh', [BIN, '--json', '-i', '1000'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}` } });
  let lines = 0;
  let err = '';
  child.stdout.on('data', (d: Buffer) => (lines += d.toString('latin1').split('\n').length - 1));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  try {
    for (let i = 0; i < 300 && lines < 3; i++) await sleep(100); // loaded, and past the first ticks
    assert.ok(lines >= 3, `probetop did not start: ${err}`);
    const seconds = 8;
    const a = voluntarySwitches(child.pid!);
    const l0 = lines;
    await sleep(seconds * 1000);
    const perTick = (voluntarySwitches(child.pid!) - a) / (lines - l0);
    console.log(`${(voluntarySwitches(child.pid!) - a)} wakeups of the main thread in ${lines - l0} ticks`);
    assert.ok(lines - l0 >= seconds - 1, `ticks: ${lines - l0}`);
    // Before the drain timer was parked: ~2.1 a tick (the timer's old expiry woke it ~100 ms after each tick).
    assert.ok(perTick <= 1.5, `${perTick.toFixed(2)} wakeups a tick`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  const left = await leakedSince(marks);
  assert.deepEqual(left.progs, [], 'no program left loaded');
});
