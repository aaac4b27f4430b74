/**
 * buildOffcputime and symbolizeOffcputime with literal readings, leafReason on real-looking
 * stacks, and the off-CPU panel's text at the narrowest and widest sizes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildOffcputime, symbolizeOffcputime, leafReason, captureNote, FrameNamer, OffcputimeSnap } from '../../src/model/offcputime';
import type { OffcputimeRaw, OffcpuStatsRaw } from '../../src/probes/offcputime';
import { renderOffcputime } from '../../screens/panels/offcputime';
import { visibleLength } from '../../screens/widgets/text';
import type { ProbeSnap } from '../../src/model/snapshot';

const zeroStats: OffcpuStatsRaw = {
  procMapFull: 0, stackMapFull: 0, kstackMapFull: 0, ustackMapFull: 0, tidMapFull: 0, kstackFailed: 0,
  stackLost: 0, longBlocks: 0, longWithKstack: 0, longWithUstack: 0, walksSkipped: 0, siteHits: 0, siteMismatch: 0,
};

function raw(over: Partial<OffcputimeRaw>): OffcputimeRaw {
  return {
    minBlockUs: 1000,
    walksPerSec: 50,
    kernelStacks: 'every-long-block',
    userStacks: 'after-long-block',
    hist: { count: 0, sumNs: 0, slots: [] },
    procs: [],
    stacks: [],
    kframes: {},
    uframes: {},
    stats: zeroStats,
    maps: { procs: { size: 0, max: 100 }, stacks: { size: 0, max: 100 }, kstacks: { size: 0, max: 50 }, ustacks: { size: 0, max: 50 } },
    ...over,
  };
}

const prev = raw({
  hist: { count: 10, sumNs: 50_000_000, slots: [0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5] },
  procs: [
    { pid: 100, comm: 'sleeper', totalNs: 1_000_000_000, blocks: 10, createdNs: 5, slots: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10] },
    { pid: 200, comm: 'server', totalNs: 300_000_000, blocks: 1000, createdNs: 6 },
    { pid: 300, comm: 'idle', totalNs: 42, blocks: 1, createdNs: 7 },
    { pid: 400, comm: 'reused', totalNs: 900_000_000, blocks: 900, createdNs: 8 },
  ],
  stats: { ...zeroStats, longBlocks: 10, longWithKstack: 10, longWithUstack: 9, stackLost: 1 },
});

const cur = raw({
  hist: { count: 30, sumNs: 1_600_000_000, slots: [0, 0, 15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 10] },
  procs: [
    { pid: 100, comm: 'sleeper', totalNs: 1_800_000_000, blocks: 18, createdNs: 5, slots: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 18] }, // +800 ms in 8 blocks of ~100 ms
    { pid: 200, comm: 'server', totalNs: 500_000_000, blocks: 3000, createdNs: 6 }, // +200 ms in 2000 blocks
    { pid: 300, comm: 'idle', totalNs: 42, blocks: 1, createdNs: 7 }, // nothing new
    { pid: 400, comm: 'reused', totalNs: 100_000_000, blocks: 2, createdNs: 99 }, // a new entry: all of it is new
  ],
  stacks: [
    { pid: 200, comm: 'server', kstack: 'b', ustack: null, offcpuNs: 150_000_000, blocks: 50 },
    { pid: 100, comm: 'sleeper', kstack: 'a', ustack: 'u1', offcpuNs: 700_000_000, blocks: 7 },
    { pid: 100, comm: 'sleeper', kstack: 'a', ustack: null, offcpuNs: 100_000_000, blocks: 1 },
    { pid: 400, comm: 'reused', kstack: null, ustack: null, offcpuNs: 100_000_000, blocks: 2 },
  ],
  kframes: { a: ['ffffffff81421cd4', 'ffffffff8142b27d'], b: ['ffffffff81441416', 'ffffffff81441c0a'] },
  uframes: { u1: ['7f0000001000', '400100'] },
  stats: { ...zeroStats, longBlocks: 70, longWithKstack: 68, longWithUstack: 16, stackLost: 1, kstackMapFull: 3, walksSkipped: 2 },
  maps: { procs: { size: 4, max: 100 }, stacks: { size: 4, max: 100 }, kstacks: { size: 45, max: 50 }, ustacks: { size: 1, max: 50 } },
});

test('buildOffcputime: per-process deltas per second, sorted, with re-created entries taken whole', () => {
  const before = JSON.stringify([cur, prev]);
  const s = buildOffcputime(cur, prev, 2000);
  assert.equal(JSON.stringify([cur, prev]), before, 'inputs untouched');
  assert.deepEqual(s.procs.map((p) => p.pid), [100, 200, 400], 'idle (no new blocks) left out; most blocked first');
  const [sleeper, server, reused] = s.procs;
  assert.equal(sleeper.offcpuNs, 800_000_000);
  assert.equal(sleeper.offcpuMsPerSec, 400);
  assert.equal(sleeper.blocks, 8);
  assert.equal(sleeper.blocksPerSec, 4);
  assert.equal(sleeper.longBlocks, 8);
  assert.deepEqual(sleeper.topKernelStack, ['ffffffff81421cd4', 'ffffffff8142b27d']);
  assert.equal(sleeper.topReason, null, 'not symbolized by the pure model');
  // Its own duration histogram: 8 new blocks in the 65-131 ms bucket (slot 16).
  assert.equal(sleeper.hist.count, 8);
  assert.equal(sleeper.hist.slots[16], 8);
  assert.equal(sleeper.hist.slots.reduce((a, b) => a + b, 0), 8);
  assert.deepEqual(server.hist.slots, [], 'no per-process slots in the input (an older recording): an empty histogram');
  assert.equal(server.offcpuMsPerSec, 100);
  assert.equal(server.blocks, 2000);
  assert.equal(server.longBlocks, 50);
  assert.equal(reused.offcpuNs, 100_000_000, 'createdNs changed: the entry is new, not a negative delta');
  assert.equal(reused.topKernelStack, null, 'its only stack was not captured');
  assert.equal(s.offcpuMsPerSec, 550);
});

test('buildOffcputime: stacks with frames, histogram and counter deltas, fill, capture note', () => {
  const s = buildOffcputime(cur, prev, 2000);
  assert.deepEqual(s.stacks.map((x) => [x.pid, x.offcpuNs]), [[100, 700_000_000], [200, 150_000_000], [100, 100_000_000], [400, 100_000_000]]);
  assert.deepEqual(s.stacks[0].userStack, ['7f0000001000', '400100']);
  assert.equal(s.stacks[2].userStack, null);
  assert.deepEqual(s.stacks[3].kernelStack, []);
  assert.equal(s.hist.count, 20);
  assert.equal(s.hist.slots[16], 10);
  assert.equal(s.stats.count, 20);
  assert.equal(s.longBlocks, 60);
  assert.equal(s.withKernelStack, 58);
  assert.equal(s.withUserStack, 7);
  assert.deepEqual(s.drops, { procMapFull: 0, stackMapFull: 0, kstackMapFull: 3, ustackMapFull: 0, tidMapFull: 0, stackLost: 0, kstackFailed: 0 });
  assert.equal(s.fill.kstacks, 0.9);
  assert.equal(
    s.captureNote,
    "stacks only for blocks >= 1ms (kernel 97%, user 12%); user stacks only when the thread's previous block was >= 1ms too; 2 stack captures skipped over the budget of 50 walks/s per CPU",
  );
  // First reading after load: everything is new.
  const first = buildOffcputime(prev, undefined, 1000);
  assert.equal(first.procs.find((p) => p.pid === 100)!.offcpuMsPerSec, 1000);
  assert.equal(first.drops.stackLost, 1);
});

test('captureNote: raw_tp wording, user stacks off, no long blocks', () => {
  assert.equal(
    captureNote({ minBlockUs: 2500, kernelStacks: 'after-long-block', userStacks: 'after-long-block', walksPerSec: 50 }, 4, 3, 3, 0),
    "stacks only for blocks >= 2.5ms (kernel 75%, user 75%); kernel and user stacks only when the thread's previous block was >= 2.5ms too",
  );
  assert.equal(
    captureNote({ minBlockUs: 500, kernelStacks: 'every-long-block', userStacks: 'off', walksPerSec: 50 }, 0, 0, 0, 0),
    'stacks only for blocks >= 500us; user stacks off',
  );
});

test('leafReason: past the scheduler and tracing frames, compiler suffixes dropped', () => {
  assert.equal(leafReason(['hrtimer_nanosleep', 'common_nsleep_timens', '__x64_sys_clock_nanosleep']), 'hrtimer_nanosleep');
  assert.equal(
    leafReason(['bpf_prog_8413e1589445f12a_offcpu_switch_raw', 'bpf_trace_run4', '__traceiter_sched_switch', '__schedule', 'schedule', 'do_nanosleep', 'hrtimer_nanosleep']),
    'do_nanosleep',
  );
  assert.equal(leafReason(['schedule_hrtimeout_range_clock', 'ep_poll.isra.0', 'do_epoll_wait']), 'ep_poll');
  assert.equal(leafReason(['io_schedule', 'folio_wait_bit_common']), 'io_schedule');
  assert.equal(leafReason(['schedule', 'schedule_timeout']), 'schedule_timeout', 'nothing else: the outermost frame');
  assert.equal(leafReason([]), null);
});

test('symbolizeOffcputime: names through the namer, return addresses looked up at -1, new snapshot', () => {
  const asked: string[] = [];
  const namer: FrameNamer = {
    kernelName: (a) => {
      asked.push(`k:${a}`);
      return ({ ffffffff81421cd3: 'hrtimer_nanosleep', ffffffff8142b27c: 'common_nsleep_timens', ffffffff81441415: 'futex_do_wait' } as Record<string, string>)[a] ?? null;
    },
    userName: (pid, a) => {
      asked.push(`u${pid}:${a}`);
      return a === '7f0000001000' ? 'clock_nanosleep' : null;
    },
  };
  const snap = buildOffcputime(cur, prev, 2000);
  const frozen = JSON.stringify(snap);
  const sym = symbolizeOffcputime(snap, namer, { procs: 2, stacks: 2 });
  assert.equal(JSON.stringify(snap), frozen, 'the input snapshot is not modified');
  assert.ok(sym.symbolized);
  assert.equal(sym.procs[0].topReason, 'hrtimer_nanosleep');
  assert.equal(sym.procs[1].topReason, 'futex_do_wait');
  assert.equal(sym.procs[2].topReason, null, 'beyond the limit: left alone');
  assert.deepEqual(sym.stacks[0].kernelFrames, ['hrtimer_nanosleep', 'common_nsleep_timens']);
  assert.deepEqual(sym.stacks[0].userFrames, ['clock_nanosleep', '0x400100'], 'unknown frames stay addresses');
  assert.equal(sym.stacks[1].userFrames, null);
  assert.equal(sym.stacks[2].kernelFrames, undefined);
  assert.ok(asked.includes('u100:7f0000001000'), 'the leaf user frame is looked up as is');
  assert.ok(asked.includes('u100:4000ff'), 'a return address is looked up at -1');
  assert.ok(!asked.some((a) => a === 'k:ffffffff81421cd4'), 'kernel frames are return addresses');
});

function ok(d: OffcputimeSnap): ProbeSnap<OffcputimeSnap> {
  return { status: 'ok', variant: 'tp_btf', data: d };
}

const namer: FrameNamer = {
  kernelName: (a) => ({ ffffffff81421cd3: 'hrtimer_nanosleep', ffffffff81441415: 'futex_do_wait' } as Record<string, string>)[a] ?? null,
  userName: () => null,
};

test('panel: top processes with ms/s and reason, the capture note, drops; every width from 36 to 120', () => {
  const base = buildOffcputime(cur, prev, 2000);
  const snap = symbolizeOffcputime({ ...base, procs: [...base.procs, { ...base.procs[0], pid: 7, comm: 'x{red-fg}\x1b[2J', offcpuMsPerSec: 0.5, topReason: null, topKernelStack: null, longBlocks: 0 }] }, namer);
  for (const width of [36, 48, 60, 80, 100, 120]) {
    const lines = renderOffcputime(ok(snap), { width, height: 12, color: false }, []);
    assert.ok(lines.length <= 12);
    for (const l of lines) assert.ok(visibleLength(l) <= width, `width ${width}: "${l}" is ${visibleLength(l)} wide`);
    const text = lines.join('\n');
    assert.match(lines[0], /^blocked 550ms\/s/);
    assert.match(text, /\b100 sleep\S*\s+400 /, `width ${width}`);
    assert.match(text, /hrtimer_nanos/);
    assert.match(text, /stacks only for blocks >= 1ms/);
    assert.match(text, /dropped: kernel stack map full: 3/);
    assert.ok(!text.includes('\x1b'), 'no escape character reaches the terminal');
    assert.ok(!/\{red-fg\}/.test(text), 'a brace in a process name is escaped, not a tag');
    if (width >= 80) {
      assert.match(text, /\b200 server\s+100\s+1\.0K futex_do_wait/);
      assert.match(text, /\(blocks < 1ms\)/);
      assert.match(text, /\b400 reused\s+50\s+1 \(no stack\)/);
    }
  }
  const small = renderOffcputime(ok(snap), { width: 40, height: 5, color: true }, []);
  assert.equal(small.length, 5);
  assert.match(small.join('\n'), /\{red-fg\}dropped/);
});

test('panel: unavailable, disabled and an empty interval', () => {
  const u = renderOffcputime({ status: 'unavailable', reason: 'rejected by the BPF verifier (Permission denied)' }, { width: 40, height: 5, color: false }, []);
  assert.match(u.join(' '), /^unavailable: rejected by the BPF/);
  for (const l of u) assert.ok(l.length <= 40);
  assert.deepEqual(renderOffcputime({ status: 'disabled' }, { width: 40, height: 5, color: false }, []), ['disabled (--disable)']);
  const empty = renderOffcputime(ok(buildOffcputime(prev, prev, 1000)), { width: 60, height: 6, color: false }, []);
  assert.match(empty.join('\n'), /no blocked threads in this interval/);
});
