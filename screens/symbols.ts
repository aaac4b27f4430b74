/**
 * The one symbolizer the screens share: created on first use (after the probes loaded, so the
 * kernel symbol table includes them), and only ever asked about what is on screen.
 */
import { Symbolizer } from '../src/symbols';
import { symbolizeOffcputime, OffcputimeSnap } from '../src/model/offcputime';
import type { ProbeSnap } from '../src/model/snapshot';

let shared: Symbolizer | undefined;

/** The shared symbolizer. */
export function symbolizer(): Symbolizer {
  return (shared ??= new Symbolizer());
}

const perPid = new WeakMap<object, Map<number, ProbeSnap<OffcputimeSnap>>>();

/**
 * Off-CPU data with the first `procs` processes' reasons and `stacks` stacks named. With `pid`,
 * only that process's part with all its stacks named, cached per snapshot: the drill-down
 * re-reads the last seconds every tick, and a snapshot never changes.
 */
export function namedOffcpu(d: ProbeSnap<OffcputimeSnap>, limit: { procs?: number; stacks?: number; pid?: number }): ProbeSnap<OffcputimeSnap> {
  if (d.status !== 'ok') return d;
  if (limit.pid === undefined) return { ...d, data: symbolizeOffcputime(d.data, symbolizer(), { procs: limit.procs ?? 0, stacks: limit.stacks ?? 0 }) };
  const pid = limit.pid;
  let cache = perPid.get(d);
  if (!cache) perPid.set(d, (cache = new Map()));
  let hit = cache.get(pid);
  if (!hit) {
    const mine = { ...d.data, procs: d.data.procs.filter((p) => p.pid === pid), stacks: d.data.stacks.filter((s) => s.pid === pid) };
    hit = { ...d, data: symbolizeOffcputime(mine, symbolizer(), {}) };
    cache.set(pid, hit);
  }
  return hit;
}
