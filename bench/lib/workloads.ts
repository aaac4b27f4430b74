/**
 * The workloads: each bounded in time, local, and reporting one throughput number (higher is
 * better). Pipe ping-pong is the one judged; the others are reported.
 */
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { runOk } from './sys';

/** What the workloads need: where their files are, how long they run. */
export interface WorkCtx {
  dir: string; // scratch directory on the disk being measured
  forkexec: string; // bench/forkexec, compiled
  seconds: number; // length of one time-bounded run, s
  pipeLoops: number; // perf bench sched pipe -l, calibrated to ~1.5 x seconds
  msgLoops: number; // perf bench sched messaging -l, calibrated to ~0.5 x seconds
  cacheMiB: number; // size of the page-cache file
  ioMiB: number; // size of the direct-I/O file
}

/** One workload. */
export interface Workload {
  name: string;
  title: string;
  unit: string; // of the number run() returns
  judged: boolean; // quiet enough here for ratios to be judged against targets
  run(c: WorkCtx): Promise<number>;
}

const MSG_GROUPS = 2;

function fioJson(out: string): { read: { iops: number; bw_bytes: number } } {
  const j = JSON.parse(out.slice(out.indexOf('{')));
  return j.jobs[0];
}

/** Every workload, in the order a block runs them. */
export const WORKLOADS: Workload[] = [
  {
    name: 'pipe',
    title: 'pipe ping-pong, pinned to CPU 0 (perf bench sched pipe)',
    unit: 'ops/s',
    judged: true,
    async run(c) {
      const out = await runOk('taskset', ['-c', '0', 'perf', 'bench', 'sched', 'pipe', '-l', String(c.pipeLoops)]);
      const t = /Total time:\s*([\d.]+)/.exec(out);
      if (!t) throw new Error(`perf bench sched pipe: no total time in ${out}`);
      return c.pipeLoops / Number(t[1]);
    },
  },
  {
    name: 'messaging',
    title: `scheduler messaging, ${MSG_GROUPS} groups of 20+20 processes (perf bench sched messaging)`,
    unit: 'msgs/s',
    judged: false,
    async run(c) {
      const out = await runOk('perf', ['bench', 'sched', 'messaging', '-g', String(MSG_GROUPS), '-l', String(c.msgLoops)]);
      const t = /Total time:\s*([\d.]+)/.exec(out);
      if (!t) throw new Error(`perf bench sched messaging: no total time in ${out}`);
      return (MSG_GROUPS * 20 * 20 * c.msgLoops) / Number(t[1]);
    },
  },
  {
    name: 'forkexec',
    title: 'fork + exec /bin/true + wait, one process at a time (bench/forkexec storm)',
    unit: 'procs/s',
    judged: true,
    async run(c) {
      const out = await runOk(c.forkexec, ['storm', String(c.seconds)]);
      const m = /spawned (\d+) seconds ([\d.]+)/.exec(out);
      if (!m) throw new Error(`forkexec: ${out}`);
      return Number(m[1]) / Number(m[2]);
    },
  },
  {
    name: 'fio',
    title: 'direct block I/O, 4 KiB random reads, queue depth 1 (fio psync, O_DIRECT)',
    unit: 'IOPS',
    judged: false,
    async run(c) {
      const out = await runOk('fio', ['--name=bench', `--filename=${path.join(c.dir, 'direct.dat')}`, `--size=${c.ioMiB}M`, '--direct=1', '--rw=randread', '--bs=4k', '--ioengine=psync', `--runtime=${c.seconds}`, '--time_based', '--output-format=json']);
      return fioJson(out).read.iops;
    },
  },
  {
    name: 'cache-cold',
    title: 'page cache, cold: buffered sequential read of a file just dropped from the cache (fio --invalidate=1)',
    unit: 'MB/s',
    judged: false,
    async run(c) {
      const out = await runOk('fio', ['--name=bench', `--filename=${path.join(c.dir, 'cache.dat')}`, `--size=${c.cacheMiB}M`, '--rw=read', '--bs=1M', '--ioengine=psync', '--invalidate=1', '--output-format=json']);
      return fioJson(out).read.bw_bytes / 1e6;
    },
  },
  {
    name: 'cache-warm',
    title: 'page cache, warm: the same file read again from the cache, looped',
    unit: 'MB/s',
    judged: false,
    async run(c) {
      const out = await runOk('fio', ['--name=bench', `--filename=${path.join(c.dir, 'cache.dat')}`, `--size=${c.cacheMiB}M`, '--rw=read', '--bs=1M', '--ioengine=psync', '--invalidate=0', `--runtime=${Math.max(1, Math.round(c.seconds / 2))}`, '--time_based', '--output-format=json']);
      return fioJson(out).read.bw_bytes / 1e6;
    },
  },
];

/** Writes the files fio reads (once; kept when already the right size). */
export async function prepareFiles(c: WorkCtx): Promise<void> {
  fs.mkdirSync(c.dir, { recursive: true });
  for (const [name, mib] of [['direct.dat', c.ioMiB], ['cache.dat', c.cacheMiB]] as const) {
    const f = path.join(c.dir, name);
    let size = 0;
    try {
      size = fs.statSync(f).size;
    } catch {
      /* missing */
    }
    if (size === mib * 1024 * 1024) continue;
    await runOk('fio', ['--name=prep', `--filename=${f}`, `--size=${mib}M`, '--rw=write', '--bs=1M', '--ioengine=psync', '--end_fsync=1', '--output-format=json']);
  }
}

/** Removes the scratch files. */
export function removeFiles(c: WorkCtx): void {
  for (const name of ['direct.dat', 'cache.dat']) fs.rmSync(path.join(c.dir, name), { force: true });
  try {
    fs.rmdirSync(c.dir);
  } catch {
    /* not empty or gone */
  }
}

/** Sets pipeLoops and msgLoops so that a run on this machine, now, takes about the wanted time. */
export async function calibrate(c: WorkCtx): Promise<void> {
  const probeLoops = 20_000;
  const out = await runOk('taskset', ['-c', '0', 'perf', 'bench', 'sched', 'pipe', '-l', String(probeLoops)]);
  const t = Number(/Total time:\s*([\d.]+)/.exec(out)?.[1] ?? 0) || 0.2;
  c.pipeLoops = Math.max(10_000, Math.round(((probeLoops / t) * c.seconds * 1.5) / 1000) * 1000);
  const mout = await runOk('perf', ['bench', 'sched', 'messaging', '-g', String(MSG_GROUPS), '-l', '20']);
  const mt = Number(/Total time:\s*([\d.]+)/.exec(mout)?.[1] ?? 0) || 0.1;
  c.msgLoops = Math.max(20, Math.round((20 / mt) * c.seconds * 0.5));
}

/** The default scratch directory: on the root disk, not tmpfs (direct I/O must reach a block device). */
export function defaultDir(): string {
  return fs.existsSync('/var/tmp') ? '/var/tmp/probetop-bench' : path.join(os.tmpdir(), 'probetop-bench');
}
