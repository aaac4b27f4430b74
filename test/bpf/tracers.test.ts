/**
 * The drill-down tracers against a real kernel, each with every variant this kernel supports:
 * a child's opens (some failing) arrive with the right path, flags, fd or errno, timed inside
 * the child's own measurement, and none from a process opening files beside it; a dd doing
 * large direct writes has its slow requests listed (its own threads, its own file's sectors,
 * latencies within dd's own timing), none of a second dd's; a read from a FIFO that the test
 * fills 60 ms later and an fsync are listed with the fd's path and latencies within the
 * child's timing; thresholds change live; closing releases every program and link; struct
 * layouts match the objects' BTF.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { bpfSkipReason, loadedProgIds, loadedLinkIds, settledIds, sleep } from '../helpers/bpf';
import { progStats } from '../../src/bpf/stats';
import { detectFeatures } from '../../src/bpf/features';
import { startLibbpfLog } from '../../src/bpf/object';
import { BPF_DIR } from '../../src/probes/load';
import { btfOf, check, haveBpftool } from '../helpers/btf';
import { TracerSession, TracerEvents, TracerName } from '../../src/tracers/session';
import { opensnoopSpec } from '../../src/tracers/opensnoop';
import { biosnoopSpec } from '../../src/tracers/biosnoop';
import { syscallslowSpec } from '../../src/tracers/syscallslow';
import type { BioEvent, OpenEvent, SyscallEvent } from '../../src/tracers/types';
import { applyTracerEvents, emptyTracerView } from '../../src/model/tracers';
import { tracerLines } from '../../screens/panels/tracers';

const skip = bpfSkipReason();
if (skip) console.log(`# skipping tracer BPF tests: ${skip}`);
// libbpf's warnings for the variants that fail here go to its in-memory log, not the test output.
if (!skip) startLibbpfLog();

const features = skip ? undefined : detectFeatures();
const variantsOf = (name: TracerName): string[] => {
  if (!features) return [];
  const spec = name === 'opensnoop' ? opensnoopSpec(features) : name === 'biosnoop' ? biosnoopSpec(features) : syscallslowSpec(features);
  return spec.variants.map((v) => v.name);
};

/** A child process speaking lines on stdin/stdout. */
class Kid {
  readonly proc: ChildProcess;
  private lines: string[] = [];
  private waiting: ((l: string) => void)[] = [];
  readonly exited: Promise<number | null>;
  stderr = '';

  constructor(cmd: string, args: string[]) {
    this.proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    readline.createInterface({ input: this.proc.stdout! }).on('line', (l) => {
      const w = this.waiting.shift();
      if (w) w(l);
      else this.lines.push(l);
    });
    this.proc.stderr!.on('data', (b: Buffer) => (this.stderr += b.toString()));
    this.exited = new Promise((r) => this.proc.on('close', (code) => r(code)));
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** The next line the child prints (rejects after `ms`). */
  line(ms = 20000): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no line from child ${this.pid} in ${ms} ms; stderr: ${this.stderr}`)), ms);
      this.waiting.push((x) => {
        clearTimeout(t);
        resolve(x);
      });
    });
  }

  send(s: string): void {
    this.proc.stdin!.write(s + '\n');
  }

  kill(): void {
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}

/** The JavaScript prelude of node children: `next()` awaits a stdin line, `now()` is CLOCK_MONOTONIC ns. */
const PRELUDE = `
const fs = require('fs');
const it = require('readline').createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const next = async () => (await it.next()).value;
const now = () => process.hrtime.bigint().toString();
`;

function nodeKid(body: string, ...args: string[]): Kid {
  return new Kid(process.execPath, ['-e', `${PRELUDE}(async () => {\n${body}\n})().catch((e) => { console.error(e); process.exit(1); });`, ...args]);
}

/** Thread ids of a process now. */
function threadsOf(pid: number): Set<number> {
  return new Set(fs.readdirSync(`/proc/${pid}/task`).map(Number));
}

/** Polls until `want(events)` holds or `ms` pass; returns everything polled. */
async function pollUntil(s: TracerSession, want: (all: TracerEvents) => boolean, ms = 5000): Promise<TracerEvents> {
  const all: TracerEvents = { opens: [], bio: [], syscalls: [], counters: {} };
  const end = Date.now() + ms;
  for (;;) {
    const e = s.poll();
    all.opens.push(...e.opens);
    all.bio.push(...e.bio);
    all.syscalls.push(...e.syscalls);
    all.counters = e.counters;
    if (want(all) || Date.now() > end) return all;
    await sleep(50);
  }
}

function tmpDir(base = os.tmpdir()): string {
  return fs.mkdtempSync(path.join(base, 'probetop-tracers-'));
}

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

/** The block device under a file: its whole disk's name and the partition's first sector. */
function blockOf(file: string): { disk: string; partStart: number } {
  const d = fs.statSync(file).dev;
  const major = (d >> 8) & 0xfff;
  const minor = (d & 0xff) | ((d >> 12) & 0xfff00);
  const sys = fs.realpathSync(`/sys/dev/block/${major}:${minor}`);
  if (fs.existsSync(`${sys}/partition`)) return { disk: path.basename(path.dirname(sys)), partStart: Number(fs.readFileSync(`${sys}/start`, 'utf8')) };
  return { disk: path.basename(sys), partStart: 0 };
}

/** The disk sector ranges [start, end) of a file, from FIEMAP (filefrag), or null without filefrag. */
function fileSectors(file: string, partStart: number): [number, number][] | null {
  let out: string;
  try {
    out = execFileSync('filefrag', ['-v', '-b512', file], { encoding: 'utf8' });
  } catch {
    return null;
  }
  const ranges: [number, number][] = [];
  for (const m of out.matchAll(/^\s*\d+:\s+\d+\.\.\s*\d+:\s+(\d+)\.\.\s*(\d+):/gm)) ranges.push([partStart + Number(m[1]), partStart + Number(m[2]) + 1]);
  return ranges.length ? ranges : null;
}

// ---------------------------------------------------------------- opens

interface ChildOpen {
  path: string;
  flags: number;
  fd: number | null;
  code: string | null;
  t0: string;
  t1: string;
}

const C = fs.constants;
const O_CLOEXEC = 0o2000000;
const O_LARGEFILE = process.arch === 'arm64' ? 0o400000 : 0o100000;

async function opensWorkload(variant: string | undefined): Promise<void> {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'a'), 'a');
  fs.mkdirSync(path.join(dir, 'sub'));
  const list = [
    { path: path.join(dir, 'a'), flags: C.O_RDONLY },
    { path: path.join(dir, 'missing'), flags: C.O_RDONLY }, // ENOENT
    { path: path.join(dir, 'a', 'x'), flags: C.O_RDONLY }, // ENOTDIR
    { path: path.join(dir, 'b'), flags: C.O_WRONLY | C.O_CREAT | C.O_TRUNC },
    { path: path.join(dir, 'a'), flags: C.O_WRONLY | C.O_CREAT | C.O_EXCL }, // EEXIST
    { path: path.join(dir, 'a'), flags: C.O_RDONLY | C.O_DIRECTORY }, // ENOTDIR
    { path: path.join(dir, 'sub'), flags: C.O_RDWR }, // EISDIR
    { path: path.join(dir, 'sub', 'missing-too'), flags: C.O_RDWR | C.O_APPEND }, // ENOENT
    { path: path.join(dir, 'sub'), flags: C.O_RDONLY | C.O_DIRECTORY },
  ];
  const kid = nodeKid(
    `const list = JSON.parse(process.argv[1]);
     console.log('ready');
     await next();
     const out = [];
     for (const { path, flags } of list) {
       const t0 = now();
       let fd = null, code = null;
       try { fd = fs.openSync(path, flags, 0o600); } catch (e) { code = e.code; }
       out.push({ path, flags, fd, code, t0, t1: now() });
     }
     for (const o of out) if (o.fd !== null) fs.closeSync(o.fd);
     console.log(JSON.stringify(out));
     await next();`,
    JSON.stringify(list),
  );
  // Beside it, another process opening files in the same directory all along.
  const noise = nodeKid(
    `const dir = process.argv[1];
     let i = 0, stop = false;
     next().then(() => (stop = true));
     console.log('ready');
     while (!stop) {
       for (let k = 0; k < 20; k++) { try { fs.closeSync(fs.openSync(dir + '/noise-' + (i++ % 50), 'r')); } catch {} }
       await new Promise((r) => setTimeout(r, 1));
     }`,
    dir,
  );
  let s: TracerSession | undefined;
  try {
    assert.equal(await kid.line(), 'ready');
    assert.equal(await noise.line(), 'ready');
    s = TracerSession.open(kid.pid, { tracers: ['opensnoop'], variants: variant ? { opensnoop: variant } : undefined });
    const st = s.status()[0];
    if (variant && st.variant === null && /not permitted|no .* in kernel BTF|no tracefs|no tracepoints/.test(st.reason ?? '')) {
      console.log(`# opensnoop ${variant} not supported here: ${st.reason}`);
      return;
    }
    assert.ok(st.variant, `opensnoop unavailable: ${st.reason} ${JSON.stringify(st.attempts)}`);
    if (variant) assert.equal(st.variant, variant);
    await sleep(100); // the noise process opens files under the tracer meanwhile
    kid.send('go');
    const done: ChildOpen[] = JSON.parse(await kid.line());
    const got = await pollUntil(s, (a) => a.opens.filter((o) => o.path.startsWith(dir + '/') && !o.path.includes('noise')).length >= list.length);
    const threads = threadsOf(kid.pid);
    for (const o of got.opens) {
      assert.ok(threads.has(o.tid), `open of ${o.path} by tid ${o.tid}, not a thread of ${kid.pid}`);
      assert.ok(!o.path.includes('/noise-'), `the other process's open of ${o.path} was reported`);
      assert.equal(o.pid, kid.pid);
    }
    // Every open of the child, in its order, with what it got.
    const mine = got.opens.filter((o) => o.path.startsWith(dir + '/'));
    assert.equal(mine.length, list.length, `opens under ${dir}: ${JSON.stringify(mine.map((o) => o.path))}`);
    done.forEach((c, i) => {
      const e: OpenEvent = mine[i];
      assert.equal(e.path, c.path, `open #${i}`);
      if (c.code) {
        assert.equal(e.fd, null, `${c.path}: failed in the child (${c.code})`);
        assert.equal(e.errno, os.constants.errno[c.code as keyof typeof os.constants.errno], `${c.path}: errno ${e.errno}, child saw ${c.code}`);
      } else {
        assert.equal(e.errno, 0, `${c.path}: errno ${e.errno}, the child got fd ${c.fd}`);
        assert.equal(e.fd, c.fd);
      }
      // libuv adds O_CLOEXEC; the kernel may add O_LARGEFILE on the way in.
      assert.equal(e.flags & ~(O_CLOEXEC | O_LARGEFILE), c.flags, `${c.path}: flags 0x${e.flags.toString(16)} for 0x${c.flags.toString(16)}`);
      assert.equal(e.comm, 'node');
      assert.equal(e.pathTruncated, false);
      // The kernel's entry and return lie inside the child's own clock readings around the call.
      const t0 = Number(c.t0);
      const t1 = Number(c.t1);
      assert.ok(e.monoNs - e.latencyNs >= t0 && e.monoNs <= t1, `${c.path}: kernel [${e.monoNs - e.latencyNs}, ${e.monoNs}] outside the child's [${t0}, ${t1}]`);
      assert.ok(e.latencyNs > 0 && e.latencyNs <= t1 - t0);
    });
    assert.ok(Math.abs(mine[0].ts - Date.now()) < 10_000, 'wall-clock time of the event is now');
    const c = got.counters.opensnoop!;
    assert.equal(c.lost, 0);
    assert.equal(c.undecodable, 0);
    // The model and panel see them too: failures counted by errno, highlighted.
    const view = applyTracerEvents(emptyTracerView(), got);
    assert.equal(view.totals.openFailures, done.filter((d) => d.code).length);
    const text = tracerLines({ view, status: s.status(), thresholds: s.thresholds() }, { width: 120, height: 20, color: true }).join('\n');
    assert.match(text, /\{red-fg\}ENOENT/);
    assert.match(text, /\{red-fg\}EISDIR/);
    assert.ok(text.includes(path.join(dir, 'sub', 'missing-too')));
    kid.send('exit');
    noise.send('stop');
  } finally {
    s?.close();
    kid.kill();
    noise.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

for (const v of [undefined, ...variantsOf('opensnoop')]) {
  test(`opensnoop (${v ?? 'default'}): a child's opens with path, flags, fd or errno, none of another process`, { skip: skip ?? false }, async () => {
    await opensWorkload(v);
  });
}

// ---------------------------------------------------------------- slow block I/O

const BIG = 32 << 20; // bytes per direct write: split into many requests in flight at once
const WRITES = 3;

/** A file of WRITES * BIG bytes, allocated and on disk, so that direct overwrites need no allocation. */
function prepareFile(dir: string, name: string): string {
  const file = path.join(dir, name);
  const fd = fs.openSync(file, 'w');
  try {
    const chunk = Buffer.alloc(BIG, 0x5a);
    for (let i = 0; i < WRITES; i++) fs.writeSync(fd, chunk);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

/** dd's own measurement of its copy, seconds ("... copied, 0.153 s, ..."). */
function ddSeconds(stderr: string): number {
  const m = /copied, ([\d.]+) s/.exec(stderr);
  assert.ok(m, `no timing in dd's output: ${stderr}`);
  return Number(m[1]);
}

async function bioWorkload(variant: string | undefined): Promise<void> {
  const dir = fs.mkdtempSync(path.join(diskDir(), 'probetop-tracers-'));
  const file = prepareFile(dir, 'mine.dat');
  const other = prepareFile(dir, 'other.dat');
  const { disk, partStart } = blockOf(file);
  const sectors = fileSectors(file, partStart);
  const scheduled = !/\[none\]/.test(fs.readFileSync(`/sys/block/${disk}/queue/scheduler`, 'utf8'));
  const thresholdMs = 4;
  const dd = (f: string) => `read go; echo started; exec dd if=/dev/zero of=${f} bs=${BIG} count=${WRITES} oflag=direct conv=notrunc`;
  // On a cold page cache (a fresh CI machine) dd's first run reads its binary and libraries from
  // the disk in its own context, behind the other dd's writes: slow reads of dd that are not the
  // writes this test is about. One run beforehand puts them in the cache.
  execFileSync('dd', ['if=/dev/zero', 'of=/dev/null', `bs=${BIG}`, 'count=1'], { stdio: 'ignore' });
  // The shell execs dd: the traced pid is dd's from its first request.
  const kid = new Kid('sh', ['-c', dd(file)]);
  const noise = new Kid('sh', ['-c', dd(other)]);
  let s: TracerSession | undefined;
  try {
    s = TracerSession.open(kid.pid, { tracers: ['biosnoop'], slowIoMs: thresholdMs, variants: variant ? { biosnoop: variant } : undefined });
    const st = s.status()[0];
    if (variant && st.variant === null && /no BTF|not found|no tracefs|no tracepoints/.test(st.reason ?? '')) {
      console.log(`# biosnoop ${variant} not supported here: ${st.reason}`);
      return;
    }
    assert.ok(st.variant, `biosnoop unavailable: ${st.reason} ${JSON.stringify(st.attempts)}`);
    if (variant) assert.equal(st.variant, variant);
    const tGo = Number(process.hrtime.bigint());
    kid.send('go');
    noise.send('go');
    assert.equal(await kid.line(), 'started');
    const [code, codeNoise] = await Promise.all([kid.exited, noise.exited]);
    const tEnd = Number(process.hrtime.bigint());
    assert.equal(code, 0, `dd failed: ${kid.stderr}`);
    assert.equal(codeNoise, 0, `second dd failed: ${noise.stderr}`);
    const ddMs = ddSeconds(kid.stderr) * 1000;
    const got = await pollUntil(s, () => false, 300);
    const ev: BioEvent[] = got.bio;
    console.log(`# ${st.variant}: ${ev.length} requests above ${thresholdMs} ms; dd wrote ${WRITES} x ${BIG >> 20} MiB in ${ddMs.toFixed(1)} ms; max ${Math.max(0, ...ev.map((e) => e.latencyNs / 1e6)).toFixed(1)} ms`);
    // dd measured each 32 MiB write at several ms: some of its requests must be slow.
    assert.ok(ddMs / WRITES > 2 * thresholdMs, `dd's writes took only ${(ddMs / WRITES).toFixed(1)} ms each: the disk is too fast for this test`);
    for (const e of ev) {
      assert.equal(e.tid, kid.pid, `request submitted by tid ${e.tid}, not by dd ${kid.pid} (the other dd is ${noise.pid})`);
      assert.equal(e.comm, 'dd');
      assert.equal(e.disk, disk);
    }
    // If the warm-up's pages were evicted after all, dd pages itself in again: such reads are dd's
    // own requests, listed rightly, but they must not touch the file dd writes.
    const reads = ev.filter((e) => e.op === 'R');
    for (const e of reads) {
      console.log(`# dd read ${e.bytes} bytes at sector ${e.sector} in ${(e.latencyNs / 1e6).toFixed(1)} ms (its own pages, not the file)`);
      assert.ok(!sectors || !sectors.some(([a, b]) => e.sector < b && e.sector + e.bytes / 512 > a), `dd read sectors ${e.sector}.. of ${file}, which it only writes`);
    }
    const writes = ev.filter((e) => e.op !== 'R');
    assert.ok(writes.length > 0, 'no slow write request of dd listed');
    let bytes = 0;
    for (const e of writes) {
      assert.equal(e.op, 'W');
      assert.equal(e.error, 0);
      assert.ok(e.bytes > 0 && e.bytes % 512 === 0 && e.bytes <= BIG, `bytes ${e.bytes}`);
      assert.ok(e.latencyNs >= thresholdMs * 1e6, `latency ${e.latencyNs} ns below the threshold`);
      // Within dd's own measurement of its whole copy, and inside the test's window.
      assert.ok(e.latencyNs / 1e6 <= ddMs + 1, `a ${(e.latencyNs / 1e6).toFixed(1)} ms request in dd's ${ddMs.toFixed(1)} ms`);
      assert.ok(e.monoNs - e.latencyNs >= tGo && e.monoNs <= tEnd, 'the request lies between go and dd exiting');
      // Through an I/O scheduler every request is inserted by its submitter: queue time known.
      if (scheduled) assert.ok(e.queueNs !== null, 'request not seen at insert on a disk with an I/O scheduler');
      assert.ok((e.queueNs ?? 0) <= e.latencyNs && e.serviceNs > 0, `queue ${e.queueNs} / service ${e.serviceNs} of ${e.latencyNs}`);
      if (sectors) {
        const end = e.sector + e.bytes / 512;
        assert.ok(sectors.some(([a, b]) => e.sector >= a && end <= b), `sectors ${e.sector}..${end} are not in ${file}`);
      }
      bytes += e.bytes;
    }
    assert.ok(bytes <= WRITES * BIG, `${bytes} bytes listed for ${WRITES * BIG} written`);
    // Each write's requests are queued together and served in turn: the last waits most of the write.
    const maxMs = Math.max(...writes.map((e) => e.latencyNs / 1e6));
    assert.ok(maxMs >= (ddMs / WRITES) * 0.25, `slowest request ${maxMs.toFixed(1)} ms for writes of ${(ddMs / WRITES).toFixed(1)} ms each`);
    const c = got.counters.biosnoop!;
    assert.equal(c.lost, 0);
    assert.equal(c.undecodable, 0);
  } finally {
    s?.close();
    kid.kill();
    noise.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

for (const v of [undefined, ...variantsOf('biosnoop')]) {
  test(`biosnoop (${v ?? 'default'}): dd's slow direct-write requests, within dd's timing, none of another dd`, { skip: skip ?? false }, async () => {
    await bioWorkload(v);
  });
}

// ---------------------------------------------------------------- slow syscalls

async function syscallWorkload(variant: string | undefined): Promise<void> {
  const dir = tmpDir();
  const fifo = path.join(dir, 'fifo');
  const otherFifo = path.join(dir, 'other-fifo');
  execFileSync('mkfifo', [fifo, otherFifo]);
  const dataDir = fs.mkdtempSync(path.join(diskDir(), 'probetop-tracers-'));
  const dataFile = path.join(dataDir, 'synced.dat');
  const thresholdMs = 20;
  const delayMs = 60;
  // Reads the FIFO (blocking until the test writes), then writes 128 MiB and fsyncs them; keeps
  // its fds open until told to exit, so that /proc/PID/fd still names them.
  const kid = nodeKid(
    `const fifo = fs.openSync(process.argv[1], 'r+');
     const file = fs.openSync(process.argv[2], 'w');
     console.log(JSON.stringify({ fifo, file }));
     const out = { reads: [] };
     for (;;) {
       const cmd = await next();
       if (cmd === 'read') {
         const buf = Buffer.alloc(64);
         console.log('reading');
         const t0 = now();
         const n = fs.readSync(fifo, buf);
         const r = { t0, t1: now(), n };
         out.reads.push(r);
         console.log(JSON.stringify(r));
       } else if (cmd === 'fsync') {
         fs.writeSync(file, Buffer.alloc(128 << 20, 1));
         const t0 = now();
         fs.fsyncSync(file);
         out.fsync = { t0, t1: now() };
         console.log(JSON.stringify(out));
       } else break;
     }`,
    fifo,
    dataFile,
  );
  // Another process blocked on another FIFO at the same time.
  const noise = nodeKid(
    `const fd = fs.openSync(process.argv[1], 'r+');
     console.log('ready');
     await next();
     fs.readSync(fd, Buffer.alloc(64));
     console.log('read');`,
    otherFifo,
  );
  let s: TracerSession | undefined;
  const feed = (f: string, data: string) => {
    const fd = fs.openSync(f, 'r+');
    fs.writeSync(fd, data);
    fs.closeSync(fd);
  };
  try {
    const fds = JSON.parse(await kid.line()) as { fifo: number; file: number };
    assert.equal(await noise.line(), 'ready');
    // First with a threshold far above the read: nothing may be listed.
    s = TracerSession.open(kid.pid, { tracers: ['syscallslow'], slowSyscallMs: 5000, variants: variant ? { syscallslow: variant } : undefined });
    const st = s.status()[0];
    if (variant && st.variant === null && /not permitted|no .* in kernel BTF|no tracefs|no tracepoints/.test(st.reason ?? '')) {
      console.log(`# syscallslow ${variant} not supported here: ${st.reason}`);
      return;
    }
    assert.ok(st.variant, `syscallslow unavailable: ${st.reason} ${JSON.stringify(st.attempts)}`);
    if (variant) assert.equal(st.variant, variant);
    const fentry = st.variant === 'fentry';

    // A read the test fills delayMs after the child said it was about to start it; on a busy
    // machine the child may reach read() late and find the data already there: then again.
    type Read = { t0: string; t1: string; n: number };
    const slowRead = async (data: string, also?: () => void): Promise<Read> => {
      for (let attempt = 0; ; attempt++) {
        kid.send('read');
        assert.equal(await kid.line(), 'reading');
        await sleep(delayMs);
        also?.();
        feed(fifo, data);
        const r = JSON.parse(await kid.line()) as Read;
        assert.equal(r.n, data.length);
        if ((Number(r.t1) - Number(r.t0)) / 1e6 >= thresholdMs * 1.5 || attempt === 4) return r;
        console.log(`# the child's read took only ${((Number(r.t1) - Number(r.t0)) / 1e6).toFixed(1)} ms: again`);
        also = undefined;
      }
    };
    await slowRead('first');
    let got = await pollUntil(s, () => false, 200);
    assert.equal(got.syscalls.length, 0, `listed under a 5 s threshold: ${JSON.stringify(got.syscalls)}`);

    // Now at 20 ms: the same slow read is listed; the other process's is not.
    s.setThresholds({ slowSyscallMs: thresholdMs });
    assert.deepEqual(s.thresholds(), { slowIoMs: 10, slowSyscallMs: thresholdMs });
    noise.send('go');
    const r = await slowRead('second!', () => feed(otherFifo, 'noise'));
    assert.equal(await noise.line(), 'read');
    kid.send('fsync');
    const timing = JSON.parse(await kid.line()) as { reads: Read[]; fsync: { t0: string; t1: string } };
    // The read of the child's last attempt: the one that returned inside its own clock readings.
    const isRead = (e: SyscallEvent) => e.ret === 7 && e.monoNs >= Number(r.t0) && e.monoNs <= Number(r.t1);
    got = await pollUntil(s, (a) => a.syscalls.some(isRead), 3000);
    const threads = threadsOf(kid.pid);
    for (const e of got.syscalls) {
      assert.ok(threads.has(e.tid), `call by tid ${e.tid}, not a thread of ${kid.pid}`);
      assert.ok(e.path === null || !e.path.includes('other-fifo'), `the other process's read was listed: ${JSON.stringify(e)}`);
      assert.ok(e.latencyNs >= thresholdMs * 1e6, `${e.call} of ${e.latencyNs} ns listed under a ${thresholdMs} ms threshold`);
    }
    const read = got.syscalls.find((e) => isRead(e) && e.call === (fentry ? 'vfs_read' : 'read'));
    assert.ok(read, `the slow FIFO read is missing: ${JSON.stringify(got.syscalls)}`);
    assert.equal(read.errno, 0);
    assert.equal(read.count, 64);
    if (!fentry) assert.equal(read.fd, fds.fifo);
    assert.equal(read.path, fifo, 'the FIFO read is shown with its path from /proc/PID/fd');
    assert.equal(read.pathSource, 'fd');
    assert.ok(read.latencyNs >= delayMs * 0.9e6, `read latency ${read.latencyNs} ns for a ${delayMs} ms wait`);
    assert.ok(read.monoNs - read.latencyNs >= Number(r.t0) && read.monoNs <= Number(r.t1), `kernel timing outside the child's [${r.t0}, ${r.t1}]`);
    // The fsync: listed exactly when the child's own measurement says it was slow.
    const fsyncMs = (Number(timing.fsync.t1) - Number(timing.fsync.t0)) / 1e6;
    const fsync = got.syscalls.find((e) => e.call === (fentry ? 'vfs_fsync_range' : 'fsync'));
    console.log(`# ${st.variant}: read ${(read.latencyNs / 1e6).toFixed(1)} ms (child ${((Number(r.t1) - Number(r.t0)) / 1e6).toFixed(1)} ms), fsync ${fsync ? (fsync.latencyNs / 1e6).toFixed(1) : '-'} ms (child ${fsyncMs.toFixed(1)} ms)`);
    if (fsync) {
      assert.ok(fsync.latencyNs / 1e6 <= fsyncMs, `fsync ${fsync.latencyNs} ns in the kernel, ${fsyncMs} ms in the child`);
      assert.ok(fsync.monoNs <= Number(timing.fsync.t1) && fsync.monoNs - fsync.latencyNs >= Number(timing.fsync.t0));
      assert.equal(fsync.path, dataFile);
      if (!fentry) assert.equal(fsync.fd, fds.file);
    } else {
      assert.ok(fsyncMs < thresholdMs * 1.05, `the child's fsync took ${fsyncMs.toFixed(1)} ms but was not listed`);
    }
    const c = got.counters.syscallslow!;
    assert.equal(c.lost, 0);
    assert.equal(c.undecodable, 0);
    // The panel shows the read with its path.
    const view = applyTracerEvents(emptyTracerView(), got);
    const text = tracerLines({ view, status: s.status(), thresholds: s.thresholds() }, { width: 120, height: 20, color: false }).join('\n');
    assert.ok(text.includes(fifo), text);
    kid.send('exit');
  } finally {
    s?.close();
    kid.kill();
    noise.kill();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

for (const v of [undefined, ...variantsOf('syscallslow')]) {
  test(`syscallslow (${v ?? 'default'}): a slow FIFO read and fsync with the fd's path, within the child's timing`, { skip: skip ?? false }, async () => {
    await syscallWorkload(v);
  });
}

// ---------------------------------------------------------------- lifecycle

/** The name of a loaded program by id ('' when gone). */
function progName(id: number): string {
  try {
    return (JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show', 'id', String(id)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as { name?: string }).name ?? '';
  } catch {
    return '';
  }
}

/** Links in the kernel now, with the program each one holds (bpftool). */
function linksNow(): { id: number; prog_id: number }[] {
  return JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show'], { encoding: 'utf8' })) as { id: number; prog_id: number }[];
}

test('TracerSession: opening loads every tracer, closing releases every program and link', { skip: skip ?? false }, async () => {
  const progsBefore = loadedProgIds();
  const linksBefore = loadedLinkIds();
  const kid = nodeKid(`console.log('ready'); await next();`);
  let mine: number[] = [];
  let myLinks: number[] = [];
  try {
    assert.equal(await kid.line(), 'ready');
    const s = TracerSession.open(kid.pid);
    const st = s.status();
    assert.deepEqual(st.map((x) => x.name), ['opensnoop', 'biosnoop', 'syscallslow']);
    for (const x of st) assert.ok(x.variant, `${x.name} unavailable: ${x.reason}`);
    // The kernel ids of the session's programs, and the links that attach each of them.
    mine = s.programs().map((p) => {
      const info = progStats(p.name, p.fd);
      assert.ok(info, `${p.tracer}/${p.name}: no program info`);
      return info.id;
    });
    assert.ok(mine.length >= 3 * 2, `${mine.length} programs`);
    const loaded = new Set(loadedProgIds());
    for (const id of mine) assert.ok(loaded.has(id) && !progsBefore.includes(id), `program ${id} is a new one in the kernel`);
    const links = linksNow();
    myLinks = links.filter((l) => mine.includes(l.prog_id)).map((l) => l.id);
    for (const id of mine) assert.ok(links.some((l) => l.prog_id === id), `program ${id} is attached by a link`);
    s.close();
    s.close(); // twice is harmless
    assert.deepEqual(s.poll(), { opens: [], bio: [], syscalls: [], counters: {} });
    assert.ok(s.status().every((x) => x.reason === 'closed'));
  } finally {
    kid.kill();
  }
  // Freeing is deferred after the last fd closes: wait for the whole set to settle (other tests
  // running at the same time may load and unload their own meanwhile), then check ours are gone.
  const ids = await settledIds(progsBefore, linksBefore);
  const leftProgs = mine.filter((id) => ids.progs.includes(id));
  const leftLinks = myLinks.filter((id) => ids.links.includes(id));
  assert.deepEqual(leftProgs, [], 'every program of the session unloaded after close');
  assert.deepEqual(leftLinks, [], 'every link of the session released after close');
  if (ids.progs.join() !== progsBefore.join()) console.log('# other BPF programs came or went meanwhile (other tests running)');
});

test('TracerSession: never throws; a tracer that cannot load says why, the others run', { skip: skip ?? false }, async () => {
  const progsBefore = loadedProgIds();
  const linksBefore = loadedLinkIds();
  // A pid that does not exist: nothing loads.
  let mine: number[] = [];
  const gone = TracerSession.open(0x3fffffff);
  assert.ok(gone.status().every((x) => x.variant === null && /gone/.test(x.reason ?? '')));
  assert.deepEqual(gone.programs(), []);
  gone.close();
  const kid = nodeKid(`console.log('ready'); await next();`);
  try {
    assert.equal(await kid.line(), 'ready');
    const s = TracerSession.open(kid.pid, { variants: { biosnoop: 'nonexistent', opensnoop: 'fentry' } });
    const [op, bio, sys] = s.status();
    assert.equal(bio.variant, null);
    assert.match(bio.reason ?? '', /no variant nonexistent \(have tp_btf, raw_tp, tracepoint\)/);
    // fentry: running where the kernel allows trampolines, else unavailable with the kernel's refusal.
    if (op.variant === null) {
      assert.match(op.reason ?? '', /not permitted|BTF|attach|load/);
      console.log(`# opensnoop fentry unavailable here: ${op.reason}`);
    } else assert.equal(op.variant, 'fentry');
    // The default order: the first variant that loads, with each failed one recorded before it.
    assert.ok(sys.variant);
    const order = variantsOf('syscallslow');
    assert.deepEqual(sys.attempts.map((a) => a.variant), order.slice(0, order.indexOf(sys.variant!)));
    for (const a of sys.attempts) assert.ok(a.error.length > 0);
    mine = s.programs().map((p) => progStats(p.name, p.fd)!.id);
    console.log(`# syscallslow uses ${sys.variant}${sys.attempts.length ? ` (${sys.attempts.map((a) => `${a.variant}: ${a.error}`).join('; ')})` : ''}`);
    s.close();
  } finally {
    kid.kill();
  }
  // The failed attempts left nothing behind, and closing released what loaded.
  const ids = await settledIds(progsBefore, linksBefore);
  assert.deepEqual(mine.filter((id) => ids.progs.includes(id)), [], 'programs of the session left after close');
  const newNames = ids.progs.filter((id) => !progsBefore.includes(id)).map(progName);
  assert.ok(!newNames.some((n) => /^(op|ss|bio)_/.test(n)), `tracer programs left loaded: ${newNames.join(', ')}`);
});

// ---------------------------------------------------------------- layouts

const bpftool = haveBpftool();

for (const spec of features ? [opensnoopSpec(features), biosnoopSpec(features), syscallslowSpec(features)] : []) {
  test(`struct layouts of ${spec.name} match the BTF of ${spec.object}`, { skip: !bpftool ? 'bpftool not installed' : false }, () => {
    const types = btfOf(path.join(BPF_DIR, spec.object));
    for (const l of spec.layouts) check(l, types, spec.object);
  });
}
