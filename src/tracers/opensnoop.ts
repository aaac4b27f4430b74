/**
 * opensnoop tracer: every open/openat/openat2 of one process (bpf/opensnoop.bpf.c), as a
 * ProbeSpec built for this kernel (the tracepoint variant loads only the tracepoints it has).
 */
import { offsetOf } from '../bpf/layout';
import { u64 } from '../bpf/maps';
import type { Features } from '../bpf/features';
import { decodeBytes } from '../probes/procevents';
import type { ProbeSpec } from '../probes/types';
import { TRACER_CFG, TRACER_LIVE, TR_KIND, TR_OPEN, TR_OPEN_START, TR_OPEN_SYS, TR_PATH_LEN, TR_STATS, TR_COMM_LEN, TR_SYS_NR_MAX } from './layouts';
import { EventRing, monoToWallMs } from './ring';
import { syscallTable, sysKindTable } from './syscalls';
import type { OpenEvent, TracerRead } from './types';

/** AT_FDCWD: a path relative to the current directory. */
const AT_FDCWD = -100;

/** What the opensnoop tracer reads each time. */
export type OpensnoopRead = TracerRead<OpenEvent>;

const O = {
  ts: offsetOf(TR_OPEN, 'ts_ns'),
  lat: offsetOf(TR_OPEN, 'latency_ns'),
  ret: offsetOf(TR_OPEN, 'ret'),
  flags: offsetOf(TR_OPEN, 'flags'),
  tid: offsetOf(TR_OPEN, 'tid'),
  mode: offsetOf(TR_OPEN, 'mode'),
  dfd: offsetOf(TR_OPEN, 'dfd'),
  pathLen: offsetOf(TR_OPEN, 'path_len'),
  kind: offsetOf(TR_OPEN, 'kind'),
  sys: offsetOf(TR_OPEN, 'sys'),
  comm: offsetOf(TR_OPEN, 'comm'),
  path: offsetOf(TR_OPEN, 'path'),
};

/** The bytes of a NUL-terminated field up to its NUL (or its end). */
export function cbytes(buf: Buffer, off: number, len: number): Buffer {
  const s = buf.subarray(off, off + len);
  const end = s.indexOf(0);
  return end < 0 ? s : s.subarray(0, end);
}

/** Decodes one tr_open record of process `pid`; null when it is not one. */
export function decodeOpen(d: Buffer, pid: number, wallOffsetMs: number): OpenEvent | null {
  if (d.length < TR_OPEN.size || d.readUInt16LE(O.kind) !== TR_KIND.open) return null;
  const monoNs = u64(d, O.ts);
  const ret = Number(d.readBigInt64LE(O.ret));
  const pathLen = Math.min(d.readUInt32LE(O.pathLen), TR_PATH_LEN);
  const dfd = d.readInt32LE(O.dfd);
  const path = cbytes(d, O.path, pathLen);
  return {
    kind: 'open',
    ts: monoNs / 1e6 + wallOffsetMs,
    monoNs,
    pid,
    tid: d.readUInt32LE(O.tid),
    comm: decodeBytes(cbytes(d, O.comm, TR_COMM_LEN)),
    latencyNs: u64(d, O.lat),
    call: TR_OPEN_SYS[d.readUInt16LE(O.sys)] ?? 'open*',
    path: decodeBytes(path),
    // A full buffer without a NUL before its end: the kernel cut the path.
    pathTruncated: pathLen === TR_PATH_LEN && path.length === TR_PATH_LEN - 1,
    pathUnreadable: pathLen === 0,
    dfd: dfd === AT_FDCWD ? null : dfd,
    flags: Number(d.readBigUInt64LE(O.flags) & 0xffffffffn),
    mode: d.readUInt32LE(O.mode),
    fd: ret >= 0 ? ret : null,
    errno: ret < 0 ? -ret : 0,
  };
}

/** The opensnoop tracer for process `opts.filterTgid`, with the variants this kernel may have. */
export function opensnoopSpec(f: Features): ProbeSpec<OpensnoopRead> {
  const calls = ['open', 'openat', 'openat2'].filter((c) => f.hasTracepoint('syscalls', `sys_enter_${c}`) && f.hasTracepoint('syscalls', `sys_exit_${c}`));
  return {
    name: 'opensnoop',
    title: 'files opened',
    object: 'opensnoop.bpf.o',
    layouts: [TRACER_CFG, TRACER_LIVE, TR_OPEN, TR_OPEN_START, TR_STATS],
    variants: [
      {
        name: 'fentry',
        programs: ['op_enter_fentry', 'op_exit_fexit'],
        requires: (ft) => (!ft.btf ? 'no kernel BTF' : ft.hasBtfFunc('do_sys_openat2') ? null : 'no do_sys_openat2 in kernel BTF'),
      },
      {
        name: 'tracepoint',
        programs: calls.flatMap((c) => [`op_enter_${c}_tp`, `op_exit_${c}_tp`]),
        requires: (ft) =>
          !ft.btf
            ? 'no kernel BTF (CO-RE needs /sys/kernel/btf/vmlinux)'
            : !ft.tracefs
              ? 'no tracefs (classic tracepoints need it mounted)'
              : calls.includes('openat')
                ? null
                : 'no tracepoints syscalls:sys_enter_openat/sys_exit_openat',
      },
      {
        name: 'raw_tp',
        programs: ['op_sys_enter_raw', 'op_sys_exit_raw'],
        requires: (ft) =>
          !ft.btf ? 'no kernel BTF (CO-RE needs /sys/kernel/btf/vmlinux)' : syscallTable() ? null : `no syscall table for ${process.arch}`,
      },
    ],
    configure(obj, opts) {
      const cfg = Buffer.alloc(TRACER_CFG.size);
      cfg.writeUInt32LE(opts.filterTgid ?? 0, offsetOf(TRACER_CFG, 'tgid'));
      const kinds = sysKindTable({ open: 1, openat: 2, openat2: 3 }, TR_SYS_NR_MAX, syscallTable());
      cfg.set(kinds, offsetOf(TRACER_CFG, 'sys_kind'));
      obj.setRodata(cfg);
    },
    bind(obj, _variant, opts) {
      const pid = opts.filterTgid ?? 0;
      let wallOffset = monoToWallMs();
      // Every open is reported: the kernel side has no threshold.
      const ring = new EventRing<OpenEvent>(obj, (d) => decodeOpen(d, pid, wallOffset));
      return {
        read(): OpensnoopRead {
          wallOffset = monoToWallMs();
          return { events: ring.take(), counters: ring.counters() };
        },
        close: () => ring.close(),
      };
    },
  };
}
