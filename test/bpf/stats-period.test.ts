/**
 * The sampler reads BPF run-time statistics every few samples when asked (the full-screen UI
 * does, outside the probe-status view): against the real run-queue probe, the samples between
 * two readings carry the last one, the cost is measured between readings, and a shorter period
 * takes effect at the next sample.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bpfSkipReason, sleep } from '../helpers/bpf';
import { Sampler } from '../../src/sampler';
import { buildSnapshot } from '../../src/model/snapshot';
import { progStats } from '../../src/bpf/stats';
import type { Sample } from '../../src/model/sample';

const skip = bpfSkipReason();
if (skip) console.log(`# skipping BPF statistics period tests: ${skip}`);

test('sampler: BPF statistics every third sample, carried between, cost over the span of two readings', { skip: skip ?? false }, async () => {
  const s = new Sampler({ disable: ['offcputime', 'biolatency', 'cachestat', 'procevents'], statsPeriodTicks: 3 });
  try {
    s.start();
    assert.equal(s.statsError, null, 'BPF statistics on');
    const probe = s.probes().get('runqlat');
    assert.ok(probe, 'runqlat loaded');
    const runs = () => probe.programs().reduce((n, p) => n + progStats(p.name, p.fd)!.runCnt, 0);
    const samples: Sample[] = [];
    const truth: number[] = []; // the programs' run counts right after each sample
    for (let i = 0; i < 8; i++) {
      if (i) await sleep(150);
      samples.push(s.sample());
      truth.push(runs());
    }
    const read = samples.map((x, i) => i === 0 || x.bpfStats !== samples[i - 1].bpfStats);
    // The first two samples read (a cost from the second on), then every third.
    assert.deepEqual(read, [true, true, false, false, true, false, false, true]);
    const count = (x: Sample) => x.bpfStats!.runqlat.reduce((n, p) => n + p.runCnt, 0);
    for (let i = 0; i < samples.length; i++) {
      const x = samples[i];
      if (read[i]) {
        assert.equal(x.bpfStatsMonoMs, undefined, `sample ${i} read now`);
        assert.ok(count(x) <= truth[i] && count(x) > (i ? truth[i - 1] : 0), `sample ${i}: its reading is of its own time`);
      } else {
        // Not read again: the kernel's counters moved on, the sample's did not.
        assert.ok(truth[i] > count(x), `sample ${i}: ${truth[i]} runs now, ${count(x)} carried`);
      }
    }
    assert.equal(samples[1].bpfStatsBase, undefined, 'read a sample apart: the previous sample is the base');
    assert.equal(samples[2].bpfStatsMonoMs, samples[1].monoMs);
    assert.equal(samples[5].bpfStatsBase?.monoMs, samples[1].monoMs);
    assert.equal(samples[5].bpfStatsMonoMs, samples[4].monoMs);
    // Every sample's cost is that of the last two readings (samples 1 and 4 for samples 4 to 6).
    const span = samples[4].monoMs - samples[1].monoMs;
    const runsIn = count(samples[4]) - count(samples[1]);
    assert.ok(runsIn > 0, 'sched_switch ran in the span');
    for (const i of [4, 5, 6]) {
      const c = buildSnapshot(samples[i], samples[i - 1]).cost;
      assert.equal(c.bpfWindowMs, span);
      const p = c.probes.find((x) => x.name === 'runqlat')!;
      assert.ok(Math.abs((p.eventsPerSec * span) / 1000 - runsIn) < 1e-6, `sample ${i}: ${p.eventsPerSec}/s over ${span} ms, ${runsIn} runs`);
      assert.ok(c.bpfCpuPct > 0);
    }

    // Back to every sample (the probe-status view opened): the next sample reads.
    const carried = s.sample();
    assert.equal(carried.bpfStats, samples[7].bpfStats);
    s.setStatsPeriod(1);
    const a = s.sample();
    const b = s.sample();
    assert.notEqual(a.bpfStats, samples[7].bpfStats);
    assert.equal(a.bpfStatsBase?.monoMs, samples[7].monoMs, 'the base is the last reading, two samples back');
    assert.equal(buildSnapshot(a, carried).cost.bpfWindowMs, a.monoMs - samples[7].monoMs);
    assert.equal(b.bpfStatsBase, undefined);
    assert.equal(b.bpfStatsMonoMs, undefined);
    assert.equal(buildSnapshot(b, a).cost.bpfWindowMs, b.monoMs - a.monoMs);
  } finally {
    s.close();
  }
});
