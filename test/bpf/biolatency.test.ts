/**
 * biolatency against a real kernel: a dd doing N direct 4 KiB writes, then a dd doing N direct
 * reads, must show up as exactly those requests for those processes and at least that many on
 * the disk holding the file — with every variant this kernel supports, and from the queue.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { bpfSkipReason, idMarks, leakedSince, sleep } from '../helpers/bpf';
import { detectFeatures } from '../../src/bpf/features';
import { loadProbe } from '../../src/probes/load';
import { biolatency, BiolatencyRaw, BIOLAT_DISK_SLOT, BIOLAT_MAX_REUSE, BIOLAT_PROC, BIOLAT_STATS } from '../../src/probes/biolatency';
import { offsetOf } from '../../src/bpf/layout';
import { buildBiolatency, BiolatencySnap } from '../../src/model/biolatency';
import { dumpPercpuArray, hashKeys, lookup, lookupPercpu, u64 } from '../../src/bpf/maps';
import type { ProbeOptions } from '../../src/probes/types';
import { disableBpfStats, enableBpfStats, progStats } from '../../src/bpf/stats';
import { bpf } from '../../src/bpf/libbpf';

const N = 200;
const BS = 4096;
/**
 * Requests that may go uncounted. Under heavy load on this VM the kernel occasionally does not
 * run BPF programs attached to block_rq_complete (ftrace sees the event; a separate minimal
 * tp_btf counter misses the very same ones, and no recursion miss is reported). A few percent.
 * Beyond that, a shortfall is accepted only as far as the kernel reported it as skipped runs of
 * the completion program (recursion misses, which probetop shows in its header and in `d`): the
 * classic tracepoint variant loses completions to bpf_prog_active whenever another BPF program
 * runs on that CPU (7 of 200 with 11 misses reported, beside a loop of small writes and sync).
 */
const LOST = Math.ceil(N * 0.03);

/** Runs of the probe's completion program the kernel skipped since it was loaded. */
function completeMissed(probe: { programs(): { name: string; fd: number }[] }): number {
  return probe.programs().filter((x) => x.name.includes('complete')).reduce((n, x) => n + (progStats(x.name, x.fd)?.recursionMisses ?? 0), 0);
}

const skip = bpfSkipReason();
if (skip) console.log(`# skipping biolatency BPF tests: ${skip}`);

/** A directory on a disk-backed file system (direct I/O on tmpfs never reaches a block device). */
function diskDir(): string {
  for (const dir of ['/var/tmp', path.resolve(__dirname, '..', '..', '..')]) {
    try {
      const type = execFileSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).trim();
      if (!/tmpfs|ramfs|overlay|fuse|nfs/.test(type)) return dir;
    } catch {
      /* try the next one */
    }
  }
  throw new Error('no disk-backed directory for the direct I/O workload');
}

/** "major:minor" of the whole disk under a file (the disk when the file system is on a partition). */
function diskOf(file: string): string {
  const d = fs.statSync(file).dev;
  // Linux user-space dev_t: major in bits 8-19 (and 32+), minor in bits 0-7 and 20-31.
  const major = (d >> 8) & 0xfff;
  const minor = (d & 0xff) | ((d >> 12) & 0xfff00);
  const sys = `/sys/dev/block/${major}:${minor}`;
  if (fs.existsSync(`${sys}/partition`)) return fs.readFileSync(path.join(fs.realpathSync(sys), '..', 'dev'), 'utf8').trim();
  return `${major}:${minor}`;
}

/** Runs dd; resolves with its pid and wall time once it has exited successfully. */
function dd(args: string[]): Promise<{ pid: number; wallMs: number }> {
  const t0 = performance.now();
  const child = spawn('dd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve({ pid: child.pid!, wallMs: performance.now() - t0 }) : reject(new Error(`dd ${args.join(' ')}: exit ${code}: ${err}`))));
  });
}

/** A file of N blocks, allocated and on disk, so that direct overwrites need no allocation. */
function prepareFile(tag = ''): string {
  const file = path.join(diskDir(), `probetop-biolatency-${process.pid}${tag}.dat`);
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, Buffer.alloc(N * BS, 0x5a));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

function histSlotsSum(h: { slots: number[] }): number {
  return h.slots.reduce((a, b) => a + b, 0);
}

/** The kernel's own count of completed reads and writes of a block device (maj:min), or null. */
function kernelIos(dev: string): { reads: number; writes: number } | null {
  try {
    const f = fs.readFileSync(`/sys/dev/block/${dev}/stat`, 'utf8').trim().split(/\s+/).map(Number);
    return { reads: f[0], writes: f[4] };
  } catch {
    return null;
  }
}

/** For a failure's message: what the kernel itself counted on `dev` since `before`. */
function kernelIosSince(dev: string, before: { reads: number; writes: number } | null): string {
  const now = kernelIos(dev);
  return before && now ? `kernel's disk stats ${dev}: ${now.reads - before.reads} reads, ${now.writes - before.writes} writes completed` : 'no disk stats';
}

/** For a failure's message: how often each of a probe's programs was skipped by the kernel. */
function recursionMisses(probe: { programs(): { name: string; fd: number }[] }): string {
  return `recursion misses ${probe.programs().map((x) => `${x.name}:${progStats(x.name, x.fd)?.recursionMisses ?? '?'}`).join(' ')}`;
}

/**
 * For a failure's message: where the interval's requests went — each dd's count, any other
 * process charged, the per-disk counts, noStart/dropped, the disk's own completed I/O since
 * `ios`, and each program's recursion misses.
 */
function whereRequestsWent(snap: BiolatencySnap, ddPids: readonly number[], disk: string, ios: { reads: number; writes: number } | null, probe: { programs(): { name: string; fd: number }[] }): string {
  return [
    `dd ${ddPids.map((pid) => `${pid}:${snap.procs.find((p) => p.pid === pid)?.ops ?? 0}`).join(' ')}`,
    `others ${snap.procs.filter((p) => !ddPids.includes(p.pid)).map((p) => `${p.comm}/${p.pid}:${p.ops}`).join(' ') || 'none'}`,
    `disks ${snap.disks.map((d) => `${d.name}/${d.op}:${d.hist.count}`).join(' ')}`,
    `noStart ${snap.noStart} dropped ${snap.dropped}`,
    kernelIosSince(disk, ios),
    recursionMisses(probe),
  ].join('; ');
}

/** Loads biolatency with `opts`, runs the workload, checks the numbers; returns the variant used. */
async function runWorkload(opts: ProbeOptions, variant: string | undefined): Promise<string | null> {
  const marks = idMarks();
  const r = loadProbe(biolatency, opts, detectFeatures());
  if (!r.ok && variant && variant !== 'tp_btf' && /no BTF|not found|no tracefs|no tracepoints/.test(r.reason)) {
    console.log(`# ${variant} not supported here: ${r.reason}`);
    return null;
  }
  assert.ok(r.ok, `load failed: ${!r.ok && r.reason} ${JSON.stringify(!r.ok && r.attempts)}`);
  const probe = r.probe;
  if (variant) assert.equal(probe.variant, variant);
  const file = prepareFile();
  const disk = diskOf(file);
  try {
    await dd(['--version']); // dd's own pages into the page cache: later runs read nothing but the file
    const before: BiolatencyRaw = probe.read();
    const ios = kernelIos(disk);
    const t0 = performance.now();
    const w = await dd([`if=/dev/zero`, `of=${file}`, `bs=${BS}`, `count=${N}`, 'oflag=direct', 'conv=notrunc']);
    const rd = await dd([`if=${file}`, 'of=/dev/null', `bs=${BS}`, `count=${N}`, 'iflag=direct']);
    const after: BiolatencyRaw = probe.read();
    const snap: BiolatencySnap = buildBiolatency(after, before, performance.now() - t0);
    assert.equal(after.queued, opts.bioQueued === true);
    const seen = whereRequestsWent(snap, [w.pid, rd.pid], disk, ios, probe);
    const missed = completeMissed(probe);

    for (const [who, run] of [['writer', w], ['reader', rd]] as const) {
      const p = snap.procs.find((x) => x.pid === run.pid);
      assert.ok(p, `${who} dd ${run.pid} missing from the per-process table`);
      assert.equal(p.comm, 'dd');
      assert.ok(p.ops >= N - LOST - missed && p.ops <= N + 3, `${who} dd: ${p.ops} requests, expected ${N} (${seen})`);
      // Every request of dd's is exactly one block; an extra one may be file-system metadata.
      if (p.ops <= N) assert.equal(p.bytes, p.ops * BS, `${who} dd bytes`);
      else assert.ok(p.bytes >= N * BS, `${who} dd: ${p.bytes} bytes, expected at least ${N * BS}`);
      const raw = after.procs.find((x) => x.pid === run.pid)!;
      assert.equal(histSlotsSum(raw.hist), raw.hist.count, `${who}: buckets add up to the count`);
      // One synchronous request at a time: their latencies together fit in dd's lifetime, and a
      // request that reached a device cannot complete in under a microsecond on average.
      assert.ok(raw.hist.sumNs / 1e6 <= run.wallMs, `${who}: ${raw.hist.sumNs / 1e6} ms of I/O in ${run.wallMs.toFixed(1)} ms`);
      assert.ok(raw.hist.sumNs / raw.hist.count >= 1000, `${who}: mean latency ${raw.hist.sumNs / raw.hist.count} ns`);
      assert.ok(p.p99Us !== null && p.p99Us > 0);
    }

    const onDisk = snap.disks.filter((x) => x.dev === disk);
    const byOp = (list: typeof snap.disks, op: string) => list.filter((x) => x.op === op).reduce((s, x) => s + x.hist.count, 0);
    // A stacked device (dm, md) completes on the disks below it: then count every disk.
    const list = onDisk.length ? onDisk : snap.disks;
    assert.ok(byOp(list, 'write') >= N - LOST - missed, `disk ${disk}: ${byOp(list, 'write')} writes, expected >= ${N} (${seen})`);
    assert.ok(byOp(list, 'read') >= N - LOST - missed, `disk ${disk}: ${byOp(list, 'read')} reads, expected >= ${N} (${seen})`);
    if (onDisk.length) assert.ok(onDisk.every((x) => x.name !== x.dev), `disk ${disk} has a name from sysfs`);
    for (const x of snap.disks) assert.equal(histSlotsSum(x.hist), x.hist.count, `${x.name} ${x.op}: buckets add up to the count`);
    assert.equal(histSlotsSum(snap.total.hist), snap.total.hist.count, 'total: buckets add up to the count');
    assert.ok(snap.total.hist.count >= 2 * (N - LOST) - missed, `${snap.total.hist.count} requests in all (${seen})`);
    assert.ok(snap.total.stats.p99Us! >= snap.total.stats.p50Us!, 'p99 >= p50');
    assert.ok(snap.total.readIops > 0 && snap.total.writeIops > 0);

    // The dd processes have exited: their entries were read once, then removed from the map.
    await sleep(20);
    const again = probe.read();
    for (const run of [w, rd]) assert.ok(!again.procs.some((x) => x.pid === run.pid), `pid ${run.pid} still in the map after exit`);
    assert.ok(again.procMapFull === 0 && again.diskMapFull === 0, 'no map filled up');
  } finally {
    probe.close();
    fs.rmSync(file, { force: true });
  }
  // Programs other processes hold (tests running in parallel) do not count: only what we left.
  const left = await leakedSince(marks, [process.pid]);
  assert.deepEqual(left.progs, [], 'every program unloaded after close');
  assert.deepEqual(left.links, [], 'every link released after close');
  return probe.variant;
}

for (const variant of biolatency.variants.map((v) => v.name)) {
  test(`biolatency (${variant}): N direct writes and reads by dd show per process and per disk`, { skip: skip ?? false }, async () => {
    await runWorkload({ variants: { biolatency: variant } }, variant);
  });
}

test('biolatency (default variant, bioQueued): measured from the I/O scheduler queue', { skip: skip ?? false }, async () => {
  const v = await runWorkload({ bioQueued: true }, undefined);
  console.log(`# bioQueued ran with variant ${v}`);
});

for (const variant of biolatency.variants.map((v) => v.name)) {
  test(`biolatency (${variant}): bioQueued adds the time from insertion to issue, for the same requests`, { skip: skip ?? false }, async () => {
    const f = detectFeatures();
    const issue = loadProbe(biolatency, { variants: { biolatency: variant } }, f);
    if (!issue.ok) {
      console.log(`# ${variant} not supported here: ${issue.reason}`);
      return;
    }
    const queued = loadProbe(biolatency, { variants: { biolatency: variant }, bioQueued: true }, f);
    const file = prepareFile();
    try {
      assert.ok(queued.ok, !queued.ok ? queued.reason : '');
      const w = await dd([`if=/dev/zero`, `of=${file}`, `bs=${BS}`, `count=${N}`, 'oflag=direct', 'conv=notrunc']);
      const a = issue.probe.read().procs.find((p) => p.pid === w.pid);
      const b = queued.probe.read().procs.find((p) => p.pid === w.pid);
      assert.ok(a && b, 'the writer is in both tables');
      assert.ok(a.hist.count >= N - LOST - completeMissed(issue.probe) && a.hist.count <= N + 3, `issue-timed: ${a.hist.count} requests (${recursionMisses(issue.probe)})`);
      assert.ok(b.hist.count >= N - LOST - completeMissed(queued.probe) && b.hist.count <= N + 3, `queue-timed: ${b.hist.count} requests (${recursionMisses(queued.probe)})`);
      // Both probes time the same requests; the queued one starts each at block_rq_insert,
      // which on a disk with an I/O scheduler comes a scheduler dispatch (~2 us here) earlier.
      const sched = fs.readFileSync(`/sys/dev/block/${diskOf(file)}/queue/scheduler`, 'utf8');
      if (/\[none\]/.test(sched)) {
        console.log('# no I/O scheduler on this disk: requests are not inserted, nothing to compare');
        return;
      }
      if (a.hist.count !== b.hist.count) {
        // A completion one probe missed would swamp a 2 us difference: nothing to compare.
        console.log(`# the probes counted ${a.hist.count} and ${b.hist.count} requests: latency not compared`);
        return;
      }
      const extraNsPerReq = (b.hist.sumNs - a.hist.sumNs) / a.hist.count;
      assert.ok(extraNsPerReq > 200, `queued latency exceeds issue latency by only ${extraNsPerReq.toFixed(0)} ns per request`);
    } finally {
      issue.probe.close();
      if (queued.ok) queued.probe.close();
      fs.rmSync(file, { force: true });
    }
  });
}

test('biolatency (tp_btf): with one-entry slot arrays, colliding requests, disks and processes go to the hashes and none is lost', { skip: skip ?? false }, async () => {
  // Files first: their fsync (a flush sequence) is not part of what is measured.
  const files = ['-w0', '-w1', '-r0', '-r1'].map((t) => prepareFile(t));
  const r = loadProbe(biolatency, { variants: { biolatency: 'tp_btf' }, mapMaxEntries: { start_slots: 1, disk_slots: 1, proc_slots: 1 } }, detectFeatures());
  assert.ok(r.ok, `load failed: ${!r.ok && r.reason}`);
  const probe = r.probe;
  const disk = diskOf(files[0]);
  try {
    await dd(['--version']);
    const before = probe.read();
    const ios = kernelIos(disk);
    const t0 = performance.now();
    // Two writers and two readers at once: up to four requests in flight want the one start
    // slot; at most one process owns the one process slot; reads and writes share a disk slot.
    const runs = await Promise.all([
      dd([`if=/dev/zero`, `of=${files[0]}`, `bs=${BS}`, `count=${N}`, 'oflag=direct', 'conv=notrunc']),
      dd([`if=/dev/zero`, `of=${files[1]}`, `bs=${BS}`, `count=${N}`, 'oflag=direct', 'conv=notrunc']),
      dd([`if=${files[2]}`, 'of=/dev/null', `bs=${BS}`, `count=${N}`, 'iflag=direct']),
      dd([`if=${files[3]}`, 'of=/dev/null', `bs=${BS}`, `count=${N}`, 'iflag=direct']),
    ]);
    // Before read(), which drops the exited processes: every fallback was taken.
    const entries = (m: string) => hashKeys(probe.obj.map(m)).length;
    assert.ok(entries('starts_rq') > 0, 'no request found its start slot taken');
    assert.ok(entries('disks') > 0, 'no disk+direction found its disk slot taken');
    assert.ok(entries('procs') >= 3, `${entries('procs')} processes in the hash, expected the dd's that do not own the slot`);
    const after = probe.read();
    const snap = buildBiolatency(after, before, performance.now() - t0);
    const seen = whereRequestsWent(snap, runs.map((x) => x.pid), disk, ios, probe);
    const missed = completeMissed(probe);

    for (const run of runs) {
      const p = snap.procs.find((x) => x.pid === run.pid);
      assert.ok(p, `dd ${run.pid} missing from the per-process table (${seen})`);
      assert.equal(p.comm, 'dd');
      assert.ok(p.ops >= N - LOST - missed && p.ops <= N + 3, `dd ${run.pid}: ${p.ops} requests, expected ${N} (${seen})`);
      if (p.ops <= N) assert.equal(p.bytes, p.ops * BS, `dd ${run.pid} bytes`);
      const raw = after.procs.find((x) => x.pid === run.pid)!;
      assert.equal(histSlotsSum(raw.hist), raw.hist.count, `dd ${run.pid}: buckets add up to the count`);
    }
    const onDisk = snap.disks.filter((x) => x.dev === disk);
    const list = onDisk.length ? onDisk : snap.disks;
    const byOp = (op: string) => list.filter((x) => x.op === op).reduce((s, x) => s + x.hist.count, 0);
    assert.ok(byOp('write') >= 2 * (N - LOST) - missed, `disk ${disk}: ${byOp('write')} writes, expected >= ${2 * N} (${seen})`);
    assert.ok(byOp('read') >= 2 * (N - LOST) - missed, `disk ${disk}: ${byOp('read')} reads, expected >= ${2 * N} (${seen})`);
    for (const x of snap.disks) assert.equal(histSlotsSum(x.hist), x.hist.count, `${x.name} ${x.op}: buckets add up to the count`);
    // A start lost to a collision would show here (the flush sequences of background journal
    // commits add a few).
    assert.ok(after.noStart - before.noStart < N / 4, `${after.noStart - before.noStart} completions without a start`);

    // The exited dd's were read once, then their slot and hash entries freed.
    await sleep(20);
    const again = probe.read();
    for (const run of runs) assert.ok(!again.procs.some((x) => x.pid === run.pid), `pid ${run.pid} still in the maps after exit`);
    const slot = Buffer.alloc(probe.obj.map('proc_slots').valueSize);
    assert.ok(lookup(probe.obj.map('proc_slots'), Buffer.alloc(4), slot));
    assert.ok(!runs.some((run) => run.pid === slot.readUInt32LE(0)), 'the process slot of an exited dd was freed');
    assert.ok(again.procMapFull === 0 && again.diskMapFull === 0, 'no map filled up');
  } finally {
    probe.close();
    for (const f of files) fs.rmSync(f, { force: true });
  }
});

/**
 * Writes this test process's entry in the per-process hash `procs` from user space (no program
 * runs): `n` requests of 4 KiB in the 4-8 us bucket, 1 us each.
 */
function writeProcEntry(probe: { obj: { map(name: string): { fd: number; keySize: number; valueSize: number } } }, n: number): void {
  const map = probe.obj.map('procs');
  const key = Buffer.alloc(map.keySize);
  key.writeUInt32LE(process.pid, 0);
  const value = Buffer.alloc(map.valueSize);
  value.writeUInt32LE(n, 0); // hist.count
  value.writeUInt32LE(n * 1000, 8); // hist.sum_ns
  value.writeUInt32LE(n, 16 + 2 * 8); // the 4-8 us bucket
  value.writeUInt32LE(n * 4096, offsetOf(BIOLAT_PROC, 'bytes'));
  Buffer.from('probetop-test').copy(value, offsetOf(BIOLAT_PROC, 'comm'));
  assert.equal(bpf.bpf_map_update_elem(map.fd, key, value, 0), 0, 'entry written');
}

test('biolatency (tp_btf): a process counted in the per-process hash keeps its counts over reads in which they did not change', { skip: skip ?? false }, async () => {
  // The hash holds processes whose slot another owns. Its reader adds each entry into the
  // process's totals, so an entry must be decoded at every read, changed or not: a cached,
  // unchanged entry left out would make the process vanish, then count its whole total again.
  const r = loadProbe(biolatency, { variants: { biolatency: 'tp_btf' } }, detectFeatures());
  assert.ok(r.ok, `load failed: ${!r.ok && r.reason}`);
  const probe = r.probe;
  try {
    // This test process, which does no block I/O while it runs: an entry only we write.
    writeProcEntry(probe, 3);
    const reads = [probe.read(), probe.read(), probe.read()];
    for (const [i, raw] of reads.entries()) {
      const me = raw.procs.find((p) => p.pid === process.pid);
      assert.ok(me, `read ${i + 1}: this process is missing`);
      assert.equal(me.hist.count, 3, `read ${i + 1}: requests`);
      assert.equal(me.bytes, 3 * 4096, `read ${i + 1}: bytes`);
    }
    const snap = buildBiolatency(reads[2], reads[1], 1000);
    assert.ok(!snap.procs.some((p) => p.pid === process.pid), 'no requests counted again in an interval without any');
  } finally {
    probe.close();
  }
});

test('biolatency (tp_btf): per-disk counts read from the disk slots in use match a dump of every slot', { skip: skip ?? false }, async () => {
  const r = loadProbe(biolatency, { variants: { biolatency: 'tp_btf' } }, detectFeatures());
  assert.ok(r.ok, `load failed: ${!r.ok && r.reason}`);
  const probe = r.probe;
  const file = prepareFile();
  /** Requests per "dev/op" from every CPU copy of every disk slot and the hash, straight from the maps. */
  const dump = () => {
    const out = new Map<string, number>();
    const add = (dev: number, op: number, n: number) => out.set(`${dev}/${op}`, (out.get(`${dev}/${op}`) ?? 0) + n);
    const ds = dumpPercpuArray(probe.obj.map('disk_slots'));
    const keyOff = offsetOf(BIOLAT_DISK_SLOT, 'key');
    for (let i = 0, off = 0; i < ds.count * ds.cpus; i++, off += ds.stride) {
      const n = u64(ds.values, off);
      if (n) add(ds.values.readUInt32LE(off + keyOff), ds.values.readUInt32LE(off + keyOff + 4), n);
    }
    const disks = probe.obj.map('disks');
    for (const k of hashKeys(disks)) for (const v of lookupPercpu(disks, k) ?? []) add(k.readUInt32LE(0), k.readUInt32LE(4), u64(v, 0));
    return out;
  };
  const devOf = (dev: string) => {
    const [major, minor] = dev.split(':').map(Number);
    return ((major << 20) | minor) >>> 0;
  };
  const claims = () => (lookupPercpu(probe.obj.map('stats'), Buffer.alloc(4)) ?? []).reduce((n, v) => n + u64(v, offsetOf(BIOLAT_STATS, 'disk_slot_claims')), 0);
  const round = async () => {
    await dd([`if=/dev/zero`, `of=${file}`, `bs=${BS}`, `count=${N}`, 'oflag=direct', 'conv=notrunc']);
    await dd([`if=${file}`, 'of=/dev/null', `bs=${BS}`, `count=${N}`, 'iflag=direct']);
  };
  try {
    // read() scans every disk slot until the count of claims has stayed put over two readings,
    // then reads only the slots in use: compare those readings with the maps, once a round of
    // I/O claimed no new slot (each CPU claims a slot for each disk+direction it completes).
    let compared = false;
    for (let attempt = 0; attempt < 5 && !compared; attempt++) {
      await round();
      const c0 = claims();
      probe.read();
      probe.read();
      await round();
      const lo = dump();
      const raw = probe.read();
      const hi = dump();
      if (claims() !== c0) continue;
      compared = true;
      assert.ok(raw.disks.length > 0);
      for (const d of raw.disks) {
        const key = `${devOf(d.dev)}/${['read', 'write', 'other'].indexOf(d.op)}`;
        assert.ok(d.hist.count >= (lo.get(key) ?? 0) && d.hist.count <= (hi.get(key) ?? 0), `${d.name} ${d.op}: read ${d.hist.count}, maps ${lo.get(key)}..${hi.get(key)}`);
      }
      for (const key of lo.keys()) assert.ok(raw.disks.some((d) => `${devOf(d.dev)}/${['read', 'write', 'other'].indexOf(d.op)}` === key), `${key} missing from read()`);
    }
    assert.ok(compared, 'every round of I/O claimed new disk slots');
  } finally {
    probe.close();
    fs.rmSync(file, { force: true });
  }
});

test('biolatency: slot array sizes must be powers of two', { skip: skip ?? false }, () => {
  const r = loadProbe(biolatency, { variants: { biolatency: 'tp_btf' }, mapMaxEntries: { start_slots: 3 } }, detectFeatures());
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.reason : '', /start_slots needs a power of two/);
});

test('biolatency: a forced variant that does not exist is refused with the list of variants', { skip: skip ?? false }, () => {
  const r = loadProbe(biolatency, { variants: { biolatency: 'fentry' } }, detectFeatures());
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.reason : '', /tp_btf, raw_tp, tracepoint/);
});

test('biolatency (tp_btf): with BPF statistics on, a read after no completion hands back the last reading; I/O, or enough reads, read the maps again', { skip: skip ?? false }, async () => {
  const statsErr = enableBpfStats();
  assert.equal(statsErr, null, 'BPF statistics on');
  const r = loadProbe(biolatency, { variants: { biolatency: 'tp_btf' } }, detectFeatures());
  assert.ok(r.ok, `load failed: ${!r.ok && r.reason}`);
  const probe = r.probe;
  const file = prepareFile('-reuse');
  try {
    await dd(['--version']);
    // Two reads in a row without a completion between them (the machine's own I/O may need a
    // few tries): the second is the first, not read again.
    let a = probe.read();
    let b = probe.read();
    for (let i = 0; i < 50 && a !== b; i++) {
      await sleep(20);
      a = b;
      b = probe.read();
    }
    assert.equal(b, a, 'an idle disk: the last reading again');
    // An entry written from user space runs no program: not seen while readings are reused...
    writeProcEntry(probe, 2);
    // ...and every BIOLAT_MAX_REUSE + 1 reads at most the maps are read whole all the same.
    let whole: BiolatencyRaw | null = null;
    for (let i = 0; i <= BIOLAT_MAX_REUSE && !whole; i++) {
      const x = probe.read();
      if (x !== b) whole = x;
    }
    assert.ok(whole, `read again within ${BIOLAT_MAX_REUSE + 1} reads`);
    // (This process's own requests, from writing the file, are in its slot: the entry adds to them.)
    const mine = (x: BiolatencyRaw) => x.procs.find((p) => p.pid === process.pid)?.hist.count ?? 0;
    assert.equal(mine(whole), mine(b) + 2, 'the entry is in a whole reading');
    // Direct I/O completes requests: the next read reads the maps, with dd's requests in them.
    const before = probe.read();
    const w = await dd([`if=/dev/zero`, `of=${file}`, `bs=${BS}`, `count=${N}`, 'oflag=direct', 'conv=notrunc']);
    const after = probe.read();
    assert.notEqual(after, before, 'read again after I/O');
    const snap = buildBiolatency(after, before, 1000);
    const dd1 = snap.procs.find((p) => p.pid === w.pid);
    assert.ok(dd1 && dd1.ops >= N - LOST - completeMissed(probe) && dd1.ops <= N + 3, `dd: ${dd1?.ops} requests, expected ${N}`);
    // An interval with the reading handed back has nothing in it.
    const idle = buildBiolatency(after, after, 1000);
    assert.equal(idle.total.hist.count, 0);
    assert.equal(idle.procs.length, 0);
  } finally {
    probe.close();
    disableBpfStats();
    fs.rmSync(file, { force: true });
  }
  // Without statistics every read reads the maps.
  const r2 = loadProbe(biolatency, { variants: { biolatency: 'tp_btf' } }, detectFeatures());
  assert.ok(r2.ok);
  try {
    const x = r2.probe.read();
    assert.notEqual(r2.probe.read(), x, 'statistics off: read again');
  } finally {
    r2.probe.close();
  }
});
