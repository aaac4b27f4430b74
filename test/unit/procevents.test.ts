/**
 * Process events without a kernel: lossless decoding of records and argv bytes, buildProcevents
 * with literal events (grouping, rates, CPU%, losses, resets, the feed), and the panels' text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeBytes, decodeRecord, nextDrainMs, drainAfterRead, DRAIN_CHAIN_RECORDS, DRAIN_MS, DRAIN_IDLE_MAX_MS, splitArgs, PE_EVENT, PE_EXEC, PE_F_ARGS_TRUNC, ProcEvent, ProceventsRaw,
} from '../../src/probes/procevents';
import { offsetOf } from '../../src/bpf/layout';
import { buildProcevents, FEED_MAX, ProceventsSnap } from '../../src/model/procevents';
import type { ProbeSnap } from '../../src/model/snapshot';
import { renderProcfeed, renderShortLived, visible, commandLine, formatLifetime } from '../../screens/panels/procfeed';
import { signalName } from '../../screens/widgets/text';
import { visibleLength } from '../../screens/widgets/text';

const T0 = Date.UTC(2026, 10, 22, 12, 0, 0);

// ---- decoding ----

test('decodeBytes keeps every byte: valid UTF-8 decoded, invalid bytes as U+DC80+byte, controls as they are', () => {
  assert.equal(decodeBytes(Buffer.from('curl -s')), 'curl -s');
  assert.equal(decodeBytes(Buffer.from('größe 日本')), 'größe 日本');
  assert.equal(decodeBytes(Buffer.from([0x61, 0xff, 0x0a, 0x1b, 0x62])), 'a\udcff\n\x1bb');
  // A truncated sequence and a lone continuation byte, then valid text again.
  assert.equal(decodeBytes(Buffer.from([0xe6, 0x97, 0x41, 0x80, 0xc3, 0xa9])), '\udce6\udc97A\udc80é');
  const s = decodeBytes(Buffer.from([0xfe, 0x00, 0x7f]));
  assert.equal(s, '\udcfe\u0000\u007f');
  assert.equal(JSON.parse(JSON.stringify(s)), s, 'survives a JSON recording');
});

test('splitArgs: empty arguments kept; a cut area ends with the cut argument', () => {
  assert.deepEqual(splitArgs(Buffer.from('ls\0-l\0\0x\0'), true), ['ls', '-l', '', 'x']);
  assert.deepEqual(splitArgs(Buffer.from('\0'), true), ['']);
  assert.deepEqual(splitArgs(Buffer.from('a\0\0'), true), ['a', '']);
  assert.deepEqual(splitArgs(Buffer.from(''), true), []);
  assert.deepEqual(splitArgs(Buffer.from('echo\0hel'), false), ['echo', 'hel']);
  assert.deepEqual(splitArgs(Buffer.from('echo\0'), false), ['echo'], 'cut right after a NUL: nothing of the next one');
});

function head(kind: number, pid: number): Buffer {
  const b = Buffer.alloc(kind === 1 ? PE_EXEC.size : PE_EVENT.size);
  b.writeBigUInt64LE(5_000_000_000n, offsetOf(PE_EVENT, 'ts_ns'));
  b.writeBigUInt64LE(4242n, offsetOf(PE_EVENT, 'cgroup_id'));
  b.writeUInt32LE(pid, offsetOf(PE_EVENT, 'pid'));
  b.writeUInt32LE(pid, offsetOf(PE_EVENT, 'tid'));
  b.writeUInt32LE(100, offsetOf(PE_EVENT, 'ppid'));
  b.writeUInt32LE(1000, offsetOf(PE_EVENT, 'uid'));
  b.writeUInt8(kind, offsetOf(PE_EVENT, 'kind'));
  b.write('curl\0', offsetOf(PE_EVENT, 'comm'), 'latin1');
  b.write('bash\0', offsetOf(PE_EVENT, 'pcomm'), 'latin1');
  return b;
}

test('decodeRecord: exec with raw argv bytes, exits by status, signal and core dump, freed', () => {
  const x = head(1, 7);
  const path = Buffer.from('/usr/bin/curl\0');
  path.copy(x, offsetOf(PE_EXEC, 'filename'));
  x.writeUInt32LE(path.length, offsetOf(PE_EXEC, 'filename_len'));
  const area = Buffer.concat([Buffer.from('curl\0-H\0{x}\0a\nb\0'), Buffer.from([0xff, 0x1b, 0]), Buffer.from('env=secret\0')]);
  area.copy(x, offsetOf(PE_EXEC, 'args'));
  x.writeUInt32LE(area.length - 'env=secret\0'.length, offsetOf(PE_EXEC, 'args_len'));
  const ev = decodeRecord(x, 1_000) as ProcEvent;
  assert.equal(ev.kind, 'exec');
  assert.equal(ev.ts, 6_000, 'monotonic 5 s + offset 1 s, in ms');
  assert.deepEqual([ev.pid, ev.tid, ev.ppid, ev.uid, ev.cgroupId], [7, 7, 100, 1000, 4242]);
  assert.equal(ev.comm, 'curl');
  assert.equal(ev.parentComm, 'bash');
  assert.equal(ev.filename, '/usr/bin/curl');
  assert.deepEqual(ev.args, ['curl', '-H', '{x}', 'a\nb', '\udcff\x1b'], 'only args_len bytes: never what follows');
  assert.equal(ev.argsTruncated, undefined);

  x.writeUInt16LE(PE_F_ARGS_TRUNC, offsetOf(PE_EVENT, 'flags'));
  x.writeUInt32LE(7, offsetOf(PE_EXEC, 'args_len')); // "curl\0-H"
  const cut = decodeRecord(x, 0) as ProcEvent;
  assert.deepEqual(cut.args, ['curl', '-H']);
  assert.equal(cut.argsTruncated, true);

  const exit = (status: number) => {
    const b = head(2, 9);
    b.writeInt32LE(status, offsetOf(PE_EVENT, 'exit_code'));
    b.writeBigUInt64LE(12_000_000n, offsetOf(PE_EVENT, 'lifetime_ns'));
    b.writeBigUInt64LE(3_000_000n, offsetOf(PE_EVENT, 'cpu_ns'));
    return decodeRecord(b, 0) as ProcEvent;
  };
  const e3 = exit(3 << 8);
  assert.deepEqual([e3.kind, e3.exitCode, e3.signal, e3.coreDumped, e3.lifetimeNs, e3.cpuNs], ['exit', 3, 0, undefined, 12e6, 3e6]);
  const k = exit(9);
  assert.deepEqual([k.exitCode, k.signal, k.coreDumped], [null, 9, undefined]);
  const segv = exit(0x80 | 11);
  assert.deepEqual([segv.exitCode, segv.signal, segv.coreDumped], [null, 11, true]);

  const f = head(3, 9);
  f.writeBigUInt64LE(4_500_000n, offsetOf(PE_EVENT, 'cpu_ns'));
  assert.deepEqual(decodeRecord(f, 0), { kind: 'freed', pid: 9, cpuNs: 4_500_000 });
  assert.equal(decodeRecord(Buffer.alloc(10), 0), null, 'short record');
  assert.equal(decodeRecord(head(1, 1).subarray(0, PE_EVENT.size), 0), null, 'exec record without its tail');
  const bad = head(0, 1);
  bad.writeUInt8(9, offsetOf(PE_EVENT, 'kind'));
  assert.equal(decodeRecord(bad, 0), null, 'unknown kind');
});

// ---- model ----

let nextPid = 1000;
function exitEv(parent: string, comm: string, lifetimeMs: number, cpuMs: number, ts: number, extra: Partial<ProcEvent> = {}): ProcEvent {
  const pid = nextPid++;
  return {
    kind: 'exit', ts, pid, tid: pid, ppid: 50, uid: 0, comm, parentComm: parent, cgroupId: 1,
    exitCode: 0, signal: 0, lifetimeNs: lifetimeMs * 1e6, cpuNs: cpuMs * 1e6, ...extra,
  };
}
function execEv(comm: string, args: string[], ts: number): ProcEvent {
  const pid = nextPid++;
  return { kind: 'exec', ts, pid, tid: pid, ppid: 50, uid: 0, comm, parentComm: 'bash', cgroupId: 1, filename: `/usr/bin/${comm}`, args };
}
function raw(events: ProcEvent[], counts: Partial<ProceventsRaw['counts']>, lost = 0, budgetDrops = 0): ProceventsRaw {
  return {
    events,
    counts: { fork: 0, exec: 0, exit: 0, freed: 0, threadFork: 0, threadExit: 0, exitingFull: 0, ...counts },
    lost,
    lostByKind: { fork: 0, exec: lost, exit: 0, freed: 0 },
    budgetDrops,
    cpuAtExit: 0,
  };
}

test('buildProcevents: short-lived processes grouped by parent → command, per second and % of one CPU', () => {
  const events: ProcEvent[] = [];
  // 310 curls from bash in one second, 1.2258 ms of CPU each (380 ms in all: 38% of a CPU).
  for (let i = 0; i < 310; i++) events.push(exitEv('bash', 'curl', 20, 380 / 310, T0 + i));
  for (let i = 0; i < 20; i++) events.push(exitEv('cron', 'sleep', 900, 0.5, T0 + 500 + i));
  // Lived longer than the interval: top saw it; an exit, but not short-lived.
  events.push(exitEv('systemd', 'postgres', 600_000, 90_000, T0 + 999, { exitCode: null, signal: 9 }));
  const prev = raw([], { fork: 1000, exec: 900, exit: 800 });
  const cur = raw(events, { fork: 1000 + 340, exec: 900 + 335, exit: 800 + 331 });
  const frozen = JSON.stringify([cur, prev]);
  const s = buildProcevents(cur, prev, 1000);
  assert.equal(JSON.stringify([cur, prev]), frozen, 'inputs untouched');
  assert.equal(s.forkPerSec, 340);
  assert.equal(s.execPerSec, 335);
  assert.equal(s.exitPerSec, 331);
  assert.equal(s.exited.length, 331, 'every exit is listed, long-lived ones too');
  assert.equal(s.exited[0].comm, 'postgres', 'newest first');
  assert.equal(s.exited[0].signal, 9);
  assert.equal(s.exited[0].parentComm, 'systemd');
  assert.equal(s.shortLived.maxLifetimeMs, 1000);
  assert.equal(s.shortLived.count, 330);
  assert.equal(s.shortLived.perSec, 330);
  assert.ok(Math.abs(s.shortLived.cpuPct - 39) < 1e-9, `total ${s.shortLived.cpuPct}`);
  const [g1, g2] = s.shortLived.groups;
  assert.deepEqual([g1.parent, g1.comm, g1.count, g1.perSec], ['bash', 'curl', 310, 310]);
  assert.ok(Math.abs(g1.cpuPct - 38) < 1e-9 && Math.abs(g1.cpuMs - 380) < 1e-9);
  assert.deepEqual([g2.parent, g2.comm, g2.count], ['cron', 'sleep', 20]);
  assert.ok(Math.abs(g2.cpuPct - 1) < 1e-9);
  assert.equal(s.shortLived.groups.length, 2);

  // The same over a 2 s interval: half the rate and half the CPU share; the 1.5 s process
  // still counts (shorter than the interval).
  const s2 = buildProcevents(raw([...events, exitEv('bash', 'make', 1500, 100, T0)], { exit: 800 + 332 }), raw([], { exit: 800 }), 2000);
  assert.equal(s2.shortLived.groups[0].perSec, 155);
  assert.ok(Math.abs(s2.shortLived.groups[0].cpuPct - 19) < 1e-9);
  assert.equal(s2.shortLived.groups.find((g) => g.comm === 'make')?.count, 1);
  assert.equal(s2.exitPerSec, 166);
});

test('buildProcevents: losses per interval, counter resets, the first sample', () => {
  const a = raw([], { exec: 10 }, 5, 1);
  const b = raw([], { exec: 30 }, 12, 1);
  const s = buildProcevents(b, a, 1000);
  assert.equal(s.lost, 7);
  assert.equal(s.lostTotal, 12);
  assert.equal(s.budgetDrops, 0);
  assert.equal(s.execPerSec, 20);
  // Reloaded probe: counters restarted below the previous reading.
  const r = buildProcevents(raw([], { exec: 4 }, 2), b, 1000);
  assert.equal(r.lost, 2);
  assert.equal(r.execPerSec, 4);
  // No previous reading: counts come from the events themselves; no interval, no rates.
  const first = buildProcevents(raw([execEv('ls', ['ls'], T0), exitEv('bash', 'ls', 1, 1, T0 + 1)], { exec: 500, exit: 400 }), undefined, 0);
  assert.equal(first.execs, 1);
  assert.equal(first.exits, 1);
  assert.equal(first.execPerSec, 0);
  assert.equal(first.shortLived.cpuPct, 0);
  assert.equal(first.shortLived.maxLifetimeMs, 1000);
});

test('buildProcevents: the feed holds execs and exits, newest first, bounded', () => {
  const evs: ProcEvent[] = [];
  for (let i = 0; i < FEED_MAX + 50; i++) evs.push(i % 2 ? execEv('git', ['git', 'status'], T0 + i) : exitEv('bash', 'git', 3, 1, T0 + i));
  evs.push({ ...execEv('x', [], T0), kind: 'fork' });
  // An exit handed over late (held for its free record) still sorts by its own time.
  evs.push(exitEv('bash', 'late', 2, 1, T0 + 100.5));
  const s = buildProcevents(raw(evs, {}), undefined, 1000);
  assert.equal(s.feed.length, FEED_MAX);
  assert.ok(s.feed.every((e, i) => i === 0 || s.feed[i - 1].ts >= e.ts), 'newest first');
  assert.equal(s.feed[0].ts, T0 + FEED_MAX + 49);
  assert.ok(!s.feed.some((e) => e.comm === 'x'), 'no forks in the feed');
  const late = s.feed.findIndex((e) => e.comm === 'late');
  assert.equal(s.feed[late - 1].ts, T0 + 101);
  assert.equal(s.feed[late + 1].ts, T0 + 100);
});

// ---- panels ----

function snapOf(events: ProcEvent[], intervalMs = 1000, lost = 0, budgetDrops = 0): ProbeSnap<ProceventsSnap> {
  return { status: 'ok', variant: 'tp_btf', data: buildProcevents(raw(events, { exec: 0 }, lost, budgetDrops), raw([], {}), intervalMs) };
}

function assertFits(lines: string[], width: number, height: number): void {
  assert.ok(lines.length <= height, `${lines.length} lines > ${height}`);
  for (const l of lines) assert.ok(visibleLength(l) <= width, `too wide (${visibleLength(l)} > ${width}): ${JSON.stringify(l)}`);
  assert.ok(lines.every((l) => !l.includes('\x1b') && !l.includes('\n')), 'no raw control characters');
}

test('renderShortLived: "bash → curl: 310/s, 38% CPU", lost in red (bold without colour)', () => {
  const evs: ProcEvent[] = [];
  for (let i = 0; i < 310; i++) evs.push(exitEv('bash', 'curl', 20, 380 / 310, T0 + i));
  for (let i = 0; i < 3; i++) evs.push(exitEv('make', 'cc1{x}', 100, 50, T0 + i));
  const data = snapOf(evs, 1000, 7);
  const lines = renderShortLived(data, { width: 60, height: 10, color: true }, [data]);
  assertFits(lines, 60, 10);
  const all = lines.join('\n');
  assert.match(lines[0], /exec 0\/s/);
  assert.match(lines[0], /\{red-fg\}lost 7\{\/red-fg\}/);
  assert.match(all, /short-lived \(<1\.00s\): 313\/s, 53% CPU/);
  assert.match(all, /bash → curl\s+310\/s\s+38% CPU/);
  assert.match(all, /make → cc1\{open\}x\{close\}\s+3\/s\s+15% CPU/, 'names escaped');
  assert.ok(all.indexOf('curl') < all.indexOf('cc1'), 'busiest first');
  const plain = renderShortLived(data, { width: 60, height: 10, color: false }, [data]);
  assert.match(plain[0], /\{bold\}lost 7\{\/bold\}/);
  assert.ok(!plain.join('').includes('red-fg'));
  const none = renderShortLived(snapOf([]), { width: 40, height: 5, color: true }, []);
  assert.ok(!none[0].includes('lost'), 'no loss, no warning');
  assert.match(none.join('\n'), /no short-lived processes/);
  assert.deepEqual(renderShortLived({ status: 'unavailable', reason: 'no BTF' }, { width: 40, height: 5, color: false }, []), ['unavailable: no BTF']);
});

test('renderProcfeed: newest first, outcome, lifetime, argv escaped; history fills quiet ticks; narrow panels drop columns', () => {
  const older = snapOf([execEv('make', ['make', '-j4'], T0 - 5000)]);
  const evs = [
    execEv('curl', ['curl', '-H', 'X: {a}', 'line\nbreak\x1b[2J', '\udcff', ''], T0 + 1),
    exitEv('bash', 'curl', 0.85, 0.5, T0 + 2, { exitCode: 3, args: ['curl', 'x'] }),
    exitEv('bash', 'sleep', 2500, 1, T0 + 3, { exitCode: null, signal: 9 }),
    exitEv('bash', 'crash', 12, 1, T0 + 4, { exitCode: null, signal: 11, coreDumped: true }),
  ];
  const cur = snapOf(evs);
  const ctx = { width: 100, height: 8, color: true };
  const lines = renderProcfeed(cur, ctx, [older, cur]);
  assertFits(lines, 100, 8);
  assert.match(lines[0], /TIME\s+PID\s+PPID\s+EVENT\s+LIFE\s+COMMAND/);
  assert.match(lines[1], /\{red-fg\}SIGSEGV core\s*\{\/red-fg\}\s+12ms \[crash\]/);
  assert.match(lines[2], /\{red-fg\}SIGKILL\s*\{\/red-fg\}\s+2\.50s \[sleep\]/);
  assert.match(lines[3], /\{yellow-fg\}exit 3\s*\{\/yellow-fg\}\s+850us curl x/);
  assert.match(lines[4], /\{cyan-fg\}exec/);
  assert.ok(lines[4].includes("curl -H 'X: {open}a{close}' line\\nbreak\\e[2J \\xff ''"), lines[4]);
  assert.match(lines[5], /make -j4/, 'an older tick fills the rest');
  assert.equal(lines.length, 6);
  const d = new Date(T0 + 4);
  assert.ok(lines[1].startsWith(`${String(d.getHours()).padStart(2, '0')}:00:00.004`), lines[1]);

  const narrow = renderProcfeed(cur, { width: 40, height: 4, color: false }, [cur]);
  assertFits(narrow, 40, 4);
  assert.match(narrow[0], /^\s*PID EVENT\s+COMMAND/);
  assert.ok(!narrow.join('').includes('{'), 'no tags without colour');
  const empty = renderProcfeed(snapOf([]), { width: 60, height: 3, color: false }, []);
  assert.match(empty[1], /no exec or exit yet/);
  assert.deepEqual(renderProcfeed({ status: 'disabled' }, { width: 60, height: 3, color: false }, []), ['disabled (--disable)']);
});

test('panel text helpers: visible bytes, command lines, lifetimes, signal names', () => {
  assert.equal(visible('a\\b\tc\x7f\udc80\u{1f600}'), 'a\\\\b\\tc\\x7f\\x80\u{1f600}');
  assert.equal(commandLine({ args: [], comm: 'kworker/0:1', argsTruncated: false }), '[kworker/0:1]');
  assert.equal(commandLine({ args: ['sh', '-c', "echo 'hi'"], comm: 'sh', argsTruncated: true }), `sh -c 'echo '\\''hi'\\''' …`);
  assert.deepEqual([0.05, 3.21, 450, 2500, 75_000, 7_500_000, 90_000_000].map(formatLifetime), ['50us', '3.2ms', '450ms', '2.50s', '1m15', '2h05', '1d01']);
  assert.deepEqual([9, 15, 34, 36, 99].map(signalName), ['SIGKILL', 'SIGTERM', 'SIGRTMIN', 'SIGRTMIN+2', 'SIG99']);
});

test('procevents: the drain interval doubles while the ring stays empty, up to its cap, and drops back at the first record', () => {
  const seq: number[] = [];
  let ms = DRAIN_MS;
  for (let i = 0; i < 6; i++) seq.push((ms = nextDrainMs(ms, 0)));
  assert.deepEqual(seq, [200, 400, 800, 1000, 1000, 1000]);
  assert.ok(DRAIN_IDLE_MAX_MS <= 1000, 'an idle ring is drained at least once a second');
  assert.equal(nextDrainMs(DRAIN_IDLE_MAX_MS, 1), DRAIN_MS);
  assert.equal(nextDrainMs(DRAIN_MS, 3), DRAIN_MS);
});

test('procevents: after a read, the timer drains every DRAIN_MS under load, is off while reads come often, and backs off when they are rare', () => {
  const tick = 1000;
  // Many records since the last read: drain fast, whatever the read interval.
  assert.equal(drainAfterRead(DRAIN_CHAIN_RECORDS, tick, DRAIN_IDLE_MAX_MS), 'chain');
  assert.equal(drainAfterRead(50_000, 5000, DRAIN_MS), 'chain');
  // Reads every second (a little late too) and few records: the reads drain, no timer.
  for (const gap of [100, tick, tick * 1.2]) for (const n of [0, 1, DRAIN_CHAIN_RECORDS - 1]) assert.equal(drainAfterRead(n, gap, DRAIN_MS), 'park', `${n} records, ${gap} ms`);
  // The first read, or reads every 5 s: the timer keeps the ring drained between them.
  assert.equal(drainAfterRead(0, Infinity, DRAIN_IDLE_MAX_MS), 'idle');
  assert.equal(drainAfterRead(0, 5000, DRAIN_IDLE_MAX_MS), 'idle');
  assert.equal(drainAfterRead(0, 5000, 400), 'keep', 'still backing off');
  assert.equal(drainAfterRead(3, 5000, DRAIN_IDLE_MAX_MS), 'keep');
});
