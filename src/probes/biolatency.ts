/**
 * biolatency probe: block I/O latency by disk and direction, and by issuing process
 * (bpf/biolatency.bpf.c).
 */
import { struct, offsetOf } from '../bpf/layout';
import { deleteKey, dumpHash, dumpPercpuArray, hashKeys, lookupPercpu, mmapArray, pidAlive, readProcMap, cstr, u64 } from '../bpf/maps';
import { decodeHist, emptyHist, HIST_LAYOUT, Hist, trimHist } from '../model/hist';
import { BlockNames, devString } from '../procfs/disks';
import { bpfStatsOn, progStats } from '../bpf/stats';
import type { ProbeSpec } from './types';

/** struct biolat_cfg (bpf/biolatency.h). */
export const BIOLAT_CFG = struct('biolat_cfg', [
  { name: 'filter_tgid', type: 'u32' },
  { name: 'queued', type: 'u32' },
  { name: 'per_process', type: 'u32' },
  { name: 'start_mask', type: 'u32' },
  { name: 'disk_mask', type: 'u32' },
  { name: 'proc_mask', type: 'u32' },
]);

/** Default sizes of the slot arrays (powers of two; the BIOLAT_*_SLOTS of bpf/biolatency.h are the compiled-in sizes). */
export const BIOLAT_START_SLOTS = 16384;
export const BIOLAT_DISK_SLOTS = 64;
export const BIOLAT_PROC_SLOTS = 1024;

/** struct biolat_start (bpf/biolatency.h): kernel-only, listed so its layout is checked too. */
export const BIOLAT_START = struct('biolat_start', [
  { name: 'ts', type: 'u64' },
  { name: 'tgid', type: 'u32' },
  { name: 'flags', type: 'u32' },
  { name: 'comm', type: 'char', count: 16 },
]);

/** struct biolat_start_slot (bpf/biolatency.h): kernel-only, listed so its layout is checked too. */
export const BIOLAT_START_SLOT = struct('biolat_start_slot', [
  { name: 'rq', type: 'u64' },
  { name: 's', type: BIOLAT_START },
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

/** struct biolat_disk_slot (bpf/biolatency.h): one CPU's copy is in use once its count is not 0. */
export const BIOLAT_DISK_SLOT = struct('biolat_disk_slot', [
  { name: 'd', type: BIOLAT_DISK },
  { name: 'key', type: BIOLAT_DISK_KEY },
]);

/** struct biolat_proc (bpf/biolatency.h). */
export const BIOLAT_PROC = struct('biolat_proc', [
  { name: 'h', type: HIST_LAYOUT },
  { name: 'bytes', type: 'u64' },
  { name: 'comm', type: 'char', count: 16 },
]);

/** struct biolat_proc_slot (bpf/biolatency.h): tgid 0 = free. */
export const BIOLAT_PROC_SLOT = struct('biolat_proc_slot', [
  { name: 'tgid', type: 'u32' },
  { name: '_pad', type: 'u32' },
  { name: 'p', type: BIOLAT_PROC },
]);

/** struct biolat_stats (bpf/biolatency.h). */
export const BIOLAT_STATS = struct('biolat_stats', [
  { name: 'no_start', type: 'u64' },
  { name: 'proc_map_full', type: 'u64' },
  { name: 'disk_map_full', type: 'u64' },
  { name: 'disk_slot_claims', type: 'u64' },
]);

/** Every struct shared with bpf/biolatency.bpf.c, for the layout test. */
export const BIOLATENCY_LAYOUTS = [
  HIST_LAYOUT, BIOLAT_CFG, BIOLAT_START, BIOLAT_START_SLOT, BIOLAT_SECTOR_KEY, BIOLAT_DISK_KEY, BIOLAT_DISK, BIOLAT_DISK_SLOT, BIOLAT_PROC, BIOLAT_PROC_SLOT, BIOLAT_STATS,
];

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
  procMapSize: number; // processes in the per-process maps (slots in use + hash entries)
  procMapMax: number; // slots + hash capacity
}

const tpBtf = (f: { btf: boolean; hasBtfType(n: string): boolean }) =>
  !f.btf ? 'no kernel BTF' : ['insert', 'issue', 'requeue', 'merge', 'complete'].map((t) => `btf_trace_block_rq_${t}`).every((t) => f.hasBtfType(t)) ? null : 'no BTF tracepoint block_rq_issue/complete';

/**
 * Reads in a row that may hand back the previous reading when no request completed since it (see
 * read()); then the maps are read whole again, which also frees the slots of exited processes.
 */
export const BIOLAT_MAX_REUSE = 9;

/** The btf variant's slot arrays (bpf/biolatency.bpf.c): the other variants use the hashes only. */
const SLOT_MAPS = ['start_slots', 'disk_slots', 'proc_slots', 'proc_owners'];

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
      unusedMaps: ['starts_sec', ...SLOT_MAPS],
      requires: (f) => (f.btf ? null : 'no kernel BTF (CO-RE needs /sys/kernel/btf/vmlinux)'),
    },
    {
      name: 'tracepoint',
      programs: ['bio_insert_tp', 'bio_issue_tp', 'bio_requeue_tp', 'bio_merge_tp', 'bio_complete_tp'],
      unusedMaps: ['starts_rq', ...SLOT_MAPS],
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
    // The programs mask slot indexes with the sizes of the slot arrays, set here (tests shrink
    // them through mapMaxEntries to force collisions); proc_owners has one key per proc slot.
    const slots = (map: string, def: number) => {
      const n = opts.mapMaxEntries?.[map] ?? def;
      if (!Number.isInteger(n) || n < 1 || (n & (n - 1)) !== 0) throw new Error(`biolatency: ${map} needs a power of two entries, not ${n}`);
      obj.setMaxEntries(map, n);
      return n - 1;
    };
    cfg.writeUInt32LE(slots('start_slots', BIOLAT_START_SLOTS), offsetOf(BIOLAT_CFG, 'start_mask'));
    cfg.writeUInt32LE(slots('disk_slots', BIOLAT_DISK_SLOTS), offsetOf(BIOLAT_CFG, 'disk_mask'));
    const procMask = slots('proc_slots', BIOLAT_PROC_SLOTS);
    cfg.writeUInt32LE(procMask, offsetOf(BIOLAT_CFG, 'proc_mask'));
    obj.setMaxEntries('proc_owners', procMask + 1);
    obj.setRodata(cfg);
  },
  bind(obj, variant, opts) {
    // The slot arrays are the btf variant's; the others use the hashes only.
    const withSlots = !variant.unusedMaps?.includes('proc_slots');
    const diskSlotMap = withSlots ? obj.map('disk_slots') : null;
    const diskMap = obj.map('disks');
    const procMap = obj.map('procs');
    const procOwnerMap = withSlots ? obj.map('proc_owners') : null;
    const statsMap = obj.map('stats');
    const procSlots = withSlots ? mmapArray(obj.map('proc_slots')) : null; // unmapped by close()
    const zeroKey = Buffer.alloc(4);
    const queued = opts.bioQueued === true;
    const names = new BlockNames();
    const bytesOff = offsetOf(BIOLAT_DISK, 'bytes');
    const diskKeyOff = offsetOf(BIOLAT_DISK_SLOT, 'key');
    const procOff = offsetOf(BIOLAT_PROC_SLOT, 'p');
    const procBytesOff = offsetOf(BIOLAT_PROC, 'bytes');
    const commOff = offsetOf(BIOLAT_PROC, 'comm');
    const slotCopy = Buffer.alloc(BIOLAT_PROC_SLOT.size);
    const slotKey = Buffer.alloc(4);
    // The tgid of each process slot (little-endian host, as BPF needs).
    const procTgids = procSlots && new Uint32Array(procSlots.buf.buffer, procSlots.buf.byteOffset, procSlots.buf.length >> 2);
    // Disk slots in use: found by one batch over every slot and CPU (which grows with the CPU
    // count) while the programs' count of claims changes; else looked up one by one. A claim is
    // counted after its first count is written, but another CPU may see the two stores in
    // either order (arm64): a count of claims is trusted once two batches in a row saw it.
    let diskClaims = -1;
    let lastBatchClaims = -1;
    let diskSlotsUsed: number[] = [];
    // Only the completion program writes what read() reads (the counters, and the `stats` it
    // bumps). While BPF run-time statistics are on (the sampler holds them on), its run count
    // tells whether it ran: if not, the maps are as they were and so is the reading. An idle
    // disk then costs one syscall a tick instead of about six, and no decoding. A completion
    // that runs while the maps are read moves the count after it was taken: the next read
    // reads again.
    const completion = variant.programs.filter((n) => n.includes('complete')).map((name) => ({ name, fd: obj.programFd(name) }));
    const completions = (): number => {
      if (!bpfStatsOn() || completion.length === 0) return -1;
      let n = 0;
      for (const p of completion) {
        const s = progStats(p.name, p.fd);
        if (!s) return -1;
        n += s.runCnt;
      }
      return n;
    };
    let last: { raw: BiolatencyRaw; completions: number; reused: number } | null = null;
    return {
      read(): BiolatencyRaw {
        const done = completions();
        if (last && done >= 0 && done === last.completions && last.reused < BIOLAT_MAX_REUSE) {
          last.reused++;
          return last.raw;
        }
        const raw = readAll();
        last = { raw, completions: done, reused: 0 };
        return raw;
      },
      close() {
        procSlots?.unmap();
      },
    };

    function readAll(): BiolatencyRaw {
      // One disk+direction's counters are spread over CPUs, over disk_slots (each CPU's copy
      // of a slot names its disk+direction) and the hash `disks`: summed by key.
      const byKey = new Map<number, { devT: number; op: number; hist: Hist; bytes: number }>();
      const add = (devT: number, op: number, v: Buffer, off: number) => {
        const k = devT * 4 + op;
        let e = byKey.get(k);
        if (!e) byKey.set(k, (e = { devT, op, hist: emptyHist(), bytes: 0 }));
        decodeHist(v, off, e.hist);
        e.bytes += u64(v, off + bytesOff);
      };
      const st = [0, 0, 0, 0];
      for (const cpu of lookupPercpu(statsMap, zeroKey) ?? []) for (let i = 0; i < 4; i++) st[i] += u64(cpu, i * 8);
      if (diskSlotMap) {
        // Claims read before the slots: one made after waits for the next reading.
        const addCpu = (v: Buffer, off: number) => {
          if (u64(v, off) === 0) return false; // this CPU's copy of the slot is unused (h.count == 0)
          add(v.readUInt32LE(off + diskKeyOff), v.readUInt32LE(off + diskKeyOff + 4), v, off);
          return true;
        };
        if (st[3] !== diskClaims) {
          const ds = dumpPercpuArray(diskSlotMap);
          diskSlotsUsed = [];
          for (let i = 0; i < ds.count; i++) {
            let used = false;
            for (let c = 0, off = i * ds.cpus * ds.stride; c < ds.cpus; c++, off += ds.stride) used = addCpu(ds.values, off) || used;
            if (used) diskSlotsUsed.push(i);
          }
          if (st[3] === lastBatchClaims) diskClaims = st[3];
          lastBatchClaims = st[3];
        } else {
          for (const i of diskSlotsUsed) {
            slotKey.writeUInt32LE(i, 0);
            for (const v of lookupPercpu(diskSlotMap, slotKey) ?? []) addCpu(v, 0);
          }
        }
      }
      for (const key of hashKeys(diskMap)) {
        const cpus = lookupPercpu(diskMap, key);
        if (!cpus) continue;
        for (const v of cpus) add(key.readUInt32LE(0), key.readUInt32LE(4), v, 0);
      }
      const disks: BiolatencyDiskRaw[] = [];
      // By dev_t, then direction (a plain numeric order: localeCompare cost ~1 ms a tick).
      for (const k of [...byKey.keys()].sort((a, b) => a - b)) {
        const e = byKey.get(k)!;
        const dev = devString(e.devT);
        disks.push({ dev, name: names.name(dev), op: OPS[e.op] ?? 'other', hist: trimHist(e.hist), bytes: e.bytes });
      }

      // A process's counters are in its slot of proc_slots, in the hash `procs` (its slot was
      // owned by another), or in both (it got the slot later): summed by pid.
      const byPid = new Map<number, BiolatencyProcRaw>();
      const totalOf = (pid: number, comm: () => string): BiolatencyProcRaw => {
        let p = byPid.get(pid);
        if (!p) byPid.set(pid, (p = { pid, comm: comm(), hist: emptyHist(), bytes: 0 }));
        return p;
      };
      const decode = (pid: number, v: Buffer, off: number): void => {
        const p = totalOf(pid, () => cstr(v, off + commOff, 16));
        decodeHist(v, off, p.hist);
        p.bytes += u64(v, off + procBytesOff);
      };
      let slotsUsed = 0;
      if (procSlots) {
        // The slots claimed are the keys of proc_owners (a claim inserts the key before it
        // writes the tgid; freeing clears the tgid before it deletes the key): one batch
        // read, where scanning every slot's tgid would touch every page of the array.
        const { buf, elemSize, count } = procSlots;
        const owners = dumpHash(procOwnerMap!);
        for (let j = 0; j < owners.count; j++) {
          const i = owners.keys.readUInt32LE(j * owners.keySize);
          const off = i * elemSize;
          const pid = i < count ? procTgids![off >> 2] : 0;
          if (pid === 0) continue; // being claimed
          slotsUsed++;
          // A copy, as a syscall would make: the programs keep adding while we decode.
          buf.copy(slotCopy, 0, off, off + slotCopy.length);
          decode(pid, slotCopy, procOff);
          if (pidAlive(pid)) continue;
          // Its final counts are in this reading: free the slot, then drop its owner (a claim
          // in between finds no free owner key and goes to the hash). The claimer zeroes it.
          buf.writeUInt32LE(0, off);
          slotKey.writeUInt32LE(i, 0);
          deleteKey(procOwnerMap!, slotKey);
        }
      }
      // The hash's entries are read on their own and then added: readProcMap hands back an
      // unchanged entry's reading from the last tick without decoding it again.
      const hashed = readProcMap(procMap, (pid, v, off): BiolatencyProcRaw => ({ pid, comm: cstr(v, off + commOff, 16), hist: decodeHist(v, off), bytes: u64(v, off + procBytesOff) }));
      for (const h of hashed.procs) {
        const p = totalOf(h.pid, () => h.comm);
        p.hist.count += h.hist.count;
        p.hist.sumNs += h.hist.sumNs;
        for (let i = 0; i < h.hist.slots.length; i++) p.hist.slots[i] += h.hist.slots[i];
        p.bytes += h.bytes;
      }
      const size = hashed.size;
      const procs = [...byPid.values()];
      for (const p of procs) p.hist = trimHist(p.hist);
      return {
        queued, disks, procs, noStart: st[0], procMapFull: st[1], diskMapFull: st[2],
        procMapSize: slotsUsed + size, procMapMax: (procSlots?.count ?? 0) + procMap.maxEntries,
      };
    }
  },
};
