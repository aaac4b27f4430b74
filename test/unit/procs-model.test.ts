/**
 * Process table model: rates from two literal /proc readings, and the process tree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildProcs, childrenByPpid, procTree, treePrefix, TreeRow } from '../../src/model/procs';
import type { ProcRaw } from '../../src/procfs/procs';

const META = { clkTck: 100, pageSize: 4096, uptimeS: 1000 };

function raw(p: Partial<ProcRaw> & { pid: number }): ProcRaw {
  return { ppid: 1, uid: 0, comm: 'x', cmdline: ['x'], cgroup: '/', state: 'S', startTimeTicks: 500, utimeTicks: 0, stimeTicks: 0, rssPages: 0, threads: 1, ...p };
}

test('CPU% of one CPU with the user/system split, RSS in bytes', () => {
  const prev = [raw({ pid: 10, utimeTicks: 1000, stimeTicks: 400, rssPages: 5 })];
  // 2 s interval: +150 user ticks and +50 system ticks = 2 s of CPU = one core.
  const cur = [raw({ pid: 10, utimeTicks: 1150, stimeTicks: 450, rssPages: 10, state: 'R', threads: 3 })];
  const [p] = buildProcs(cur, prev, 2000, META);
  assert.equal(p.cpuPct, 100);
  assert.equal(p.userPct, 75);
  assert.equal(p.sysPct, 25);
  assert.equal(p.rssBytes, 40960);
  assert.equal(p.state, 'R');
  assert.equal(p.threads, 3);
  assert.equal(p.isNew, false);
  // Several busy threads: more than one core, as top shows it.
  const [q] = buildProcs([raw({ pid: 10, utimeTicks: 1000 + 350, stimeTicks: 400 })], prev, 1000, META);
  assert.equal(q.cpuPct, 350);
});

test('no previous reading or no interval: rates are null, the rest is there', () => {
  const cur = [raw({ pid: 10, utimeTicks: 100, rssPages: 2, schedWaitNs: 5e6 })];
  for (const [prev, ms] of [
    [undefined, 1000],
    [[raw({ pid: 10 })], 0],
  ] as const) {
    const [p] = buildProcs(cur, prev, ms, META);
    assert.deepEqual([p.cpuPct, p.userPct, p.sysPct, p.runqWaitMsPerSec], [null, null, null, null]);
    assert.equal(p.rssBytes, 8192);
  }
  assert.equal(buildProcs(cur, undefined, 1000, META)[0].isNew, false, 'nothing to be new against');
});

test('a process born in the interval counts all its CPU time; a reused pid is a new process', () => {
  const prev = [raw({ pid: 10, startTimeTicks: 500, utimeTicks: 900 })];
  // Started 0.5 s before the reading (uptime 1000 s = 100000 ticks).
  const born = raw({ pid: 11, startTimeTicks: 99_950, utimeTicks: 30, stimeTicks: 10, schedWaitNs: 20e6 });
  const reused = raw({ pid: 10, startTimeTicks: 99_980, utimeTicks: 5 });
  const out = buildProcs([reused, born], prev, 1000, META);
  assert.deepEqual(
    out.map((p) => [p.pid, p.isNew, p.cpuPct, p.runqWaitMsPerSec]),
    [
      [10, true, 5, null],
      [11, true, 40, 20],
    ],
  );
});

test('a process missing from the previous reading but older than the interval gets no rate', () => {
  // 400 s old: it was not really born in this 1 s interval, the previous reading missed it.
  const [p] = buildProcs([raw({ pid: 12, startTimeTicks: 60_000, utimeTicks: 5000 })], [raw({ pid: 10 })], 1000, META);
  assert.equal(p.cpuPct, null);
  assert.equal(p.isNew, true);
});

test('run-queue wait in ms per second from schedstat deltas', () => {
  const prev = [raw({ pid: 10, schedRunNs: 1e9, schedWaitNs: 2e8 }), raw({ pid: 11 }), raw({ pid: 12, schedWaitNs: 9e8 })];
  const cur = [raw({ pid: 10, schedRunNs: 1.5e9, schedWaitNs: 2e8 + 300e6 }), raw({ pid: 11, schedWaitNs: 1e8 }), raw({ pid: 12, schedWaitNs: 1e8 })];
  const out = buildProcs(cur, prev, 2000, META);
  assert.equal(out[0].runqWaitMsPerSec, 150); // 300 ms over 2 s
  assert.equal(out[1].runqWaitMsPerSec, null, 'no previous value to subtract');
  assert.equal(out[2].runqWaitMsPerSec, null, 'a counter that went back is not a rate');
});

test('counters that went back (same start time) give null, not negative rates', () => {
  const [p] = buildProcs([raw({ pid: 10, utimeTicks: 50 })], [raw({ pid: 10, utimeTicks: 60 })], 1000, META);
  assert.equal(p.cpuPct, null);
});

test('age and start time', () => {
  const [p] = buildProcs([raw({ pid: 10, startTimeTicks: 40_000 })], undefined, 0, { ...META, ts: 1_700_000_000_000 });
  assert.equal(p.ageS, 600);
  assert.equal(p.startMs, 1_700_000_000_000 - 600_000);
  assert.equal(buildProcs([raw({ pid: 10 })], undefined, 0, META)[0].startMs, null);
});

test('buildProcs does not modify its inputs and keeps raw strings', () => {
  const cur = [raw({ pid: 10, comm: 'a\x1b[2J\udcff', cmdline: ['a', 'b\nc'], utimeTicks: 9 })];
  const prev = [raw({ pid: 10, utimeTicks: 1 })];
  const before = JSON.stringify([cur, prev]);
  const [p] = buildProcs(cur, prev, 1000, META);
  assert.equal(JSON.stringify([cur, prev]), before);
  assert.equal(p.comm, 'a\x1b[2J\udcff');
  assert.deepEqual(p.cmdline, ['a', 'b\nc']);
});

// ---- tree ------------------------------------------------------------------------------------

// init(1) -> 10 -> {100, 101}, init -> 11 -> 110; kthreadd(2) -> 20; an orphan whose parent is
// gone (500, ppid 499); and a parent loop (700 <-> 701) as a pid reused mid-read can produce.
const ITEMS = [
  { pid: 101, ppid: 10, cpu: 5 },
  { pid: 1, ppid: 0, cpu: 0 },
  { pid: 10, ppid: 1, cpu: 1 },
  { pid: 11, ppid: 1, cpu: 9 },
  { pid: 100, ppid: 10, cpu: 1 },
  { pid: 110, ppid: 11, cpu: 0 },
  { pid: 2, ppid: 0, cpu: 0 },
  { pid: 20, ppid: 2, cpu: 0 },
  { pid: 500, ppid: 499, cpu: 0 },
  { pid: 701, ppid: 700, cpu: 0 },
  { pid: 700, ppid: 701, cpu: 0 },
];

const show = (rows: TreeRow<{ pid: number }>[]) => rows.map((r) => `${treePrefix(r)}${r.item.pid}`);

test('procTree: parents before children, siblings by pid, orphans and loops become roots', () => {
  const rows = procTree(ITEMS);
  assert.deepEqual(show(rows), ['1', '├─ 10', '│  ├─ 100', '│  └─ 101', '└─ 11', '   └─ 110', '2', '└─ 20', '500', '700', '└─ 701']);
  const byPid = new Map(rows.map((r) => [r.item.pid, r]));
  assert.deepEqual([byPid.get(1)!.children, byPid.get(1)!.descendants], [2, 5]);
  assert.deepEqual([byPid.get(10)!.children, byPid.get(10)!.descendants, byPid.get(10)!.depth], [2, 2, 1]);
  assert.equal(byPid.get(110)!.parent, byPid.get(11));
  assert.deepEqual([byPid.get(11)!.last, byPid.get(10)!.last, byPid.get(500)!.parent], [true, false, null]);
  assert.equal(rows.length, ITEMS.length, 'every process exactly once');
});

test('procTree: siblings sorted by the table sort, collapsed subtrees hidden but counted', () => {
  const byCpu = (a: { cpu: number; pid: number }, b: { cpu: number; pid: number }) => b.cpu - a.cpu || a.pid - b.pid;
  assert.deepEqual(show(procTree(ITEMS, byCpu)).slice(0, 6), ['1', '├─ 11', '│  └─ 110', '└─ 10', '   ├─ 101', '   └─ 100']);
  const rows = procTree(ITEMS, undefined, new Set([10, 110]));
  assert.deepEqual(show(rows).slice(0, 4), ['1', '├─ 10', '└─ 11', '   └─ 110']);
  const r10 = rows.find((r) => r.item.pid === 10)!;
  assert.deepEqual([r10.collapsed, r10.descendants], [true, 2]);
  assert.equal(rows.find((r) => r.item.pid === 110)!.collapsed, false, 'nothing to collapse');
});

test('procTree: a deep chain does not overflow the stack', () => {
  const chain = Array.from({ length: 20_000 }, (_, i) => ({ pid: i + 1, ppid: i }));
  const rows = procTree(chain);
  assert.equal(rows.length, 20_000);
  assert.equal(rows[19_999].depth, 19_999);
  assert.equal(rows[0].descendants, 19_999);
});

test('childrenByPpid', () => {
  const kids = childrenByPpid(ITEMS);
  assert.deepEqual(
    kids.get(10)!.map((x) => x.pid),
    [101, 100],
  );
  assert.deepEqual(
    kids.get(0)!.map((x) => x.pid),
    [1, 2],
  );
  assert.equal(kids.get(100), undefined);
});
