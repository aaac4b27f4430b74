/**
 * TracerSession: the per-event tracers of one process, for the drill-down. Opening loads each
 * tracer (first variant that works, via loadProbe) filtered in the kernel to that process; a
 * timer drains their ring buffers every 100 ms; poll() hands over what arrived; close() releases
 * every program, link and map. Opening never throws: a tracer that cannot load is reported as
 * "unavailable: reason" by status().
 */
import fs from 'node:fs';
import { detectFeatures, Features } from '../bpf/features';
import { loadProbe, Attempt, BPF_DIR } from '../probes/load';
import type { LoadedProbe, ProbeOptions, ProbeSpec } from '../probes/types';
import { biosnoopSpec, SLOW_IO_DEFAULT_MS } from './biosnoop';
import { opensnoopSpec } from './opensnoop';
import { syscallslowSpec, SLOW_SYSCALL_DEFAULT_MS } from './syscallslow';
import { writeMinNs, TracerCounters } from './ring';
import type { BioEvent, OpenEvent, SyscallEvent, TracerRead } from './types';

/** The tracers a session runs. */
export const TRACER_NAMES = ['opensnoop', 'biosnoop', 'syscallslow'] as const;
/** One tracer's name. */
export type TracerName = (typeof TRACER_NAMES)[number];

/** How often the rings are drained, ms. */
export const TRACER_DRAIN_MS = 100;
/** Most events of one kind waiting for poll(); more are counted as dropped. */
export const TRACER_PENDING_MAX = 20_000;

/** Options of TracerSession.open. */
export interface TracerSessionOptions {
  slowIoMs?: number; // block requests faster than this are not reported (default 10)
  slowSyscallMs?: number; // read/write/fsync-like calls faster than this are not reported (default 10)
  tracers?: readonly TracerName[]; // which to run (default all)
  variants?: Record<string, string>; // tracer name -> the only variant to try (tests)
  features?: Features; // default detectFeatures()
  dir?: string; // where the BPF objects are (default build/bpf)
  drainMs?: number; // timer period (default 100; 0 = drain only in poll())
}

/** A tracer's state for the probe-status view and the panel. */
export interface TracerStatus {
  name: TracerName;
  title: string;
  variant: string | null; // in use, or null when unavailable
  reason: string | null; // why unavailable (or why it stopped), null when running
  attempts: Attempt[]; // variants tried before the one in use (or all, when unavailable), with their errors
}

/** Counters of one tracer: the kernel's (cumulative since load) and user-space drops. */
export interface TracerSessionCounters extends TracerCounters {
  dropped: number; // events drained but dropped because poll() was not called (cumulative)
}

/** What poll() returns: events since the last poll, oldest first, and cumulative counters. */
export interface TracerEvents {
  opens: OpenEvent[];
  bio: BioEvent[];
  syscalls: SyscallEvent[];
  counters: Partial<Record<TracerName, TracerSessionCounters>>; // running tracers only
}

interface Running {
  name: TracerName;
  probe: LoadedProbe<TracerRead<unknown>>;
  pending: unknown[];
  dropped: number;
  counters: TracerCounters;
}

const SPECS: Record<TracerName, (f: Features) => ProbeSpec<TracerRead<unknown>>> = {
  opensnoop: opensnoopSpec as (f: Features) => ProbeSpec<TracerRead<unknown>>,
  biosnoop: biosnoopSpec as (f: Features) => ProbeSpec<TracerRead<unknown>>,
  syscallslow: syscallslowSpec as (f: Features) => ProbeSpec<TracerRead<unknown>>,
};

const TITLES: Record<TracerName, string> = { opensnoop: 'files opened', biosnoop: 'slow block I/O', syscallslow: 'slow syscalls' };

/** The per-event tracers of one process. */
export class TracerSession {
  private running: Running[] = [];
  private statuses: TracerStatus[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private slowIoMs: number;
  private slowSyscallMs: number;

  private constructor(
    readonly pid: number,
    opts: TracerSessionOptions,
  ) {
    this.slowIoMs = opts.slowIoMs ?? SLOW_IO_DEFAULT_MS;
    this.slowSyscallMs = opts.slowSyscallMs ?? SLOW_SYSCALL_DEFAULT_MS;
  }

  /** Loads the tracers for `pid`; never throws (see status()). */
  static open(pid: number, opts: TracerSessionOptions = {}): TracerSession {
    const s = new TracerSession(pid, opts);
    const names = opts.tracers ?? TRACER_NAMES;
    const unavailable = (name: TracerName, reason: string, attempts: Attempt[] = []) =>
      s.statuses.push({ name, title: TITLES[name], variant: null, reason, attempts });
    let features: Features | undefined;
    let early: string | null = null;
    if (!Number.isInteger(pid) || pid <= 0) early = `no process ${pid}`;
    else if (!fs.existsSync(`/proc/${pid}`)) early = `process ${pid} is gone`;
    else {
      try {
        features = opts.features ?? detectFeatures();
      } catch (e) {
        early = `feature detection failed: ${(e as Error).message}`;
      }
    }
    for (const name of names) {
      if (early || !features) {
        unavailable(name, early ?? 'no features');
        continue;
      }
      const popts: ProbeOptions = {
        filterTgid: pid,
        variants: opts.variants,
        slowIoMs: s.slowIoMs,
        slowSyscallMs: s.slowSyscallMs,
      };
      try {
        const r = loadProbe(SPECS[name](features), popts, features, opts.dir ?? BPF_DIR);
        if (!r.ok) {
          unavailable(name, r.reason, r.attempts);
          continue;
        }
        s.running.push({ name, probe: r.probe, pending: [], dropped: 0, counters: { made: 0, lost: 0, noSlot: 0, undecodable: 0 } });
        s.statuses.push({ name, title: TITLES[name], variant: r.probe.variant, reason: null, attempts: r.attempts });
      } catch (e) {
        unavailable(name, (e as Error).message);
      }
    }
    const drainMs = opts.drainMs ?? TRACER_DRAIN_MS;
    if (drainMs > 0 && s.running.length) {
      s.timer = setInterval(() => s.drain(), drainMs);
      s.timer.unref();
    }
    return s;
  }

  /** Moves what the rings hold into the pending lists; a tracer that fails is stopped. */
  private drain(): void {
    for (const r of [...this.running]) {
      try {
        const got = r.probe.read();
        r.counters = got.counters;
        const room = TRACER_PENDING_MAX - r.pending.length;
        if (got.events.length > room) r.dropped += got.events.length - Math.max(0, room);
        for (let i = 0; i < Math.min(room, got.events.length); i++) r.pending.push(got.events[i]);
      } catch (e) {
        this.stop(r, `stopped: ${(e as Error).message}`);
      }
    }
  }

  private stop(r: Running, reason: string): void {
    this.running = this.running.filter((x) => x !== r);
    try {
      r.probe.close();
    } catch {
      /* closing is best effort; the reason says what went wrong first */
    }
    const st = this.statuses.find((x) => x.name === r.name);
    if (st) {
      st.reason = reason;
      st.variant = null;
    }
  }

  /** Events since the last poll (oldest first) and each running tracer's counters. */
  poll(): TracerEvents {
    const out: TracerEvents = { opens: [], bio: [], syscalls: [], counters: {} };
    if (this.closed) return out;
    this.drain();
    for (const r of this.running) {
      const events = r.pending;
      r.pending = [];
      if (r.name === 'opensnoop') out.opens = events as OpenEvent[];
      else if (r.name === 'biosnoop') out.bio = events as BioEvent[];
      else out.syscalls = events as SyscallEvent[];
      out.counters[r.name] = { ...r.counters, dropped: r.dropped };
    }
    return out;
  }

  /** Each tracer: the variant in use, or why it is unavailable. */
  status(): TracerStatus[] {
    return this.statuses.map((s) => ({ ...s, attempts: [...s.attempts] }));
  }

  /** The thresholds in effect, ms. */
  thresholds(): { slowIoMs: number; slowSyscallMs: number } {
    return { slowIoMs: this.slowIoMs, slowSyscallMs: this.slowSyscallMs };
  }

  /** Changes the thresholds (ms) of the running tracers at once, without reloading. */
  setThresholds(t: { slowIoMs?: number; slowSyscallMs?: number }): void {
    if (t.slowIoMs !== undefined && t.slowIoMs >= 0) this.slowIoMs = t.slowIoMs;
    if (t.slowSyscallMs !== undefined && t.slowSyscallMs >= 0) this.slowSyscallMs = t.slowSyscallMs;
    for (const r of this.running) {
      const ms = r.name === 'biosnoop' ? this.slowIoMs : r.name === 'syscallslow' ? this.slowSyscallMs : null;
      // 0 ms would mean "report nothing" to the kernel: the smallest threshold is 1 ns.
      if (ms !== null) writeMinNs(r.probe.obj.map('tr_live'), Math.max(1, ms * 1e6));
    }
  }

  /** Program names and fds of the running tracers (for BPF run-time statistics). */
  programs(): { tracer: TracerName; name: string; fd: number }[] {
    return this.running.flatMap((r) => r.probe.programs().map((p) => ({ tracer: r.name, ...p })));
  }

  /** Detaches and unloads every tracer; safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const r of this.running.splice(0)) {
      try {
        r.probe.close();
      } catch {
        /* keep closing the others */
      }
      const st = this.statuses.find((x) => x.name === r.name);
      if (st && st.reason === null) st.reason = 'closed';
    }
  }
}
