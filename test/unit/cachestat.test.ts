/**
 * buildCachestat with literal readings (deltas, write-created pages, hit ratio, resets, sorting)
 * and the page-cache panel's text at 40 and 100 columns, and that it fits every size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCachestat, CachestatSnap, CACHESTAT_METHODS } from '../../src/model/cachestat';
import { CS_COUNTS, CS_CPU, CS_PEND, withRuns, type CachestatCounts, type CachestatProcRaw, type CachestatRaw } from '../../src/probes/cachestat';
import { offsetOf } from '../../src/bpf/layout';
import type { ProbeSnap } from '../../src/model/snapshot';
import { renderCachestat, sparkline } from '../../screens/panels/cachestat';
import { visibleLength } from '../../screens/widgets/text';

const counts = (accessed: number, added: number, writeAdded = 0, dirtied = 0): CachestatCounts => ({ accessed, added, writeAdded, dirtied });
const proc = (pid: number, comm: string, c: CachestatCounts): CachestatProcRaw => ({ pid, comm, ...c });
const raw = (total: CachestatCounts, procs: CachestatProcRaw[], method = 'tp_btf', full = 0): CachestatRaw => ({
  method,
  total,
  procs,
  procMapFull: full,
  procMapSize: procs.length,
  procMapMax: 100,
});

test('deltas, misses without write-created pages, hits, rates and per-process rows', () => {
  const prev = raw(counts(1000, 100, 20, 50), [proc(10, 'cat', counts(500, 100)), proc(20, 'dd', counts(100, 0, 0, 50)), proc(30, 'idle', counts(7, 0))]);
  const cur = raw(counts(11000, 1100, 520, 1050), [
    proc(10, 'cat', counts(2500, 600)), // +2000 accesses, +500 misses
    proc(20, 'dd', counts(3100, 500, 500, 1050)), // +3000 accesses, 500 pages created by writes, +1000 dirtied
    proc(30, 'idle', counts(7, 0)), // nothing new: not listed
    proc(40, 'new', counts(400, 0)), // first seen: all of it is new
  ]);
  const frozen = JSON.stringify([prev, cur]);
  const s = buildCachestat(cur, prev, 2000);
  assert.equal(JSON.stringify([prev, cur]), frozen, 'inputs untouched');
  // 10000 accesses; 1000 insertions of which 500 by writes -> 500 misses.
  assert.deepEqual(s.totals, {
    accesses: 10000,
    misses: 500,
    hits: 9500,
    dirtied: 1000,
    hitPct: 95,
    accessesPerSec: 5000,
    missesPerSec: 250,
    dirtiedPerSec: 500,
  });
  assert.equal(s.method, 'tracepoints (tp_btf)');
  assert.equal(s.accuracy, CACHESTAT_METHODS.tp_btf.accuracy);
  assert.match(s.accuracy, /mmap/);
  assert.deepEqual(s.procs, [
    { pid: 20, comm: 'dd', accesses: 3000, misses: 0, dirtied: 1000, hitPct: 100 },
    { pid: 10, comm: 'cat', accesses: 2000, misses: 500, dirtied: 0, hitPct: 75 },
    { pid: 40, comm: 'new', accesses: 400, misses: 0, dirtied: 0, hitPct: 100 },
  ]);
  assert.equal(s.procMapFull, 0);
  assert.equal(s.procMapFill, 0.04);
});

test('no accesses: hit ratio null; misses beyond accesses: 0 hits, never negative', () => {
  const prev = raw(counts(100, 0), [proc(1, 'a', counts(100, 0))]);
  const idle = buildCachestat(raw(counts(100, 0), [proc(1, 'a', counts(100, 0))]), prev, 1000);
  assert.equal(idle.totals.hitPct, null);
  assert.equal(idle.totals.accesses, 0);
  assert.deepEqual(idle.procs, []);
  // Readahead inserted more pages than were read in this interval.
  const ra = buildCachestat(raw(counts(150, 300), [proc(1, 'a', counts(150, 300)), proc(2, 'w', counts(0, 8, 0, 0))]), prev, 1000);
  assert.equal(ra.totals.misses, 300);
  assert.equal(ra.totals.hits, 0);
  assert.equal(ra.totals.hitPct, 0);
  assert.deepEqual(ra.procs[1], { pid: 2, comm: 'w', accesses: 0, misses: 8, dirtied: 0, hitPct: null });
});

test('counter resets, a changed method and the first tick count from zero', () => {
  const prev = raw(counts(5000, 500), [proc(7, 'old', counts(4000, 400))], 'tp_btf', 9);
  // pid 7 exited, its entry was removed, and a new process got pid 7: its counters restarted.
  const cur = raw(counts(5600, 550), [proc(7, 'reused', counts(300, 30))], 'tp_btf', 2);
  const s = buildCachestat(cur, prev, 1000);
  assert.deepEqual(s.procs, [{ pid: 7, comm: 'reused', accesses: 300, misses: 30, dirtied: 0, hitPct: 90 }]);
  assert.equal(s.procMapFull, 2, 'a counter that went down restarted');
  // The probe was reloaded with another variant: previous counters are not comparable.
  const reload = buildCachestat(raw(counts(200, 20), [], 'raw_tp'), prev, 1000);
  assert.equal(reload.totals.accesses, 200);
  assert.equal(reload.totals.misses, 20);
  assert.equal(reload.method, 'tracepoints (raw_tp)');
  const first = buildCachestat(raw(counts(200, 20), []), undefined, 0);
  assert.equal(first.totals.accesses, 200);
  assert.equal(first.totals.accessesPerSec, 0, 'no interval, no rate');
  assert.equal(buildCachestat(raw(counts(1, 0), [], 'future'), undefined, 0).accuracy, 'unknown method');
});

test('every variant of the probe has a method and accuracy text', async () => {
  const { cachestat } = await import('../../src/probes/cachestat');
  for (const v of cachestat.variants) {
    assert.ok(CACHESTAT_METHODS[v.name], `no text for variant ${v.name}`);
    assert.ok(CACHESTAT_METHODS[v.name].accuracy.length > 10);
  }
});

test('sparkline: zero is the lowest block, any activity at least the second, null blank', () => {
  assert.equal(sparkline([0, 1, 50, 100, null], 100, 5), '▁▂▄█ ');
  assert.equal(sparkline([10, 20], 20, 4), '  ▄█', 'right-aligned, newest last');
  assert.equal(sparkline([1, 2, 3, 4, 5, 6], 6, 3), '▅▆█', 'only the newest values that fit');
  assert.equal(sparkline([0, 0], 0, 2), '▁▁');
});

function snap(hitPct: number | null, missesPerSec: number, comm = 'cat'): CachestatSnap {
  return {
    totals: { accesses: 1000, misses: 27, hits: 973, dirtied: 40, hitPct, accessesPerSec: 12300, missesPerSec, dirtiedPerSec: 1200 },
    method: CACHESTAT_METHODS.tp_btf.method,
    accuracy: CACHESTAT_METHODS.tp_btf.accuracy,
    procs: [
      { pid: 4242, comm, accesses: 900, misses: 27, dirtied: 0, hitPct: 97 },
      { pid: 1, comm: 'init', accesses: 100, misses: 0, dirtied: 40, hitPct: 100 },
    ],
    procMapFull: 0,
    procMapFill: 0.01,
  };
}

const ok = (d: CachestatSnap): ProbeSnap<CachestatSnap> => ({ status: 'ok', variant: 'tp_btf', data: d });
const history = [ok(snap(100, 0)), ok(snap(50, 800)), { status: 'unavailable', reason: 'x' } as const, ok(snap(97.3, 340))];
const strip = (l: string) => l.replace(/\{(?!open\}|close\})\/?[a-z-]*\}/g, '');

test('panel at 40 columns: hit ratio, rates, both sparklines, method', () => {
  const lines = renderCachestat(history[3], { width: 40, height: 8, color: false }, history);
  const text = lines.map(strip);
  assert.match(lines[0], /^\{bold\}HIT  97\.3% \{\/bold\}█+/);
  assert.equal(text[1].trimEnd(), 'pages/s  acc 12K  miss 340  dirty 1.2K');
  assert.equal(text[2], 'hit%   ' + ' '.repeat(29) + '█▄ ▇');
  assert.equal(text[3], 'miss/s ' + ' '.repeat(23) + '▁█ ▃   800');
  assert.match(text.slice(4).map((l) => l.trim()).join(' '), /tracepoints \(tp_btf\): read\(\) accesses exact; mmap pages/);
  for (const l of lines) assert.equal(visibleLength(l), 40, `"${l}" is not 40 columns`);
});

test('panel: a history longer than the sparklines: the newest values, the miss scale of those shown', () => {
  // 40 columns: 33 hit% cells and 27 miss/s cells. The largest miss rate (9000/s) is older than
  // the 27 shown: the scale is the largest shown (800), as when the history was that short.
  const long = [ok(snap(0, 9000)), ...Array.from({ length: 26 }, () => ok(snap(100, 0))), history[1], ok(snap(97.3, 340))];
  const text = renderCachestat(long[long.length - 1], { width: 40, height: 8, color: false }, long).map(strip);
  assert.equal(text[2], 'hit%   ' + ' '.repeat(4) + '▁' + '█'.repeat(26) + '▄▇', 'all 29 values fit in 33 cells');
  assert.equal(text[3], 'miss/s ' + '▁'.repeat(25) + '█▃   800');
});

test('panel at 100 columns: method, busiest processes, escaped names', () => {
  const lines = renderCachestat(ok(snap(97.3, 340, 'a{b}')), { width: 100, height: 10, color: true }, history);
  const text = lines.map((l) => strip(l).replace(/\{(open|close)\}/g, (_m, k) => (k === 'open' ? '{' : '}')));
  assert.match(lines[0], /\{green-fg\}HIT  97\.3% /);
  assert.match(text[1], /^pages\/s {2}acc 12K {2}miss 340 {2}dirty 1\.2K\s+$/);
  assert.equal(`${text[4].trim()} ${text[5].trim()}`, `tracepoints (tp_btf): ${CACHESTAT_METHODS.tp_btf.accuracy}`);
  assert.match(text[6], /PID COMM\s+ACC\s+MISS\s+HIT/);
  assert.match(text[7], /^\s+4242 a\{b\}\s+900\s+27\s+97\.0%/);
  assert.match(text[8], /^\s+1 init\s+100\s+0\s+100%/);
  assert.ok(lines[7].includes('{open}'), 'a brace in a process name is escaped');
  for (const l of lines) assert.ok(visibleLength(l) <= 100);
});

test('panel: no accesses, unavailable, disabled', () => {
  const idle = renderCachestat(ok(snap(null, 0)), { width: 40, height: 4, color: false }, []);
  assert.match(strip(idle[0]), /^HIT\s+-\s+no page-cache accesses/);
  assert.deepEqual(renderCachestat({ status: 'unavailable', reason: 'no tracepoint mm_filemap_get_pages' }, { width: 60, height: 4, color: false }, []), [
    'unavailable: no tracepoint mm_filemap_get_pages',
  ]);
  assert.deepEqual(renderCachestat({ status: 'disabled' }, { width: 60, height: 4, color: false }, []), ['disabled (--disable)']);
});

test('panel fits every width 36..120 and height 4..14', () => {
  for (let width = 36; width <= 120; width++) {
    for (let height = 4; height <= 14; height++) {
      for (const color of [false, true]) {
        const lines = renderCachestat(history[3], { width, height, color }, history);
        assert.ok(lines.length <= height, `${lines.length} lines at ${width}x${height}`);
        assert.ok(lines.length >= Math.min(height, 4), `only ${lines.length} lines at ${width}x${height}`);
        for (const l of lines) assert.ok(visibleLength(l) <= width, `"${l}" wider than ${width}`);
        assert.match(strip(lines[0]), /HIT {2}97\.3%/);
      }
    }
  }
});

/** A per-CPU value of cs_total whose run (struct cs_pend) belongs to `tgid`. */
function cpuWithRun(tgid: number, c: CachestatCounts, seqBegin = 4, seqEnd = 4): Buffer {
  const b = Buffer.alloc(CS_CPU.size);
  const at = offsetOf(CS_CPU, 'pend');
  b.writeBigUInt64LE(BigInt(seqBegin), at + offsetOf(CS_PEND, 'seq_begin'));
  b.writeUInt32LE(tgid, at + offsetOf(CS_PEND, 'tgid'));
  const co = at + offsetOf(CS_PEND, 'c');
  b.writeBigUInt64LE(BigInt(c.accessed), co + offsetOf(CS_COUNTS, 'accessed'));
  b.writeBigUInt64LE(BigInt(c.added), co + offsetOf(CS_COUNTS, 'added'));
  b.writeBigUInt64LE(BigInt(c.dirtied), co + offsetOf(CS_COUNTS, 'dirtied'));
  b.writeBigUInt64LE(BigInt(c.writeAdded), co + offsetOf(CS_COUNTS, 'write_added'));
  b.writeBigUInt64LE(BigInt(seqEnd), at + offsetOf(CS_PEND, 'seq_end'));
  return b;
}

test("withRuns: each CPU's run is added to its process; runs read mid-move or without an entry are left out; readings are not modified", () => {
  const a = proc(10, 'cat', counts(100, 10));
  const b = proc(20, 'dd', counts(5, 0, 0, 7));
  const procs = [a, b];
  const out = withRuns(procs, [
    cpuWithRun(10, counts(30, 3)),
    cpuWithRun(10, counts(1, 0, 0, 2)), // the same process's run on another CPU
    cpuWithRun(20, counts(1000, 1000), 5, 6), // read while the CPU moved to another process
    cpuWithRun(99, counts(50, 50)), // its entry was swept (the process exited)
    cpuWithRun(0, counts(70, 70)), // no run
  ]);
  assert.deepEqual(out, [proc(10, 'cat', { accessed: 131, added: 13, dirtied: 2, writeAdded: 0 }), b]);
  assert.equal(out[1], b, 'a process without a run keeps its reading');
  assert.deepEqual(a, proc(10, 'cat', counts(100, 10)), 'the shared reading is unchanged');
  assert.equal(withRuns(procs, [cpuWithRun(0, counts(1, 1))]), procs, 'no run: the same list');
});
