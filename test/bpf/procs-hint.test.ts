/**
 * The sampler skips /proc reads of processes that did not run, as told by the run-queue probe's
 * per-process switch-in counts. Against a real kernel: sleepers are skipped, and a process that
 * wakes up now and then or spins still has every bit of its CPU time counted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { bpfSkipReason, haveTaskset, pinnedSpinners, sleep } from '../helpers/bpf';
import { openFiles } from '../helpers/fds';
import { Sampler } from '../../src/sampler';
import { parseStat } from '../../src/procfs/procs';
import { buildSnapshot } from '../../src/model/snapshot';
import { buildProcTable } from '../../src/model/proctable';

const skip = bpfSkipReason();
if (skip) console.log(`# skipping /proc hint tests: ${skip}`);

function cpuTicks(pid: number): number {
  const s = parseStat(fs.readFileSync(`/proc/${pid}/stat`))!;
  return s.utimeTicks + s.stimeTicks;
}

test('sampler: sleepers are not read, bursty and spinning processes keep exact CPU times', { skip: skip ?? false }, async () => {
  const s = new Sampler({ disable: ['offcputime', 'biolatency', 'cachestat', 'procevents'] });
  const kids = [
    spawn('sleep', ['60']),
    // Burns ~30 ms of CPU every 300 ms, sleeping in between.
    spawn('/usr/bin/python3', ['-c', 'import time\nwhile True:\n    t = time.process_time()\n    while time.process_time() - t < 0.03: pass\n    time.sleep(0.3)']),
    spawn('sh', ['-c', 'while :; do :; done']),
  ];
  try {
    s.start();
    assert.ok(s.loadInfo.find((l) => l.name === 'runqlat')?.variant, 'runqlat loaded');
    await sleep(300);
    let skipped = 0;
    let last = s.sample();
    for (let i = 0; i < 5; i++) {
      await sleep(500);
      last = s.sample();
      skipped = Math.max(skipped, s.procsSkipped());
    }
    const truth = kids.map((k) => cpuTicks(k.pid!));
    const seen = kids.map((k) => last.procs!.procs.find((p) => p.pid === k.pid));
    assert.ok(skipped > 0, 'some processes were skipped as not run');
    assert.ok(seen.every(Boolean), 'every child is listed');
    assert.equal(seen[0]!.state, 'S');
    const got = seen.map((p) => p!.utimeTicks + p!.stimeTicks);
    // Read right after the tick: the bursty child may have run one more burst (3 ticks), the
    // spinner up to the time between the two reads.
    assert.ok(got[1] > 0 && truth[1] - got[1] <= 4, `bursty child: probetop ${got[1]} ticks, /proc ${truth[1]}`);
    assert.ok(got[2] > 150 && truth[2] - got[2] <= 10, `spinner: probetop ${got[2]} ticks, /proc ${truth[2]}`);
  } finally {
    for (const k of kids) k.kill('SIGKILL');
    s.close();
  }
});

test('sampler: per-process map entries of exited processes are removed by the next /proc listing', { skip: skip ?? false }, async () => {
  const s = new Sampler({ disable: ['offcputime', 'biolatency', 'procevents'] });
  try {
    s.start();
    s.sample();
    // 300 processes that run and exit: each gets run-queue and page-cache map entries.
    const r = spawn('bash', ['-c', 'for ((i=0;i<300;i++)); do /bin/true; done']);
    await new Promise((res) => r.on('close', res));
    const counts = () => {
      const x = s.sample();
      const p = x.probes.runqlat;
      const rq = p?.status === 'ok' ? p.data.procs : [];
      return { size: rq.length, dead: rq.filter((p) => p.pid !== 0 && !fs.existsSync(`/proc/${p.pid}`)).length };
    };
    const first = counts(); // reads the exited processes' entries (their final counts)
    assert.ok(first.dead >= 250, `the exited processes were read once: ${first.dead} dead entries`);
    await sleep(200);
    counts(); // the listing after that read removes them
    await sleep(200);
    const third = counts();
    assert.ok(third.dead <= 5, `entries of exited processes left: ${third.dead}`);
    assert.ok(third.size < first.size - 250, `map shrank from ${first.size} to ${third.size}`);
  } finally {
    s.close();
  }
});

test('sampler: the /proc listing is reused while no process forks; a new child is listed at once, an ended one dropped', { skip: skip ?? false }, async (t) => {
  const s = new Sampler({ disable: ['offcputime', 'biolatency', 'cachestat'] });
  try {
    s.start();
    const variant = s.loadInfo.find((l) => l.name === 'procevents')?.variant;
    assert.ok(variant, 'procevents loaded');
    if (variant === 'tracepoint') return t.skip('procevents runs on classic tracepoints here: they count a fork before its child is listed, so the listing is always read');
    const has = (pid: number) => s.sample().procs!.procs.some((p) => p.pid === pid);
    s.sample();
    // Quiet ticks reuse the listing (a fork elsewhere on the machine lists again: several tries).
    for (let i = 0; i < 20 && s.listingsReused() === 0; i++) {
      await sleep(100);
      s.sample();
    }
    assert.ok(s.listingsReused() > 0, 'no tick reused the /proc listing in 20 tries');
    let droppedOnReuse = 0;
    for (let round = 0; round < 5; round++) {
      const child = spawn('sleep', ['30']);
      await new Promise((res) => child.on('spawn', res));
      assert.ok(has(child.pid!), `round ${round}: the new child ${child.pid} is listed by the first sample after its fork`);
      await sleep(100);
      s.sample();
      const exited = new Promise((res) => child.on('exit', res));
      child.kill('SIGKILL');
      await exited; // reaped: gone from /proc
      const before = s.listingsReused();
      const listed = has(child.pid!);
      assert.ok(!listed, `round ${round}: the killed child ${child.pid} is still listed (listing reused: ${s.listingsReused() > before})`);
      if (s.listingsReused() > before) droppedOnReuse++;
    }
    assert.ok(droppedOnReuse > 0, 'no round dropped the killed child while reusing the listing');
  } finally {
    s.close();
  }
});

test('sampler: with the run-queue probe no schedstat is read, and its waits are the table\'s; without it, schedstat is', { skip: skip ?? (haveTaskset() ? false : 'taskset (util-linux) is not installed') }, async () => {
  // Two spinners pinned to one CPU: each waits for it about half the time, for as long as both
  // samplers below take.
  const kids = pinnedSpinners(2, 6000, 0);
  const withProbe = new Sampler({ disable: ['offcputime', 'biolatency', 'cachestat', 'procevents'] });
  const without = new Sampler({ disable: ['runqlat', 'offcputime', 'biolatency', 'cachestat', 'procevents'] });
  try {
    await kids.ready;
    kids.go();
    withProbe.start();
    assert.ok(withProbe.loadInfo.find((l) => l.name === 'runqlat')?.variant, 'runqlat loaded');
    withProbe.sample(); // the first reading: the one after it has a switch-in hint
    await sleep(100);
    const a = withProbe.sample();
    await sleep(1000);
    const b = withProbe.sample();
    for (const p of b.procs!.procs) assert.equal(p.schedWaitNs, undefined, `pid ${p.pid} has a schedstat wait`);
    assert.equal(openFiles((p) => p.endsWith('/schedstat')), 0, 'schedstat files kept open');
    const snap = buildSnapshot(b, a);
    for (const pid of kids.pids) {
      const row = buildProcTable(snap).find((r) => r.pid === pid);
      assert.ok(row && row.runqMsPerSec !== null && row.runqMsPerSec > 200, `spinner ${pid}: run-queue wait ${row?.runqMsPerSec} ms/s from the probe`);
    }
    withProbe.close();

    without.start();
    without.sample(); // schedstat baselines
    await sleep(1000);
    const c = without.sample();
    assert.ok(openFiles((p) => p.endsWith('/schedstat')) > 0, 'schedstat read (and kept open) without the probe');
    for (const pid of kids.pids) {
      const p = c.procs!.procs.find((x) => x.pid === pid);
      assert.ok(p?.schedWaitNs !== undefined && p.schedWaitNs > 0, `spinner ${pid}: schedstat wait ${p?.schedWaitNs}`);
    }
  } finally {
    await kids.kill();
    withProbe.close();
    without.close();
  }
});
