/**
 * offcputime probe: time threads spend blocked, per process and per (process, kernel stack,
 * user stack), with a histogram of block durations (bpf/offcputime.bpf.c).
 *
 * Per-process totals and the histogram are cumulative like every probe. The per-stack entries
 * are reported as deltas since the previous read(), together with the frames of the stacks they
 * name: a cumulative table of every stack ever seen would make each recorded Sample as big as
 * the kernel map, while the deltas are as big as the interval's activity. The reader also keeps
 * the kernel maps bounded: entries of exited processes and entries idle for IDLE_READS reads
 * are deleted, then stacks that no entry names for two scans in a row are freed.
 */
import { struct, offsetOf } from '../bpf/layout';
import { bpf, strerror } from '../bpf/libbpf';
import type { MapInfo } from '../bpf/object';
import { dumpHash, hashKeys, lookupPercpu, lookup, deleteKey, readProcMap, cstr, u64, pidAlive } from '../bpf/maps';
import { decodeHist, emptyHist, HIST_LAYOUT, HIST_SLOTS, Hist, trimHist } from '../model/hist';
import { kernelRanges } from '../symbols/kallsyms';
import { detectFeatures } from '../bpf/features';
import type { ProbeOptions, ProbeSpec } from './types';

/** Number of frames kept per stack (OFFCPU_STACK_DEPTH in bpf/offcputime.h). */
export const OFFCPU_STACK_DEPTH = 64;

/** Default threshold for taking stacks, µs (offcputime -m). */
export const DEFAULT_MIN_BLOCK_US = 1000;

/** Default stack budget per CPU, in walks per second (a walk costs 4-20 µs on the test VM, a blocking-site fingerprint that replaces one a fifth of that). */
export const DEFAULT_STACK_WALKS_PER_SEC = 50;

/** struct offcputime_cfg (bpf/offcputime.h). */
export const OFFCPUTIME_CFG = struct('offcputime_cfg', [
  { name: 'min_block_ns', type: 'u64' },
  { name: 'walk_interval_ns', type: 'u64' },
  { name: 'site_cost_ns', type: 'u64' },
  { name: 'walk_burst_ns', type: 'u64' },
  { name: 'text_start', type: 'u64' },
  { name: 'text_end', type: 'u64' },
  { name: 'entry_start', type: 'u64' },
  { name: 'entry_end', type: 'u64' },
  { name: 'filter_tgid', type: 'u32' },
  { name: 'user_stacks', type: 'u32' },
  { name: 'verify_sites', type: 'u32' },
  { name: 'pad', type: 'u32' },
]);

/** struct offcpu_budget (bpf/offcputime.h): kernel-only, listed so its layout is checked too. */
export const OFFCPU_BUDGET = struct('offcpu_budget', [
  { name: 'last_ns', type: 'u64' },
  { name: 'credit_ns', type: 'u64' },
]);

/** struct offcpu_task (bpf/offcputime.h): kernel-only, listed so its layout is checked too. */
export const OFFCPU_TASK = struct('offcpu_task', [
  { name: 'start_ns', type: 'u64' },
  { name: 'kstack', type: 'u64' },
  { name: 'ustack', type: 'u64' },
  { name: 'last_long', type: 'u32' },
  { name: 'pad', type: 'u32' },
]);

/** struct offcpu_proc (bpf/offcputime.h). */
export const OFFCPU_PROC = struct('offcpu_proc', [
  { name: 'total_ns', type: 'u64' },
  { name: 'blocks', type: 'u64' },
  { name: 'created_ns', type: 'u64' },
  { name: 'comm', type: 'char', count: 16 },
  { name: 'slots', type: 'u64', count: HIST_SLOTS },
]);

/** struct offcpu_key (bpf/offcputime.h). */
export const OFFCPU_KEY = struct('offcpu_key', [
  { name: 'tgid', type: 'u32' },
  { name: 'pad', type: 'u32' },
  { name: 'kstack', type: 'u64' },
  { name: 'ustack', type: 'u64' },
]);

/** struct offcpu_val (bpf/offcputime.h). */
export const OFFCPU_VAL = struct('offcpu_val', [
  { name: 'total_ns', type: 'u64' },
  { name: 'blocks', type: 'u64' },
  { name: 'created_ns', type: 'u64' },
  { name: 'comm', type: 'char', count: 16 },
]);

/** struct offcpu_stack (bpf/offcputime.h). */
export const OFFCPU_STACK = struct('offcpu_stack', [{ name: 'ips', type: 'u64', count: OFFCPU_STACK_DEPTH }]);

/** Names of the counters of struct offcpu_stats, in C order (bpf/offcputime.h). */
export const OFFCPU_STAT_NAMES = [
  'proc_map_full', 'stack_map_full', 'kstack_map_full', 'ustack_map_full', 'tid_map_full',
  'kstack_failed', 'stack_lost', 'long_blocks', 'long_with_kstack', 'long_with_ustack', 'walks_skipped',
  'site_hits', 'site_mismatch',
] as const;

/** struct offcpu_stats (bpf/offcputime.h). */
export const OFFCPU_STATS = struct('offcpu_stats', OFFCPU_STAT_NAMES.map((name) => ({ name, type: 'u64' as const })));

/** struct offcpu_window (bpf/offcputime.h): kernel-only, listed so its layout is checked too. */
export const OFFCPU_WINDOW = struct('offcpu_window', [{ name: 'words', type: 'u64', count: 256 }]);

/** Every struct shared with bpf/offcputime.bpf.c, for the layout test. */
export const OFFCPUTIME_LAYOUTS = [HIST_LAYOUT, OFFCPUTIME_CFG, OFFCPU_BUDGET, OFFCPU_TASK, OFFCPU_PROC, OFFCPU_KEY, OFFCPU_VAL, OFFCPU_STACK, OFFCPU_STATS, OFFCPU_WINDOW];

/** Cumulative counters of struct offcpu_stats (every CPU summed), camel-cased. */
export interface OffcpuStatsRaw {
  procMapFull: number; // blocks not added to their process: map full
  stackMapFull: number; // long blocks not added to a stack entry: map full
  kstackMapFull: number; // kernel stacks not stored: map full
  ustackMapFull: number; // user stacks not stored: map full
  tidMapFull: number; // blocks not tracked: raw_tp thread map full, tp_btf task storage refused
  kstackFailed: number; // kernel stack walks that returned nothing
  stackLost: number; // stacks captured at switch-out but freed before the switch-in
  longBlocks: number; // blocks >= the threshold
  longWithKstack: number; // ... with a kernel stack
  longWithUstack: number; // ... with a user stack
  walksSkipped: number; // stack captures (fingerprint, kernel or user walk) skipped over the per-CPU budget
  siteHits: number; // kernel stacks reused from the blocking-site cache instead of walked
  siteMismatch: number; // offcpuVerifySites: cached stacks that differed from the walked one
}

/** Cumulative off-CPU time of one process. */
export interface OffcpuProcRaw {
  pid: number; // tgid
  comm: string; // thread group leader's name when first seen
  totalNs: number;
  blocks: number;
  createdNs: number; // kernel entry creation time (a different value = a new entry, not comparable)
  slots?: number[]; // blocks by log2 µs duration, cumulative (trailing zeros cut; absent in older recordings)
}

/** Off-CPU time of one (process, kernel stack, user stack) since the previous read. */
export interface OffcpuStackRaw {
  pid: number; // tgid
  comm: string;
  kstack: string | null; // hash (hex) naming frames in OffcputimeRaw.kframes; null = not captured
  ustack: string | null; // hash (hex) naming frames in OffcputimeRaw.uframes; null = not captured
  offcpuNs: number;
  blocks: number;
}

/** Occupancy of one kernel map. */
export interface MapFill {
  size: number; // entries (stack maps: as of the last scan)
  max: number;
}

/** How the loaded variant captures stacks (decides what the snapshot's capture note says). */
export type StackCapture = 'every-long-block' | 'after-long-block' | 'off';

/** What the offcputime probe reports each tick. */
export interface OffcputimeRaw {
  minBlockUs: number; // threshold for stacks, µs
  walksPerSec: number; // stack-walk budget per CPU, walks/s (0 = no limit)
  kernelStacks: StackCapture; // tp_btf: every long block (within the budget); raw_tp: only if the previous block was long too
  userStacks: StackCapture; // only if the previous block was long too, or off
  hist: Hist; // every block, every CPU summed; cumulative
  procs: OffcpuProcRaw[]; // cumulative
  stacks: OffcpuStackRaw[]; // long blocks since the previous read (deltas, not cumulative)
  kframes: Record<string, string[]>; // kernel stack hash -> addresses (hex, leaf first)
  uframes: Record<string, string[]>; // user stack hash -> addresses (hex, leaf first)
  stats: OffcpuStatsRaw; // cumulative
  maps: { procs: MapFill; stacks: MapFill; kstacks: MapFill; ustacks: MapFill };
}

/** Reads after which an unchanged per-stack entry is deleted from the kernel map. */
export const IDLE_READS = 10;
/** The stack maps are scanned for unreferenced stacks every this many reads. */
export const GC_EVERY = 5;

function minBlockUs(opts: ProbeOptions): number {
  const v = opts.offcpuMinBlockUs;
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : DEFAULT_MIN_BLOCK_US;
}

function walksPerSec(opts: ProbeOptions): number {
  const v = opts.offcpuStackWalksPerSec;
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : DEFAULT_STACK_WALKS_PER_SEC;
}

function userStacksOn(opts: ProbeOptions): boolean {
  return opts.offcpuUserStacks !== false;
}

/** Off-CPU time probe definition. */
export const offcputime: ProbeSpec<OffcputimeRaw> = {
  name: 'offcputime',
  title: 'off-CPU time',
  object: 'offcputime.bpf.o',
  layouts: OFFCPUTIME_LAYOUTS,
  variants: [
    {
      name: 'tp_btf',
      programs: ['offcpu_switch_btf'],
      unusedMaps: ['offcpu_tids'],
      requires: (f) => (!f.btf ? 'no kernel BTF' : f.hasBtfType('btf_trace_sched_switch') ? null : 'no BTF tracepoint sched_switch'),
    },
    {
      name: 'raw_tp',
      programs: ['offcpu_switch_raw'],
      unusedMaps: ['offcpu_task_store', 'offcpu_sites', 'offcpu_window'],
      requires: (f) => (f.btf ? null : 'no kernel BTF (CO-RE needs /sys/kernel/btf/vmlinux)'),
    },
  ],
  configure(obj, opts) {
    const cfg = Buffer.alloc(OFFCPUTIME_CFG.size);
    const at = (f: string) => offsetOf(OFFCPUTIME_CFG, f);
    const rate = walksPerSec(opts);
    const interval = rate > 0 ? Math.max(1, Math.round(1e9 / rate)) : 0;
    cfg.writeBigUInt64LE(BigInt(Math.round(minBlockUs(opts) * 1000)), at('min_block_ns'));
    cfg.writeBigUInt64LE(BigInt(interval), at('walk_interval_ns'));
    // A fingerprint (1-3 µs) costs about a fifth of a walk (4-20 µs) on the test VM.
    cfg.writeBigUInt64LE(BigInt(Math.round(interval / 5)), at('site_cost_ns'));
    // Up to a tenth of a second of walks at once (at least one).
    cfg.writeBigUInt64LE(BigInt(Math.max(interval, Math.round(interval * rate / 10))), at('walk_burst_ns'));
    // Blocking-site fingerprints need the kernel text range and bpf_task_pt_regs (5.15); without
    // them text_end stays 0, the verifier drops that code, and every kernel stack is walked.
    const ranges = process.arch === 'x64' && detectFeatures().hasBtfFunc('bpf_task_pt_regs') ? kernelRanges() : null;
    cfg.writeBigUInt64LE(ranges?.text.start ?? 0n, at('text_start'));
    cfg.writeBigUInt64LE(ranges?.text.end ?? 0n, at('text_end'));
    cfg.writeBigUInt64LE(ranges?.syscallEntry?.start ?? 0n, at('entry_start'));
    cfg.writeBigUInt64LE(ranges?.syscallEntry?.end ?? 0n, at('entry_end'));
    cfg.writeUInt32LE(opts.filterTgid ?? 0, at('filter_tgid'));
    cfg.writeUInt32LE(userStacksOn(opts) ? 1 : 0, at('user_stacks'));
    cfg.writeUInt32LE(opts.offcpuVerifySites === true ? 1 : 0, at('verify_sites'));
    obj.setRodata(cfg);
  },
  bind(obj, variant, opts) {
    const reader = new OffcpuReader(
      obj.map('offcpu_hist'), obj.map('offcpu_procs'), obj.map('offcpu_stacks'),
      obj.map('offcpu_kstacks'), obj.map('offcpu_ustacks'), obj.map('offcpu_stats'), obj.map('offcpu_clock'),
    );
    const mode = {
      minBlockUs: minBlockUs(opts),
      walksPerSec: walksPerSec(opts),
      kernelStacks: (variant.name === 'tp_btf' ? 'every-long-block' : 'after-long-block') as StackCapture,
      userStacks: (userStacksOn(opts) ? 'after-long-block' : 'off') as StackCapture,
    };
    return { read: () => reader.read(mode) };
  },
};

interface Tracked {
  totalNs: number;
  blocks: number;
  createdNs: number;
  idle: number; // consecutive reads without a new block
  read: number; // the read that last found it in the map
  kstack: string | null; // the stack hashes of its key (hashHex), taken once
  ustack: string | null;
}

/** A u64 hash as the hex string used in Raw (0 = none). */
function hashHex(buf: Buffer, off: number): string | null {
  const v = buf.readBigUInt64LE(off);
  return v === 0n ? null : v.toString(16);
}

function hashKey(hex: string): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt('0x' + hex));
  return b;
}

/** Reads the maps, turns per-stack totals into deltas, and keeps the kernel maps bounded. */
class OffcpuReader {
  private reads = 0;
  private tracked = new Map<string, Tracked>();
  private frames = { k: new Map<string, string[]>(), u: new Map<string, string[]>() };
  private unreferenced = { k: new Set<string>(), u: new Set<string>() };
  private fill = { k: 0, u: 0 };
  private zeroKey = Buffer.alloc(4);
  private stackBuf = Buffer.alloc(OFFCPU_STACK.size);

  constructor(
    private hist: MapInfo,
    private procs: MapInfo,
    private stacks: MapInfo,
    private kstacks: MapInfo,
    private ustacks: MapInfo,
    private stats: MapInfo,
    private clock: MapInfo,
  ) {}

  private clockBuf = Buffer.alloc(8);

  /**
   * Tells the programs when this read happens (CLOCK_MONOTONIC, bpf_ktime_get_ns's clock): a
   * block that ends after it counts toward the totals only from it on (offcpu_clock in
   * bpf/offcputime.bpf.c), so no interval gets more blocked time than its length per thread.
   */
  private markRead(): void {
    this.clockBuf.writeBigUInt64LE(process.hrtime.bigint());
    const rc = bpf.bpf_map_update_elem(this.clock.fd, this.zeroKey, this.clockBuf, 0);
    if (rc < 0) throw new Error(`update of ${this.clock.name}: ${strerror(rc)}`);
  }

  read(mode: Pick<OffcputimeRaw, 'minBlockUs' | 'walksPerSec' | 'kernelStacks' | 'userStacks'>): OffcputimeRaw {
    const hist = emptyHist();
    for (const cpu of lookupPercpu(this.hist, this.zeroKey) ?? []) decodeHist(cpu, 0, hist);
    const counters = new Array<number>(OFFCPU_STAT_NAMES.length).fill(0);
    for (const cpu of lookupPercpu(this.stats, this.zeroKey) ?? []) for (let i = 0; i < counters.length; i++) counters[i] += u64(cpu, i * 8);

    this.markRead();
    const procs = this.readProcs();
    const { stacks, kframes, uframes } = this.readStacks();
    if (this.reads++ % GC_EVERY === 0) this.collect();

    const [procMapFull, stackMapFull, kstackMapFull, ustackMapFull, tidMapFull, kstackFailed, stackLost, longBlocks, longWithKstack, longWithUstack, walksSkipped, siteHits, siteMismatch] = counters;
    return {
      ...mode,
      hist: trimHist(hist),
      procs,
      stacks,
      kframes,
      uframes,
      stats: { procMapFull, stackMapFull, kstackMapFull, ustackMapFull, tidMapFull, kstackFailed, stackLost, longBlocks, longWithKstack, longWithUstack, walksSkipped, siteHits, siteMismatch },
      maps: {
        procs: { size: procs.length, max: this.procs.maxEntries },
        stacks: { size: this.tracked.size, max: this.stacks.maxEntries },
        kstacks: { size: this.fill.k, max: this.kstacks.maxEntries },
        ustacks: { size: this.fill.u, max: this.ustacks.maxEntries },
      },
    };
  }

  private readProcs(): OffcpuProcRaw[] {
    const commOff = OFFCPU_PROC.fields[3].offset;
    const slotsOff = offsetOf(OFFCPU_PROC, 'slots');
    // An exited process blocks no more: its final totals are in this reading (readProcMap then
    // drops its entry).
    return readProcMap<OffcpuProcRaw>(this.procs, (pid, v, off) => {
      const slots: number[] = [];
      for (let i = 0; i < HIST_SLOTS; i++) slots.push(u64(v, off + slotsOff + i * 8));
      while (slots.length && slots[slots.length - 1] === 0) slots.pop();
      return { pid, comm: cstr(v, off + commOff, 16), totalNs: u64(v, off), blocks: u64(v, off + 8), createdNs: u64(v, off + 16), slots };
    }).procs;
  }

  private readStacks(): Pick<OffcputimeRaw, 'stacks' | 'kframes' | 'uframes'> {
    const d = dumpHash(this.stacks);
    const stacks: OffcpuStackRaw[] = [];
    const kframes: Record<string, string[]> = {};
    const uframes: Record<string, string[]> = {};
    const retire: { id: string; key: Buffer; blocks: number }[] = [];
    const commOff = OFFCPU_VAL.fields[3].offset;
    const read = this.reads;
    // Entries are read every tick, most of them unchanged: each is named by its key's bytes
    // (latin1, no Buffer view per entry) and its tracking record is updated in place.
    for (let i = 0; i < d.count; i++) {
      const at = i * d.keySize;
      const id = d.keys.toString('latin1', at, at + d.keySize);
      const off = i * d.valueSize;
      const pid = d.keys.readUInt32LE(at);
      const totalNs = u64(d.values, off);
      const blocks = u64(d.values, off + 8);
      const createdNs = u64(d.values, off + 16);
      let t = this.tracked.get(id);
      const same = t !== undefined && t.createdNs === createdNs && blocks >= t.blocks && totalNs >= t.totalNs;
      const dBlocks = same ? blocks - t!.blocks : blocks;
      const dNs = same ? totalNs - t!.totalNs : totalNs;
      if (!t) this.tracked.set(id, (t = { totalNs, blocks, createdNs, idle: 0, read, kstack: hashHex(d.keys, at + 8), ustack: hashHex(d.keys, at + 16) }));
      t.idle = dBlocks > 0 ? 0 : t.idle + 1;
      t.totalNs = totalNs;
      t.blocks = blocks;
      t.createdNs = createdNs;
      t.read = read;
      if (dBlocks > 0) {
        const { kstack, ustack } = t;
        if (kstack) kframes[kstack] = this.framesOf('k', kstack);
        if (ustack) uframes[ustack] = this.framesOf('u', ustack);
        stacks.push({ pid, comm: cstr(d.values, off + commOff, 16), kstack, ustack, offcpuNs: dNs, blocks: dBlocks });
      }
      if (t.idle >= IDLE_READS || !pidAlive(pid)) retire.push({ id, key: Buffer.from(d.keys.subarray(at, at + d.keySize)), blocks });
    }
    // Gone from the map (deleted here, or the map was recreated): forgotten.
    this.tracked.forEach((t, id) => {
      if (t.read !== read) this.tracked.delete(id);
    });
    const value = Buffer.alloc(this.stacks.valueSize);
    for (const r of retire) {
      // A block added since the dump would be lost with the entry: keep it for the next read.
      if (lookup(this.stacks, r.key, value) && u64(value, 8) !== r.blocks) continue;
      deleteKey(this.stacks, r.key);
      this.tracked.delete(r.id);
    }
    return { stacks, kframes, uframes };
  }

  /** The frames of a stack (hex addresses, leaf first), read from the kernel once and cached. */
  private framesOf(kind: 'k' | 'u', hash: string): string[] {
    const cache = this.frames[kind];
    let f = cache.get(hash);
    if (f) return f;
    f = [];
    if (lookup(kind === 'k' ? this.kstacks : this.ustacks, hashKey(hash), this.stackBuf)) {
      for (let i = 0; i < OFFCPU_STACK_DEPTH; i++) {
        const ip = this.stackBuf.readBigUInt64LE(i * 8);
        if (ip === 0n) break;
        f.push(ip.toString(16));
      }
      cache.set(hash, f);
    }
    return f;
  }

  /**
   * Frees stacks that no per-stack entry names, once they have been unnamed for two scans in
   * a row: a stack captured at switch-out is named only at the switch-in, so it gets one scan
   * period of grace (a thread blocked longer than that loses its stack, which the kernel counts
   * as stack_lost; a stack's key is its hash, so a freed key never comes back as another stack).
   */
  private collect(): void {
    const named = { k: new Set<string>(), u: new Set<string>() };
    for (const t of this.tracked.values()) {
      if (t.kstack) named.k.add(t.kstack);
      if (t.ustack) named.u.add(t.ustack);
    }
    for (const kind of ['k', 'u'] as const) {
      const map = kind === 'k' ? this.kstacks : this.ustacks;
      const keys = hashKeys(map);
      const unnamed = new Set<string>();
      let freed = 0;
      for (const key of keys) {
        const hex = key.readBigUInt64LE(0).toString(16);
        if (named[kind].has(hex)) continue;
        if (this.unreferenced[kind].has(hex)) {
          deleteKey(map, key);
          this.frames[kind].delete(hex);
          freed++;
        } else unnamed.add(hex);
      }
      this.unreferenced[kind] = unnamed;
      this.fill[kind] = keys.length - freed;
    }
  }
}

