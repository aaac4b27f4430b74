/**
 * Shared helpers for tests that load real BPF programs.
 */
import { execFileSync, spawn, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { detectFeatures } from '../../src/bpf/features';
import { runqlat } from '../../src/probes/runqlat';

/** Why BPF tests cannot run here, or null when they can (printed by the skipping test). */
export function bpfSkipReason(): string | null {
  const f = detectFeatures();
  if (!f.privileged) return `BPF not permitted: ${f.privilegeHint}`;
  if (!f.btf) return 'BPF not possible: the kernel has no BTF (/sys/kernel/btf/vmlinux)';
  if (!fs.existsSync('/proc/sys/kernel/unprivileged_bpf_disabled')) return 'BPF not possible: kernel built without CONFIG_BPF_SYSCALL';
  return null;
}

/** The runqlat variant the loader picks on this kernel: the first whose feature test passes (schedinfo, else tp_btf). */
export function runqlatVariant(): string {
  const f = detectFeatures();
  return runqlat.variants.find((v) => v.requires(f) === null)?.name ?? 'none';
}

/** Ids of every BPF program loaded in the kernel now (bpftool). */
export function loadedProgIds(): number[] {
  const out = execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' });
  return (JSON.parse(out) as { id: number }[]).map((p) => p.id).sort((a, b) => a - b);
}

/** Ids of every BPF link in the kernel now (bpftool). */
export function loadedLinkIds(): number[] {
  const out = execFileSync('bpftool', ['-j', 'link', 'show'], { encoding: 'utf8' });
  return (JSON.parse(out) as { id: number }[]).map((p) => p.id).sort((a, b) => a - b);
}

/** Starts `n` child processes that each spin on a CPU for `ms` milliseconds; resolves with their pids. */
export function spinners(n: number, ms: number): { pids: number[]; done: Promise<void>; children: ChildProcess[] } {
  const children: ChildProcess[] = [];
  for (let i = 0; i < n; i++) {
    children.push(spawn(process.execPath, ['-e', `const end = Date.now() + ${ms}; while (Date.now() < end) {}`], { stdio: 'ignore' }));
  }
  const done = Promise.all(children.map((c) => new Promise<void>((r) => c.on('exit', () => r())))).then(() => undefined);
  return { pids: children.map((c) => c.pid!), done, children };
}

/** Pinned spinners that wait for a go, then spin, then sit idle until killed (pinnedSpinners). */
export interface GatedSpinners {
  pids: number[];
  ready: Promise<void>; // every one has started and waits for go()
  go(): void; // start spinning
  spun: Promise<void>; // every one has stopped spinning and sleeps
  kill(): Promise<void>; // SIGKILL and reap
}

/**
 * Starts `n` node processes pinned to CPU `cpu` (taskset) that each wait for a line on stdin,
 * spin for `ms` milliseconds, then sleep until killed: their run-queue waits all fall between
 * go() and `spun`, and /proc/PID/task/TID/schedstat can be read while they still exist.
 */
export function pinnedSpinners(n: number, ms: number, cpu: number): GatedSpinners {
  const script = `process.stdout.write('r');process.stdin.once('data',()=>{const end=Date.now()+${ms};while(Date.now()<end){}process.stdout.write('s');process.stdin.pause();setInterval(()=>{},1<<30);});`;
  const children: ChildProcess[] = [];
  const ready: Promise<void>[] = [];
  const spun: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const c = spawn('taskset', ['-c', String(cpu), process.execPath, '-e', script], { stdio: ['pipe', 'pipe', 'ignore'] });
    children.push(c);
    let out = '';
    const seen = (ch: string) => new Promise<void>((res, rej) => {
      c.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes(ch)) res();
      });
      c.on('exit', (code) => rej(new Error(`pinned spinner exited (${code}) before '${ch}'`)));
    });
    ready.push(seen('r'));
    spun.push(seen('s'));
  }
  const all = (ps: Promise<void>[]) => {
    const p = Promise.all(ps).then(() => undefined);
    p.catch(() => undefined); // a test that fails early kills them unawaited: no unhandled rejection
    return p;
  };
  return {
    pids: children.map((c) => c.pid!),
    ready: all(ready),
    go: () => children.forEach((c) => c.stdin!.write('go\n')),
    spun: all(spun),
    kill: () => all(children.map((c) => new Promise<void>((res) => {
      if (c.exitCode !== null || c.signalCode !== null) return res();
      c.on('exit', () => res());
      c.kill('SIGKILL');
    }))),
  };
}

/** Run-queue wait of every thread of process `pid` so far, ns: the sum of the 2nd fields of /proc/PID/task/TID/schedstat. */
export function runDelayNs(pid: number): number {
  let sum = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      sum += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]);
    } catch {
      /* the thread exited meanwhile */
    }
  }
  return sum;
}

/** True when taskset (util-linux) is installed. */
export function haveTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Waits until the kernel's program and link ids equal `progs`/`links` (freeing a program is
 * deferred to RCU/workqueue after the last fd closes), up to `ms`; returns what it last saw.
 */
export async function settledIds(progs: number[], links: number[], ms = 3000): Promise<{ progs: number[]; links: number[] }> {
  const end = Date.now() + ms;
  for (;;) {
    const now = { progs: loadedProgIds(), links: loadedLinkIds() };
    const same = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
    if ((same(now.progs, progs) && same(now.links, links)) || Date.now() > end) return now;
    await sleep(50);
  }
}

/** The highest program and link ids in the kernel now: what a later leak check compares against. */
export function idMarks(): { prog: number; link: number } {
  return { prog: Math.max(0, ...loadedProgIds()), link: Math.max(0, ...loadedLinkIds()) };
}

/** Program and link ids held open by each live process (from /proc/PID/fdinfo), minus `except`. */
function heldIds(except: number[]): { progs: Set<number>; links: Set<number> } {
  const progs = new Set<number>();
  const links = new Set<number>();
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || except.includes(Number(pid))) continue;
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fdinfo`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let info: string;
      try {
        info = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
      } catch {
        continue;
      }
      const link = /^link_id:\s*(\d+)/m.exec(info);
      const prog = /^prog_id:\s*(\d+)/m.exec(info);
      if (link) links.add(Number(link[1]));
      if (prog) progs.add(Number(prog[1]));
    }
  }
  return { progs, links };
}

/**
 * The programs and links created since `marks` that nobody but `exceptPids` holds open — what a
 * process that should have cleaned up left behind. Other processes' programs (tests running in
 * parallel, other tools) are held by their fds and do not count. Waits up to `ms` for deferred
 * frees.
 */
export async function leakedSince(marks: { prog: number; link: number }, exceptPids: number[] = [], ms = 3000): Promise<{ progs: number[]; links: number[] }> {
  const end = Date.now() + ms;
  for (;;) {
    const held = heldIds(exceptPids);
    const progs = loadedProgIds().filter((id) => id > marks.prog && !held.progs.has(id));
    const links = loadedLinkIds().filter((id) => id > marks.link && !held.links.has(id));
    // A program attached through a link is held by the link: count it only when its link is gone too.
    if ((progs.length === 0 && links.length === 0) || Date.now() > end) return { progs, links };
    await sleep(100);
  }
}

/** The BPF program ids a process holds open now (from its fdinfo). */
export function progsHeldBy(pid: number): number[] {
  const ids = new Set<number>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fdinfo`)) {
    try {
      const m = /^prog_id:\s*(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (m) ids.add(Number(m[1]));
    } catch {
      /* closed meanwhile */
    }
  }
  return [...ids].sort((a, b) => a - b);
}
