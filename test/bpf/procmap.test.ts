/**
 * readProcMap against a real BPF hash map (the run-queue probe's per-process map, filtered to a
 * stopped process so that its program writes nothing): entries are decoded only when their
 * bytes changed, unchanged ones come back as the same objects, whatever was added, changed or
 * removed between reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { bpfSkipReason } from '../helpers/bpf';
import { detectFeatures } from '../../src/bpf/features';
import { loadProbe } from '../../src/probes/load';
import { runqlat } from '../../src/probes/runqlat';
import { bpf } from '../../src/bpf/libbpf';
import { readProcMap, setLivePids, u64 } from '../../src/bpf/maps';
import type { MapInfo } from '../../src/bpf/object';

const skip = bpfSkipReason();
if (skip) console.log(`# skipping readProcMap BPF tests: ${skip}`);

function put(map: MapInfo, pid: number, count: number): void {
  const key = Buffer.alloc(4);
  key.writeUInt32LE(pid);
  const value = Buffer.alloc(map.valueSize);
  value.writeUInt32LE(count, 0); // hist.count
  value.writeUInt32LE(count * 1000, 8); // hist.sum_ns
  assert.equal(bpf.bpf_map_update_elem(map.fd, key, value, 0), 0, `update of pid ${pid}`);
}

function del(map: MapInfo, pid: number): void {
  const key = Buffer.alloc(4);
  key.writeUInt32LE(pid);
  assert.equal(bpf.bpf_map_delete_elem(map.fd, key), 0, `delete of pid ${pid}`);
}

test('readProcMap: only changed and new entries are decoded; the rest are the same objects as the last read', { skip: skip ?? false }, async () => {
  // A stopped child: the probe, filtered to it, never writes to its map.
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  await new Promise((r) => child.once('spawn', r));
  process.kill(child.pid!, 'SIGSTOP');
  const r = loadProbe(runqlat, { filterTgid: child.pid! }, detectFeatures());
  assert.ok(r.ok, !r.ok ? r.reason : '');
  try {
    const map = r.probe.obj.map('rq_procs');
    // Pids no process can have (above 4,194,304, the highest pid_max), told to the reader as a
    // /proc listing: the reader then keeps their entries (it drops those of processes that are
    // not listed, and asks the kernel only without a listing), and nothing else writes them.
    const live = Array.from({ length: 40 }, (_, i) => 4_200_000 + i * 7);
    setLivePids(live.map((pid) => ({ pid })));
    const counts = new Map<number, number>();
    live.slice(0, 30).forEach((pid, i) => {
      counts.set(pid, 100 + i);
      put(map, pid, 100 + i);
    });
    let decoded: number[] = [];
    const decode = (pid: number, v: Buffer, off: number) => {
      decoded.push(pid);
      return { pid, count: u64(v, off) };
    };
    const check = (procs: { pid: number; count: number }[]) => {
      assert.deepEqual(new Map(procs.map((p) => [p.pid, p.count])), counts, 'every entry with its current count');
    };

    const a = readProcMap(map, decode).procs;
    check(a);
    assert.equal(decoded.length, 30, 'the first read decodes every entry');

    decoded = [];
    const b = readProcMap(map, decode).procs;
    check(b);
    assert.deepEqual(decoded, [], 'nothing changed: nothing decoded');
    const byPidA = new Map(a.map((p) => [p.pid, p]));
    for (const p of b) assert.equal(p, byPidA.get(p.pid), `pid ${p.pid}: the same object as the last read`);

    // Change three, remove five, add five: only the three changed and the five new are decoded.
    const changed = live.slice(3, 6);
    for (const pid of changed) counts.set(pid, counts.get(pid)! + 7), put(map, pid, counts.get(pid)!);
    for (const pid of live.slice(10, 15)) counts.delete(pid), del(map, pid);
    const added = live.slice(30, 35);
    for (const pid of added) counts.set(pid, 5), put(map, pid, 5);
    decoded = [];
    const c = readProcMap(map, decode).procs;
    check(c);
    assert.deepEqual(decoded.sort((x, y) => x - y), [...changed, ...added].sort((x, y) => x - y), 'decoded: the changed and the new entries');
    const byPidB = new Map(b.map((p) => [p.pid, p]));
    for (const p of c) if (!decoded.includes(p.pid)) assert.equal(p, byPidB.get(p.pid), `pid ${p.pid}: unchanged, the same object`);
  } finally {
    setLivePids(null);
    r.probe.close();
    child.kill('SIGKILL');
  }
});
