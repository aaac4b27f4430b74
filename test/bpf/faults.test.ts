/**
 * A probe that fails does not take the others down: a verifier rejection, a missing tracepoint
 * and a full map, each simulated with real BPF programs, next to a working probe.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bpfSkipReason, runqlatVariant, spinners, sleep } from '../helpers/bpf';
import { Sampler } from '../../src/sampler';
import { runqlat } from '../../src/probes/runqlat';
import { buildSnapshot } from '../../src/model/snapshot';
import { renderRunqlat } from '../../screens/panels/runqlat';
import type { ProbeSpec } from '../../src/probes/types';

const skip = bpfSkipReason();

/** A probe spec over bpf/testing/faults.bpf.c loading one program. */
function faulty(name: string, program: string): ProbeSpec<unknown> {
  return {
    name, title: name, object: 'testing/faults.bpf.o', layouts: [],
    variants: [{ name: 'raw_tp', programs: [program], requires: () => null }],
    bind: () => ({ read: () => ({}) }),
  };
}

test('a verifier rejection and a missing tracepoint make those probes unavailable; runqlat keeps counting', { skip: skip ?? false }, async () => {
  const sampler = new Sampler({
    registry: { broken_verifier: faulty('broken_verifier', 'fault_verifier'), runqlat, missing_tp: faulty('missing_tp', 'fault_missing_tp') } as never,
  });
  sampler.start();
  try {
    const info = Object.fromEntries(sampler.loadInfo.map((l) => [l.name, l]));
    assert.match(info.broken_verifier.reason!, /rejected by the BPF verifier/);
    assert.ok(info.broken_verifier.attempts[0].logTail!.some((l) => /invalid access|out of bounds|min value|R\d/.test(l)), 'the verifier log tail is kept for the probe-status view');
    assert.match(info.missing_tp.reason!, /attach|not found|No such file/i);
    assert.equal(info.runqlat.variant, runqlatVariant());
    const a = sampler.sample();
    await spinners(4, 400).done;
    const b = sampler.sample();
    const raw = b.probes as Record<string, { status: string; reason?: string }>;
    assert.equal(raw.broken_verifier.status, 'unavailable');
    assert.equal(raw.missing_tp.status, 'unavailable');
    const snap = buildSnapshot(b, a);
    assert.equal(snap.runqlat.status, 'ok');
    if (snap.runqlat.status === 'ok') assert.ok(snap.runqlat.data.hist.count > 20, 'runqlat still counts');
  } finally {
    sampler.close();
  }
});

test('a full per-process map is counted and shown, never silent', { skip: skip ?? false }, async () => {
  const sampler = new Sampler({ registry: { runqlat } as never, mapMaxEntries: { rq_procs: 2 } });
  sampler.start();
  try {
    const a = sampler.sample();
    await spinners(6, 500).done;
    await sleep(50);
    const b = sampler.sample();
    const snap = buildSnapshot(b, a);
    assert.equal(snap.runqlat.status, 'ok');
    if (snap.runqlat.status !== 'ok') return;
    assert.ok(snap.runqlat.data.procMapFull > 0, 'dropped updates counted');
    assert.ok(snap.runqlat.data.hist.count > 0, 'the global histogram still counts every wait');
    const lines = renderRunqlat(snap.runqlat, { width: 70, height: 12, color: false }, []).join('\n');
    assert.match(lines, /per-process map full: \d+ dropped/);
  } finally {
    sampler.close();
  }
});
