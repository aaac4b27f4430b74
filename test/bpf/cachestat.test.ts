/**
 * cachestat against a real kernel: a child reading a file whose pages were just dropped must
 * show about one miss per page, a second child reading it again a hit ratio above 90%, and a
 * child writing a new file dirtied pages but no misses — with every variant that loads here,
 * everything released after close, and the fallback chosen when fentry is not permitted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bpfSkipReason, sleep } from '../helpers/bpf';
import { progStats } from '../../src/bpf/stats';
import type { LoadedProbe } from '../../src/probes/types';
import { detectFeatures } from '../../src/bpf/features';
import { loadProbe, BPF_DIR } from '../../src/probes/load';
import type { StructLayout } from '../../src/bpf/layout';
import { cachestat, CachestatRaw } from '../../src/probes/cachestat';
import { buildCachestat, CachestatProcSnap } from '../../src/model/cachestat';

const skip = bpfSkipReason();
if (skip) console.log(`# skipping cachestat BPF tests: ${skip}`);

const PAGE = 4096;
const TMPFS_MAGIC = 0x01021994;
// 32 MiB and a bit: the last read() of the file asks for more than is left, past EOF.
const FILE_BYTES = 32 * 1024 * 1024 + 1000;
const FILE_PAGES = Math.ceil(FILE_BYTES / PAGE);

/** A directory on a disk-backed file system (tmpfs pages never miss). */
function diskDir(): string {
  for (const d of ['/var/tmp', path.resolve(__dirname, '..', '..', '..'), os.tmpdir()]) {
    try {
      if (Number(fs.statfsSync(d).type) !== TMPFS_MAGIC) return d;
    } catch {
      /* try the next */
    }
  }
  throw new Error('no disk-backed directory found for the test file');
}

function bpftool(): boolean {
  try {
    execFileSync('bpftool', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs a command to completion; resolves with its pid. */
function run(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    c.on('error', reject);
    c.on('exit', (code) => (code === 0 ? resolve(c.pid!) : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}`))));
  });
}

/** Pages of `file` in the page cache (fincore), or null when fincore is not installed. */
function cachedPages(file: string): number | null {
  try {
    return Number(execFileSync('fincore', ['-n', '-o', 'PAGES', file], { encoding: 'utf8' }).trim());
  } catch {
    return null;
  }
}

/** Writes a fresh file of FILE_BYTES, flushes it and drops just its pages from the cache. */
async function coldFile(file: string): Promise<void> {
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(1 << 20, 0x5a);
  for (let left = FILE_BYTES; left > 0; left -= chunk.length) fs.writeSync(fd, chunk, 0, Math.min(left, chunk.length));
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  // GNU dd: iflag=nocache with count=0 drops the whole file's pages (posix_fadvise DONTNEED).
  await run('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']);
  const left = cachedPages(file);
  if (left !== null) assert.ok(left < FILE_PAGES * 0.02, `${left} pages still cached after dropping`);
}

/** Ids of the kernel programs of a loaded probe. */
function progIds(probe: LoadedProbe<unknown>): number[] {
  return probe.programs().map((p) => progStats(p.name, p.fd)!.id);
}

/**
 * Waits until none of `ids` is loaded and no link points at one (freeing is deferred after the
 * last fd closes); returns what is left. Only our own ids: other tests load programs meanwhile.
 */
async function leftOver(ids: number[], ms = 3000): Promise<{ progs: number[]; links: number[] }> {
  const mine = new Set(ids);
  const end = Date.now() + ms;
  for (;;) {
    const progs = (JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' })) as { id: number }[]).map((p) => p.id).filter((id) => mine.has(id));
    const links = (JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show'], { encoding: 'utf8' })) as { id: number; prog_id: number }[])
      .filter((l) => mine.has(l.prog_id))
      .map((l) => l.id);
    if ((progs.length === 0 && links.length === 0) || Date.now() > end) return { progs, links };
    await sleep(50);
  }
}

/** The interval between two readings for one process. */
function procOf(before: CachestatRaw, after: CachestatRaw, pid: number): CachestatProcSnap {
  const s = buildCachestat(after, before, 1000);
  const p = s.procs.find((x) => x.pid === pid);
  assert.ok(p, `pid ${pid} missing from the per-process table`);
  return p;
}

for (const variant of cachestat.variants.map((v) => v.name)) {
  test(`cachestat (${variant}): cold read misses every page, warm read hits, writes dirty without missing`, { skip: skip ?? false }, async (t) => {
    const r = loadProbe(cachestat, { variants: { cachestat: variant } }, detectFeatures());
    if (!r.ok && variant.startsWith('fentry')) {
      // Not permitted on kernels without fentry support (this VM); the fallback test covers it.
      // A verifier rejection would be our bug, though: the programs must at least be valid.
      assert.doesNotMatch(r.reason, /verifier/, `${variant} was rejected: ${r.attempts.map((a) => a.logTail?.join('\n')).join('\n')}`);
      t.skip(`${variant} does not load here: ${r.reason}`);
      return;
    }
    assert.ok(r.ok, `load failed: ${!r.ok && r.reason}`);
    const probe = r.probe;
    assert.equal(probe.variant, variant);
    const ids = progIds(probe);
    assert.equal(ids.length, cachestat.variants.find((v) => v.name === variant)!.programs.length);
    const files: string[] = [];
    try {
      const file = path.join(diskDir(), `probetop-cachestat-${process.pid}-${variant}.dat`);
      files.push(file);
      await coldFile(file);

      // Cold: every page comes from disk.
      let before = probe.read();
      const cold = await run('cat', [file]);
      let after = probe.read();
      const c = procOf(before, after, cold);
      assert.equal(after.procs.find((p) => p.pid === cold)?.comm, 'cat');
      assert.ok(Math.abs(c.misses - FILE_PAGES) <= FILE_PAGES * 0.1, `cold cat: ${c.misses} misses for ${FILE_PAGES} pages`);
      assert.ok(c.accesses >= FILE_PAGES * 0.9, `cold cat: only ${c.accesses} accesses for ${FILE_PAGES} pages`);
      assert.ok(c.hitPct !== null && c.hitPct < 20, `cold cat: hit ratio ${c.hitPct}%`);
      const total = buildCachestat(after, before, 1000).totals;
      // Per-CPU global counters are added without atomics (a preempted program can lose one add).
      assert.ok(total.misses >= c.misses * 0.99 && total.accesses >= c.accesses * 0.99, `the global counters include the process: ${JSON.stringify(total)} vs ${JSON.stringify(c)}`);

      // Warm: the same pages again, all in the cache.
      before = after;
      const warm = await run('cat', [file]);
      after = probe.read();
      const w = procOf(before, after, warm);
      assert.ok(w.hitPct !== null && w.hitPct > 90, `warm cat: hit ratio ${w.hitPct}% (${w.accesses} accesses, ${w.misses} misses)`);
      assert.ok(w.accesses >= FILE_PAGES * 0.9 && w.accesses <= FILE_PAGES * 1.2, `warm cat: ${w.accesses} accesses for ${FILE_PAGES} pages`);
      assert.ok(w.misses < FILE_PAGES * 0.05, `warm cat: ${w.misses} misses`);

      // A new file written by a child: dirtied pages, and pages created by writes are not misses.
      const out = path.join(path.dirname(file), `probetop-cachestat-${process.pid}-${variant}-w.dat`);
      files.push(out);
      before = after;
      const writer = await run('dd', ['if=/dev/zero', `of=${out}`, 'bs=1M', 'count=8', 'conv=fsync', 'status=none']);
      after = probe.read();
      const wr = procOf(before, after, writer);
      assert.ok(wr.misses < 2048 * 0.1, `writer: ${wr.misses} misses while writing 2048 new pages`);
      if (variant === 'tracepoint') assert.ok(wr.dirtied > 0, 'writer dirtied pages'); // large folios count once here
      else assert.ok(Math.abs(wr.dirtied - 2048) <= 2048 * 0.1, `writer: ${wr.dirtied} pages dirtied of 2048 written`);

      // Exited processes are reported once, then removed from the map.
      const again = probe.read();
      for (const pid of [cold, warm, writer]) assert.ok(!again.procs.some((p) => p.pid === pid), `pid ${pid} still in the map after exit`);
    } finally {
      probe.close();
      for (const f of files) fs.rmSync(f, { force: true });
    }
    const left = await leftOver(ids);
    assert.deepEqual(left.progs, [], 'every program unloaded after close');
    assert.deepEqual(left.links, [], 'every link released after close');
  });
}

test('cachestat: struct layouts match the BTF of the built object', { skip: bpftool() ? false : 'bpftool not installed' }, () => {
  interface T { id: number; kind: string; name?: string; size?: number; type_id?: number; nr_elems?: number; members?: { name: string; type_id: number; bits_offset: number }[] }
  const obj = path.join(BPF_DIR, cachestat.object);
  const types = new Map((JSON.parse(execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', obj], { encoding: 'utf8', maxBuffer: 64 << 20 })).types as T[]).map((x) => [x.id, x]));
  const sizeOf = (id: number): number => {
    const x = types.get(id)!;
    if (x.kind === 'ARRAY') return x.nr_elems! * sizeOf(x.type_id!);
    if (x.size !== undefined) return x.size;
    return sizeOf(x.type_id!); // typedef and qualifiers
  };
  const check = (l: StructLayout): void => {
    const s = [...types.values()].find((x) => x.kind === 'STRUCT' && x.name === l.name);
    assert.ok(s, `struct ${l.name} not in ${obj}`);
    assert.equal(l.size, s.size, `sizeof(struct ${l.name})`);
    assert.deepEqual(l.fields.map((f) => f.name), s.members!.map((m) => m.name), `members of ${l.name}`);
    l.fields.forEach((f, i) => {
      assert.equal(f.offset * 8, s.members![i].bits_offset, `offset of ${l.name}.${f.name}`);
      assert.equal(f.size, sizeOf(s.members![i].type_id), `size of ${l.name}.${f.name}`);
      if (typeof f.type !== 'string') check(f.type);
    });
  };
  for (const l of cachestat.layouts) check(l);
});

test('cachestat: the loader falls back in order and records why each earlier variant was not used', { skip: skip ?? false }, async () => {
  const before = new Set(JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' })).map((p: { id: number }) => p.id));
  const r = loadProbe(cachestat, {}, detectFeatures());
  assert.ok(r.ok, !r.ok ? r.reason : '');
  const ids = progIds(r.probe);
  try {
    const names = cachestat.variants.map((v) => v.name);
    const chosen = names.indexOf(r.probe.variant);
    assert.deepEqual(r.attempts.map((a) => a.variant), names.slice(0, chosen), 'every earlier variant was tried or ruled out, in order');
    for (const a of r.attempts) assert.ok(a.error.length > 0, `${a.variant}: no reason recorded`);
    if (r.probe.variant !== 'fentry') {
      // fentry is only passed over for a reason: a missing kernel function/tracepoint or a failed load.
      const f = r.attempts.find((a) => a.variant === 'fentry');
      assert.ok(f, 'fentry was considered');
      console.log(`# fentry not used: ${f.error}; using ${r.probe.variant}`);
    }
    assert.equal(r.probe.read().method, r.probe.variant, 'the readings say which method produced them');
  } finally {
    r.probe.close();
  }
  const left = await leftOver(ids);
  assert.deepEqual(left, { progs: [], links: [] }, 'the loaded programs and links were released');
  // Programs of the failed attempts: any cachestat program created since, other than the chosen ones, must be gone.
  const names = new Set(cachestat.variants.flatMap((v) => v.programs).map((n) => n.slice(0, 15)));
  // Freeing is deferred after the last fd closes (as leftOver waits for): wait up to 3 s here too.
  const strays = () => (JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' })) as { id: number; name?: string }[]).filter(
    (p) => !before.has(p.id) && p.name !== undefined && names.has(p.name),
  );
  let stray = strays();
  for (const end = Date.now() + 3000; stray.length && Date.now() < end; stray = strays()) await sleep(50);
  assert.deepEqual(stray, [], 'the failed attempts left no program behind');
});
