/**
 * runqlat probe: run-queue latency, global and per process (bpf/runqlat.bpf.c).
 */
import { struct } from '../bpf/layout';
import { lookupPercpu, readProcMap, cstr, u64 } from '../bpf/maps';
import { decodeHist, emptyHist, HIST_LAYOUT, Hist, trimHist } from '../model/hist';
import type { ProbeSpec } from './types';

/** struct runqlat_cfg (bpf/runqlat.h). */
export const RUNQLAT_CFG = struct('runqlat_cfg', [
  { name: 'filter_tgid', type: 'u32' },
  { name: 'per_process', type: 'u32' },
]);

/** struct rq_proc (bpf/runqlat.h). */
export const RQ_PROC = struct('rq_proc', [
  { name: 'h', type: HIST_LAYOUT },
  { name: 'comm', type: 'char', count: 16 },
]);

/** struct rq_stats (bpf/runqlat.h). */
export const RQ_STATS = struct('rq_stats', [
  { name: 'proc_map_full', type: 'u64' },
  { name: 'no_start', type: 'u64' },
]);

/** Cumulative run-queue latency of one process. */
export interface RunqlatProcRaw {
  pid: number; // tgid
  comm: string;
  hist: Hist;
}

/** What the runqlat probe reports each tick (cumulative since load). */
export interface RunqlatRaw {
  hist: Hist; // every CPU summed
  procs: RunqlatProcRaw[];
  procMapFull: number; // per-process updates dropped because the map was full
  procMapSize: number; // entries in the per-process map
  procMapMax: number;
}

/** Run-queue latency probe definition. */
export const runqlat: ProbeSpec<RunqlatRaw> = {
  name: 'runqlat',
  title: 'run-queue latency',
  object: 'runqlat.bpf.o',
  layouts: [HIST_LAYOUT, RUNQLAT_CFG, RQ_PROC, RQ_STATS],
  variants: [
    {
      name: 'tp_btf',
      programs: ['rq_wakeup_btf', 'rq_wakeup_new_btf', 'rq_switch_btf'],
      unusedMaps: ['rq_start_tid'],
      requires: (f) => (!f.btf ? 'no kernel BTF' : f.hasBtfType('btf_trace_sched_switch') ? null : 'no BTF tracepoint sched_switch'),
    },
    {
      name: 'raw_tp',
      programs: ['rq_wakeup_raw', 'rq_wakeup_new_raw', 'rq_switch_raw'],
      unusedMaps: ['rq_start_task'],
      requires: (f) => (f.btf ? null : 'no kernel BTF (CO-RE needs /sys/kernel/btf/vmlinux)'),
    },
  ],
  configure(obj, opts) {
    const cfg = Buffer.alloc(RUNQLAT_CFG.size);
    cfg.writeUInt32LE(opts.filterTgid ?? 0, 0);
    cfg.writeUInt32LE(1, 4);
    obj.setRodata(cfg);
  },
  bind(obj) {
    const histMap = obj.map('rq_hist');
    const procMap = obj.map('rq_procs');
    const statsMap = obj.map('rq_stats');
    const zeroKey = Buffer.alloc(4);
    const commOff = RQ_PROC.fields[1].offset;
    return {
      read(): RunqlatRaw {
        const hist = emptyHist();
        for (const cpu of lookupPercpu(histMap, zeroKey) ?? []) decodeHist(cpu, 0, hist);
        let procMapFull = 0;
        for (const cpu of lookupPercpu(statsMap, zeroKey) ?? []) procMapFull += u64(cpu, 0);
        const { procs, size } = readProcMap<RunqlatProcRaw>(procMap, (pid, v, off) => ({ pid, comm: cstr(v, off + commOff, 16), hist: trimHist(decodeHist(v, off)) }));
        return { hist: trimHist(hist), procs, procMapFull, procMapSize: size, procMapMax: procMap.maxEntries };
      },
    };
  },
};
