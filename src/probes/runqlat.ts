/**
 * runqlat probe: run-queue latency, global and per process (bpf/runqlat.bpf.c).
 */
import { struct } from '../bpf/layout';
import { lookupPercpu, readProcMap, cstr, u64 } from '../bpf/maps';
import { decodeHist, decodeHistTrimmed, emptyHist, HIST_LAYOUT, Hist, trimHist } from '../model/hist';
import type { Features } from '../bpf/features';
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

const tpBtf = (f: Features) => (!f.btf ? 'no kernel BTF' : f.hasBtfType('btf_trace_sched_switch') ? null : 'no BTF tracepoint sched_switch');

/**
 * What the schedinfo variant needs: the kernel's own enqueue time (task->sched_info.last_queued,
 * kept while sched_info is on) and the run-queue clock it is taken from (rq_clock_of() in
 * bpf/common/task.bpf.h: task->se.cfs_rq->rq, CONFIG_FAIR_GROUP_SCHED).
 */
function schedInfoMissing(f: Features): string | null {
  const tp = tpBtf(f);
  if (tp) return tp;
  if (!f.hasBtfMember('task_struct', 'sched_info') || !f.hasBtfMember('sched_info', 'last_queued')) return 'no task_struct.sched_info.last_queued in kernel BTF (CONFIG_SCHED_INFO off)';
  if (!f.schedInfo) return 'sched_info is off (/proc/self/schedstat counts no switch-ins: delay accounting off?)';
  if (!f.hasBtfMember('sched_entity', 'cfs_rq') || !f.hasBtfMember('cfs_rq', 'rq')) return 'run-queue clock not reachable from a task (CONFIG_FAIR_GROUP_SCHED off)';
  return null;
}

/** Run-queue latency probe definition. */
export const runqlat: ProbeSpec<RunqlatRaw> = {
  name: 'runqlat',
  title: 'run-queue latency',
  object: 'runqlat.bpf.o',
  layouts: [HIST_LAYOUT, RUNQLAT_CFG, RQ_PROC, RQ_STATS],
  variants: [
    {
      // One program on sched_switch: the kernel's sched_info.last_queued is the enqueue time.
      // Sees only the wait on a task's last run queue when the kernel moves a queued task.
      name: 'schedinfo',
      programs: ['rq_switch_si'],
      unusedMaps: ['rq_start_task', 'rq_start_tid'],
      requires: schedInfoMissing,
    },
    {
      name: 'tp_btf',
      programs: ['rq_wakeup_btf', 'rq_wakeup_new_btf', 'rq_switch_btf'],
      unusedMaps: ['rq_start_tid'],
      requires: tpBtf,
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
        const { procs, size } = readProcMap<RunqlatProcRaw>(procMap, (pid, v, off) => ({ pid, comm: cstr(v, off + commOff, 16), hist: decodeHistTrimmed(v, off) }));
        return { hist: trimHist(hist), procs, procMapFull, procMapSize: size, procMapMax: procMap.maxEntries };
      },
    };
  },
};
