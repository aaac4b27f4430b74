/**
 * syscallslow tracer: read/write/fsync-like calls of one process above a latency threshold
 * (bpf/syscallslow.bpf.c), each with its file resolved through /proc/PID/fd when it arrives.
 */
import { offsetOf } from '../bpf/layout';
import { u64 } from '../bpf/maps';
import type { Features } from '../bpf/features';
import { decodeBytes } from '../probes/procevents';
import type { ProbeSpec } from '../probes/types';
import { FdResolver, ResolvedPath } from './fdpath';
import { TRACER_CFG, TRACER_LIVE, TR_COMM_LEN, TR_KIND, TR_NAME_LEN, TR_SC, TR_STATS, TR_SYSCALL, TR_SYS_NR_MAX, TR_SYS_START } from './layouts';
import { cbytes } from './opensnoop';
import { EventRing, monoToWallMs } from './ring';
import { syscallTable, sysKindTable } from './syscalls';
import type { SyscallEvent, TracerRead } from './types';

/** Default threshold: calls faster than this are not reported, ms (as ext4slower/fsslower). */
export const SLOW_SYSCALL_DEFAULT_MS = 10;

/** The syscalls traced, name -> TR_SC_* code (bpf/tracers.h). */
export const TRACED_SYSCALLS: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(TR_SC).filter(([code]) => Number(code) < 32).map(([code, name]) => [name, Number(code)]),
);

/** The VFS functions of the fentry variant. */
const VFS_FUNCS = ['vfs_read', 'vfs_write', 'vfs_readv', 'vfs_writev', 'vfs_fsync_range'];
const VFS_PROG: Record<string, string> = {
  vfs_read: 'ss_vfs_read', vfs_write: 'ss_vfs_write', vfs_readv: 'ss_vfs_readv', vfs_writev: 'ss_vfs_writev', vfs_fsync_range: 'ss_vfs_fsync',
};

/** What the syscallslow tracer reads each time. */
export type SyscallslowRead = TracerRead<SyscallEvent>;

/** Options of the syscallslow tracer (besides ProbeOptions.filterTgid). */
export interface SyscallslowOptions {
  slowSyscallMs?: number; // threshold, ms
}

const O = {
  ts: offsetOf(TR_SYSCALL, 'ts_ns'),
  lat: offsetOf(TR_SYSCALL, 'latency_ns'),
  ret: offsetOf(TR_SYSCALL, 'ret'),
  count: offsetOf(TR_SYSCALL, 'count'),
  ino: offsetOf(TR_SYSCALL, 'ino'),
  fd: offsetOf(TR_SYSCALL, 'fd'),
  tid: offsetOf(TR_SYSCALL, 'tid'),
  kind: offsetOf(TR_SYSCALL, 'kind'),
  sys: offsetOf(TR_SYSCALL, 'sys'),
  comm: offsetOf(TR_SYSCALL, 'comm'),
  name: offsetOf(TR_SYSCALL, 'name'),
};

/** Decodes one tr_syscall record of process `pid`, resolving its file with `fds`. */
export function decodeSyscall(d: Buffer, pid: number, wallOffsetMs: number, fds: FdResolver | null): SyscallEvent | null {
  if (d.length < TR_SYSCALL.size || d.readUInt16LE(O.kind) !== TR_KIND.syscall) return null;
  const monoNs = u64(d, O.ts);
  const ret = Number(d.readBigInt64LE(O.ret));
  const rawFd = d.readInt32LE(O.fd);
  const fd = rawFd >= 0 ? rawFd : null;
  const ino = u64(d, O.ino);
  const name = decodeBytes(cbytes(d, O.name, TR_NAME_LEN));
  const r: ResolvedPath = fds ? fds.resolve(fd, ino, name) : { path: name || null, source: name ? 'dentry' : null, fdState: null };
  return {
    kind: 'syscall',
    ts: monoNs / 1e6 + wallOffsetMs,
    monoNs,
    pid,
    tid: d.readUInt32LE(O.tid),
    comm: decodeBytes(cbytes(d, O.comm, TR_COMM_LEN)),
    latencyNs: u64(d, O.lat),
    call: TR_SC[d.readUInt16LE(O.sys)] ?? `call ${d.readUInt16LE(O.sys)}`,
    fd,
    path: r.path,
    pathSource: r.source,
    fdState: r.fdState,
    ret: ret >= 0 ? ret : 0,
    errno: ret < 0 ? -ret : 0,
    count: u64(d, O.count),
    ino,
  };
}

/**
 * The syscallslow tracer for process `opts.filterTgid` (threshold `opts.slowSyscallMs`).
 * raw_tp comes before the classic tracepoints here, unlike opensnoop: read and write are the
 * most frequent syscalls of every process, and measured here (dd bs=1 of another process) the
 * classic syscall tracepoints on them add ~450 ns to each of its syscalls (the perf record is
 * built before the program runs), raw_tp ~350 ns. For opens the classic ones win: the other
 * processes' reads and writes pass the open tracepoints with a bitmap test (~50 ns, raw_tp ~350).
 */
export function syscallslowSpec(f: Features): ProbeSpec<SyscallslowRead> {
  const calls = Object.keys(TRACED_SYSCALLS).filter((c) => f.hasTracepoint('syscalls', `sys_enter_${c}`) && f.hasTracepoint('syscalls', `sys_exit_${c}`));
  const funcs = VFS_FUNCS.filter((fn) => f.hasBtfFunc(fn));
  return {
    name: 'syscallslow',
    title: 'slow syscalls',
    object: 'syscallslow.bpf.o',
    layouts: [TRACER_CFG, TRACER_LIVE, TR_SYSCALL, TR_SYS_START, TR_STATS],
    variants: [
      {
        name: 'fentry',
        programs: funcs.flatMap((fn) => [`${VFS_PROG[fn]}_entry`, `${VFS_PROG[fn]}_exit`]),
        requires: (ft) =>
          !ft.btf ? 'no kernel BTF' : funcs.includes('vfs_read') && funcs.includes('vfs_write') ? null : 'no vfs_read/vfs_write in kernel BTF',
      },
      {
        name: 'raw_tp',
        programs: ['ss_sys_enter_raw', 'ss_sys_exit_raw'],
        requires: (ft) =>
          !ft.btf ? 'no kernel BTF (CO-RE needs /sys/kernel/btf/vmlinux)' : syscallTable() ? null : `no syscall table for ${process.arch}`,
      },
      {
        name: 'tracepoint',
        programs: calls.flatMap((c) => [`ss_enter_${c}_tp`, `ss_exit_${c}_tp`]),
        requires: (ft) =>
          !ft.btf
            ? 'no kernel BTF (CO-RE needs /sys/kernel/btf/vmlinux)'
            : !ft.tracefs
              ? 'no tracefs (classic tracepoints need it mounted)'
              : calls.includes('read') && calls.includes('write')
                ? null
                : 'no tracepoints syscalls:sys_enter_read/sys_enter_write',
      },
    ],
    configure(obj, opts) {
      const cfg = Buffer.alloc(TRACER_CFG.size);
      cfg.writeUInt32LE(opts.filterTgid ?? 0, offsetOf(TRACER_CFG, 'tgid'));
      cfg.set(sysKindTable(TRACED_SYSCALLS, TR_SYS_NR_MAX, syscallTable()), offsetOf(TRACER_CFG, 'sys_kind'));
      obj.setRodata(cfg);
    },
    bind(obj, _variant, opts) {
      const pid = opts.filterTgid ?? 0;
      const fds = new FdResolver(pid);
      let wallOffset = monoToWallMs();
      const ring = new EventRing<SyscallEvent>(obj, (d) => decodeSyscall(d, pid, wallOffset, fds));
      ring.setMinNs(Math.max(1, ((opts as SyscallslowOptions).slowSyscallMs ?? SLOW_SYSCALL_DEFAULT_MS) * 1e6));
      return {
        read(): SyscallslowRead {
          wallOffset = monoToWallMs();
          fds.reset();
          return { events: ring.take(), counters: ring.counters() };
        },
        close: () => ring.close(),
      };
    },
  };
}
