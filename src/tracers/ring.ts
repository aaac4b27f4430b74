/**
 * The user-space half every tracer shares: its ring buffer drained with ring_buffer__consume
 * (records are submitted without a wakeup, so polling would deliver nothing), a per-drain
 * budget, the per-CPU counters (records made, lost to a full ring, starts without a slot) and
 * the adjustable threshold in the tr_live map.
 */
import { bpf, lastErrno, registerRingCallback, strerror, Ptr } from '../bpf/libbpf';
import type { BpfObject, MapInfo } from '../bpf/object';
import { lookupPercpu, u64 } from '../bpf/maps';
import { offsetOf } from '../bpf/layout';
import { TRACER_LIVE, TR_STATS } from './layouts';

/** At most this many records are decoded per drain; the rest wait in the ring for the next. */
export const DRAIN_BUDGET = 20_000;

/** Cumulative counters of one tracer since it was loaded. */
export interface TracerCounters {
  made: number; // records the kernel made (reported events, including lost ones)
  lost: number; // records lost because the ring was full
  noSlot: number; // calls/requests not followed because the in-flight map was full
  undecodable: number; // records too short for their kind (should stay 0)
}

/** A tracer's ring buffer and counters, bound to a loaded object. */
export class EventRing<E> {
  private rb: Ptr;
  private cb: { ptr: Ptr; release(): void };
  private pending: E[] = [];
  private budget = 0;
  private undecodable = 0;
  private closed = false;
  private readonly stats: MapInfo;
  private readonly live: MapInfo;
  private readonly zeroKey = Buffer.alloc(4);

  /** `decode` turns a record into an event (null: not decodable); `ringMap` is the ring's name. */
  constructor(obj: BpfObject, decode: (d: Buffer) => E | null, ringMap = 'tr_ring') {
    const ring = obj.map(ringMap);
    this.stats = obj.map('tr_stats');
    this.live = obj.map('tr_live');
    this.cb = registerRingCallback((d) => {
      if (this.budget <= 0) return -1;
      this.budget--;
      const e = decode(d);
      if (e === null) this.undecodable++;
      else this.pending.push(e);
      return this.budget > 0 ? 0 : -1;
    });
    this.rb = bpf.ring_buffer__new(ring.fd, this.cb.ptr, null, null);
    if (!this.rb) {
      const err = lastErrno();
      this.cb.release();
      throw new Error(`ring_buffer__new(${ring.name}): ${strerror(err)}`);
    }
  }

  /** Sets the reporting threshold in ns (0 = report nothing); takes effect at once. */
  setMinNs(ns: number): void {
    writeMinNs(this.live, ns);
  }

  /** Decodes what the ring holds (up to the budget) and returns every event since the last call, oldest first. */
  take(): E[] {
    if (this.closed) return [];
    this.budget = DRAIN_BUDGET;
    const rc = bpf.ring_buffer__consume(this.rb);
    // A negative return is our own stop request when the budget ran out.
    if (rc < 0 && this.budget > 0) throw new Error(`ring_buffer__consume: ${strerror(rc)}`);
    const out = this.pending;
    this.pending = [];
    return out;
  }

  /** The kernel's cumulative counters, summed over CPUs. */
  counters(): TracerCounters {
    const c: TracerCounters = { made: 0, lost: 0, noSlot: 0, undecodable: this.undecodable };
    if (this.closed) return c;
    for (const cpu of lookupPercpu(this.stats, this.zeroKey) ?? []) {
      c.made += u64(cpu, offsetOf(TR_STATS, 'events'));
      c.lost += u64(cpu, offsetOf(TR_STATS, 'lost'));
      c.noSlot += u64(cpu, offsetOf(TR_STATS, 'no_slot'));
    }
    return c;
  }

  /** Frees the ring reader and its callback (the object is closed by its owner). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    bpf.ring_buffer__free(this.rb);
    this.cb.release();
  }
}

/** Writes a tracer's reporting threshold (ns, 0 = report nothing) into its tr_live map. */
export function writeMinNs(live: MapInfo, ns: number): void {
  const v = Buffer.alloc(TRACER_LIVE.size);
  v.writeBigUInt64LE(BigInt(Math.max(0, Math.round(ns))), offsetOf(TRACER_LIVE, 'min_ns'));
  const rc = bpf.bpf_map_update_elem(live.fd, Buffer.alloc(4), v, 0);
  if (rc < 0) throw new Error(`setting the threshold in ${live.name}: ${strerror(rc)}`);
}

/** The wall-clock ms at CLOCK_MONOTONIC 0 (libuv's hrtime and bpf_ktime_get_ns share that clock). */
export function monoToWallMs(): number {
  return Date.now() - Number(process.hrtime.bigint()) / 1e6;
}
