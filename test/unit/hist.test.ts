/**
 * Log2 histogram arithmetic with literal inputs: percentiles, deltas, resets, labels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffHist, unmoved, percentileUs, maxBucketUs, histStats, slotLabel, formatUs, trimHist, decodeHist, decodeHistTrimmed, HIST_LAYOUT, HIST_SLOTS, prevByPid } from '../../src/model/hist';

test('percentile interpolates inside the bucket that holds the rank', () => {
  // 100 events all in slot 4 = [16, 32) µs: p50 is halfway through it.
  const slots = [0, 0, 0, 0, 100];
  assert.equal(percentileUs(slots, 50), 24);
  assert.equal(percentileUs(slots, 100), 32);
  // 90 in slot 0 [0,2), 10 in slot 10 [1024, 2048): p90 falls at the end of slot 0, p99 in slot 10.
  const s2 = [90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10];
  assert.equal(percentileUs(s2, 50), (50 / 90) * 2);
  assert.equal(percentileUs(s2, 90), 2);
  assert.equal(percentileUs(s2, 99), 1024 + 0.9 * 1024);
  assert.equal(maxBucketUs(s2), 2048);
});

test('empty histograms have no percentiles', () => {
  assert.equal(percentileUs([], 50), null);
  assert.equal(percentileUs([0, 0, 0], 99), null);
  assert.equal(maxBucketUs([0, 0]), null);
  const s = histStats({ count: 0, sumNs: 0, slots: [] }, 1000);
  assert.equal(s.meanUs, null);
  assert.equal(s.perSec, 0);
});

test('histStats: rate and mean over the interval', () => {
  const s = histStats({ count: 50, sumNs: 50 * 3000, slots: [0, 50] }, 500);
  assert.equal(s.perSec, 100);
  assert.equal(s.meanUs, 3);
  assert.equal(s.p50Us, 3);
});

test('diffHist takes per-interval deltas of cumulative counters', () => {
  const prev = { count: 10, sumNs: 1000, slots: [5, 5] };
  const cur = { count: 15, sumNs: 1600, slots: [6, 8, 1] };
  assert.deepEqual(diffHist(cur, prev), { count: 5, sumNs: 600, slots: [1, 3, 1] });
  assert.deepEqual(diffHist(cur, undefined), cur);
});

test('diffHist treats a counter that went down as a reset: the new reading is the delta', () => {
  const prev = { count: 100, sumNs: 9000, slots: [50, 50] };
  const cur = { count: 3, sumNs: 300, slots: [1, 2] };
  assert.deepEqual(diffHist(cur, prev), cur);
  // A slot going down alone is also a reset (entry recreated with a similar count).
  const cur2 = { count: 101, sumNs: 9100, slots: [40, 61] };
  assert.deepEqual(diffHist(cur2, prev), cur2);
});

test('unmoved: same count and sum since the last reading, or no last reading', () => {
  const h = { count: 3, sumNs: 900, slots: [1, 2] };
  assert.equal(unmoved(h, { count: 3, sumNs: 900, slots: [1, 2] }), true);
  assert.equal(unmoved(h, { count: 2, sumNs: 900, slots: [1, 1] }), false);
  assert.equal(unmoved(h, { count: 3, sumNs: 800, slots: [1, 2] }), false);
  assert.equal(unmoved(h, undefined), false, 'first sight: everything counts');
});

test('trimHist drops trailing empty slots only', () => {
  assert.deepEqual(trimHist({ count: 1, sumNs: 1, slots: [0, 1, 0, 0] }).slots, [0, 1]);
  const trimmed = { count: 1, sumNs: 1, slots: [0, 1] };
  assert.equal(trimHist(trimmed), trimmed, 'nothing to drop: the same histogram');
});

test('decodeHist reads struct hist and sums per-CPU copies', () => {
  const buf = Buffer.alloc(HIST_LAYOUT.size);
  buf.writeBigUInt64LE(3n, 0);
  buf.writeBigUInt64LE(4500n, 8);
  buf.writeBigUInt64LE(2n, 16 + 8 * 1);
  buf.writeBigUInt64LE(1n, 16 + 8 * (HIST_SLOTS - 1));
  const h = decodeHist(buf);
  assert.equal(h.count, 3);
  assert.equal(h.sumNs, 4500);
  assert.equal(h.slots[1], 2);
  assert.equal(h.slots[HIST_SLOTS - 1], 1);
  decodeHist(buf, 0, h);
  assert.equal(h.count, 6);
  assert.equal(HIST_LAYOUT.size, 16 + 8 * HIST_SLOTS);
});

test('decodeHistTrimmed gives what trimHist(decodeHist()) gives, at any offset, with counts above 2^32', () => {
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
  for (let k = 0; k < 200; k++) {
    const off = 8 * rnd(4);
    const buf = Buffer.alloc(off + HIST_LAYOUT.size);
    buf.writeBigUInt64LE(BigInt(rnd(1000)), off);
    buf.writeBigUInt64LE(BigInt(rnd(1e9)), off + 8);
    const filled = rnd(HIST_SLOTS + 1); // slots [0, filled) may be set; the rest stay 0
    for (let i = 0; i < filled; i++) if (rnd(3) > 0) buf.writeBigUInt64LE(rnd(5) === 0 ? 2n ** 32n + BigInt(rnd(9)) : BigInt(rnd(9)), off + 16 + i * 8);
    assert.deepEqual(decodeHistTrimmed(buf, off), trimHist(decodeHist(buf, off)));
  }
});

test('labels: bucket ranges and durations', () => {
  assert.equal(slotLabel(0), '0-2us');
  assert.equal(slotLabel(4), '16-32us');
  assert.equal(slotLabel(9), '512-1024us');
  assert.equal(slotLabel(10), '1.02-2.05ms');
  assert.equal(slotLabel(20), '1.05-2.1s');
  assert.equal(formatUs(850), '850us');
  assert.equal(formatUs(12500), '12.5ms');
  assert.equal(formatUs(3.2e6), '3.20s');
  assert.equal(formatUs(null), '-');
});

test('prevByPid: the previous entry of each process, whether the lists are in the same order, shifted, shuffled or not overlapping', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let round = 0; round < 200; round++) {
    const prev = Array.from({ length: Math.floor(rnd() * 40) }, (_, i) => ({ pid: 100 + i * 3, v: rnd() }));
    // The next reading: most kept in place, some gone, some new, sometimes shuffled.
    let cur = prev.filter(() => rnd() > 0.1).map((p) => (rnd() < 0.5 ? p : { ...p }));
    for (let k = Math.floor(rnd() * 4); k > 0; k--) cur.splice(Math.floor(rnd() * (cur.length + 1)), 0, { pid: 1 + Math.floor(rnd() * 400), v: 0 });
    if (rnd() < 0.2) cur = cur.sort(() => rnd() - 0.5);
    const seen = new Set<number>();
    cur = cur.filter((p) => !seen.has(p.pid) && seen.add(p.pid)); // a pid once per reading
    const byMap = new Map(prev.map((p) => [p.pid, p]));
    const of = prevByPid(prev);
    for (let i = 0; i < cur.length; i++) assert.equal(of(i, cur[i].pid), byMap.get(cur[i].pid), `round ${round} index ${i}`);
  }
  assert.equal(prevByPid(undefined)(0, 1), undefined);
  assert.equal(prevByPid([])(0, 1), undefined);
});
