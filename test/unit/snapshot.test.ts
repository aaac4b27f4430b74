/**
 * buildSnapshot across ticks with literal Samples: deltas, rates, per-process waits, resets,
 * unavailable probes, and that the inputs are never modified.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSnapshot, detailWindow, FULL_HISTORY, type Snapshot } from '../../src/model/snapshot';
import type { Sample } from '../../src/model/sample';
import type { RunqlatRaw } from '../../src/probes/runqlat';
import type { BiolatencySnap } from '../../src/model/biolatency';
import { headerLines, HeaderInfo } from '../../screens/header';
import { probeHealth, probeStatusLines } from '../../screens/probes';

function sample(monoMs: number, rq: RunqlatRaw | null, cpuUser = 0): Sample {
  return {
    ts: 1_700_000_000_000 + monoMs,
    monoMs,
    system: { loadavg: [1, 2, 3], uptimeS: 100, ncpu: 2, cpu: { user: cpuUser, nice: 0, system: 0, idle: 100 + monoMs / 10, iowait: 0, irq: 0, softirq: 0, steal: 0 } },
    probes: { runqlat: rq ? { status: 'ok', variant: 'tp_btf', data: rq } : { status: 'unavailable', reason: 'no BTF' } },
  };
}

const rq = (count: number, p1: number, p2: number | null, full = 0): RunqlatRaw => ({
  hist: { count, sumNs: count * 10_000, slots: [0, 0, 0, count] },
  procs: [
    { pid: 10, comm: 'a', hist: { count: p1, sumNs: p1 * 2_000_000, slots: [0, 0, 0, p1] } },
    ...(p2 === null ? [] : [{ pid: 20, comm: 'b', hist: { count: p2, sumNs: p2 * 1_000_000, slots: [0, 0, p2] } }]),
  ],
  procMapFull: full,
  procMapSize: 2,
  procMapMax: 100,
});

test('deltas and rates across two ticks', () => {
  const a = sample(1000, rq(100, 10, 5));
  const b = sample(2000, rq(300, 60, 5, 4), 100); // user +100 ticks, idle +100 ticks
  const frozen = JSON.stringify([a, b]);
  const s = buildSnapshot(b, a);
  assert.equal(JSON.stringify([a, b]), frozen, 'inputs untouched');
  assert.equal(s.intervalMs, 1000);
  assert.equal(s.runqlat.status, 'ok');
  if (s.runqlat.status !== 'ok') return;
  const d = s.runqlat.data;
  assert.equal(d.hist.count, 200);
  assert.equal(d.stats.perSec, 200);
  assert.deepEqual(d.hist.slots, [0, 0, 0, 200]);
  // pid 10: 50 waits of 2 ms in 1 s = 100 ms/s; pid 20 had no wait this interval: not listed.
  assert.equal(d.procs.length, 1);
  assert.equal(d.procs[0].pid, 10);
  assert.equal(d.procs[0].waitMsPerSec, 100);
  assert.equal(d.procs[0].count, 50);
  assert.equal(d.procMapFull, 4);
  assert.equal(d.procMapFill, 0.02);
  assert.ok(s.system.cpuPct && Math.abs(s.system.cpuPct.user - 50) < 1e-9);
});

test('a process whose counters restarted (pid reuse, entry evicted) counts its new reading', () => {
  const a = sample(0, rq(100, 500, 5));
  const b = sample(500, rq(150, 3, 5));
  const s = buildSnapshot(b, a);
  assert.equal(s.runqlat.status, 'ok');
  if (s.runqlat.status !== 'ok') return;
  assert.equal(s.runqlat.data.procs[0].count, 3);
  assert.equal(s.runqlat.data.procs[0].waitMsPerSec, 12); // 3 × 2 ms in 0.5 s
});

test('first sample: no interval, no rates', () => {
  const s = buildSnapshot(sample(0, rq(10, 1, 1)));
  assert.equal(s.intervalMs, 0);
  assert.equal(s.system.cpuPct, null);
  if (s.runqlat.status === 'ok') assert.equal(s.runqlat.data.stats.perSec, 0);
});

test('an unavailable probe stays unavailable with its reason', () => {
  const s = buildSnapshot(sample(1000, null), sample(0, null));
  assert.deepEqual(s.runqlat, { status: 'unavailable', reason: 'no BTF' });
  assert.deepEqual(s.probes.find((p) => p.name === 'runqlat'), { name: 'runqlat', status: 'unavailable', reason: 'no BTF' });
});

test('a variant change (probe reloaded) does not diff against the old counters', () => {
  const a = sample(0, rq(1000, 10, 5));
  const b = sample(1000, rq(20, 2, 1));
  (b.probes.runqlat as { variant: string }).variant = 'raw_tp';
  const s = buildSnapshot(b, a);
  if (s.runqlat.status === 'ok') assert.equal(s.runqlat.data.hist.count, 20);
  else assert.fail('expected ok');
});

test('cost: program runs the kernel skipped are counted per program and probe, shown in the header and the probe view', () => {
  const prog = (id: number, name: string, runCnt: number, recursionMisses?: number) => ({ id, name, runCnt, runTimeNs: runCnt * 100, recursionMisses: recursionMisses as number });
  const a = { ...sample(1000, rq(10, 5, 5)), bpfStats: { runqlat: [prog(1, 'rq_switch', 100, 2), prog(2, 'rq_wakeup', 50, 0)], biolatency: [prog(3, 'bio_complete_tp', 40, 7)] } };
  const b = { ...sample(2000, rq(20, 10, 10)), bpfStats: { runqlat: [prog(1, 'rq_switch', 300, 2), prog(2, 'rq_wakeup', 90, 0)], biolatency: [prog(3, 'bio_complete_tp', 140, 19)] } };
  const snap = buildSnapshot(b, a);
  const cost = (n: string) => snap.cost.probes.find((p) => p.name === n)!;
  assert.equal(cost('runqlat').missed, 0);
  assert.deepEqual(cost('runqlat').programs.map((p) => p.missed), [0, 0]);
  assert.equal(cost('biolatency').missed, 12, 'misses in the interval, not since load');
  assert.equal(cost('biolatency').programs[0].missed, 12);
  // A reading from an older recording has no misses: nothing is invented.
  const old = buildSnapshot({ ...b, bpfStats: { biolatency: [prog(3, 'bio_complete_tp', 140)] } }, { ...a, bpfStats: { biolatency: [prog(3, 'bio_complete_tp', 40)] } });
  assert.equal(old.cost.probes[0].missed, 0);
  // Counters that went down (the probe was reloaded): the new reading is the interval's.
  const reloaded = buildSnapshot({ ...b, bpfStats: { biolatency: [prog(3, 'bio_complete_tp', 30, 4)] } }, a);
  assert.equal(reloaded.cost.probes[0].missed, 4);

  // On screen: the header says how many, the probe view which probe.
  const info = { host: { hostname: 'h', kernel: 'k', ncpu: 2 }, intervalMs: 1000, mode: 'live' } as unknown as HeaderInfo;
  assert.match(headerLines(snap, info, 200, false)[1], /12 skipped by the kernel/);
  assert.doesNotMatch(headerLines(buildSnapshot({ ...b, bpfStats: { runqlat: b.bpfStats.runqlat } }, a), info, 200, false)[1], /skipped/);
  const withBio = { ...snap, biolatency: { status: 'ok' as const, variant: 'tracepoint', data: { dropped: 0 } as unknown as BiolatencySnap } };
  const bio = probeHealth(withBio).find((h) => h.name === 'biolatency')!;
  assert.match(bio.text, /12 events skipped by the kernel/);
  assert.equal(bio.bad, true);
  assert.equal(probeHealth(snap).find((h) => h.name === 'runqlat')!.text.includes('skipped'), false);
});

test('detailWindow: the snapshot and up to FULL_HISTORY - 1 before it, never a later one', () => {
  const snaps: Snapshot[] = [];
  for (let i = 0; i <= FULL_HISTORY + 5; i++) snaps.push(buildSnapshot(sample(1000 * (i + 1), null), i ? sample(1000 * i, null) : undefined));
  const at = 8;
  const ts = (w: Snapshot[]) => w.map((s) => s.ts);
  assert.deepEqual(ts(detailWindow(snaps[at], snaps)), ts(snaps.slice(0, at + 1)), 'in the history: it and the ones before it');
  assert.deepEqual(ts(detailWindow(snaps[snaps.length - 1], snaps)), ts(snaps.slice(-FULL_HISTORY)), 'at most FULL_HISTORY');
  assert.deepEqual(ts(detailWindow(snaps[at], snaps.slice(0, at))), ts(snaps.slice(0, at + 1)), 'a history that ends just before it');
  // Paused on a snapshot longer than the history holds: the history has dropped it and moved on.
  assert.deepEqual(ts(detailWindow(snaps[at], snaps.slice(at + 1))), [snaps[at].ts], 'a history past it: none of its later snapshots');
  assert.deepEqual(ts(detailWindow(snaps[at], snaps.slice(at - 2, at).concat(snaps.slice(at + 1)))), ts(snaps.slice(at - 2, at + 1)), 'what is left before it, nothing after');
});

test('cost: statistics read every few ticks are shown over the span between two readings, on every tick', () => {
  const prog = (id: number, runCnt: number, recursionMisses = 0) => ({ id, name: `p${id}`, runCnt, runTimeNs: runCnt * 250, recursionMisses });
  const r1 = { runqlat: [prog(1, 1000, 1)] };
  const r2 = { runqlat: [prog(1, 6000, 4)] };
  // Read at 1000 and 6000 ms; the samples at 7000 and 8000 carry the reading of 6000.
  const at6 = { ...sample(6000, rq(10, 5, 5)), bpfStats: r2, bpfStatsBase: { monoMs: 1000, stats: r1 } };
  const at7 = { ...sample(7000, rq(10, 5, 5)), bpfStats: r2, bpfStatsMonoMs: 6000, bpfStatsBase: { monoMs: 1000, stats: r1 } };
  const at8 = { ...sample(8000, rq(10, 5, 5)), bpfStats: r2, bpfStatsMonoMs: 6000, bpfStatsBase: { monoMs: 1000, stats: r1 } };
  for (const [cur, prev] of [[at6, sample(5000, rq(10, 5, 5))], [at7, at6], [at8, at7]] as [Sample, Sample][]) {
    const c = buildSnapshot(cur, prev).cost;
    assert.equal(c.bpfWindowMs, 5000);
    assert.equal(c.probes[0].eventsPerSec, 1000, '5,000 runs over 5 s');
    assert.equal(c.probes[0].nsPerEvent, 250);
    assert.equal(c.probes[0].missed, 3);
    assert.ok(Math.abs(c.bpfCpuPct - 0.025) < 1e-9, `${c.bpfCpuPct}`); // 1.25 ms in 5 s
  }
  // Without the window fields, the previous sample's reading is the base (every tick read).
  const plain = buildSnapshot({ ...sample(2000, rq(10, 5, 5)), bpfStats: r2 }, { ...sample(1000, rq(10, 5, 5)), bpfStats: r1 }).cost;
  assert.equal(plain.bpfWindowMs, 1000);
  assert.equal(plain.probes[0].eventsPerSec, 5000);
  // A previous sample that carried an older reading: the window starts at that reading.
  const after = buildSnapshot({ ...sample(9000, rq(10, 5, 5)), bpfStats: { runqlat: [prog(1, 9000, 4)] } }, at8).cost;
  assert.equal(after.bpfWindowMs, 3000);
  assert.equal(after.probes[0].eventsPerSec, 1000);
  // The probe view says what span its figures cover.
  const snap = buildSnapshot(at7, at6);
  assert.match(probeStatusLines({ snap, loadInfo: [], log: [], color: false, statsError: null }, 120).join('\n'), /over the last 5 s/);
});
