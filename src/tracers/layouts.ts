/**
 * TypeScript views of the structs in bpf/tracers.h (checked against the BTF of each tracer's
 * object by test/bpf/tracers.test.ts), and its constants.
 */
import { struct } from '../bpf/layout';

/** Bytes of an opened path kept by the kernel (NUL included). */
export const TR_PATH_LEN = 256;
/** Bytes of a dentry name kept by the kernel (NUL included). */
export const TR_NAME_LEN = 64;
/** Bytes of a task name. */
export const TR_COMM_LEN = 16;
/** Size of tracer_cfg.sys_kind: syscall numbers below this can be traced by the raw_tp variants. */
export const TR_SYS_NR_MAX = 512;

/** Record kinds (the u16 `kind` of every record). */
export const TR_KIND = { open: 1, bio: 2, syscall: 3 } as const;

/** tr_open.sys: which call (0 = any: the fentry hook serves all three). */
export const TR_OPEN_SYS = ['open*', 'open', 'openat', 'openat2'] as const;

/** Syscalls traced by syscallslow, by their TR_SC_* number (bpf/tracers.h). */
export const TR_SC: Record<number, string> = {
  1: 'read', 2: 'write', 3: 'pread64', 4: 'pwrite64', 5: 'readv', 6: 'writev', 7: 'preadv', 8: 'pwritev',
  9: 'preadv2', 10: 'pwritev2', 11: 'fsync', 12: 'fdatasync', 13: 'sync_file_range',
  // fentry variant: the VFS function.
  32: 'vfs_read', 33: 'vfs_write', 34: 'vfs_readv', 35: 'vfs_writev', 36: 'vfs_fsync_range',
};

/** tr_bio.op (TR_OP_*), indexed by value. */
export const TR_OPS = ['R', 'W', 'F', 'D', '?'] as const;

/** tr_bio.flags bits (TR_BIO_F_*). */
export const TR_BIO_F = { sync: 1, fua: 2, preflush: 4, meta: 8, inserted: 16 } as const;

/** struct tracer_cfg: read-only config written before load. */
export const TRACER_CFG = struct('tracer_cfg', [
  { name: 'tgid', type: 'u32' },
  { name: 'pad', type: 'u32' },
  { name: 'sys_kind', type: 'u8', count: TR_SYS_NR_MAX },
]);

/** struct tracer_live: the threshold, adjustable while loaded. */
export const TRACER_LIVE = struct('tracer_live', [{ name: 'min_ns', type: 'u64' }]);

/** struct tr_open: one open of the traced process. */
export const TR_OPEN = struct('tr_open', [
  { name: 'ts_ns', type: 'u64' },
  { name: 'latency_ns', type: 'u64' },
  { name: 'ret', type: 's64' },
  { name: 'flags', type: 'u64' },
  { name: 'tid', type: 'u32' },
  { name: 'mode', type: 'u32' },
  { name: 'dfd', type: 's32' },
  { name: 'path_len', type: 'u32' },
  { name: 'kind', type: 'u16' },
  { name: 'sys', type: 'u16' },
  { name: 'pad', type: 'u32' },
  { name: 'comm', type: 'char', count: TR_COMM_LEN },
  { name: 'path', type: 'char', count: TR_PATH_LEN },
]);

/** struct tr_bio: one slow block request. */
export const TR_BIO = struct('tr_bio', [
  { name: 'ts_ns', type: 'u64' },
  { name: 'latency_ns', type: 'u64' },
  { name: 'queue_ns', type: 'u64' },
  { name: 'sector', type: 'u64' },
  { name: 'bytes', type: 'u64' },
  { name: 'dev', type: 'u32' },
  { name: 'tid', type: 'u32' },
  { name: 'error', type: 's32' },
  { name: 'kind', type: 'u16' },
  { name: 'op', type: 'u8' },
  { name: 'flags', type: 'u8' },
  { name: 'comm', type: 'char', count: TR_COMM_LEN },
]);

/** struct tr_syscall: one slow read/write/fsync-like call. */
export const TR_SYSCALL = struct('tr_syscall', [
  { name: 'ts_ns', type: 'u64' },
  { name: 'latency_ns', type: 'u64' },
  { name: 'ret', type: 's64' },
  { name: 'count', type: 'u64' },
  { name: 'ino', type: 'u64' },
  { name: 'sdev', type: 'u32' },
  { name: 'fd', type: 's32' },
  { name: 'tid', type: 'u32' },
  { name: 'kind', type: 'u16' },
  { name: 'sys', type: 'u16' },
  { name: 'comm', type: 'char', count: TR_COMM_LEN },
  { name: 'name', type: 'char', count: TR_NAME_LEN },
]);

/** struct tr_stats: per-CPU counters of each tracer. */
export const TR_STATS = struct('tr_stats', [
  { name: 'events', type: 'u64' },
  { name: 'lost', type: 'u64' },
  { name: 'no_slot', type: 'u64' },
]);

/** struct tr_open_start (kernel-only, listed so its layout is checked too). */
export const TR_OPEN_START = struct('tr_open_start', [
  { name: 'ts', type: 'u64' },
  { name: 'path', type: 'u64' },
  { name: 'flags', type: 'u64' },
  { name: 'how', type: 'u64' },
  { name: 'dfd', type: 's32' },
  { name: 'mode', type: 'u32' },
  { name: 'sys', type: 'u16' },
  { name: 'pad', type: 'u16', count: 3 },
]);

/** struct tr_sys_start (kernel-only). */
export const TR_SYS_START = struct('tr_sys_start', [
  { name: 'ts', type: 'u64' },
  { name: 'count', type: 'u64' },
  { name: 'fd', type: 's32' },
  { name: 'sys', type: 'u16' },
  { name: 'pad', type: 'u16' },
]);

/** struct tr_bio_start (kernel-only). */
export const TR_BIO_START = struct('tr_bio_start', [
  { name: 'insert_ns', type: 'u64' },
  { name: 'issue_ns', type: 'u64' },
  { name: 'rq_start_ns', type: 'u64' },
  { name: 'tid', type: 'u32' },
  { name: 'pad', type: 'u32' },
  { name: 'comm', type: 'char', count: TR_COMM_LEN },
]);

/** struct tr_bio_key (kernel-only). */
export const TR_BIO_KEY = struct('tr_bio_key', [
  { name: 'dev', type: 'u32' },
  { name: 'pad', type: 'u32' },
  { name: 'sector', type: 'u64' },
]);
