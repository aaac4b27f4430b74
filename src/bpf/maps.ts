/**
 * Reading BPF maps from user space: per-CPU values, whole hash maps (batched), deletes.
 */
import fs from 'node:fs';
import { bpf, mmapShared, strerror } from './libbpf';
import type { MapInfo } from './object';

let possibleCpus = 0;

/** Number of possible CPUs (the stride count of per-CPU map values). */
export function numPossibleCpus(): number {
  if (!possibleCpus) {
    const n = bpf.libbpf_num_possible_cpus();
    if (n <= 0) throw new Error(`cannot count possible CPUs: ${strerror(n)}`);
    possibleCpus = n;
  }
  return possibleCpus;
}

/** Bytes one CPU's copy of a per-CPU value takes in the lookup buffer. */
export function percpuStride(valueSize: number): number {
  return Math.ceil(valueSize / 8) * 8;
}

// Per map fd: the buffer its lookups read into, and that buffer's views, one per CPU.
const percpuLookups = new Map<number, { buf: Buffer; views: Buffer[] }>();

/**
 * Looks up one key of a per-CPU map; returns one Buffer view per possible CPU.
 * The buffer is roundup(value_size, 8) × possible CPUs: libbpf does not check, and a shorter
 * buffer would be overrun by the kernel. Each map has one such buffer, and its views are the
 * same array at every lookup: they hold this lookup's values until the next lookup of the map —
 * decode them before that. (Run every tick for every probe's histogram and counters, a buffer
 * and a view per CPU made anew each time were garbage for the young generation to collect.)
 */
export function lookupPercpu(map: MapInfo, key: Buffer): Buffer[] | null {
  let l = percpuLookups.get(map.fd);
  if (!l) {
    const stride = percpuStride(map.valueSize);
    const n = numPossibleCpus();
    const buf = Buffer.alloc(stride * n);
    const views: Buffer[] = [];
    for (let i = 0; i < n; i++) views.push(buf.subarray(i * stride, i * stride + map.valueSize));
    percpuLookups.set(map.fd, (l = { buf, views }));
  }
  const rc = bpf.bpf_map_lookup_elem(map.fd, key, l.buf);
  if (rc < 0) {
    if (-rc === 2) return null;
    throw new Error(`lookup in ${map.name}: ${strerror(rc)}`);
  }
  return l.views;
}

/** Looks up one key of a plain map into `value`; false when absent. */
export function lookup(map: MapInfo, key: Buffer, value: Buffer): boolean {
  const rc = bpf.bpf_map_lookup_elem(map.fd, key, value);
  if (rc === 0) return true;
  if (-rc === 2) return false;
  throw new Error(`lookup in ${map.name}: ${strerror(rc)}`);
}

/** Forgets the reusable dump buffers of a map fd (call when the map is closed: fds are reused). */
export function releaseDumpBuffers(fd: number): void {
  dumpBuffers.delete(fd);
  percpuLookups.delete(fd);
  percpuDumpBuffers.delete(fd);
  batchUnsupported.delete(fd);
  procMapCache.delete(fd);
}

/** Deletes one key; absent keys are not an error. */
export function deleteKey(map: MapInfo, key: Buffer): void {
  const rc = bpf.bpf_map_delete_elem(map.fd, key);
  if (rc < 0 && -rc !== 2) throw new Error(`delete in ${map.name}: ${strerror(rc)}`);
}

const batchDeleteUnsupported = new Set<number>();

/**
 * Deletes many keys, in one BPF_MAP_DELETE_BATCH syscall where the kernel has it (5.6+) — under
 * a fork storm the entries of thousands of exited processes go each second. Absent keys are
 * skipped (the batch stops at one; it resumes after it).
 */
export function deleteKeys(map: MapInfo, keys: readonly Buffer[]): void {
  if (keys.length) deletePacked(map, Buffer.concat(keys as Buffer[]), keys.length);
}

/** deleteKeys for `n` keys laid end to end in `all` (keySize bytes each). */
export function deletePacked(map: MapInfo, all: Buffer, n: number): void {
  if (n <= 0) return;
  const size = map.keySize;
  let done = 0;
  if (!batchDeleteUnsupported.has(map.fd)) {
    while (done < n) {
      const count = Uint32Array.of(n - done);
      const rc = bpf.bpf_map_delete_batch(map.fd, all.subarray(done * size), count, null);
      done += count[0];
      if (rc >= 0) return;
      const err = -rc;
      if (err === 2) {
        done++; // that key was gone already
        continue;
      }
      if (err === 22 || err === 95 || err === 524) {
        batchDeleteUnsupported.add(map.fd); // EINVAL/EOPNOTSUPP/ENOTSUPP: one by one
        break;
      }
      throw new Error(`batch delete in ${map.name}: ${strerror(err)}`);
    }
    if (done >= n) return;
  }
  for (let i = done; i < n; i++) deleteKey(map, all.subarray(i * size, (i + 1) * size));
}

/** Every entry of a hash map, as parallel arrays of key and value bytes. */
export interface Dump {
  count: number;
  keys: Buffer;
  values: Buffer;
  keySize: number;
  valueSize: number;
}

const batchUnsupported = new Set<number>();

const dumpBuffers = new Map<number, { keys: Buffer; values: Buffer }>();

/**
 * Reads a whole (non-per-CPU) hash map: one syscall per ~bucket batch through
 * BPF_MAP_LOOKUP_BATCH (5.6+), falling back to get_next_key + lookup where unsupported.
 * The returned buffers are reused by the next dump of the same map: decode before calling again.
 */
export function dumpHash(map: MapInfo): Dump {
  const { keySize, valueSize, maxEntries } = map;
  let bufs = dumpBuffers.get(map.fd);
  if (!bufs || bufs.keys.length !== keySize * maxEntries || bufs.values.length !== valueSize * maxEntries) {
    // Not zero-filled: pages the kernel never writes (a map far from full) stay unallocated,
    // and only the first `count` entries are read.
    bufs = { keys: Buffer.allocUnsafeSlow(keySize * maxEntries), values: Buffer.allocUnsafeSlow(valueSize * maxEntries) };
    dumpBuffers.set(map.fd, bufs);
  }
  const { keys, values } = bufs;
  if (!batchUnsupported.has(map.fd)) {
    const r = dumpBatch(map, keys, values);
    if (r >= 0) return { count: r, keys, values, keySize, valueSize };
    batchUnsupported.add(map.fd);
  }
  let count = 0;
  for (const key of hashKeys(map)) {
    if (!lookup(map, key, values.subarray(count * valueSize, (count + 1) * valueSize))) continue;
    key.copy(keys, count * keySize);
    count++;
  }
  return { count, keys, values, keySize, valueSize };
}

/** A BPF_F_MMAPABLE array mapped into this process: entry i at i * elemSize of `buf`. */
export interface MappedArray {
  buf: Buffer; // shared with the kernel: copy an entry before decoding counters that change
  elemSize: number; // roundup(value_size, 8)
  count: number;
  /** Unmaps (before the map is closed; `buf` must not be used after). */
  unmap(): void;
}

/** Maps a BPF_F_MMAPABLE array (5.5+): reading it costs no syscall. */
export function mmapArray(map: MapInfo): MappedArray {
  const elemSize = percpuStride(map.valueSize);
  const m = mmapShared(map.fd, elemSize * map.maxEntries);
  return { buf: m.buf, elemSize, count: map.maxEntries, unmap: m.unmap };
}

/** Every entry of a per-CPU array: entry i's copy on CPU c is `values` at (i * cpus + c) * stride. */
export interface PercpuDump {
  count: number;
  values: Buffer;
  stride: number; // roundup(value_size, 8)
  cpus: number; // possible CPUs
}

const percpuDumpBuffers = new Map<number, { keys: Buffer; values: Buffer }>();

/**
 * Reads a whole per-CPU array: one BPF_MAP_LOOKUP_BATCH (5.6+) for every index, falling back to
 * one lookup per index. Each entry takes roundup(value_size, 8) x possible CPUs bytes. The
 * returned buffer is reused by the next dump of the same map: decode before calling again.
 */
export function dumpPercpuArray(map: MapInfo): PercpuDump {
  const stride = percpuStride(map.valueSize);
  const cpus = numPossibleCpus();
  const entry = stride * cpus;
  let bufs = percpuDumpBuffers.get(map.fd);
  if (!bufs || bufs.values.length !== entry * map.maxEntries) {
    bufs = { keys: Buffer.alloc(map.keySize * map.maxEntries), values: Buffer.alloc(entry * map.maxEntries) };
    percpuDumpBuffers.set(map.fd, bufs);
  }
  const { keys, values } = bufs;
  if (!batchUnsupported.has(map.fd)) {
    const r = dumpBatch({ ...map, valueSize: entry }, keys, values);
    // An array returns its entries in index order: entry i at i.
    if (r >= 0) return { count: r, values, stride, cpus };
    batchUnsupported.add(map.fd);
  }
  const key = Buffer.alloc(4);
  let count = 0;
  for (let i = 0; i < map.maxEntries; i++) {
    key.writeUInt32LE(i, 0);
    // Straight into the dump buffer: `entry` is the whole per-CPU value (see lookupPercpu).
    if (!lookup(map, key, values.subarray(i * entry, (i + 1) * entry))) break;
    count++;
  }
  return { count, values, stride, cpus };
}

/**
 * Every key of a hash map by get_next_key (one syscall per key): for per-CPU hashes, whose batch
 * dump would need value_size x CPUs x max_entries bytes, and where batches are not supported.
 */
export function hashKeys(map: MapInfo): Buffer[] {
  const keys: Buffer[] = [];
  let prev: Buffer | null = null;
  for (let i = 0; i < map.maxEntries; i++) {
    const next = Buffer.alloc(map.keySize);
    if (bpf.bpf_map_get_next_key(map.fd, prev, next) !== 0) break;
    keys.push(next);
    prev = next;
  }
  return keys;
}

function dumpBatch(map: MapInfo, keys: Buffer, values: Buffer): number {
  const token = Math.max(8, map.keySize);
  let inBatch: Buffer | null = null;
  const outBatch = Buffer.alloc(token);
  let total = 0;
  const count = new Uint32Array(1); // in: room for entries; out: entries read
  for (;;) {
    const room = map.maxEntries - total;
    if (room <= 0) return total;
    count[0] = room;
    const rc = bpf.bpf_map_lookup_batch(
      map.fd, inBatch, outBatch,
      keys.subarray(total * map.keySize), values.subarray(total * map.valueSize), count, null);
    const err = rc < 0 ? -rc : 0;
    if (rc < 0 && err !== 2 /* ENOENT: end of map */) {
      if (total === 0 && (err === 22 || err === 95 || err === 524)) return -1; // EINVAL/EOPNOTSUPP/ENOTSUPP
      throw new Error(`batch lookup in ${map.name}: ${strerror(err)}`);
    }
    total += count[0];
    if (rc < 0) return total;
    inBatch = Buffer.from(outBatch);
  }
}

/** Reads a little-endian u64 as a Number (exact below 2^53, which counters stay under). */
export function u64(buf: Buffer, off: number): number {
  return buf.readUInt32LE(off) + buf.readUInt32LE(off + 4) * 0x100000000;
}

/** A NUL-terminated C string field, decoded as UTF-8 (screens escape what is not printable). */
export function cstr(buf: Buffer, off: number, len: number): string {
  const s = buf.subarray(off, off + len);
  const end = s.indexOf(0);
  return s.subarray(0, end < 0 ? len : end).toString('utf8');
}

let livePids: Set<number> | null = null;

/** The processes /proc listed this tick: pidAlive() answers from them before asking the kernel. */
export function setLivePids(procs: readonly { pid: number }[] | null): void {
  livePids = procs ? new Set(procs.map((p) => p.pid)) : null;
  asked.clear();
}

// Answers about pids not in the list, until the next listing (setLivePids clears them): every
// per-process map asks about the same exited pids. Without a listing nothing is kept, so a
// caller that reads maps on its own never gets a stale answer.
const asked = new Map<number, boolean>();

/** True while a process with this pid exists (a zombie too: its counts are not final yet). */
export function pidAlive(pid: number): boolean {
  if (livePids?.has(pid)) return true;
  // Not listed: gone, or born after /proc was read — only the kernel can tell. Asked through
  // /proc rather than kill(pid, 0): a dead pid makes kill() throw, and under a fork storm the
  // exceptions cost more than the rest of the read.
  if (!livePids) return fs.existsSync(`/proc/${pid}`);
  let a = asked.get(pid);
  if (a === undefined) asked.set(pid, (a = fs.existsSync(`/proc/${pid}`)));
  return a;
}

// Per-process map entries whose pid was not in the /proc listing when they were read, by map:
// their pids (keys are u32 tgids). Plain numbers: under a fork storm thousands a tick.
let suspects = new Map<MapInfo, number[]>();

/**
 * After a new /proc listing (setLivePids): deletes the per-process map entries read since the
 * previous listing whose process is not in this one — they exited (a process born after the
 * previous listing is in this one). Their final counts were read before: a process's entry goes
 * one tick after its exit, with no syscall per pid to find out.
 */
export function sweepDead(): void {
  const pending = suspects;
  suspects = new Map();
  if (!livePids) return;
  for (const [map, pids] of pending) {
    // The keys (u32 tgids) written end to end, as the batch delete takes them.
    const all = Buffer.allocUnsafe(pids.length * 4);
    let n = 0;
    for (const pid of pids) if (!livePids.has(pid)) all.writeUInt32LE(pid, 4 * n++);
    try {
      deletePacked(map, all, n);
    } catch {
      /* the probe was closed since: nothing left to clean */
    }
  }
}

/**
 * Per map, the last reading: its value bytes (a copy of the dump), each pid's index in it, and
 * what each entry decoded to. Two of everything but the bytes, swapped at each read.
 */
interface ProcMapCache {
  raw: Buffer;
  at: Map<number, number>;
  values: unknown[];
  nextAt: Map<number, number>;
  nextValues: unknown[];
}
const procMapCache = new Map<number, ProcMapCache>();

/**
 * Reads a per-process hash map keyed by a u32 tgid: decodes every entry, then deletes the
 * entries of processes that no longer exist — their final counts are in this reading, and
 * removing them keeps the map bounded. Returns the decoded entries and the map's occupancy.
 * An entry whose bytes did not change since the last read (most processes, most ticks) is not
 * decoded again: the previous object is returned, so callers must not modify what they get.
 * `decode` must only read the bytes (what it returns may be handed back at later reads).
 */
export function readProcMap<T>(map: MapInfo, decode: (pid: number, values: Buffer, off: number) => T): { procs: T[]; size: number } {
  const d = dumpHash(map);
  const vs = d.valueSize;
  const procs: T[] = [];
  const gone: Buffer[] = [];
  let c = procMapCache.get(map.fd);
  if (!c || c.raw.length !== vs * map.maxEntries) {
    c = { raw: Buffer.allocUnsafeSlow(vs * map.maxEntries), at: new Map(), values: [], nextAt: new Map(), nextValues: [] };
    procMapCache.set(map.fd, c);
  }
  const { at, values, nextAt, nextValues } = c;
  nextAt.clear();
  nextValues.length = d.count;
  let unlisted: number[] | undefined;
  for (let i = 0; i < d.count; i++) {
    const pid = d.keys.readUInt32LE(i * d.keySize);
    const off = i * vs;
    const j = at.get(pid);
    // Compared in place with the last reading's bytes: no copy or view per entry.
    const v = j !== undefined && d.values.compare(c.raw, j * vs, j * vs + vs, off, off + vs) === 0 ? (values[j] as T) : decode(pid, d.values, off);
    nextAt.set(pid, i);
    nextValues[i] = v;
    procs.push(v);
    if (pid === 0) continue;
    // Not in the last /proc listing: exited, or born since. Decided by the next listing (see
    // sweepDead) rather than asked now: under a fork storm that is thousands of syscalls a tick.
    if (livePids) {
      if (!livePids.has(pid)) (unlisted ??= suspects.get(map) ?? suspects.set(map, []).get(map)!).push(pid);
    } else if (!pidAlive(pid)) gone.push(d.keys.subarray(i * d.keySize, (i + 1) * d.keySize));
  }
  d.values.copy(c.raw, 0, 0, d.count * vs);
  values.length = 0;
  c.at = nextAt;
  c.values = nextValues;
  c.nextAt = at;
  c.nextValues = values;
  deleteKeys(map, gone);
  return { procs, size: d.count };
}
