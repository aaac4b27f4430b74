/**
 * What runs beside the workloads: nothing, one libbpf-tools tool, or probetop with every probe.
 * Each is started, waited for until its programs are attached, and stopped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { adopted, start, stopChild, sleep } from './sys';
import { heldBpf, HeldProg } from './bpf';

/** A started configuration. */
export interface Running {
  name: string;
  pid: number | null; // null for "none"
  /** Its programs now, by id. */
  programs(): Map<number, HeldProg>;
  /** Whether it is still running (always true for "none"). */
  alive(): boolean;
  /** What it wrote on stderr so far. */
  stderr(): string;
  /** Stops it and waits for it to exit. */
  stop(): Promise<void>;
}

/** A configuration to run the workloads beside. */
export interface ConfigDef {
  name: string;
  title: string;
  kind: 'none' | 'tool' | 'probetop';
}

/** The libbpf-tools tools compared, with the arguments used (1 s intervals where the tool has them, like probetop). */
export const TOOLS: Record<string, { bin: string; args: string[]; title: string }> = {
  runqlat: { bin: '/usr/sbin/runqlat', args: ['1'], title: 'libbpf-tools runqlat 1' },
  biolatency: { bin: '/usr/sbin/biolatency', args: ['1'], title: 'libbpf-tools biolatency 1' },
  offcputime: { bin: '/usr/sbin/offcputime', args: [], title: 'libbpf-tools offcputime' },
  execsnoop: { bin: '/usr/sbin/execsnoop', args: [], title: 'libbpf-tools execsnoop > /dev/null' },
  exitsnoop: { bin: '/usr/sbin/exitsnoop', args: [], title: 'libbpf-tools exitsnoop > /dev/null' },
};

/** Every configuration of the throughput benchmark ("none" is the baseline). */
export const CONFIGS: ConfigDef[] = [
  { name: 'none', title: 'nothing running (baseline)', kind: 'none' },
  ...Object.entries(TOOLS).map(([name, t]) => ({ name, title: t.title, kind: 'tool' as const })),
  { name: 'probetop', title: 'probetop, all probes (--json -i 1000 > /dev/null)', kind: 'probetop' },
];

/** How probetop is started. */
export interface ProbetopOptions {
  root: string; // the repository (dist/src/cli.js under it)
  out?: string; // where its JSON lines go (default /dev/null)
  nice?: number;
  extraArgs?: string[];
  stats?: boolean; // read BPF statistics every tick as probetop does by default (throughput runs: off)
}

function wrap(c: ChildProcess, name: string): Running {
  let err = '';
  c.stderr?.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
  return {
    name,
    pid: c.pid ?? null,
    programs: () => (c.pid ? heldBpf([c.pid]).progs : new Map()),
    alive: () => c.exitCode === null && c.signalCode === null,
    stderr: () => err,
    stop: () => stopChild(c),
  };
}

/**
 * Waits until the process holds attached programs and their number has not changed for
 * `stableMs`; throws when it exits first or nothing is attached within `timeoutMs`.
 */
async function attached(r: Running, stableMs: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last = -1;
  let since = Date.now();
  for (;;) {
    if (!r.alive()) throw new Error(`${r.name} exited while starting: ${r.stderr().trim().slice(-800)}`);
    const n = [...r.programs().values()].filter((p) => p.attach).length;
    if (n !== last) {
      last = n;
      since = Date.now();
    } else if (n > 0 && Date.now() - since >= stableMs) return;
    if (Date.now() > end) throw new Error(`${r.name}: no program attached after ${timeoutMs / 1000} s: ${r.stderr().trim().slice(-800)}`);
    await sleep(100);
  }
}

/** The node flags probetop runs with: those of its launcher, bin/probetop (they are written there only). */
export function probetopNodeFlags(root: string): string[] {
  const file = path.join(root, 'bin', 'probetop');
  const line = fs.readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith('exec node '));
  if (!line) throw new Error(`${file}: no "exec node" line to take the node flags from`);
  return line.split(/\s+/).filter((w) => w.startsWith('--'));
}

/** Starts a configuration and returns once its programs are attached. */
export async function startConfig(def: ConfigDef, p: ProbetopOptions): Promise<Running> {
  if (def.kind === 'none') {
    return { name: 'none', pid: null, programs: () => new Map(), alive: () => true, stderr: () => '', stop: async () => undefined };
  }
  const devnull = fs.openSync('/dev/null', 'w');
  try {
    if (def.kind === 'tool') {
      const t = TOOLS[def.name];
      const r = wrap(start(t.bin, t.args, ['ignore', devnull, 'pipe']), def.name);
      await attached(r, 500, 20_000);
      return r;
    }
    const out = p.out ? fs.openSync(p.out, 'w', 0o600) : devnull;
    const cli = path.join(p.root, 'dist', 'src', 'cli.js');
    // --no-bpf-stats: throughput runs are measured with statistics off; passes that need them turn the sysctl on.
    const args = [...probetopNodeFlags(p.root), cli, '--json', '-i', '1000', ...(p.stats ? [] : ['--no-bpf-stats']), ...(p.extraArgs ?? [])];
    const c = p.nice ? start('nice', ['-n', String(p.nice), process.execPath, ...args], ['ignore', out, 'pipe']) : start(process.execPath, args, ['ignore', out, 'pipe']);
    if (out !== devnull) fs.closeSync(out);
    const r = wrap(c, 'probetop');
    // probetop loads its probes one after another: wait until the set has stopped growing.
    await attached(r, 1500, 60_000);
    return r;
  } finally {
    fs.closeSync(devnull);
  }
}

/**
 * Starts probetop's full-screen UI in a detached tmux session (160x48, 1 s refresh, every probe)
 * — what a user runs — and returns once its programs are attached. Stopping kills the session
 * (SIGHUP: probetop restores the terminal and unloads its probes).
 */
export async function startTui(p: ProbetopOptions): Promise<Running> {
  const session = `probetop-bench-${process.pid}`;
  const cli = path.join(p.root, 'dist', 'src', 'cli.js');
  const cmd = ['exec', JSON.stringify(process.execPath), ...probetopNodeFlags(p.root), JSON.stringify(cli), '-i', '1000', ...(p.extraArgs ?? [])].join(' ');
  const tmux = (args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' }).trim();
  tmux(['new-session', '-d', '-s', session, '-x', '160', '-y', '48', cmd]);
  const pid = Number(tmux(['display-message', '-p', '-t', session, '#{pane_pid}']));
  adopted.add(pid); // not a descendant of the harness: its CPU and programs are still ours
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const r: Running = {
    name: 'probetop-tui',
    pid,
    programs: () => heldBpf([pid]).progs,
    alive,
    stderr: () => {
      try {
        return tmux(['capture-pane', '-p', '-t', session]);
      } catch {
        return '';
      }
    },
    stop: async () => {
      try {
        tmux(['kill-session', '-t', session]);
      } catch {
        /* already gone */
      }
      for (let i = 0; i < 100 && alive(); i++) await sleep(100);
      adopted.delete(pid);
    },
  };
  await attached(r, 1500, 60_000);
  return r;
}

/** Which probetop probe a program belongs to, from its name (the prefixes of bpf/<probe>.bpf.c). */
export function ownerOf(name: string): string {
  const prefixes: [string, string][] = [['rq_', 'runqlat'], ['bio_', 'biolatency'], ['cs_', 'cachestat'], ['offcpu_', 'offcputime'], ['pe_', 'procevents']];
  return prefixes.find(([p]) => name.startsWith(p))?.[1] ?? 'probetop';
}
