/**
 * runqlat against a real kernel: CPU contention must show up as run-queue waits, globally and
 * for the contending processes, with every variant that this kernel supports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bpfSkipReason, idMarks, leakedSince, spinners, sleep } from '../helpers/bpf';
import { detectFeatures } from '../../src/bpf/features';
import { loadProbe } from '../../src/probes/load';
import { runqlat, RunqlatRaw } from '../../src/probes/runqlat';
import { buildRunqlat } from '../../src/model/snapshot';
import os from 'node:os';

const skip = bpfSkipReason();
if (skip) console.log(`# skipping runqlat BPF tests: ${skip}`);

for (const variant of runqlat.variants.map((v) => v.name)) {
  test(`runqlat (${variant}): contention for CPUs shows in the histogram and per process`, { skip: skip ?? false }, async () => {
    const marks = idMarks();
    const r = loadProbe(runqlat, { variants: { runqlat: variant } }, detectFeatures());
    if (!r.ok && variant !== 'tp_btf' && /no BTF|not found/.test(r.reason)) {
      console.log(`# ${variant} not supported here: ${r.reason}`);
      return;
    }
    assert.ok(r.ok, `load failed: ${!r.ok && r.reason}`);
    const probe = r.probe;
    assert.equal(probe.variant, variant);
    try {
      const before: RunqlatRaw = probe.read();
      // Twice as many spinners as CPUs: each waits roughly half the time for a CPU.
      const n = os.cpus().length * 2;
      const load = spinners(n, 1500);
      await load.done;
      const after: RunqlatRaw = probe.read();
      const snap = buildRunqlat(after, before, 1500);
      assert.ok(snap.hist.count > 50, `histogram gained only ${snap.hist.count} events`);
      const total = snap.hist.slots.reduce((a, b) => a + b, 0);
      assert.equal(total, snap.hist.count, 'bucket counts add up to the event count');
      for (const pid of load.pids) {
        const p = snap.procs.find((x) => x.pid === pid);
        assert.ok(p, `spinner ${pid} missing from the per-process table`);
        assert.equal(p.comm, 'node');
        assert.ok(p.count > 0);
      }
      // n spinners on ncpu CPUs for 1.5 s: together they wait at least a third of that.
      const waitMs = load.pids.reduce((s, pid) => s + snap.procs.find((x) => x.pid === pid)!.waitMsPerSec * 1.5, 0);
      assert.ok(waitMs > 1500 * (n - os.cpus().length) / 3, `spinners waited only ${waitMs.toFixed(0)} ms in all`);
      assert.ok(snap.stats.p99Us! >= snap.stats.p50Us!, 'p99 >= p50');
    } finally {
      probe.close();
    }
    const left = await leakedSince(marks, [process.pid]);
    assert.deepEqual(left.progs, [], 'every program unloaded after close');
    assert.deepEqual(left.links, [], 'every link released after close');
  });
}

test('runqlat: per-process map entries of exited processes are removed', { skip: skip ?? false }, async () => {
  const r = loadProbe(runqlat, {}, detectFeatures());
  assert.ok(r.ok, !r.ok ? r.reason : '');
  try {
    const load = spinners(4, 400);
    await load.done;
    await sleep(50);
    const first = r.probe.read();
    assert.ok(load.pids.some((pid) => first.procs.some((p) => p.pid === pid)), 'the exited spinners were seen once');
    const second = r.probe.read();
    for (const pid of load.pids) assert.ok(!second.procs.some((p) => p.pid === pid), `pid ${pid} still in the map after exit`);
  } finally {
    r.probe.close();
  }
});
