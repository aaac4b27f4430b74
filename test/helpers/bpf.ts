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
