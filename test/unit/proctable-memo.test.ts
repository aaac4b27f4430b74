/**
 * The process table keeps each row's line while the fields its columns read are unchanged
 * (screens/proctable: procTableLines). Two things make that safe: every column declares all the
 * fields its text reads, and the kept lines are the lines a fresh render draws.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COLUMNS, forgetRowLines, procTableLines, type SortState } from '../../screens/proctable';
import type { ProcRow } from '../../src/model/proctable';
import type { DisplayRow } from '../../screens/tableview';

function row(pid: number): ProcRow {
  return {
    pid, ppid: 1, uid: 0, comm: `proc${pid}`, cmdline: [`/bin/proc${pid}`, '--flag'], cgroup: '/system.slice/x.service', state: 'S', threads: 1,
    rssBytes: 12_345_678, cpuPct: 1.5, runqMsPerSec: 0.25, runqP99Us: 48, offcpuMsPerSec: 990, ioOpsPerSec: 3, ioBytesPerSec: 4096,
    ioP99Us: 900, cacheAccesses: 10, cacheHitPct: 90, ageS: 100, exited: null,
  };
}

// A value of the same type that shows differently.
function other(v: unknown): unknown {
  if (v === null) return 7;
  if (typeof v === 'number') return v * 3 + 11;
  if (typeof v === 'string') return v + 'x';
  if (Array.isArray(v)) return [...v, 'more'];
  return null;
}

test('process table: each column declares every field its text reads', () => {
  const base = row(42);
  const exited = { ...row(43), state: 'X', exited: { code: 1, signal: null, lifetimeMs: 12, ts: 5 } };
  const kthread = { ...row(2), ppid: 0, cmdline: [] }; // shown as [comm]
  for (const r of [base, exited, kthread]) {
    for (const c of COLUMNS) {
      for (const f of Object.keys(r) as (keyof ProcRow)[]) {
        if (c.reads.includes(f)) continue;
        const changed = { ...r, [f]: other(r[f]) } as ProcRow;
        assert.equal(c.text(changed), c.text(r), `column ${c.id} reads ${f}, which it does not declare`);
      }
      // And what it declares does matter (a declaration is not a blanket one).
      assert.ok(c.reads.some((f) => c.text({ ...r, [f]: other(r[f]) } as ProcRow) !== c.text(r)), `column ${c.id}: none of ${c.reads.join(', ')} changes its text`);
    }
  }
});

test('process table: kept lines are the lines a fresh render draws, tick after tick (random changes, selection, sorting, widths)', () => {
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const sorts: SortState[] = [{ column: 'cpu', descending: true }, { column: 'pid', descending: false }];
  let rows = Array.from({ length: 30 }, (_, i) => row(100 + i));
  let kept = 0;
  for (let tick = 0; tick < 400; tick++) {
    // A few rows change a field each tick, as at idle; sometimes one exits, is born, or a width changes.
    rows = rows.map((r) => {
      if (rand(5) !== 0) return { ...r, ageS: (r.ageS ?? 0) + 1 }; // a field no column shows
      const f = (['cpuPct', 'rssBytes', 'state', 'offcpuMsPerSec', 'cmdline', 'uid', 'ioP99Us', 'comm'] as const)[rand(8)];
      return { ...r, [f]: f === 'cmdline' && rand(3) === 0 ? [] : other(r[f]) } as ProcRow;
    });
    if (rand(10) === 0) rows[rand(rows.length)] = { ...rows[0], state: 'X', exited: { code: rand(3), signal: null, lifetimeMs: rand(5000), ts: tick } };
    if (rand(10) === 0) rows.push(row(1000 + tick));
    const width = rand(20) === 0 ? 100 : 160;
    const display: DisplayRow[] = rows.map((r, i) => ({ row: r, prefix: i % 7 === 0 && rand(4) === 0 ? ' └─ ' : '' }));
    const sort = sorts[rand(2)];
    const selected = rand(display.length);
    const ctx = { width, height: 25, color: rand(2) === 0 };
    const offset = rand(3);
    const got = procTableLines(display, sort, selected, ctx, offset);
    forgetRowLines();
    const fresh = procTableLines(display, sort, selected, ctx, offset);
    assert.deepEqual(got, fresh, `tick ${tick}`);
    // The memo has just been reset: draw once more so the next tick starts from kept lines.
    procTableLines(display, sort, selected, ctx, offset);
    kept++;
  }
  assert.equal(kept, 400);
});

test('process table: a row whose shown fields did not change is not rebuilt', () => {
  forgetRowLines();
  const r = row(7);
  let calls = 0;
  const cpu = COLUMNS.find((c) => c.id === 'cpu')!;
  const text = cpu.text;
  cpu.text = (x) => {
    calls++;
    return text(x);
  };
  try {
    const ctx = { width: 160, height: 5, color: false };
    const sort: SortState = { column: 'cpu', descending: true };
    procTableLines([{ row: r, prefix: '' }], sort, -1, ctx);
    assert.equal(calls, 1);
    // A new object with the same shown fields (the next tick's row), another field changed.
    procTableLines([{ row: { ...r, ageS: 101, threads: 2 }, prefix: '' }], sort, -1, ctx);
    assert.equal(calls, 1, 'rebuilt although nothing shown changed');
    const line = procTableLines([{ row: { ...r, cpuPct: 2.5 }, prefix: '' }], sort, -1, ctx)[1];
    assert.equal(calls, 2);
    assert.match(line, / 2\.5 /);
  } finally {
    cpu.text = text;
  }
});
