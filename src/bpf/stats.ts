/**
 * BPF run-time statistics: how much CPU each loaded program costs. Statistics are switched on
 * with BPF_ENABLE_STATS, which holds them on only while its fd is open — so they go back to
 * what they were when probetop exits, even after kill -9.
 */
import fs from 'node:fs';
import { bpf, strerror } from './libbpf';

/** BPF_STATS_RUN_TIME (enum bpf_stats_type). */
const BPF_STATS_RUN_TIME = 0;

/**
 * Offsets in struct bpf_prog_info (UAPI, append-only so they never move); checked against the
 * kernel's BTF by test/unit/stats.test.ts.
 */
export const PROG_INFO = { size: 232, id: 4, runTimeNs: 192, runCnt: 200, recursionMisses: 208 } as const;

let statsFd = -1;

/** Turns BPF run-time statistics on for as long as probetop runs; returns why not, or null. */
export function enableBpfStats(): string | null {
  if (statsFd >= 0) return null;
  const fd = bpf.bpf_enable_stats(BPF_STATS_RUN_TIME);
  if (fd < 0) return `cannot enable BPF statistics: ${strerror(fd)}`;
  statsFd = fd;
  return null;
}

/** True while this process holds BPF run-time statistics on (programs' run counts move). */
export function bpfStatsOn(): boolean {
  return statsFd >= 0;
}

/** Gives the statistics fd back (the sysctl returns to its previous value). */
export function disableBpfStats(): void {
  if (statsFd >= 0) bpf.close(statsFd);
  statsFd = -1;
}

/** The value of kernel.bpf_stats_enabled now (1 while anyone holds stats on). */
export function bpfStatsSysctl(): number | null {
  try {
    return Number(fs.readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim());
  } catch {
    return null;
  }
}

/** Cumulative cost of one program. */
export interface ProgStats {
  name: string;
  id: number;
  runTimeNs: number; // total time spent in the program, ns
  runCnt: number; // times it ran
  recursionMisses: number; // times it was skipped because it was already running on the CPU
}

const infoBuf = Buffer.alloc(PROG_INFO.size);
const infoLen = new Uint32Array(1);

/** Reads a program's counters through BPF_OBJ_GET_INFO_BY_FD. */
export function progStats(name: string, fd: number): ProgStats | null {
  infoBuf.fill(0);
  infoLen[0] = infoBuf.length;
  if (bpf.bpf_prog_get_info_by_fd(fd, infoBuf, infoLen) < 0) return null;
  const u64 = (off: number) => infoBuf.readUInt32LE(off) + infoBuf.readUInt32LE(off + 4) * 0x100000000;
  return {
    name,
    id: infoBuf.readUInt32LE(PROG_INFO.id),
    runTimeNs: u64(PROG_INFO.runTimeNs),
    runCnt: u64(PROG_INFO.runCnt),
    recursionMisses: u64(PROG_INFO.recursionMisses),
  };
}
