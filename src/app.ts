/**
 * The interactive app: sampler + UI + one tick timer, and the one shutdown path that every
 * exit takes (q, Ctrl-C, SIGTERM, SIGHUP, an uncaught exception): stop the timer, restore the
 * terminal, detach every probe, then print what went wrong, if anything.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Snapshot } from './model/snapshot';
import { offcpuOf } from '../screens/process';
import { foldedLines } from './export/folded';
import { Sampler } from './sampler';
import type { ProbeOptions } from './probes/types';
import { buildSnapshot } from './model/snapshot';
import type { Sample } from './model/sample';
import { hostInfo } from './procfs/system';
import { libbpfLog, LogLine } from './bpf/object';
import { Ui, TracerHandle } from '../screens/ui';
import { TracerSession, SLOW_IO_DEFAULT_MS, SLOW_SYSCALL_DEFAULT_MS } from './tracers';
import { emptyTracerView, applyTracerEvents } from './model/tracers';
import { tracerLines } from '../screens/panels/tracers';
import { fault } from './faults';

/** Options of the interactive app. */
export interface AppOptions {
  intervalMs: number;
  logFile?: string;
  color: boolean;
  disable?: string[];
  pid?: number; // open the process view of this pid
  noBpf?: boolean; // --no-bpf: /proc only, by choice
  probeOpts?: ProbeOptions;
}

/** Writes a process's off-CPU stacks over `snaps` as folded text; returns what to tell the user. */
export function writeFoldedFile(pid: number, snaps: readonly Snapshot[], dir = process.cwd()): string {
  const agg = offcpuOf(snaps, pid);
  if (agg.totalNs === 0) return `no off-CPU time recorded for ${pid}`;
  const text = foldedLines(agg.comm, agg.stacks, agg.totalNs).join('\n') + '\n';
  const name = `probetop-offcpu-${pid}-${new Date().toISOString().replace(/[:.]/g, '').slice(0, 15)}.folded`;
  for (const d of [dir, os.tmpdir()]) {
    const file = path.join(d, name);
    try {
      fs.writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
      return `wrote ${snaps.length} ticks of off-CPU stacks to ${file} (flamegraph.pl / speedscope)`;
    } catch {
      /* try the next place */
    }
  }
  return `cannot write ${name} in ${dir} or ${os.tmpdir()}`;
}

/** The per-event tracers (opens, slow block I/O, slow syscalls) of one process, for the process view. */
export function openTracers(pid: number): TracerHandle {
  const session = TracerSession.open(pid, { slowIoMs: SLOW_IO_DEFAULT_MS, slowSyscallMs: SLOW_SYSCALL_DEFAULT_MS });
  let view = emptyTracerView();
  return {
    lines(width, color) {
      view = applyTracerEvents(view, session.poll());
      return tracerLines({ view, status: session.status(), thresholds: session.thresholds() }, { width: Math.max(30, width - 2), height: 60, color });
    },
    scaleThresholds(f) {
      const t = session.thresholds();
      const scale = (v: number) => Math.max(0.1, Math.min(60000, Number((v * f).toPrecision(3))));
      session.setThresholds({ slowIoMs: scale(t.slowIoMs), slowSyscallMs: scale(t.slowSyscallMs) });
      return session.thresholds();
    },
    status: () => session.status().map((s) => ({ name: s.name, variant: s.variant, reason: s.reason })),
    close: () => session.close(),
  };
}

/** Sends a signal named like TERM, SIGKILL or 9; returns an error message or null. */
export function sendSignal(pid: number, sig: string): string | null {
  const s = sig.trim().toUpperCase().replace(/^SIG/, '');
  const signal: NodeJS.Signals | number = /^\d+$/.test(s) ? Number(s) : (`SIG${s}` as NodeJS.Signals);
  if (typeof signal === 'string' && !(signal in os.constants.signals)) return `unknown signal ${sig}`;
  try {
    process.kill(pid, signal);
    return null;
  } catch (e) {
    return `cannot signal ${pid}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
}

/** The banner of the /proc-only mode: which panels need BPF and how to get them; null when probes run. */
export function procOnlyBanner(sampler: Sampler, byChoice: boolean): string | null {
  if (sampler.probes().size > 0) return null;
  if (byChoice) return '/proc-only mode (--no-bpf): run-queue, block I/O, page-cache and off-CPU panels are off; the process table comes from /proc.';
  if (!sampler.features.privileged)
    return `/proc-only mode: ${sampler.features.privilegeHint}. The latency, I/O, cache and off-CPU panels need BPF; the process table and its run-queue wait come from /proc.`;
  return null;
}

/** How often the full-screen UI reads the BPF statistics outside the probe-status view, ms. */
export const UI_STATS_PERIOD_MS = 5000;

/**
 * Every how many ticks the full-screen UI reads the BPF statistics: every ~5 s (a syscall per
 * program, 17 in all: ~4% of its idle tick in a CPU profile), and every tick while the
 * probe-status view, which is about them, is open. The header shows the cost over the span
 * between the last two readings.
 */
export function uiStatsPeriodTicks(intervalMs: number): number {
  return Math.max(1, Math.round(UI_STATS_PERIOD_MS / intervalMs));
}

/** Runs the TUI until the user quits; resolves with the exit code. */
export function runApp(opts: AppOptions): Promise<number> {
  return new Promise((resolve) => {
    let logFd: number | undefined;
    if (opts.logFile) logFd = fs.openSync(opts.logFile, 'a', 0o600);
    const writeLog = (l: LogLine) => {
      if (logFd !== undefined) fs.writeSync(logFd, `${new Date(l.ts).toISOString()} libbpf ${l.level}: ${l.text}\n`);
    };
    const statsPeriod = uiStatsPeriodTicks(opts.intervalMs);
    const sampler = new Sampler({ ...opts.probeOpts, onLog: writeLog, disable: opts.disable, statsPeriodTicks: statsPeriod });
    let timer: NodeJS.Timeout | undefined;
    let ui: Ui | undefined;
    let done = false;

    const shutdown = (code: number, err?: unknown) => {
      if (done) return;
      done = true;
      if (timer) clearInterval(timer);
      try {
        ui?.destroy();
      } catch {
        /* the terminal is as restored as it can be */
      }
      sampler.close();
      if (err) {
        const msg = err instanceof Error ? err.stack ?? err.message : String(err);
        process.stderr.write(`probetop: ${msg}\n`);
        if (logFd !== undefined) fs.writeSync(logFd, `${new Date().toISOString()} fatal: ${msg}\n`);
      }
      if (logFd !== undefined) fs.closeSync(logFd);
      for (const [sig, h] of handlers) process.off(sig, h);
      resolve(code);
    };
    const handlers: [string, (...a: any[]) => void][] = [
      ['SIGINT', () => shutdown(130)],
      ['SIGTERM', () => shutdown(143)],
      ['SIGHUP', () => shutdown(129)],
      ['uncaughtException', (e: unknown) => shutdown(70, e)],
      ['unhandledRejection', (e: unknown) => shutdown(70, e)],
    ];
    for (const [sig, h] of handlers) process.on(sig, h);

    try {
      sampler.start();
      ui = new Ui({
        host: hostInfo(),
        intervalMs: opts.intervalMs,
        color: opts.color,
        onQuit: () => shutdown(0),
        loadInfo: () => sampler.loadInfo,
        log: libbpfLog,
        statsError: () => sampler.statsError,
        pid: opts.pid,
        kill: (pid, sig) => sendSignal(pid, sig),
        writeFolded: (pid, snaps) => writeFoldedFile(pid, snaps),
        tracers: { open: (pid) => openTracers(pid) },
        banner: procOnlyBanner(sampler, !!opts.noBpf),
        liveStats: (on) => sampler.setStatsPeriod(on ? 1 : statsPeriod),
      });
      let prev: Sample = sampler.sample();
      ui.draw();
      timer = setInterval(() => {
        try {
          if (fault('tick')) throw new Error('injected fault in a tick');
          if (fault('uncaught')) setImmediate(() => {
            throw new Error('injected uncaught exception');
          });
          const cur = sampler.sample();
          ui!.update(buildSnapshot(cur, prev));
          prev = cur;
        } catch (e) {
          shutdown(70, e);
        }
      }, opts.intervalMs);
    } catch (e) {
      shutdown(70, e);
    }
  });
}
