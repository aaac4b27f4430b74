/**
 * The merged process table with literal inputs: probes' numbers land on the right rows, and
 * exited processes stay for a few seconds as marked rows with parent, exit code and lifetime.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildProcTable, EXITED_KEEP_MS } from '../../src/model/proctable';
import type { ProcTableInput } from '../../src/model/proctable';
import type { ExitedProc } from '../../src/model/procevents';
import type { Snapshot } from '../../src/model/snapshot';
import { COLUMNS } from '../../screens/proctable';
import { processLines, processView } from '../../screens/process';

const T = Date.UTC(2026, 10, 22, 12, 0, 0);

function exit(pid: number, ppid: number, comm: string, over: Partial<ExitedProc> = {}): ExitedProc {
  return {
    ts: T - 100, pid, ppid, uid: 0, comm, parentComm: 'bash', filename: `/usr/bin/${comm}`, args: [comm, '-x'], argsTruncated: false,
    exitCode: 0, signal: 0, coreDumped: false, lifetimeMs: 4.5, cpuMs: 3, cpuAtExit: false, cgroupId: 1, ...over,
  };
}

function input(exited: ExitedProc[], extra: Partial<ProcTableInput> = {}): ProcTableInput & { ts: number } {
  return {
    ts: T,
    procs: [
      { pid: 10, ppid: 1, uid: 0, comm: 'bash', cmdline: ['bash'], cgroup: '/a', state: 'S', threads: 1, rssBytes: 4096, cpuPct: 12, userPct: 10, sysPct: 2, runqWaitMsPerSec: 1, ageS: 100, startMs: T - 100000, isNew: false },
    ],
    runqlat: { status: 'ok', variant: 'tp_btf', data: { hist: { count: 0, sumNs: 0, slots: [] }, stats: {} as never, procs: [{ pid: 10, comm: 'bash', count: 5, waitMsPerSec: 7, p99Us: 100, meanUs: 10, maxUs: 128, hist: { count: 5, sumNs: 1, slots: [] } }], procMapFull: 0, procMapFill: 0 } },
    cachestat: { status: 'disabled' },
    biolatency: { status: 'disabled' },
    offcputime: { status: 'disabled' },
    procevents: { status: 'ok', variant: 'tp_btf', data: { intervalMs: 1000, exited } as never },
    ...extra,
  };
}

test('probe numbers merge onto the /proc row', () => {
  const rows = buildProcTable(input([]));
  assert.equal(rows.length, 1);
  assert.equal(rows[0].runqMsPerSec, 7);
  assert.equal(rows[0].cpuPct, 12);
  assert.equal(rows[0].exited, null);
});

test('a process that lived 4.5 ms between ticks is a row: parent, args, exit code, lifetime, CPU', () => {
  const rows = buildProcTable(input([exit(20, 10, 'curl', { exitCode: 7, cpuMs: 30 })]));
  const r = rows.find((x) => x.pid === 20)!;
  assert.equal(r.state, 'X');
  assert.equal(r.ppid, 10);
  assert.deepEqual(r.cmdline, ['curl', '-x']);
  assert.deepEqual(r.exited, { code: 7, signal: null, lifetimeMs: 4.5, ts: T - 100 });
  assert.equal(r.cpuPct, 3); // 30 ms of CPU in a 1 s interval
});

test('killed by a signal: the signal is kept, and the table and the process view name it', () => {
  const snap = input([exit(21, 10, 'sleep', { exitCode: null, signal: 9 }), exit(22, 10, 'true')]);
  const rows = buildProcTable(snap);
  const r = rows.find((x) => x.pid === 21)!;
  assert.deepEqual(r.exited, { code: null, signal: 9, lifetimeMs: 4.5, ts: T - 100 });
  const command = COLUMNS.find((c) => c.id === 'command')!;
  assert.equal(command.text(r), 'sleep -x  (killed by SIGKILL, lived 4.50ms)');
  assert.equal(command.text(rows.find((x) => x.pid === 22)!), 'true -x  (exit 0, lived 4.50ms)');
  const view = (pid: number) => processLines(snap as unknown as Snapshot, processView(pid), 120, false).join('\n');
  assert.match(view(21), /The process was killed by SIGKILL \(9\) after 4\.50ms;/);
  assert.match(view(22), /The process exited with code 0 after 4\.50ms;/);
});

test(`exits of earlier ticks stay ${EXITED_KEEP_MS} ms, then go`, () => {
  const earlier = [
    { ts: T - EXITED_KEEP_MS - 1000, procevents: { status: 'ok' as const, variant: 'tp_btf', data: { exited: [exit(30, 10, 'old')] } as never } },
    { ts: T - 1000, procevents: { status: 'ok' as const, variant: 'tp_btf', data: { exited: [exit(31, 10, 'recent')] } as never } },
  ];
  const rows = buildProcTable(input([]), earlier);
  assert.ok(rows.some((r) => r.pid === 31 && r.exited), 'the recent exit is kept');
  assert.ok(!rows.some((r) => r.pid === 30), 'the old one is gone');
});

test('an exit of a pid that /proc still lists (a zombie, not yet reaped) marks that row', () => {
  const rows = buildProcTable(input([exit(10, 1, 'bash', { ts: T - 500 })]));
  // pid 10 started 100 s ago, before the exit: it is the process that exited.
  assert.equal(rows.find((x) => x.pid === 10)!.exited?.code, 0);
});

test('a pid reused by a process that started after the exit is not marked exited', () => {
  const base = input([exit(10, 1, 'old', { ts: T - 2000 })]);
  base.procs = [{ ...base.procs[0], ageS: 0.5 }]; // started 0.5 s ago, after the exit 2 s ago
  const r = buildProcTable(base).find((x) => x.pid === 10)!;
  assert.equal(r.exited, null);
  assert.equal(r.comm, 'bash');
});
