/**
 * biolatency probe: block I/O latency by disk and direction, and by issuing process
 * (bpf/biolatency.bpf.c).
 */
import { struct, offsetOf } from '../bpf/layout';
import { hashKeys, lookupPercpu, readProcMap, cstr, u64, numPossibleCpus, percpuStride } from '../bpf/maps';
import { decodeHist, emptyHist, HIST_LAYOUT, Hist, trimHist } from '../model/hist';
import { BlockNames, devString } from '../procfs/disks';
import type { ProbeSpec } from './types';

/** struct biolat_cfg (bpf/biolatency.h). */
export const BIOLAT_CFG = struct('biolat_cfg', [
  { name: 'filter_tgid', type: 'u32' },
  { name: 'queued', type: 'u32' },
  { name: 'per_process', type: 'u32' },
]);

/** struct biolat_start (bpf/biolatency.h): kernel-only, listed so its layout is checked too. */
export const BIOLAT_START = struct('biolat_start', [
  { name: 'ts', type: 'u64' },
  { name: 'tgid', type: 'u32' },
  { name: 'flags', type: 'u32' },
  { name: 'comm', type: 'char', count: 16 },
]);

/** struct biolat_sector_key (bpf/biolatency.h): kernel-only, listed so its layout is checked too. */
export const BIOLAT_SECTOR_KEY = struct('biolat_sector_key', [
  { name: 'dev', type: 'u32' },
  { name: '_pad', type: 'u32' },
  { name: 'sector', type: 'u64' },
]);

/** struct biolat_disk_key (bpf/biolatency.h). */
export const BIOLAT_DISK_KEY = struct('biolat_disk_key', [
  { name: 'dev', type: 'u32' },
  { name: 'op', type: 'u32' },
]);

/** struct biolat_disk (bpf/biolatency.h). */
export const BIOLAT_DISK = struct('biolat_disk', [
  { name: 'h', type: HIST_LAYOUT },
  { name: 'bytes', type: 'u64' },
]);

/** struct biolat_proc (bpf/biolatency.h). */
export const BIOLAT_PROC = struct('biolat_proc', [
  { name: 'h', type: HIST_LAYOUT },
  { name: 'bytes', type: 'u64' },
  { name: 'comm', type: 'char', count: 16 },
]);

/** struct biolat_stats (bpf/biolatency.h). */
export const BIOLAT_STATS = struct('biolat_stats', [
  { name: 'no_start', type: 'u64' },
  { name: 'proc_map_full', type: 'u64' },
  { name: 'disk_map_full', type: 'u64' },
]);

/** Every struct shared with bpf/biolatency.bpf.c, for the layout test. */
export const BIOLATENCY_LAYOUTS = [HIST_LAYOUT, BIOLAT_CFG, BIOLAT_START, BIOLAT_SECTOR_KEY, BIOLAT_DISK_KEY, BIOLAT_DISK, BIOLAT_PROC, BIOLAT_STATS];

/** Direction of a request: BIOLAT_OP_READ / _WRITE / _OTHER in bpf/biolatency.h, in that order. */
export type BioOp = 'read' | 'write' | 'other';
const OPS: readonly BioOp[] = ['read', 'write', 'other'];

/** Cumulative I/O of one disk in one direction. */
export interface BiolatencyDiskRaw {
  dev: string; // "major:minor" of the whole disk ("0:0": requests without a disk, e.g. NVMe admin)
  name: string; // from /sys/class/block, e.g. "vda", "nvme0n1"; dev when unknown
  op: BioOp;
  hist: Hist; // count = completed requests
  bytes: number;
}

/** Cumulative I/O of one process (the task current at issue or, with bioQueued, at insert). */
export interface BiolatencyProcRaw {
  pid: number; // tgid
  comm: string; // at its first I/O
  hist: Hist; // count = completed requests
  bytes: number;
}

/** What the biolatency probe reports each tick (cumulative since load). */
export interface BiolatencyRaw {
  queued: boolean; // latency measured from insertion into the I/O scheduler, not from issue
  disks: BiolatencyDiskRaw[];
  procs: BiolatencyProcRaw[];
  noStart: number; // completions without a recorded start (at load; filtered processes)
  procMapFull: number; // per-process updates dropped because the map was full
  diskMapFull: number; // per-disk updates dropped because the map was full
  procMapSize: number; // entries in the per-process map
  procMapMax: number;
}

const tpBtf = (f: { btf: boolean; hasBtfType(n: string): boolean }) =>
  !f.btf ? 'no kernel BTF' : ['insert', 'issue', 'requeue', 'merge', 'complete'].map((t) => `btf_trace_block_rq_${t}`).every((t) => f.hasBtfType(t)) ? null : 'no BTF tracepoint block_rq_issue/complete';

/** Block I/O latency probe definition. */
export const biolatency: ProbeSpec<BiolatencyRaw> = {
  name: 'biolatency',
  title: 'block I/O latency',
  object: 'biolatency.bpf.o',
  layouts: BIOLATENCY_LAYOUTS,
  variants: [
    {
      name: 'tp_btf',
      programs: ['bio_insert_btf', 'bio_issue_btf', 'bio_requeue_btf', 'bio_merge_btf', 'bio_complete_btf'],
      unusedMaps: ['starts_sec'],
      requires: tpBtf,
    },
    {
      name: 'raw_tp',
      programs: ['bio_insert_raw', 'bio_issue_raw', 'bio_requeue_raw', 'bio_merge_raw', 'bio_complete_raw'],
      unusedMaps: ['starts_sec'],
      requires: (f) => (f.btf ? null : 'no kernel BTF (CO-RE needs /sys/kernel/btf/vmlinux)'),
    },
    {
      name: 'tracepoint',
      programs: ['bio_insert_tp', 'bio_issue_tp', 'bio_requeue_tp', 'bio_merge_tp', 'bio_complete_tp'],
      unusedMaps: ['starts_rq'],
      requires: (f) =>
        !f.btf
          ? 'no kernel BTF (CO-RE needs /sys/kernel/btf/vmlinux)'
          : !f.tracefs
            ? 'no tracefs (classic tracepoints need it mounted)'
            : ['insert', 'issue', 'requeue', 'merge', 'complete'].map((t) => `block_rq_${t}`).every((t) => f.hasTracepoint('block', t))
              ? null
              : 'no tracepoints block:block_rq_issue/complete',
    },
  ],
  configure(obj, opts) {
    const cfg = Buffer.alloc(BIOLAT_CFG.size);
    cfg.writeUInt32LE(opts.filterTgid ?? 0, offsetOf(BIOLAT_CFG, 'filter_tgid'));
    cfg.writeUInt32LE(opts.bioQueued === true ? 1 : 0, offsetOf(BIOLAT_CFG, 'queued'));
    cfg.writeUInt32LE(1, offsetOf(BIOLAT_CFG, 'per_process'));
    obj.setRodata(cfg);
  },
  bind(obj, _variant, opts) {
    const diskMap = obj.map('disks');
    const procMap = obj.map('procs');
    const statsMap = obj.map('stats');
    const zeroKey = Buffer.alloc(4);
    const queued = opts.bioQueued === true;
    const names = new BlockNames();
    const percpuBuf = Buffer.alloc(percpuStride(diskMap.valueSize) * numPossibleCpus());
    const bytesOff = offsetOf(BIOLAT_DISK, 'bytes');
    const procBytesOff = offsetOf(BIOLAT_PROC, 'bytes');
    const commOff = offsetOf(BIOLAT_PROC, 'comm');
    return {
      read(): BiolatencyRaw {
        const disks: BiolatencyDiskRaw[] = [];
        for (const key of hashKeys(diskMap)) {
          const cpus = lookupPercpu(diskMap, key, percpuBuf);
          if (!cpus) continue;
          const hist = emptyHist();
          let bytes = 0;
          for (const v of cpus) {
            decodeHist(v, 0, hist);
            bytes += u64(v, bytesOff);
          }
          const dev = devString(key.readUInt32LE(0));
          disks.push({ dev, name: names.name(dev), op: OPS[key.readUInt32LE(4)] ?? 'other', hist: trimHist(hist), bytes });
        }
        disks.sort((a, b) => a.dev.localeCompare(b.dev) || OPS.indexOf(a.op) - OPS.indexOf(b.op));
        const st = [0, 0, 0];
        for (const cpu of lookupPercpu(statsMap, zeroKey) ?? []) for (let i = 0; i < 3; i++) st[i] += u64(cpu, i * 8);
        const { procs, size } = readProcMap<BiolatencyProcRaw>(procMap, (pid, v, off) => ({
          pid, comm: cstr(v, off + commOff, 16), hist: trimHist(decodeHist(v, off)), bytes: u64(v, off + procBytesOff),
        }));
        return { queued, disks, procs, noStart: st[0], procMapFull: st[1], diskMapFull: st[2], procMapSize: size, procMapMax: procMap.maxEntries };
      },
    };
  },
};


