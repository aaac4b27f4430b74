/**
 * biosnoop tracer: each block request of one process above a latency threshold
 * (bpf/biosnoop.bpf.c), with queue and service time.
 */
import { offsetOf } from '../bpf/layout';
import { u64 } from '../bpf/maps';
import type { Features } from '../bpf/features';
import { decodeBytes } from '../probes/procevents';
import type { ProbeSpec } from '../probes/types';
import { BlockNames, devString } from '../procfs/disks';
import { TRACER_CFG, TRACER_LIVE, TR_BIO, TR_BIO_F, TR_BIO_KEY, TR_BIO_START, TR_COMM_LEN, TR_KIND, TR_OPS, TR_STATS } from './layouts';
import { cbytes } from './opensnoop';
import { EventRing, monoToWallMs } from './ring';
import type { BioEvent, TracerRead } from './types';

/** Default threshold: requests faster than this are not reported, ms (biosnoop has none; ext4slower's is 10). */
export const SLOW_IO_DEFAULT_MS = 10;

/** What the biosnoop tracer reads each time. */
export type BiosnoopRead = TracerRead<BioEvent>;

/** Options of the biosnoop tracer (besides ProbeOptions.filterTgid). */
export interface BiosnoopOptions {
  slowIoMs?: number; // threshold, ms
}

const O = {
  ts: offsetOf(TR_BIO, 'ts_ns'),
  lat: offsetOf(TR_BIO, 'latency_ns'),
  queue: offsetOf(TR_BIO, 'queue_ns'),
  sector: offsetOf(TR_BIO, 'sector'),
  bytes: offsetOf(TR_BIO, 'bytes'),
  dev: offsetOf(TR_BIO, 'dev'),
  tid: offsetOf(TR_BIO, 'tid'),
  error: offsetOf(TR_BIO, 'error'),
  kind: offsetOf(TR_BIO, 'kind'),
  op: offsetOf(TR_BIO, 'op'),
  flags: offsetOf(TR_BIO, 'flags'),
  comm: offsetOf(TR_BIO, 'comm'),
};

/** Decodes one tr_bio record of process `pid`; `diskName` names a "major:minor". */
export function decodeBio(d: Buffer, pid: number, wallOffsetMs: number, diskName: (dev: string) => string): BioEvent | null {
  if (d.length < TR_BIO.size || d.readUInt16LE(O.kind) !== TR_KIND.bio) return null;
  const monoNs = u64(d, O.ts);
  const latencyNs = u64(d, O.lat);
  const flags = d.readUInt8(O.flags);
  const inserted = (flags & TR_BIO_F.inserted) !== 0;
  const queueNs = inserted ? u64(d, O.queue) : null;
  const dev = devString(d.readUInt32LE(O.dev));
  return {
    kind: 'bio',
    ts: monoNs / 1e6 + wallOffsetMs,
    monoNs,
    pid,
    tid: d.readUInt32LE(O.tid),
    comm: decodeBytes(cbytes(d, O.comm, TR_COMM_LEN)),
    latencyNs,
    dev,
    disk: diskName(dev),
    op: TR_OPS[d.readUInt8(O.op)] ?? '?',
    sync: (flags & TR_BIO_F.sync) !== 0,
    fua: (flags & TR_BIO_F.fua) !== 0,
    preflush: (flags & TR_BIO_F.preflush) !== 0,
    meta: (flags & TR_BIO_F.meta) !== 0,
    sector: u64(d, O.sector),
    bytes: u64(d, O.bytes),
    queueNs,
    serviceNs: latencyNs - (queueNs ?? 0),
    error: d.readInt32LE(O.error),
  };
}

const BLOCK_TPS = ['insert', 'issue', 'merge', 'complete'];

/** The biosnoop tracer for process `opts.filterTgid` (threshold `opts.slowIoMs`). */
export function biosnoopSpec(_f: Features): ProbeSpec<BiosnoopRead> {
  return {
    name: 'biosnoop',
    title: 'slow block I/O',
    object: 'biosnoop.bpf.o',
    layouts: [TRACER_CFG, TRACER_LIVE, TR_BIO, TR_BIO_START, TR_BIO_KEY, TR_STATS],
    variants: [
      {
        name: 'tp_btf',
        programs: ['bio_insert_btf', 'bio_issue_btf', 'bio_merge_btf', 'bio_complete_btf'],
        unusedMaps: ['bio_sec'],
        requires: (f) =>
          !f.btf ? 'no kernel BTF' : BLOCK_TPS.every((t) => f.hasBtfType(`btf_trace_block_rq_${t}`)) ? null : 'no BTF tracepoints block_rq_*',
      },
      {
        name: 'raw_tp',
        programs: ['bio_insert_raw', 'bio_issue_raw', 'bio_merge_raw', 'bio_complete_raw'],
        unusedMaps: ['bio_sec'],
        requires: (f) => (f.btf ? null : 'no kernel BTF (CO-RE needs /sys/kernel/btf/vmlinux)'),
      },
      {
        name: 'tracepoint',
        programs: ['bio_insert_tp', 'bio_issue_tp', 'bio_merge_tp', 'bio_complete_tp'],
        unusedMaps: ['bio_rq'],
        requires: (f) =>
          !f.btf
            ? 'no kernel BTF (CO-RE needs /sys/kernel/btf/vmlinux)'
            : !f.tracefs
              ? 'no tracefs (classic tracepoints need it mounted)'
              : BLOCK_TPS.every((t) => f.hasTracepoint('block', `block_rq_${t}`))
                ? null
                : 'no tracepoints block:block_rq_*',
      },
    ],
    configure(obj, opts) {
      const cfg = Buffer.alloc(TRACER_CFG.size);
      cfg.writeUInt32LE(opts.filterTgid ?? 0, offsetOf(TRACER_CFG, 'tgid'));
      obj.setRodata(cfg);
    },
    bind(obj, _variant, opts) {
      const pid = opts.filterTgid ?? 0;
      const names = new BlockNames();
      let wallOffset = monoToWallMs();
      const ring = new EventRing<BioEvent>(obj, (d) => decodeBio(d, pid, wallOffset, (dev) => names.name(dev)));
      ring.setMinNs(Math.max(1, ((opts as BiosnoopOptions).slowIoMs ?? SLOW_IO_DEFAULT_MS) * 1e6));
      return {
        read(): BiosnoopRead {
          wallOffset = monoToWallMs();
          return { events: ring.take(), counters: ring.counters() };
        },
        close: () => ring.close(),
      };
    },
  };
}
