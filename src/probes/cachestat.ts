/**
 * cachestat probe: page-cache accesses, pages added (misses) and pages dirtied, global and per
 * process (bpf/cachestat.bpf.c).
 */
import { execFileSync } from 'node:child_process';
import { offsetOf, struct } from '../bpf/layout';
import { lookupPercpu, readProcMap, cstr, u64 } from '../bpf/maps';
import type { Features } from '../bpf/features';
import type { ProbeSpec } from './types';

/** struct cachestat_cfg (bpf/cachestat.h). */
export const CACHESTAT_CFG = struct('cachestat_cfg', [
  { name: 'filter_tgid', type: 'u32' },
  { name: 'per_process', type: 'u32' },
  { name: 'page_shift', type: 'u32' },
  { name: 'pad', type: 'u32' },
]);

/** struct cs_counts (bpf/cachestat.h): cumulative pages. */
export const CS_COUNTS = struct('cs_counts', [
  { name: 'accessed', type: 'u64' },
  { name: 'added', type: 'u64' },
  { name: 'dirtied', type: 'u64' },
  { name: 'write_added', type: 'u64' },
]);

/** struct cs_recent (bpf/cachestat.h): a CPU's last read range and last inserted folio. */
export const CS_RECENT = struct('cs_recent', [
  { name: 'mapping', type: 'u64' },
  { name: 'first', type: 'u64' },
  { name: 'last', type: 'u64' },
  { name: 'add_id', type: 'u64' },
  { name: 'add_pages', type: 'u64' },
  { name: 'tid', type: 'u32' },
  { name: 'add_tid', type: 'u32' },
]);

/** struct cs_pend (bpf/cachestat.h): a CPU's counts of one process not yet in its entry. */
export const CS_PEND = struct('cs_pend', [
  { name: 'seq_begin', type: 'u64' },
  { name: 'tgid', type: 'u32' },
  { name: 'pad', type: 'u32' },
  { name: 'c', type: CS_COUNTS },
  { name: 'seq_end', type: 'u64' },
]);

/** struct cs_cpu (bpf/cachestat.h): the per-CPU value of the global map. */
export const CS_CPU = struct('cs_cpu', [
  { name: 'c', type: CS_COUNTS },
  { name: 'recent', type: CS_RECENT },
  { name: 'pend', type: CS_PEND },
]);

/** struct cs_proc (bpf/cachestat.h): per-process counters, keyed by tgid. */
export const CS_PROC = struct('cs_proc', [
  { name: 'c', type: CS_COUNTS },
  { name: 'comm', type: 'char', count: 16 },
]);

/** struct cs_stats (bpf/cachestat.h). */
export const CS_STATS = struct('cs_stats', [{ name: 'proc_map_full', type: 'u64' }]);

/** Cumulative page-cache counters, in pages. */
export interface CachestatCounts {
  accessed: number; // pages looked up in the page cache
  added: number; // pages inserted into the page cache
  dirtied: number; // pages that became dirty
  writeAdded: number; // of added: pages that buffered writes created (not read from disk)
}

/** Cumulative counters of one process. */
export interface CachestatProcRaw extends CachestatCounts {
  pid: number; // tgid
  comm: string;
}

/** What the cachestat probe reports each tick (cumulative since load). */
export interface CachestatRaw {
  method: string; // the variant that is loaded: the model turns it into the method and accuracy text
  total: CachestatCounts; // every CPU summed
  procs: CachestatProcRaw[];
  procMapFull: number; // per-process updates dropped because the map was full
  procMapSize: number; // entries in the per-process map
  procMapMax: number;
}

const BTF_TP = {
  getPages: 'btf_trace_mm_filemap_get_pages',
  mapPages: 'btf_trace_mm_filemap_map_pages',
  fault: 'btf_trace_mm_filemap_fault',
  add: 'btf_trace_mm_filemap_add_to_page_cache',
  dirty: 'btf_trace_writeback_dirty_folio',
} as const;

/** The first BTF tracepoint type of `names` the kernel lacks, as a reason, or null. */
function needBtfTracepoints(f: Features, names: readonly (keyof typeof BTF_TP)[]): string | null {
  if (!f.btf) return 'no kernel BTF (/sys/kernel/btf/vmlinux)';
  for (const n of names) if (!f.hasBtfType(BTF_TP[n])) return `no tracepoint ${BTF_TP[n].slice('btf_trace_'.length)} in kernel BTF`;
  return null;
}

const MMAP_EVENTS = ['mapPages', 'fault'] as const;
const WRITE_EVENTS = ['add', 'dirty'] as const;

/** log2 of the page size (the BPF side cuts read ranges at EOF in pages). */
function pageShift(): number {
  try {
    const size = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim());
    if (size > 0 && (size & (size - 1)) === 0) return Math.log2(size);
  } catch {
    /* fall through */
  }
  return 12;
}

/** Page-cache probe definition. */
export const cachestat: ProbeSpec<CachestatRaw> = {
  name: 'cachestat',
  title: 'page cache hits/misses',
  object: 'cachestat.bpf.o',
  layouts: [CACHESTAT_CFG, CS_COUNTS, CS_RECENT, CS_PEND, CS_CPU, CS_PROC, CS_STATS],
  variants: [
    {
      name: 'fentry',
      programs: ['cs_access_fentry', 'cs_get_pages_btf', 'cs_map_pages_btf', 'cs_fault_btf', 'cs_add_btf', 'cs_dirty_btf', 'cs_exec_btf'],
      requires: (f) =>
        needBtfTracepoints(f, ['getPages', ...MMAP_EVENTS, ...WRITE_EVENTS]) ?? (f.hasBtfFunc('folio_mark_accessed') ? null : 'no function folio_mark_accessed in kernel BTF'),
    },
    {
      // Kernels with folios but before the filemap fault tracepoints (6.11): no mmap accesses.
      name: 'fentry_nomap',
      programs: ['cs_access_fentry', 'cs_add_btf', 'cs_dirty_btf', 'cs_exec_btf'],
      requires: (f) =>
        f.btf && f.hasBtfType(BTF_TP.mapPages)
          ? 'not needed: the fentry variant covers this kernel'
          : (needBtfTracepoints(f, WRITE_EVENTS) ?? (f.hasBtfFunc('folio_mark_accessed') ? null : 'no function folio_mark_accessed in kernel BTF')),
    },
    {
      name: 'tp_btf',
      programs: ['cs_get_pages_btf', 'cs_map_pages_btf', 'cs_fault_btf', 'cs_add_btf', 'cs_dirty_btf', 'cs_exec_btf'],
      requires: (f) => needBtfTracepoints(f, ['getPages', ...MMAP_EVENTS, ...WRITE_EVENTS]),
    },
    {
      name: 'raw_tp',
      programs: ['cs_get_pages_raw', 'cs_map_pages_raw', 'cs_fault_raw', 'cs_add_raw', 'cs_dirty_raw', 'cs_exec_raw'],
      requires: (f) => needBtfTracepoints(f, ['getPages', ...MMAP_EVENTS, ...WRITE_EVENTS]),
    },
    {
      name: 'tracepoint',
      programs: ['cs_get_pages_tp', 'cs_map_pages_tp', 'cs_fault_tp', 'cs_add_tp', 'cs_dirty_tp', 'cs_exec_tp'],
      requires: (f) => {
        if (!f.tracefs) return 'tracefs is not mounted (and could not be mounted)';
        const tps: [string, string][] = [
          ['filemap', 'mm_filemap_get_pages'], ['filemap', 'mm_filemap_map_pages'], ['filemap', 'mm_filemap_fault'],
          ['filemap', 'mm_filemap_add_to_page_cache'], ['writeback', 'writeback_dirty_folio'],
          ['sched', 'sched_process_exec'],
        ];
        for (const [cat, name] of tps) if (!f.hasTracepoint(cat, name)) return `no tracepoint ${cat}:${name}`;
        return null;
      },
    },
  ],
  configure(obj, opts) {
    const cfg = Buffer.alloc(CACHESTAT_CFG.size);
    cfg.writeUInt32LE(opts.filterTgid ?? 0, 0);
    cfg.writeUInt32LE(1, 4);
    cfg.writeUInt32LE(pageShift(), 8);
    obj.setRodata(cfg);
  },
  bind(obj, variant) {
    const totalMap = obj.map('cs_total');
    const procMap = obj.map('cs_procs');
    const statsMap = obj.map('cs_stats');
    const zeroKey = Buffer.alloc(4);
    const commOff = offsetOf(CS_PROC, 'comm');
    return {
      read(): CachestatRaw {
        // The entries first, then each CPU's run not yet in them (struct cs_pend): a run moved
        // into its entry in between is then missed for a tick, never counted twice.
        const { procs, size } = readProcMap<CachestatProcRaw>(procMap, (pid, v, off) => {
          const p: CachestatProcRaw = { pid, comm: cstr(v, off + commOff, 16), ...zeroCounts() };
          addCounts(p, v, off);
          return p;
        });
        const total = zeroCounts();
        const cpus = lookupPercpu(totalMap, zeroKey) ?? [];
        for (const cpu of cpus) addCounts(total, cpu, 0);
        let procMapFull = 0;
        for (const cpu of lookupPercpu(statsMap, zeroKey) ?? []) procMapFull += u64(cpu, 0);
        return { method: variant.name, total, procs: withRuns(procs, cpus), procMapFull, procMapSize: size, procMapMax: procMap.maxEntries };
      },
    };
  },
};

const PEND = {
  seqBegin: offsetOf(CS_CPU, 'pend') + offsetOf(CS_PEND, 'seq_begin'),
  tgid: offsetOf(CS_CPU, 'pend') + offsetOf(CS_PEND, 'tgid'),
  counts: offsetOf(CS_CPU, 'pend') + offsetOf(CS_PEND, 'c'),
  seqEnd: offsetOf(CS_CPU, 'pend') + offsetOf(CS_PEND, 'seq_end'),
};

/**
 * The per-process readings with each CPU's run (struct cs_pend in `cpus`) added to its process.
 * A run read while the CPU was moving to another process (seq_begin != seq_end) is left out, as
 * is one whose entry is gone (the process exited and was swept; its counts were reported). The
 * readings from readProcMap are shared: a process with a run gets a new object.
 */
export function withRuns(procs: CachestatProcRaw[], cpus: readonly Buffer[]): CachestatProcRaw[] {
  let runs: Map<number, Buffer[]> | null = null;
  for (const cpu of cpus) {
    const tgid = cpu.readUInt32LE(PEND.tgid);
    if (tgid === 0 || u64(cpu, PEND.seqBegin) !== u64(cpu, PEND.seqEnd)) continue;
    runs ??= new Map();
    const l = runs.get(tgid);
    if (l) l.push(cpu);
    else runs.set(tgid, [cpu]);
  }
  if (!runs) return procs;
  const out = procs.slice();
  for (let i = 0; i < out.length; i++) {
    const l = runs.get(out[i].pid);
    if (!l) continue;
    const p = (out[i] = { ...out[i] });
    for (const cpu of l) addCounts(p, cpu, PEND.counts);
  }
  return out;
}

function zeroCounts(): CachestatCounts {
  return { accessed: 0, added: 0, dirtied: 0, writeAdded: 0 };
}

const COUNT_OFF = {
  accessed: offsetOf(CS_COUNTS, 'accessed'),
  added: offsetOf(CS_COUNTS, 'added'),
  dirtied: offsetOf(CS_COUNTS, 'dirtied'),
  writeAdded: offsetOf(CS_COUNTS, 'write_added'),
};

/** Adds a struct cs_counts at `off` of `buf` into `c`. */
function addCounts(c: CachestatCounts, buf: Buffer, off: number): void {
  c.accessed += u64(buf, off + COUNT_OFF.accessed);
  c.added += u64(buf, off + COUNT_OFF.added);
  c.dirtied += u64(buf, off + COUNT_OFF.dirtied);
  c.writeAdded += u64(buf, off + COUNT_OFF.writeAdded);
}
