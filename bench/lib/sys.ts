/**
 * Process and /proc helpers for the benchmarks: running commands, CPU time of processes and of
 * the whole machine, and which processes are the harness's own.
 */
import { spawn, execFileSync, ChildProcess, StdioOptions } from 'node:child_process';
import fs from 'node:fs';

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Clock ticks per second of /proc/<pid>/stat and /proc/stat (USER_HZ). */
export const CLK_TCK: number = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Every child the harness started and has not seen exit: killed by pid on abort. */
export const children = new Set<ChildProcess>();

/** Starts a child and tracks it until it exits. */
export function start(cmd: string, args: string[], stdio: StdioOptions, env?: NodeJS.ProcessEnv): ChildProcess {
  const c = spawn(cmd, args, { stdio, env: env ?? process.env });
  children.add(c);
  c.on('exit', () => children.delete(c));
  c.on('error', () => children.delete(c));
  return c;
}

/** What a finished command did. */
export interface RunResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number; // wall time from spawn to exit, ms
}

/** Runs a command to completion, collecting its output; kills it (SIGKILL) after `timeoutMs`. */
export function run(cmd: string, args: string[], timeoutMs = 600_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const c = start(cmd, args, ['ignore', 'pipe', 'pipe']);
    let stdout = '';
    let stderr = '';
    c.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    c.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${cmd}: ${e.message}`));
    });
    c.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
    });
  });
}

/** Runs a command and returns its stdout; throws with its stderr when it fails. */
export async function runOk(cmd: string, args: string[], timeoutMs?: number): Promise<string> {
  const r = await run(cmd, args, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.signal ?? `exit ${r.code}`}): ${r.stderr.trim().slice(-500)}`);
  return r.stdout;
}

/** Waits for a child to exit; sends SIGINT, then SIGKILL after `graceMs`. */
export async function stopChild(c: ChildProcess, graceMs = 15_000): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill('SIGINT');
  const t = setTimeout(() => c.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

/** One process's line of /proc/<pid>/stat, the fields the benchmarks use. */
export interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  kthread: boolean; // PF_KTHREAD
  starttime: number; // clock ticks after boot: with pid, names a process across pid reuse
  ticks: number; // utime + stime, clock ticks
  childTicks: number; // cutime + cstime: reaped children, clock ticks
}

const PF_KTHREAD = 0x00200000;

/** Parses /proc/<pid>/stat; null when the process is gone. */
export function readProcStat(pid: number): ProcStat | null {
  let s: string;
  try {
    s = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  const open = s.indexOf('(');
  const close = s.lastIndexOf(')');
  // Field n of proc(5) is f[n - 3]: the fields after "pid (comm) ".
  const f = s.slice(close + 2).split(' ');
  return {
    pid,
    ppid: Number(f[1]),
    comm: s.slice(open + 1, close),
    kthread: (Number(f[6]) & PF_KTHREAD) !== 0,
    starttime: Number(f[19]),
    ticks: Number(f[11]) + Number(f[12]),
    childTicks: Number(f[13]) + Number(f[14]),
  };
}

/** Every process now, by pid. */
export function allProcs(): Map<number, ProcStat> {
  const m = new Map<number, ProcStat>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const p = readProcStat(Number(d));
    if (p) m.set(p.pid, p);
  }
  return m;
}

/**
 * Processes the harness started outside its own tree (probetop's UI runs under the tmux server):
 * they and their descendants count as the harness's own while registered.
 */
export const adopted = new Set<number>();

/** The harness and all its descendants (and the adopted processes and theirs), among `procs`. */
export function ownPids(procs: Map<number, ProcStat>, root = process.pid): Set<number> {
  const own = new Set<number>([root]);
  const byParent = new Map<number, number[]>();
  for (const p of procs.values()) {
    const l = byParent.get(p.ppid) ?? [];
    l.push(p.pid);
    byParent.set(p.ppid, l);
  }
  const todo = [root];
  for (const pid of adopted) {
    own.add(pid);
    todo.push(pid);
  }
  while (todo.length) {
    for (const c of byParent.get(todo.pop()!) ?? []) {
      if (!own.has(c)) {
        own.add(c);
        todo.push(c);
      }
    }
  }
  return own;
}

/** Busy, interrupt (irq + softirq) and total clock ticks of all CPUs since boot (/proc/stat). */
export function systemTicks(): { busy: number; irq: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
  // cpu user nice system idle iowait irq softirq steal (guest and guest_nice are inside user and nice)
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const idle = v[3] + v[4];
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, irq: v[5] + v[6], total };
}

/** CPU time of a whole process (all its threads, user + system), ns, from schedstat; null when gone. */
export function processCpuNs(pid: number): number | null {
  let sum = 0;
  try {
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        sum += Number(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        /* thread gone */
      }
    }
  } catch {
    return null;
  }
  return sum;
}

/** VmRSS and VmHWM of a process, bytes; null when gone. */
export function processRss(pid: number): { rss: number; hwm: number } | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

/** Whether an executable is on PATH (or in the sbin directories). */
export function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = `${dir}/${cmd}`;
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

/**
 * Starts `n` sleeping processes (bench/forkexec hold); resolves once they all exist, with a
 * function that ends them.
 */
export async function holdProcesses(forkexec: string, n: number): Promise<() => Promise<void>> {
  if (n <= 0) return async () => undefined;
  const c = start(forkexec, ['hold', String(n)], ['pipe', 'pipe', 'inherit']);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    c.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (/ready \d+/.test(out)) resolve();
    });
    c.on('exit', (code) => reject(new Error(`forkexec hold exited (${code}) before it was ready`)));
  });
  return async () => {
    if (c.exitCode !== null || c.signalCode !== null) return;
    const done = new Promise<void>((r) => c.once('exit', () => r()));
    c.stdin!.end();
    await done;
  };
}
