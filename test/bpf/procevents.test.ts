/**
 * procevents against a real kernel: a storm of 3,000 short processes must arrive whole (exec and
 * exit of each, nothing lost) with the CPU time their parent's RUSAGE_CHILDREN saw; a CPU burner's
 * CPU time matches its own measurement; exit status, signals, parent, lifetime and argv survive;
 * threads are counted, not reported — with every variant this kernel supports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bpfSkipReason, loadedProgIds, sleep } from '../helpers/bpf';
import { detectFeatures } from '../../src/bpf/features';
import { loadProbe } from '../../src/probes/load';
import { BPF_DIR } from '../../src/probes/load';
import { procevents, ProcEvent, ProceventsRaw, EXIT_HOLD_MS, DRAIN_IDLE_MAX_MS, DRAIN_CHAIN_RECORDS } from '../../src/probes/procevents';
import { buildProcevents } from '../../src/model/procevents';
import { enableBpfStats, disableBpfStats, progStats } from '../../src/bpf/stats';
import type { LoadedProbe } from '../../src/probes/types';
import type { StructLayout } from '../../src/bpf/layout';

const skip = bpfSkipReason();
if (skip) console.log(`# skipping procevents BPF tests: ${skip}`);

const STORM = 3000;

/** A private copy of /bin/true named pt-<tag>-<random> (15 chars: the whole comm). */
function uniqueTrue(dir: string, tag: string): { bin: string; comm: string } {
  const comm = `pt-${tag}-${crypto.randomBytes(8).toString('hex')}`.slice(0, 15);
  const bin = path.join(dir, comm);
  fs.copyFileSync('/bin/true', bin);
  fs.chmodSync(bin, 0o755);
  return { bin, comm };
}

/** Runs a command; resolves with its pid, exit code/signal and stdout. */
function run(cmd: string, args: string[]): { pid: number; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>; kill(sig: NodeJS.Signals): void } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, out }));
  });
  return { pid: child.pid!, done, kill: (s) => child.kill(s) };
}

/** Reads the probe until `want(events so far)` holds or `ms` pass; returns every event read. */
async function collect(probe: LoadedProbe<ProceventsRaw>, acc: ProcEvent[], want: (evs: ProcEvent[]) => boolean, ms = 15000): Promise<ProceventsRaw> {
  const end = Date.now() + ms;
  for (;;) {
    const raw = probe.read();
    acc.push(...raw.events);
    if (want(acc) || Date.now() > end) return raw;
    await sleep(100);
  }
}

function loadVariant(variant: string): LoadedProbe<ProceventsRaw> | null {
  const r = loadProbe(procevents, { variants: { procevents: variant } }, detectFeatures());
  if (!r.ok && variant !== 'tp_btf' && /no BTF|not found|tracefs|no tracepoint/.test(r.reason)) {
    console.log(`# ${variant} not supported here: ${r.reason}`);
    return null;
  }
  assert.ok(r.ok, `load of ${variant} failed: ${!r.ok && r.reason} ${JSON.stringify(!r.ok && r.attempts)}`);
  assert.equal(r.probe.variant, variant);
  return r.probe;
}

/** Program ids of a loaded probe, and the ids of the links that attach them. */
function idsOf(probe: LoadedProbe<ProceventsRaw>): { progs: number[]; links: number[] } {
  const progs = probe.programs().map((p) => progStats(p.name, p.fd)!.id);
  const links = (JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show'], { encoding: 'utf8' })) as { id: number; prog_id: number }[])
    .filter((l) => progs.includes(l.prog_id))
    .map((l) => l.id);
  return { progs, links };
}

/** Waits until none of `ids` is loaded any more (freeing is deferred after the last fd closes). */
async function released(ids: { progs: number[]; links: number[] }, ms = 3000): Promise<{ progs: number[]; links: number[] }> {
  const end = Date.now() + ms;
  for (;;) {
    const progs = loadedProgIds().filter((id) => ids.progs.includes(id));
    const links = (JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show'], { encoding: 'utf8' })) as { id: number }[])
      .map((l) => l.id)
      .filter((id) => ids.links.includes(id));
    if ((progs.length === 0 && links.length === 0) || Date.now() > end) return { progs, links };
    await sleep(50);
  }
}

/** CPU seconds of a shell's children from bash's `times` (second line: user and system). */
function childrenCpuMs(timesOut: string): number {
  const lines = timesOut.trim().split('\n');
  const m = [...lines[lines.length - 1].matchAll(/(\d+)m([\d.]+)s/g)];
  assert.equal(m.length, 2, `cannot parse times output: ${timesOut}`);
  return m.reduce((s, x) => s + (Number(x[1]) * 60 + Number(x[2])) * 1000, 0);
}

for (const variant of procevents.variants.map((v) => v.name)) {
  test(`procevents (${variant}): ${STORM} short processes, each exec and exit seen, none lost, CPU as RUSAGE_CHILDREN`, { skip: skip ?? false }, async () => {
    const probe = loadVariant(variant);
    if (!probe) return;
    // Other tests load programs at the same time: follow this probe's own ids.
    const mine = idsOf(probe);
    assert.equal(mine.progs.length, probe.programs().length);
    assert.equal(mine.links.length, mine.progs.length, 'one link per program');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pt-procevents-'));
    const statsErr = enableBpfStats();
    try {
      const { bin, comm } = uniqueTrue(dir, 'short');
      const before = probe.read();
      const acc: ProcEvent[] = [...before.events];
      // A quiet spell first: the drain timer backs off to DRAIN_IDLE_MAX_MS, and the storm
      // starts while it waits that long (nothing may be lost to the slower first drain).
      await new Promise((r) => setTimeout(r, DRAIN_IDLE_MAX_MS * 2));
      const t0 = performance.now();
      // As fast as the machine goes: one bash loop per CPU; `times` then prints the CPU time
      // each loop's children used (RUSAGE_CHILDREN).
      const n = Math.max(1, os.cpus().length);
      const drivers = Array.from({ length: n }, (_, i) => {
        const count = Math.floor(STORM / n) + (i < STORM % n ? 1 : 0);
        return run('bash', ['-c', `for ((i=0;i<${count};i++)); do "$0"; done; times`, bin]);
      });
      const results = await Promise.all(drivers.map((d) => d.done));
      const wallMs = performance.now() - t0;
      for (const r of results) assert.equal(r.code, 0);
      const driverPids = new Set(drivers.map((d) => d.pid));
      const ours = (k: string) => (evs: ProcEvent[]) => evs.filter((e) => e.kind === k && e.comm === comm);
      const after = await collect(probe, acc, (evs) => ours('exit')(evs).length >= STORM);
      const execs = ours('exec')(acc);
      const exits = ours('exit')(acc);
      console.log(`# ${variant}: ${STORM} processes from ${n} loops in ${wallMs.toFixed(0)} ms (${((STORM * 1000) / wallMs).toFixed(0)}/s); ` +
        `${acc.length} events in all, lost ${after.lost}, budget drops ${after.budgetDrops}`);
      assert.equal(after.lost, 0, `records lost in the kernel: ${JSON.stringify(after.lostByKind)}`);
      assert.equal(after.budgetDrops, 0, 'records dropped by the user-space budget');
      assert.equal(execs.length, STORM, 'one exec per process');
      assert.equal(exits.length, STORM, 'one exit per process');
      const execPids = new Set(execs.map((e) => e.pid));
      assert.equal(execPids.size, STORM, 'distinct pids');
      for (const x of exits) {
        assert.ok(execPids.has(x.pid), `exit of ${x.pid} has no exec`);
        assert.equal(x.exitCode, 0);
        assert.equal(x.signal, 0);
        assert.ok(driverPids.has(x.ppid), 'parent is a bash loop');
        assert.equal(x.parentComm, 'bash');
        assert.ok(x.lifetimeNs! > 0 && x.lifetimeNs! < wallMs * 1e6, `lifetime ${x.lifetimeNs}`);
        assert.equal(x.filename, bin, 'exit carries the exec path');
      }
      // Each was reaped at once, so its free record should bring the final CPU time. On this VM
      // the kernel does not run BPF tracepoint programs for 0-2% of sched_process_free events
      // (all in softirq on a thread of PID 1, the VM agent; ftrace sees them, and no recursion
      // miss is counted): those exits come flagged, with the CPU time read at exit.
      const atExit = exits.filter((x) => x.cpuAtExit).length;
      console.log(`# ${variant}: ${atExit} of ${STORM} exits without their free record (CPU time read at exit)`);
      assert.ok(atExit <= STORM * 0.05, `${atExit} exits without their final CPU time`);
      for (const e of execs) {
        assert.equal(e.filename, bin);
        assert.deepEqual(e.args, [bin]);
        assert.ok(driverPids.has(e.ppid));
      }
      // Forks of the bash loops: one per process (matched by pid).
      const forkPids = new Set(acc.filter((e) => e.kind === 'fork' && driverPids.has(e.ppid)).map((e) => e.pid));
      for (const pid of execPids) assert.ok(forkPids.has(pid), `fork of ${pid} missing`);
      // Every exit's CPU time is final: their sum is what the kernel gave the loops as RUSAGE_CHILDREN.
      const oursMs = exits.reduce((s, x) => s + x.cpuNs!, 0) / 1e6;
      const rusageMs = results.reduce((s, r) => s + childrenCpuMs(r.out), 0);
      console.log(`# ${variant}: CPU of the ${STORM} processes: ${oursMs.toFixed(1)} ms; the loops' children: ${rusageMs.toFixed(1)} ms`);
      assert.ok(Math.abs(oursMs - rusageMs) <= 0.1 * rusageMs + 5, `CPU ${oursMs.toFixed(1)} ms vs RUSAGE_CHILDREN ${rusageMs.toFixed(1)} ms`);
      // The model sees the same: counters moved by at least the storm; rates over the interval.
      const snap = buildProcevents(after, before, wallMs);
      assert.ok(after.counts.exec - before.counts.exec >= STORM && after.counts.exit - before.counts.exit >= STORM);
      assert.ok(snap.execPerSec >= (STORM * 1000) / wallMs * 0.99);
      if (!statsErr) {
        const costs = probe.programs().map((p) => progStats(p.name, p.fd)!).map((s) => ({ name: s.name, ns: s.runCnt ? s.runTimeNs / s.runCnt : 0, n: s.runCnt }));
        console.log(`# ${variant}: ns per run ${costs.map((c) => `${c.name} ${c.ns.toFixed(0)} (${c.n})`).join(', ')}`);
        for (const c of costs) {
          // The free program misses what the kernel does not run it for (see above).
          assert.ok(c.n >= (/free/.test(c.name) ? STORM * 0.95 : STORM), `${c.name} ran ${c.n} times`);
          // A bound with headroom for a loaded machine (the target is 1 us; see the log line).
          assert.ok(c.ns < 4000, `${c.name}: ${c.ns.toFixed(0)} ns per event`);
        }
      }
    } finally {
      if (!statsErr) disableBpfStats();
      probe.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const left = await released(mine);
    assert.deepEqual(left.progs, [], 'every program unloaded after close');
    assert.deepEqual(left.links, [], 'every link released after close');
  });

  test(`procevents (${variant}): exit status, signals, parent, lifetime, CPU time and argv`, { skip: skip ?? false }, async () => {
    const probe = loadVariant(variant);
    if (!probe) return;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pt-procevents-'));
    try {
      probe.read();
      const acc: ProcEvent[] = [];
      // A node process burning ~200 ms of CPU, reporting what it used just before exiting.
      const burner = run(process.execPath, ['-e',
        'const t = process.cpuUsage(); while (process.cpuUsage(t).user < 200000) {} ' +
        'const u = process.cpuUsage(); process.stdout.write(String(u.user + u.system)); process.exit(0)']);
      const exit7 = run('sh', ['-c', 'sleep 0.2; exit 7']);
      const killed = run('sleep', ['30']);
      const termed = run('sleep', ['30']);
      await sleep(150);
      killed.kill('SIGKILL');
      termed.kill('SIGTERM');
      // argv with a space, an empty argument, a newline, a control byte and invalid UTF-8.
      const { bin, comm } = uniqueTrue(dir, 'args');
      const script = path.join(dir, 'args.sh');
      fs.writeFileSync(script, `exec "${bin}" 'a b' '' "$(printf 'x\\ny')" "$(printf '\\377\\001z')"\n`);
      const argv = run('sh', [script]);
      const long = uniqueTrue(dir, 'long');
      const longRun = run(long.bin, Array.from({ length: 100 }, (_, i) => `argument-${i}`));
      const results = await Promise.all([burner.done, exit7.done, killed.done, termed.done, argv.done, longRun.done]);
      const usedNs = Number(results[0].out) * 1000;
      const pids = [burner.pid, exit7.pid, killed.pid, termed.pid, argv.pid, longRun.pid];
      await collect(probe, acc, (evs) => pids.every((p) => evs.some((e) => e.kind === 'exit' && e.pid === p)));
      const exitOf = (pid: number) => {
        const x = acc.filter((e) => e.kind === 'exit' && e.pid === pid);
        assert.equal(x.length, 1, `one exit record for ${pid}`);
        return x[0];
      };
      const me = process.pid;

      const b = exitOf(burner.pid);
      console.log(`# ${variant}: burner used ${(usedNs / 1e6).toFixed(1)} ms by its own count, ${(b.cpuNs! / 1e6).toFixed(1)} ms reported`);
      assert.ok(usedNs >= 200e6);
      assert.ok(Math.abs(b.cpuNs! - usedNs) <= 0.1 * usedNs, `burner CPU ${b.cpuNs} ns vs ${usedNs} ns`);
      assert.equal(b.exitCode, 0);
      assert.equal(b.ppid, me);

      const e7 = exitOf(exit7.pid);
      assert.equal(e7.exitCode, 7);
      assert.equal(e7.signal, 0);
      assert.equal(e7.ppid, me);
      assert.equal(e7.comm, 'sh');
      assert.ok(e7.lifetimeNs! >= 200e6 && e7.lifetimeNs! < 10e9, `lifetime ${e7.lifetimeNs}`);

      const k = exitOf(killed.pid);
      assert.equal(k.signal, 9);
      assert.equal(k.exitCode, null);
      assert.equal(k.comm, 'sleep');
      assert.ok(k.lifetimeNs! >= 100e6, `killed after ${k.lifetimeNs} ns`);
      const t = exitOf(termed.pid);
      assert.equal(t.signal, 15);
      assert.equal(t.exitCode, null);

      // sh execs the copy of true: the exec record is the same process, with the exact bytes.
      const ex = acc.find((e) => e.kind === 'exec' && e.pid === argv.pid && e.comm === comm);
      assert.ok(ex, 'exec of the args workload');
      assert.deepEqual(ex.args, [bin, 'a b', '', 'x\ny', '\udcff\u0001z']);
      assert.deepEqual(JSON.parse(JSON.stringify(ex.args)), ex.args, 'args survive JSON as data');
      assert.equal(ex.argsTruncated, undefined);
      assert.deepEqual(exitOf(argv.pid).args, ex.args, 'the exit carries the argv of the exec');

      const lx = acc.find((e) => e.kind === 'exec' && e.pid === longRun.pid);
      assert.ok(lx);
      assert.equal(lx.argsTruncated, true);
      assert.equal(lx.args![0], long.bin);
      assert.equal(lx.args![1], 'argument-0');
      assert.ok(Buffer.byteLength(lx.args!.join('\0')) <= 256, 'bounded to 256 bytes');
      const n = lx.args!.length;
      assert.ok(n > 5 && n < 100, `${n} arguments kept`);
      assert.ok('argument-'.startsWith(lx.args![n - 1].slice(0, 9)) || /^argument-\d+$/.test(lx.args![n - 2]), 'the last one is cut');
    } finally {
      probe.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('procevents: reads every second park the drain timer at idle; a storm seen by a read restarts it, and it drains between reads', { skip: skip ?? false }, async () => {
  // 1 MiB of ring: this VM's storm fills it in about half a second, so nothing survives the
  // reads' absence below unless the timer drains in between.
  const r = loadProbe(procevents, { mapMaxEntries: { pe_ring: 1 << 20 } }, detectFeatures());
  assert.ok(r.ok, `load failed: ${!r.ok && r.reason}`);
  const probe = r.probe as LoadedProbe<ProceventsRaw>;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pt-procevents-'));
  try {
    const { bin, comm } = uniqueTrue(dir, 'parked');
    const acc: ProcEvent[] = [];
    // As the app reads at idle: once a second. After the second read the timer is parked.
    for (let i = 0; i < 3; i++) {
      acc.push(...probe.read().events);
      await sleep(1000);
    }
    const n = Math.max(1, os.cpus().length);
    const t0 = performance.now();
    const drivers = Array.from({ length: n }, (_, i) => run('bash', ['-c', `for ((i=0;i<${Math.floor(STORM / n) + (i < STORM % n ? 1 : 0)};i++)); do "$0"; done`, bin]));
    // A read soon after the storm starts sees many records: the timer drains every DRAIN_MS again.
    await sleep(200);
    const first = probe.read();
    acc.push(...first.events);
    assert.ok(first.events.length >= DRAIN_CHAIN_RECORDS, `the read saw the storm: ${first.events.length} events`);
    // No read until the storm is over: only the timer drains.
    for (const d of await Promise.all(drivers.map((x) => x.done))) assert.equal(d.code, 0);
    const stormMs = performance.now() - t0;
    const raw = await collect(probe, acc, (evs) => evs.filter((e) => e.kind === 'exit' && e.comm === comm).length >= STORM, 5000);
    console.log(`parked, then ${STORM} processes in ${stormMs.toFixed(0)} ms with one read; lost ${raw.lost}`);
    assert.ok(stormMs > 1000, `the storm outlasts the 1 MiB ring by far (${stormMs.toFixed(0)} ms)`);
    assert.equal(raw.lost, 0, `records lost in the kernel: ${JSON.stringify(raw.lostByKind)}`);
    assert.equal(raw.budgetDrops, 0);
    assert.equal(acc.filter((e) => e.kind === 'exec' && e.comm === comm).length, STORM, 'every exec');
    assert.equal(acc.filter((e) => e.kind === 'exit' && e.comm === comm).length, STORM, 'every exit');
  } finally {
    probe.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('procevents: threads are counted, not reported; one exit per multi-threaded process, with all threads\' CPU', { skip: skip ?? false }, async () => {
  const probe = loadVariant(procevents.variants[0].name)!;
  try {
    const before = probe.read();
    const acc: ProcEvent[] = [...before.events];
    // 4 worker threads each burn ~100 ms, then the process reports its CPU and exits.
    const src =
      "const { Worker } = require('node:worker_threads');" +
      "const ws = Array.from({ length: 4 }, () => new Worker('const e = Date.now() + 100; while (Date.now() < e) {}', { eval: true }));" +
      "Promise.all(ws.map((w) => new Promise((r) => w.on('exit', r)))).then(() => {" +
      ' const u = process.cpuUsage(); process.stdout.write(String(u.user + u.system)); process.exit(0); });';
    const child = run(process.execPath, ['-e', src]);
    const res = await child.done;
    const usedNs = Number(res.out) * 1000;
    const after = await collect(probe, acc, (evs) => evs.some((e) => e.kind === 'exit' && e.pid === child.pid));
    const exits = acc.filter((e) => e.kind === 'exit' && e.pid === child.pid);
    assert.equal(exits.length, 1, 'one exit for the process, none for its threads');
    assert.equal(acc.filter((e) => e.kind === 'fork' && e.pid === child.pid).length, 1, 'one fork record: the process');
    assert.equal(acc.filter((e) => e.kind === 'fork' && e.ppid === child.pid).length, 0, 'its threads are not fork records');
    assert.ok(after.counts.threadFork - before.counts.threadFork >= 4, 'thread creations counted');
    assert.ok(after.counts.threadExit - before.counts.threadExit >= 4, 'thread exits counted');
    console.log(`# threads: used ${(usedNs / 1e6).toFixed(1)} ms by its own count, ${(exits[0].cpuNs! / 1e6).toFixed(1)} ms reported`);
    assert.ok(usedNs >= 100e6, `4 workers spinning 100 ms: ${usedNs} ns`);
    assert.ok(Math.abs(exits[0].cpuNs! - usedNs) <= 0.1 * usedNs, `CPU ${exits[0].cpuNs} ns vs ${usedNs} ns`);
  } finally {
    probe.close();
  }
});

test('procevents: a zombie that is not reaped in time is handed over with its CPU time at exit', { skip: skip ?? false }, async () => {
  const probe = loadVariant(procevents.variants[0].name)!;
  try {
    probe.read();
    const acc: ProcEvent[] = [];
    // sh starts a short child, then becomes `sleep` — which never reaps it: a zombie until
    // sleep exits and the orphan is reaped by init.
    const holdS = (EXIT_HOLD_MS + 1500) / 1000;
    const parent = run('sh', ['-c', `/bin/sleep 0.05 & echo $!; exec /bin/sleep ${holdS}`]);
    await sleep(300);
    const t0 = Date.now();
    await collect(probe, acc, (evs) => evs.some((e) => e.kind === 'exec' && e.ppid === parent.pid), 3000);
    const zombie = acc.find((e) => e.kind === 'exec' && e.ppid === parent.pid && e.args?.[1] === '0.05');
    assert.ok(zombie, 'the short child exec\'d');
    await collect(probe, acc, (evs) => evs.some((e) => e.kind === 'exit' && e.pid === zombie.pid), EXIT_HOLD_MS + 1000);
    const x = acc.find((e) => e.kind === 'exit' && e.pid === zombie.pid);
    assert.ok(x, 'the zombie\'s exit was handed over before it was reaped');
    assert.ok(Date.now() - t0 < holdS * 1000, 'while its parent still lived');
    assert.equal(x.cpuAtExit, true);
    assert.equal(x.exitCode, 0);
    assert.ok(x.lifetimeNs! >= 50e6 && x.lifetimeNs! < 1e9);
    const res = await parent.done;
    assert.equal(res.code, 0);
    // Reaped later: its free record finds nothing waiting, and no second exit appears.
    await sleep(500);
    acc.push(...probe.read().events);
    assert.equal(acc.filter((e) => e.kind === 'exit' && e.pid === zombie.pid).length, 1);
  } finally {
    probe.close();
  }
});

test('procevents: struct layouts match the BTF of procevents.bpf.o', () => {
  let out: string;
  try {
    out = execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', path.join(BPF_DIR, procevents.object)], { encoding: 'utf8', maxBuffer: 64 << 20 });
  } catch (e) {
    assert.fail(`bpftool btf dump failed: ${(e as Error).message}`);
  }
  type T = { id: number; kind: string; name?: string; size?: number; members?: { name: string; bits_offset: number }[] };
  const types = JSON.parse(out).types as T[];
  const check = (l: StructLayout) => {
    const s = types.find((t) => t.kind === 'STRUCT' && t.name === l.name);
    assert.ok(s, `struct ${l.name} in BTF`);
    assert.equal(l.size, s.size, `sizeof(struct ${l.name})`);
    assert.deepEqual(l.fields.map((f) => [f.name, f.offset * 8]), s.members!.map((m) => [m.name, m.bits_offset]), `members of ${l.name}`);
    for (const f of l.fields) if (typeof f.type !== 'string') check(f.type);
  };
  for (const l of procevents.layouts) check(l);
});

test('procevents: without BTF tracepoint types the loader falls back to raw_tp, recording why', { skip: skip ?? false }, () => {
  const f = detectFeatures();
  const r = loadProbe(procevents, {}, { ...f, hasBtfType: () => false });
  assert.ok(r.ok, !r.ok ? r.reason : '');
  try {
    assert.equal(r.probe.variant, 'raw_tp');
    assert.equal(r.attempts.length, 1);
    assert.equal(r.attempts[0].variant, 'tp_btf');
    assert.match(r.attempts[0].error, /no BTF tracepoint sched_process_exec/);
    assert.ok(Array.isArray(r.probe.read().events));
  } finally {
    r.probe.close();
  }
});

test('procevents: a small ring wraps around many times (records split at the end of the data area) and nothing is lost or garbled', { skip: skip ?? false }, async () => {
  // 16 KiB of ring: every few processes the records cross its end, which the in-place reader
  // must read as one piece (the data area is mapped twice in a row).
  const r = loadProbe(procevents, { mapMaxEntries: { pe_ring: 16384 } }, detectFeatures());
  assert.ok(r.ok, `load failed: ${!r.ok && r.reason}`);
  const probe = r.probe as LoadedProbe<ProceventsRaw>;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pt-procevents-'));
  try {
    const { bin, comm } = uniqueTrue(dir, 'wrap');
    const acc: ProcEvent[] = [...probe.read().events];
    const N = 300;
    // Batches small enough for the ring, drained in between: each batch is ~15 records.
    for (let done = 0; done < N; done += 5) {
      await run('bash', ['-c', `for ((i=0;i<5;i++)); do "$0" arg-$RANDOM-with-some-length; done`, bin]).done;
      acc.push(...probe.read().events);
    }
    const raw = await collect(probe, acc, (evs) => evs.filter((e) => e.kind === 'exit' && e.comm === comm).length >= N, 5000);
    assert.equal(raw.lost, 0, 'nothing lost in the kernel');
    const execs = acc.filter((e) => e.kind === 'exec' && e.comm === comm);
    const exits = acc.filter((e) => e.kind === 'exit' && e.comm === comm);
    assert.equal(execs.length, N, 'every exec');
    assert.equal(exits.length, N, 'every exit');
    for (const e of execs) {
      assert.equal(e.filename, bin);
      assert.match(e.args![1], /^arg-\d+-with-some-length$/, `args intact: ${JSON.stringify(e.args)}`);
    }
    assert.ok(exits.every((e) => e.exitCode === 0), 'exit codes intact');
  } finally {
    probe.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
