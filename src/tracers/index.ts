/**
 * The drill-down's per-event tracers: open a TracerSession for a process, poll() it each tick,
 * close() it when the process screen closes.
 */
export { TracerSession, TRACER_NAMES, TRACER_DRAIN_MS } from './session';
export type { TracerName, TracerSessionOptions, TracerStatus, TracerEvents, TracerSessionCounters } from './session';
export type { OpenEvent, BioEvent, SyscallEvent, TracerEvent } from './types';
export { SLOW_IO_DEFAULT_MS } from './biosnoop';
export { SLOW_SYSCALL_DEFAULT_MS } from './syscallslow';
