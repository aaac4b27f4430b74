/**
 * The events the drill-down tracers report (decoded from bpf/tracers.h records), and what each
 * tracer's read() returns.
 */
import type { TracerCounters } from './ring';
import type { FdState } from './fdpath';

/** Fields every event has. */
export interface EventHead {
  ts: number; // wall clock when the call returned / the request completed, ms since the epoch
  monoNs: number; // the same instant on CLOCK_MONOTONIC (process.hrtime.bigint()), ns
  pid: number; // the traced process
  tid: number; // the thread (for block I/O: the submitting thread)
  comm: string; // the thread's name
  latencyNs: number;
}

/** One open/openat/openat2 of the traced process. */
export interface OpenEvent extends EventHead {
  kind: 'open';
  call: 'open' | 'openat' | 'openat2' | 'open*'; // open*: the hook serves all three (fentry)
  path: string; // as passed; relative paths are relative to dfd (or the cwd); undecodable bytes as U+DC80+byte
  pathTruncated: boolean; // longer than the kernel keeps (255 bytes)
  pathUnreadable: boolean; // the kernel could not read it from the caller's memory
  dfd: number | null; // directory fd of a relative path, null for AT_FDCWD
  flags: number; // O_* flags as passed
  mode: number; // creation mode
  fd: number | null; // the new fd, null on failure
  errno: number; // 0 on success
}

/** One block request of the traced process that took at least the threshold. */
export interface BioEvent extends EventHead {
  kind: 'bio';
  dev: string; // "major:minor" of the disk
  disk: string; // its name from sysfs (dev when unknown)
  op: 'R' | 'W' | 'F' | 'D' | '?'; // read, write, flush, discard, other
  sync: boolean;
  fua: boolean;
  preflush: boolean;
  meta: boolean;
  sector: number;
  bytes: number;
  queueNs: number | null; // insert to issue; null when issued without going through a queue
  serviceNs: number; // issue to completion (latencyNs - queueNs)
  error: number; // blk_status_t, 0 = success
}

/** Where a slow call's path came from. */
export type PathSource = 'fd' | 'dentry' | null; // /proc/PID/fd link | the kernel's dentry name | unknown

/** One read/write/fsync-like call of the traced process that took at least the threshold. */
export interface SyscallEvent extends EventHead {
  kind: 'syscall';
  call: string; // syscall name (tracepoint, raw_tp) or VFS function (fentry)
  fd: number | null; // null where the hook does not see it (fentry)
  path: string | null; // the file, resolved when the event arrived
  pathSource: PathSource;
  fdState: FdState; // 'closed'/'reused' by the time the event arrived: path is then the dentry name
  ret: number; // bytes or 0 (negative errno folded into errno)
  errno: number; // 0 on success
  count: number; // bytes asked (iovecs for readv/writev), 0 for fsync
  ino: number; // inode of the file, 0 unknown
}

/** Any tracer event. */
export type TracerEvent = OpenEvent | BioEvent | SyscallEvent;

/** What a tracer's read() returns: new events, oldest first, and cumulative counters. */
export interface TracerRead<E> {
  events: E[];
  counters: TracerCounters;
}
