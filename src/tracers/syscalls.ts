/**
 * Syscall numbers for the raw_tp variants (raw_syscalls:sys_enter passes the number, not the
 * name), per architecture. Native calls only: a 32-bit (compat) process on x86_64 enters with
 * ia32 numbers, which these tables do not describe.
 */

/** Syscall name -> number on this architecture, for the calls the tracers know. */
export type SyscallTable = Readonly<Record<string, number>>;

const X86_64: SyscallTable = {
  read: 0, write: 1, open: 2, pread64: 17, pwrite64: 18, readv: 19, writev: 20, fsync: 74, fdatasync: 75,
  openat: 257, sync_file_range: 277, preadv: 295, pwritev: 296, preadv2: 327, pwritev2: 328, openat2: 437,
};

// asm-generic/unistd.h: arm64 has no open(2).
const ARM64: SyscallTable = {
  openat: 56, read: 63, write: 64, readv: 65, writev: 66, pread64: 67, pwrite64: 68, preadv: 69, pwritev: 70,
  fsync: 82, fdatasync: 83, sync_file_range: 84, preadv2: 286, pwritev2: 287, openat2: 437,
};

/** The table of `arch` (process.arch), or null for an architecture the tracers do not know. */
export function syscallTable(arch: string = process.arch): SyscallTable | null {
  return arch === 'x64' ? X86_64 : arch === 'arm64' ? ARM64 : null;
}

/**
 * The tracer_cfg.sys_kind table: for each syscall in `kinds` (name -> TR_* code) that this
 * architecture has, byte [number] = code. Names the architecture lacks are skipped.
 */
export function sysKindTable(kinds: Readonly<Record<string, number>>, size: number, table: SyscallTable | null): Uint8Array {
  const out = new Uint8Array(size);
  if (!table) return out;
  for (const [name, code] of Object.entries(kinds)) {
    const nr = table[name];
    if (nr !== undefined && nr < size) out[nr] = code;
  }
  return out;
}
