/**
 * buildBiolatency (deltas, counter resets, rates, totals) and the block I/O panel's text,
 * from literal inputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildBiolatency, BiolatencySnap } from '../../src/model/biolatency';
import type { BiolatencyRaw, BiolatencyDiskRaw, BiolatencyProcRaw } from '../../src/probes/biolatency';
import type { Hist } from '../../src/model/hist';
import { renderBiolatency } from '../../screens/panels/biolatency';
import { visibleLength } from '../../screens/widgets/text';
import type { ProbeSnap } from '../../src/model/snapshot';

/** A histogram from sparse slots {slot: events}; sumNs given explicitly. */
function hist(slots: Record<number, number>, sumNs: number): Hist {
  const arr: number[] = [];
  let count = 0;
  for (const [k, v] of Object.entries(slots)) {
    arr[Number(k)] = v;
    count += v;
  }
  for (let i = 0; i < arr.length; i++) arr[i] ??= 0;
  return { count, sumNs, slots: arr };
}

function disk(name: string, dev: string, op: BiolatencyDiskRaw['op'], h: Hist, bytes: number): BiolatencyDiskRaw {
  return { dev, name, op, hist: h, bytes };
}

function proc(pid: number, comm: string, h: Hist, bytes: number): BiolatencyProcRaw {
  return { pid, comm, hist: h, bytes };
}

function raw(disks: BiolatencyDiskRaw[], procs: BiolatencyProcRaw[], extra: Partial<BiolatencyRaw> = {}): BiolatencyRaw {
  return { queued: false, disks, procs, noStart: 0, procMapFull: 0, diskMapFull: 0, procMapSize: procs.length, procMapMax: 2048, ...extra };
}

// Two readings one second apart: vda reads 10 -> 30 (20 in the interval, all in the 32-64 us
// bucket), vda writes 5 -> 15 (10, in 128-256 us), nvme0n1 reads unchanged.
const PREV = raw(
  [
    disk('vda', '254:0', 'read', hist({ 5: 10 }, 400_000), 10 * 4096),
    disk('vda', '254:0', 'write', hist({ 7: 5 }, 1_000_000), 5 * 8192),
    disk('nvme0n1', '259:0', 'read', hist({ 3: 7 }, 70_000), 7 * 4096),
  ],
  [proc(100, 'dd', hist({ 5: 10 }, 400_000), 10 * 4096), proc(200, 'postgres', hist({ 7: 5 }, 1_000_000), 5 * 8192), proc(300, 'idle', hist({ 3: 7 }, 70_000), 7 * 4096)],
  { noStart: 4, procMapFull: 1 },
);
const CUR = raw(
  [
    disk('vda', '254:0', 'read', hist({ 5: 30 }, 1_200_000), 30 * 4096),
    disk('vda', '254:0', 'write', hist({ 7: 15 }, 3_000_000), 15 * 8192),
    disk('nvme0n1', '259:0', 'read', hist({ 3: 7 }, 70_000), 7 * 4096),
  ],
  [
    proc(100, 'dd', hist({ 5: 30 }, 1_200_000), 30 * 4096),
    proc(200, 'postgres', hist({ 7: 15 }, 3_000_000), 15 * 8192),
    proc(300, 'idle', hist({ 3: 7 }, 70_000), 7 * 4096),
    proc(400, 'new', hist({ 4: 25 }, 500_000), 25 * 512), // appeared in the interval
  ],
  { noStart: 6, procMapFull: 1 },
);

test('buildBiolatency: per-disk deltas and rates over the interval', () => {
  const s = buildBiolatency(CUR, PREV, 1000);
  const vr = s.disks.find((d) => d.name === 'vda' && d.op === 'read')!;
  assert.equal(vr.hist.count, 20);
  assert.equal(vr.hist.sumNs, 800_000);
  assert.equal(vr.hist.slots[5], 20);
  assert.equal(vr.iops, 20);
  assert.equal(vr.bytesPerSec, 20 * 4096);
  assert.equal(vr.stats.meanUs, 40);
  const vw = s.disks.find((d) => d.name === 'vda' && d.op === 'write')!;
  assert.equal(vw.hist.count, 10);
  assert.equal(vw.bytesPerSec, 10 * 8192);
  const nv = s.disks.find((d) => d.name === 'nvme0n1')!;
  assert.equal(nv.hist.count, 0, 'an idle disk stays listed with zero events');
  assert.equal(nv.iops, 0);
  assert.equal(nv.stats.p99Us, null);
});

test('buildBiolatency: the total is the sum of every disk and direction', () => {
  const s = buildBiolatency(CUR, PREV, 2000);
  assert.equal(s.total.hist.count, 30);
  assert.equal(s.total.hist.sumNs, 2_800_000);
  assert.deepEqual(s.total.hist.slots, [0, 0, 0, 0, 0, 20, 0, 10]);
  assert.equal(s.total.iops, 15); // 30 requests in 2 s
  assert.equal(s.total.readIops, 10);
  assert.equal(s.total.writeIops, 5);
  assert.equal(s.total.bytesPerSec, (20 * 4096 + 10 * 8192) / 2);
  assert.equal(s.total.stats.count, 30);
  // p99 falls in the 128-256 us bucket (the 10 writes are the slowest third).
  assert.ok(s.total.stats.p99Us! >= 128 && s.total.stats.p99Us! <= 256, `p99 ${s.total.stats.p99Us}`);
  assert.ok(s.total.stats.p50Us! >= 32 && s.total.stats.p50Us! < 64, `p50 ${s.total.stats.p50Us}`);
});

test('buildBiolatency: processes with I/O in the interval, most requests first', () => {
  const s = buildBiolatency(CUR, PREV, 1000);
  assert.deepEqual(
    s.procs.map((p) => [p.pid, p.comm, p.ops, p.bytes]),
    [
      [400, 'new', 25, 25 * 512], // not in prev: everything it has is new
      [100, 'dd', 20, 20 * 4096],
      [200, 'postgres', 10, 10 * 8192],
    ],
  );
  const dd = s.procs.find((p) => p.pid === 100)!;
  assert.equal(dd.opsPerSec, 20);
  assert.equal(dd.bytesPerSec, 20 * 4096);
  assert.ok(dd.p99Us! >= 32 && dd.p99Us! <= 64);
  assert.equal(s.noStart, 2);
  assert.equal(s.dropped, 0);
  assert.equal(s.procMapFill, 4 / 2048);
});

test('buildBiolatency: a counter that went down is a reset, and the new reading is the delta', () => {
  // The kernel-side entries were recreated (probe reloaded, or an exited pid's entry reused).
  const after = raw(
    [disk('vda', '254:0', 'read', hist({ 5: 3 }, 120_000), 3 * 4096), disk('vda', '254:0', 'write', hist({ 7: 16 }, 3_200_000), 14 * 8192)],
    [proc(100, 'dd', hist({ 5: 3 }, 120_000), 3 * 4096)],
    { noStart: 1, procMapFull: 0 },
  );
  const s = buildBiolatency(after, CUR, 1000);
  const vr = s.disks.find((d) => d.op === 'read')!;
  assert.equal(vr.hist.count, 3);
  assert.equal(vr.bytesPerSec, 3 * 4096);
  // Writes: the count rose but the bytes fell — also a reset, so hist and bytes both restart.
  const vw = s.disks.find((d) => d.op === 'write')!;
  assert.equal(vw.hist.count, 16);
  assert.equal(vw.bytesPerSec, 14 * 8192);
  assert.deepEqual(s.procs.map((p) => [p.pid, p.ops, p.bytes]), [[100, 3, 3 * 4096]]);
  assert.equal(s.noStart, 1);
  assert.equal(s.dropped, 0);
});

test('buildBiolatency: without a previous reading, counts since load; no interval, no rates', () => {
  const s = buildBiolatency(CUR, undefined, 0);
  assert.equal(s.total.hist.count, 30 + 15 + 7);
  assert.equal(s.total.iops, 0);
  assert.equal(s.total.bytesPerSec, 0);
  assert.equal(s.procs[0].opsPerSec, 0);
  assert.equal(s.noStart, 6);
  assert.equal(s.dropped, 1);
});

test('buildBiolatency does not modify its inputs', () => {
  const cur = JSON.parse(JSON.stringify(CUR)) as BiolatencyRaw;
  const prev = JSON.parse(JSON.stringify(PREV)) as BiolatencyRaw;
  buildBiolatency(cur, prev, 1000);
  assert.deepEqual(cur, CUR);
  assert.deepEqual(prev, PREV);
});

// ---- the panel ----

const ok = (d: BiolatencySnap): ProbeSnap<BiolatencySnap> => ({ status: 'ok', variant: 'tp_btf', data: d });

function render(data: ProbeSnap<BiolatencySnap>, width: number, height: number, color = false): string[] {
  const lines = renderBiolatency(data, { width, height, color }, []);
  assert.ok(lines.length <= height, `${lines.length} lines for height ${height}`);
  for (const l of lines) assert.ok(visibleLength(l) <= width, `line wider than ${width}: ${JSON.stringify(l)}`);
  return lines;
}

for (const width of [40, 100]) {
  test(`panel at ${width} columns: totals, percentiles, a line per active disk and direction, bars`, () => {
    const lines = render(ok(buildBiolatency(CUR, PREV, 1000)), width, 12);
    const text = lines.join('\n');
    assert.match(lines[0], /^30 IOPS {2}R 20 {2}W 10 {2}160K\/s/);
    assert.match(lines[1], /^p50 \S+ {2}p90 \S+/);
    // Busiest first: vda reads, then vda writes; the idle nvme0n1 has no line.
    const r = lines.findIndex((l) => /^vda +R +20\/s +80K\/s/.test(l));
    const w = lines.findIndex((l) => /^vda +W +10\/s +80K\/s/.test(l));
    assert.ok(r > 0 && w > r, text);
    assert.match(lines[r], /p99 \d/);
    assert.ok(!text.includes('nvme0n1'));
    // Bars for the 32-64 us and 128-256 us buckets with their counts.
    assert.match(text, /32-64us +█+ +20/);
    assert.match(text, /128-256us +█+ +10/);
  });
}

test('panel: unavailable shows the reason; disabled says so', () => {
  const lines = render({ status: 'unavailable', reason: 'no BTF tracepoint block_rq_issue/complete (tried tp_btf, raw_tp)' }, 40, 6);
  assert.match(lines.join(' '), /^unavailable: no BTF tracepoint/);
  assert.match(lines.join(' '), /tried tp_btf, raw_tp/);
  assert.match(render({ status: 'disabled' }, 40, 4)[0], /disabled/);
});

test('panel: any height from 4 and width from 36 fits; an idle interval says so', () => {
  const snap = buildBiolatency(CUR, PREV, 1000);
  for (const width of [36, 37, 50, 80, 120]) {
    for (const height of [4, 5, 7, 20]) {
      const lines = render(ok(snap), width, height, true);
      assert.match(lines[0], /IOPS/);
      if (height >= 3) assert.match(lines.join('\n'), /vda/, `no disk line at ${width}x${height}`);
    }
  }
  const idle = buildBiolatency(CUR, CUR, 1000);
  const lines = render(ok(idle), 36, 4);
  assert.match(lines.join('\n'), /no I\/O completed in this interval/);
});

test('panel: a disk name from the system cannot inject tags', () => {
  const evil = raw([disk('x{red-fg}y', '8:0', 'read', hist({ 2: 5 }, 20_000), 5 * 4096)], []);
  const lines = render(ok(buildBiolatency(evil, undefined, 1000)), 60, 6, true);
  const line = lines.find((l) => l.includes('x{open}red-fg{close}y'));
  assert.ok(line, lines.join('\n'));
});
