#!/usr/bin/env node
/**
 * The command line: options as data fed to commander; bad values exit with code 2.
 */
import { Command, InvalidArgumentError, CommanderError } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { PROBE_NAMES, PROBES } from './probes';
import { BPF_DIR, unsafeObjectReason } from './probes/load';
import { parseListen } from './headless';
import { bpf } from './bpf/libbpf';

/** Exit code for invalid command-line input. */
export const EXIT_USAGE = 2;

/** Parses a refresh interval in ms (100 ms to 1 hour). */
export function parseInterval(v: string): number {
  if (!/^\d+$/.test(v.trim())) throw new InvalidArgumentError(`"${v}" is not a whole number of milliseconds`);
  const n = Number(v);
  if (n < 100 || n > 3_600_000) throw new InvalidArgumentError(`${n} ms is out of range (100 to 3600000)`);
  return n;
}

/** Parses a comma-separated list of probe names. */
export function parseProbeList(v: string): string[] {
  const names = v.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => !(PROBE_NAMES as string[]).includes(n));
  if (bad.length) throw new InvalidArgumentError(`unknown probe ${bad.join(', ')} (probes: ${PROBE_NAMES.join(', ')})`);
  return names;
}

/** Parses --pid: a number naming a process that exists now. */
export function parsePid(v: string): number {
  if (!/^\d+$/.test(v.trim()) || Number(v) < 1) throw new InvalidArgumentError(`"${v}" is not a process id`);
  const pid = Number(v);
  if (!fs.existsSync(`/proc/${pid}`)) throw new InvalidArgumentError(`no process with id ${pid}`);
  return pid;
}

/** Parses a whole number of microseconds (0 to 1 hour). */
export function parseMicros(v: string): number {
  if (!/^\d+$/.test(v.trim())) throw new InvalidArgumentError(`"${v}" is not a whole number of microseconds`);
  const n = Number(v);
  if (n > 3_600_000_000) throw new InvalidArgumentError(`${n} µs is out of range (at most 1 hour)`);
  return n;
}

/** Parses a positive whole number of ticks. */
export function parseCount(v: string): number {
  if (!/^\d+$/.test(v.trim()) || Number(v) < 1) throw new InvalidArgumentError(`"${v}" is not a positive whole number`);
  return Number(v);
}

/** Parses "[ADDR:]PORT" for --prometheus. */
export function parseListenArg(v: string): { host: string; port: number } {
  const r = parseListen(v);
  if (typeof r === 'string') throw new InvalidArgumentError(r);
  return r;
}

/** Parses a duration in whole or decimal seconds (> 0). */
export function parseSeconds(v: string): number {
  if (!/^\d+(\.\d+)?$/.test(v.trim())) throw new InvalidArgumentError(`"${v}" is not a number of seconds`);
  const n = Number(v);
  if (n <= 0 || n > 30 * 86400) throw new InvalidArgumentError(`${n} s is out of range (above 0, at most 30 days)`);
  return n;
}

/** Checks that a log file can be opened for appending, before the TUI starts. */
export function parseLogFile(v: string): string {
  const p = path.resolve(v);
  try {
    fs.closeSync(fs.openSync(p, 'a', 0o600));
  } catch (e) {
    throw new InvalidArgumentError(`cannot write ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return p;
}

function version(): string {
  try {
    return JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

/** Builds the commander program (exported for tests). */
export function buildProgram(): Command {
  const program = new Command('probetop')
    .description('A top-like monitor with always-on eBPF probes: run-queue latency and more, redrawn every interval.')
    .version(version(), '-V, --version')
    .option('-i, --interval <ms>', 'refresh interval in milliseconds', parseInterval, 1000)
    .option('--log <file>', "append libbpf's log and fatal errors to FILE", parseLogFile)
    .option('--disable <probes>', `comma-separated probes not to load (${PROBE_NAMES.join(', ')})`, parseProbeList, [])
    .option('--no-color', 'no colours (also when NO_COLOR is set)')
    .option('--offcpu-min-block <us>', 'off-CPU blocks at least this long (µs) get stacks, like offcputime -m', parseMicros, 1000)
    .option('--bio-queued', 'time block I/O from insertion into the I/O scheduler (like biolatency -Q)')
    .option('--no-bpf-stats', 'do not turn BPF run-time statistics on (no cost per event on screen)')
    .option('-p, --pid <pid>', 'open straight into the process view of PID', parsePid)
    .option('--no-bpf', 'do not load any probe: the /proc-only mode (what runs without root)')
    .option('--json', 'no TUI: print one snapshot per tick as a JSON line (format: schema/snapshot.schema.json)')
    .option('-n, --count <ticks>', 'with --json: stop after this many ticks', parseCount)
    .option('--prometheus <[addr:]port>', 'no TUI: serve /metrics for Prometheus (address 127.0.0.1 unless given)', parseListenArg)
    .addHelpText(
      'after',
      `
Examples:
  sudo probetop                      watch run-queue latency, refreshed every second
  sudo probetop --interval 500       refresh twice a second
  sudo probetop --log /tmp/pt.log    keep libbpf's messages in a file
  sudo probetop --disable runqlat    start without the run-queue probe
  sudo probetop -p 1234              open the process view of PID 1234
  probetop --no-bpf                  /proc only: what works without root
  sudo probetop --json -n 5 | jq .runqlat  five snapshots as JSON lines
  sudo probetop --prometheus 9100    serve http://127.0.0.1:9100/metrics
  sudo probetop record -o run.jsonl.gz -d 60    record a minute, headless
  probetop replay run.jsonl.gz       look at it later, on any machine

Keys: q quit, ? help, d probe status, Space pause.
probetop needs root (or CAP_BPF + CAP_PERFMON) and a kernel with BTF.`,
    )
    .exitOverride()
    .enablePositionalOptions()
    .configureOutput({ outputError: (s, write) => write(`probetop: ${s.replace(/^error: /, '')}`) });
  program
    .command('record')
    .description('record headless: one line per tick (raw samples, JSON lines; gzip when FILE ends in .gz), mode 0600')
    .requiredOption('-o, --output <file>', 'the recording to write')
    .option('-d, --duration <seconds>', 'stop after this long (default: until Ctrl-C / SIGTERM)', parseSeconds)
    .option('-i, --interval <ms>', 'sampling interval in milliseconds', parseInterval, 1000)
    .option('--disable <probes>', 'comma-separated probes not to load', parseProbeList, [])
    .exitOverride()
    .action((o) => {
      action = { kind: 'record', o };
    });
  program
    .command('replay')
    .description('replay a recording in the same screens: Space pause, Left/Right step, g jump to a time')
    .argument('<file>', 'a recording written by probetop record')
    .option('--no-color', 'no colours')
    .exitOverride()
    .action((file, o) => {
      action = { kind: 'replay', file, o };
    });
  program.action(() => {
    action = { kind: 'monitor' };
  });
  return program;
}

let action: { kind: 'monitor' } | { kind: 'record'; o: any } | { kind: 'replay'; file: string; o: any } | undefined;

/** The first BPF object (of the probes not disabled) that other users could change, as a message. */
function unsafeObjects(disabled: readonly string[]): string | null {
  for (const name of PROBE_NAMES) {
    if (disabled.includes(name)) continue;
    const why = unsafeObjectReason(path.join(BPF_DIR, PROBES[name].object));
    if (why) return `a BPF object that other users can change would be loaded as root: ${why}`;
  }
  return null;
}

/** Entry point: parses argv, runs the app, exits with its code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    program.parse(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return EXIT_USAGE;
    }
    throw e;
  }
  const o = program.opts<{ interval: number; log?: string; disable: string[]; color: boolean; json?: boolean; count?: number; prometheus?: { host: string; port: number }; pid?: number; bpf: boolean; offcpuMinBlock: number; bioQueued?: boolean; bpfStats: boolean }>();
  const probeOpts = { offcpuMinBlockUs: o.offcpuMinBlock, bioQueued: !!o.bioQueued, noStats: !o.bpfStats };
  if (!o.bpf) o.disable = [...PROBE_NAMES];
  const act = action ?? { kind: 'monitor' };
  if (act.kind !== 'replay' && o.bpf) {
    const bad = unsafeObjects(act.kind === 'record' ? act.o.disable : o.disable);
    if (bad) {
      process.stderr.write(`probetop: refusing to start: ${bad}\n`);
      return EXIT_USAGE;
    }
  }
  if (o.count && !o.json) {
    process.stderr.write('probetop: --count goes with --json\n');
    return EXIT_USAGE;
  }
  if (act.kind === 'monitor' && (o.json || o.prometheus)) {
    const { runHeadless } = await import('./headless');
    return runHeadless({ intervalMs: o.interval, disable: o.disable, json: o.json ? { count: o.count } : undefined, prometheus: o.prometheus, probeOpts });
  }
  if (act.kind === 'record') {
    const { runRecord } = await import('./record/record');
    return runRecord({ out: path.resolve(act.o.output), durationS: act.o.duration, intervalMs: act.o.interval, disable: act.o.disable, version: version(), probeOpts });
  }
  let recording: import('./record/reader').Recording | undefined;
  if (act.kind === 'replay') {
    const { readRecording } = await import('./record/reader');
    try {
      recording = readRecording(path.resolve(act.file));
    } catch (e) {
      process.stderr.write(`probetop: ${(e as Error).message}\n`);
      return EXIT_USAGE;
    }
  }
  if (!process.stdout.isTTY) {
    process.stderr.write('probetop: standard output is not a terminal (the monitor needs one)\n');
    return EXIT_USAGE;
  }
  const color = o.color && !process.env.NO_COLOR;
  if (act.kind === 'replay') {
    const { runReplay } = await import('./replay');
    return runReplay(path.resolve(act.file), recording!, act.o.color !== false && !process.env.NO_COLOR);
  }
  const { runApp } = await import('./app');
  return runApp({ intervalMs: o.interval, logFile: o.log, color, disable: o.disable, pid: o.pid, noBpf: !o.bpf, probeOpts });
}

/**
 * V8 flags set at run time, so that every way of starting probetop gets them.
 *
 * --interrupt-budget: how much bytecode a function runs before V8 considers optimizing it (its
 * default is 132 KB).
 * probetop's per-tick code runs once a second: at the default, V8 spends the first minutes
 * compiling functions that each save a few microseconds a second (measured with the UI at idle,
 * 150-210 s after start: 0.84% of a core by default, 0.71% with this; after 10 minutes both are
 * ~0.65%). Measured again after the lean draw (BENCHMARKS.md, eighth round), the two were within
 * the noise at 120, 300 and 600 s: the gain is not certain, nothing was seen to get worse. Hot
 * loops (a ring-buffer drain under a fork storm) still reach the optimizer within seconds.
 *
 * --always-sparkplug: every function is compiled to baseline machine code (Sparkplug) when it is
 * first compiled, instead of after it has run a while in the interpreter. Much of the per-tick
 * code runs a few times a second or less (a process row, a panel, a map decoder) and otherwise
 * stays interpreted for minutes. Measured side by side, UIs at idle, % of a core over 300 s after
 * 120 s: 0.430 and 0.430 against 0.450 and 0.453 without it; in a second round 0.403 against
 * 0.416. Resident memory no higher (VmHWM 133 against 141 MB, one start each). Not kept:
 * --no-lazy-feedback-allocation on top of it (0.390 in that second round; in a third, 0.373 and
 * 0.403 against 0.390 and 0.390 with neither flag), and --no-opt, interpreter and baseline code
 * only (0.513 in the second round): the hot loops need the optimizer.
 *
 * --predictable, for the one place V8 reads it after start-up that matters here: a heap that
 * allocates under 1,000 bytes/ms (the idle UI: ~800) gives its idle half of the young generation
 * back to the system after every scavenge, so every byte allocated later lands on a page the
 * kernel must fault in and zero: ~190 faults a second at ~2.3 µs each on this VM, ~0.45 ms a
 * tick (Heap::ShouldResizeNewSpace: no shrinking in predictable mode). Set at run time, it does
 * not bring the mode's start-up implications: the random seeds (Math.random, string hashes) were
 * drawn already and stay random. Its other run-time effects are on V8's own logs, serializer and
 * the length of incremental marking steps. Only with a single-threaded GC (see singleThreadedGc).
 */
const V8_FLAGS = '--interrupt-budget=4194304 --always-sparkplug';
const V8_FLAGS_SINGLE_THREADED_GC = '--predictable';

/**
 * Whether V8 was started with its garbage collector on the main thread only (bin/probetop does).
 * --predictable set at run time is safe only then: with concurrent marking on, a major GC in
 * predictable mode fails a V8 check and aborts the process (seen with Node 20's V8 11.3).
 */
export function singleThreadedGc(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): boolean {
  return [...execArgv, ...nodeOptions.split(/\s+/)].some((a) => a === '--single-threaded' || a === '--single-threaded-gc');
}

let hungUp = false;
/**
 * The terminal went away under probetop (a hang-up: the ssh connection dropped, the window or
 * tmux pane closed): writes to it fail with EIO. The mode running stops as on SIGHUP (exit 129;
 * it releases every probe), with the standard descriptors that were the terminal pointed at
 * /dev/null first: its restore of the terminal then writes nowhere instead of failing again, and
 * node's exit skips restoring the modes of a terminal that is gone. (Node 20 checks that this
 * succeeds: with the terminal gone it fails with EIO and node aborts, "ResetStdio ... Assertion
 * failed"; a descriptor reopened since start-up is left alone.)
 */
function terminalGone(): void {
  if (hungUp) return;
  hungUp = true;
  try {
    const fd = fs.openSync('/dev/null', 'r+');
    // Only the terminal's (the file stdout is; isatty() is false once it has hung up): a stderr
    // sent to a file keeps what the shutdown writes.
    const term = fs.fstatSync(1);
    for (const target of [0, 1, 2]) {
      let st: fs.Stats | undefined;
      try {
        st = fs.fstatSync(target);
      } catch {
        continue; // closed
      }
      if (st.dev === term.dev && st.ino === term.ino) bpf.dup2(fd, target);
    }
    fs.closeSync(fd);
  } catch {
    /* no libc binding: the exit may still abort, the probes are released either way */
  }
  if (process.listenerCount('SIGHUP') > 0) process.emit('SIGHUP', 'SIGHUP');
  else process.exit(129);
}

if (require.main === module) {
  v8.setFlagsFromString(V8_FLAGS);
  if (singleThreadedGc()) v8.setFlagsFromString(V8_FLAGS_SINGLE_THREADED_GC);
  // `probetop --help | head -1`: a reader that went away is not an error. The modes that stream
  // (--json) handle it themselves (they restore what they changed first).
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (process.stdout.listenerCount('error') > 1) return;
    if (e.code === 'EPIPE') process.exit(0);
    if (e.code === 'EIO' && process.stdout.isTTY) return terminalGone();
    throw e; // as without this listener: the exit path of the mode running (app.ts: uncaughtException)
  });
  main(process.argv).then(
    // Pipes are written asynchronously: let stdout drain before exiting, or --json output is cut.
    (code) => {
      if (process.stdout.writableLength === 0) process.exit(code);
      process.stdout.once('drain', () => process.exit(code));
      process.stdout.once('error', () => process.exit(code));
    },
    (e) => {
      process.stderr.write(`probetop: ${(e as Error).stack ?? e}\n`);
      process.exit(70);
    },
  );
}
