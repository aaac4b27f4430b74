/**
 * Shared helpers for tests that load real BPF programs.
 */
import { execFileSync, spawn, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { detectFeatures } from '../../src/bpf/features';

/** Why BPF tests cannot run here, or null when they can (printed by the skipping test). */
export function bpfSkipReason(): string | null {
  const f = detectFeatures();
  if (!f.privileged) return `BPF not permitted: ${f.privilegeHint}`;
  if (!f.btf) return 'BPF not possible: the kernel has no BTF (/sys/kernel/btf/vmlinux)';
  if (!fs.existsSync('/proc/sys/kernel/unprivileged_bpf_disabled')) return 'BPF not possible: kernel built without CONFIG_BPF_SYSCALL';
  return null;
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
