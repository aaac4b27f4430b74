/**
 * The tracers' pure parts with literal inputs: record decoding (built from the shared layouts),
 * syscall-number tables, fd resolution against a fake /proc, the model (newest-first bounded
 * lists, failures by errno, losses), errno and flag names, and the panel text at several widths.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { offsetOf, StructLayout } from '../../src/bpf/layout';
import { TR_BIO, TR_OPEN, TR_SYSCALL, TR_KIND } from '../../src/tracers/layouts';
import { decodeOpen } from '../../src/tracers/opensnoop';
import { decodeBio } from '../../src/tracers/biosnoop';
import { decodeSyscall, TRACED_SYSCALLS } from '../../src/tracers/syscallslow';
import { syscallTable, sysKindTable } from '../../src/tracers/syscalls';
import { FdResolver } from '../../src/tracers/fdpath';
import type { TracerEvents, TracerStatus } from '../../src/tracers/session';
import type { BioEvent, OpenEvent, SyscallEvent } from '../../src/tracers/types';
import { applyTracerEvents, emptyTracerView, errnoName, openFlagsShort, openFlagsText, TracerView } from '../../src/model/tracers';
import { bioOpText, clip, renderOpens, renderSlowIo, renderSlowSyscalls, tracerLines, TracerPanelInput } from '../../screens/panels/tracers';
import { visibleLength } from '../../screens/widgets/text';

/** A record buffer with fields written by name (u64 as bigint or number). */
function record(layout: StructLayout, fields: Record<string, number | bigint | string>): Buffer {
  const b = Buffer.alloc(layout.size);
  for (const [name, v] of Object.entries(fields)) {
    const f = layout.fields.find((x) => x.name === name)!;
    const off = offsetOf(layout, name);
    if (typeof v === 'string') b.write(v, off, f.size, 'latin1');
    else if (f.type === 'u64') b.writeBigUInt64LE(BigInt(v), off);
    else if (f.type === 's64') b.writeBigInt64LE(BigInt(v), off);
    else if (f.type === 'u32') b.writeUInt32LE(Number(v), off);
    else if (f.type === 's32') b.writeInt32LE(Number(v), off);
    else if (f.type === 'u16') b.writeUInt16LE(Number(v), off);
    else if (f.type === 'u8') b.writeUInt8(Number(v), off);
  }
  return b;
}

test('decodeOpen: fd or errno, AT_FDCWD, call name, path bytes, truncation', () => {
  const ok = decodeOpen(
    record(TR_OPEN, { kind: TR_KIND.open, ts_ns: 5_000_000_000, latency_ns: 1234, ret: 7, flags: 0o2000101, tid: 42, mode: 0o644, dfd: -100, path_len: 11, sys: 2, comm: 'cat', path: '/etc/hosts' }),
    40,
    1_000,
  )!;
  assert.deepEqual(ok, {
    kind: 'open', ts: 6_000, monoNs: 5_000_000_000, pid: 40, tid: 42, comm: 'cat', latencyNs: 1234, call: 'openat',
    path: '/etc/hosts', pathTruncated: false, pathUnreadable: false, dfd: null, flags: 0o2000101, mode: 0o644, fd: 7, errno: 0,
  });
  const fail = decodeOpen(record(TR_OPEN, { kind: TR_KIND.open, ret: -2, dfd: 5, path_len: 6, sys: 3, path: 'x/y/z' }), 1, 0)!;
  assert.equal(fail.fd, null);
  assert.equal(fail.errno, 2);
  assert.equal(fail.dfd, 5);
  assert.equal(fail.call, 'openat2');
  // The kernel filled the whole buffer: the path was cut.
  const long = 'a'.repeat(255);
  const cut = decodeOpen(record(TR_OPEN, { kind: TR_KIND.open, path_len: 256, path: long }), 1, 0)!;
  assert.equal(cut.path, long);
  assert.equal(cut.pathTruncated, true);
  const unreadable = decodeOpen(record(TR_OPEN, { kind: TR_KIND.open, path_len: 0, sys: 0 }), 1, 0)!;
  assert.equal(unreadable.pathUnreadable, true);
  assert.equal(unreadable.call, 'open*');
  // Bytes that are not UTF-8 survive as U+DC80+byte.
  const raw = record(TR_OPEN, { kind: TR_KIND.open, path_len: 4 });
  raw.set([0x61, 0xff, 0x62, 0], offsetOf(TR_OPEN, 'path'));
  assert.equal(decodeOpen(raw, 1, 0)!.path, 'a\udcffb');
  // Not an open record, or too short.
  assert.equal(decodeOpen(record(TR_OPEN, { kind: TR_KIND.bio }), 1, 0), null);
  assert.equal(decodeOpen(Buffer.alloc(10), 1, 0), null);
});

test('decodeBio: disk name, op and flags, queue time only when inserted', () => {
  const names = (dev: string) => (dev === '254:0' ? 'vda' : dev);
  const e = decodeBio(
    record(TR_BIO, { kind: TR_KIND.bio, ts_ns: 2e9, latency_ns: 30e6, queue_ns: 20e6, sector: 4096, bytes: 1 << 20, dev: (254 << 20) | 0, tid: 9, error: 0, op: 1, flags: 1 | 16, comm: 'dd' }),
    9,
    0,
    names,
  )!;
  assert.equal(e.disk, 'vda');
  assert.equal(e.dev, '254:0');
  assert.equal(e.op, 'W');
  assert.equal(e.sync, true);
  assert.equal(e.fua, false);
  assert.equal(e.queueNs, 20e6);
  assert.equal(e.serviceNs, 10e6);
  assert.equal(e.bytes, 1 << 20);
  assert.equal(bioOpText(e), 'WS');
  const direct = decodeBio(record(TR_BIO, { kind: TR_KIND.bio, latency_ns: 5e6, queue_ns: 0, dev: (8 << 20) | 16, op: 0, flags: 2 | 4 | 8 }), 1, 0, names)!;
  assert.equal(direct.queueNs, null, 'not inserted: no queue time');
  assert.equal(direct.serviceNs, 5e6);
  assert.equal(direct.disk, '8:16');
  assert.equal(bioOpText(direct), 'FRFM');
  assert.equal(decodeBio(record(TR_BIO, { kind: TR_KIND.bio, op: 9 }), 1, 0, names)!.op, '?');
});

test('decodeSyscall: call name, errno, fd path checked against the inode', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probetop-fd-'));
  try {
    const target = path.join(dir, 'data.bin');
    const other = path.join(dir, 'other.bin');
    fs.writeFileSync(target, 'x');
    fs.writeFileSync(other, 'y');
    const proc = path.join(dir, 'proc');
    fs.mkdirSync(path.join(proc, '77', 'fd'), { recursive: true });
    fs.symlinkSync(target, path.join(proc, '77', 'fd', '3'));
    fs.symlinkSync(other, path.join(proc, '77', 'fd', '4'));
    const ino = Number(fs.statSync(target, { bigint: true }).ino);
    const fds = new FdResolver(77, proc);
    const rec = (f: Record<string, number | bigint | string>) => record(TR_SYSCALL, { kind: TR_KIND.syscall, ...f });

    const same = decodeSyscall(rec({ sys: 1, fd: 3, ino, ret: 100, count: 4096, latency_ns: 25e6, name: 'data.bin', comm: 'app' }), 77, 0, fds)!;
    assert.equal(same.call, 'read');
    assert.equal(same.path, target);
    assert.equal(same.pathSource, 'fd');
    assert.equal(same.fdState, 'open');
    assert.equal(same.ret, 100);
    assert.equal(same.count, 4096);
    // fd 4 names another file now: the kernel's dentry name is shown instead.
    const reused = decodeSyscall(rec({ sys: 11, fd: 4, ino, ret: -5, name: 'data.bin' }), 77, 0, fds)!;
    assert.equal(reused.call, 'fsync');
    assert.equal(reused.errno, 5);
    assert.equal(reused.ret, 0);
    assert.equal(reused.path, 'data.bin');
    assert.equal(reused.pathSource, 'dentry');
    assert.equal(reused.fdState, 'reused');
    const closed = decodeSyscall(rec({ sys: 2, fd: 9, ino, name: 'data.bin' }), 77, 0, fds)!;
    assert.equal(closed.fdState, 'closed');
    assert.equal(closed.path, 'data.bin');
    // fentry: no fd, found among the open fds by inode.
    const byIno = decodeSyscall(rec({ sys: 32, fd: -1, ino, name: 'data.bin' }), 77, 0, fds)!;
    assert.equal(byIno.call, 'vfs_read');
    assert.equal(byIno.fd, null);
    assert.equal(byIno.path, target);
    assert.equal(byIno.fdState, null);
    const nothing = decodeSyscall(rec({ sys: 2, fd: 9, ino: 0 }), 77, 0, fds)!;
    assert.equal(nothing.path, null);
    assert.equal(nothing.pathSource, null);
    // Cached per batch: after reset() a changed fd is seen.
    fs.unlinkSync(path.join(proc, '77', 'fd', '3'));
    assert.equal(decodeSyscall(rec({ sys: 1, fd: 3, ino, name: 'n' }), 77, 0, fds)!.fdState, 'open');
    fds.reset();
    assert.equal(decodeSyscall(rec({ sys: 1, fd: 3, ino, name: 'n' }), 77, 0, fds)!.fdState, 'closed');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('syscall tables: numbers per architecture, codes in the raw_tp lookup table', () => {
  const x64 = syscallTable('x64')!;
  assert.equal(x64.openat, 257);
  assert.equal(x64.read, 0);
  assert.equal(syscallTable('arm64')!.open, undefined, 'arm64 has no open(2)');
  assert.equal(syscallTable('riscv64'), null);
  const t = sysKindTable(TRACED_SYSCALLS, 512, x64);
  assert.equal(t[0], TRACED_SYSCALLS.read);
  assert.equal(t[74], TRACED_SYSCALLS.fsync);
  assert.equal(t[328], TRACED_SYSCALLS.pwritev2);
  assert.equal(t[2], 0, 'open is not a slow-syscall');
  assert.equal([...t].filter(Boolean).length, Object.keys(TRACED_SYSCALLS).length);
  const arm = sysKindTable({ open: 1, openat: 2 }, 512, syscallTable('arm64'));
  assert.equal(arm[56], 2);
  assert.equal([...arm].filter(Boolean).length, 1);
  assert.equal([...sysKindTable({ read: 1 }, 512, null)].filter(Boolean).length, 0);
});

test('errno and open-flag names', () => {
  assert.equal(errnoName(2), 'ENOENT');
  assert.equal(errnoName(13), 'EACCES');
  assert.equal(errnoName(11), 'EAGAIN');
  assert.equal(errnoName(95), 'EOPNOTSUPP');
  assert.equal(errnoName(512), 'ERESTARTSYS');
  assert.equal(errnoName(4000), 'errno 4000');
  assert.equal(openFlagsText(0o2000000, 'x64'), 'O_RDONLY|O_CLOEXEC');
  assert.equal(openFlagsText(0o1101, 'x64'), 'O_WRONLY|O_CREAT|O_TRUNC');
  assert.equal(openFlagsText(0o4010002, 'x64'), 'O_RDWR|O_SYNC');
  assert.equal(openFlagsText(0o10000, 'x64'), 'O_RDONLY|O_DSYNC');
  assert.equal(openFlagsText(0o200000, 'x64'), 'O_RDONLY|O_DIRECTORY');
  assert.equal(openFlagsText(0o200000, 'arm64'), 'O_RDONLY|O_DIRECT');
  assert.equal(openFlagsText(0o20200002, 'x64'), 'O_RDWR|O_TMPFILE');
  assert.equal(openFlagsText(0x80000000, 'x64'), 'O_RDONLY|0x80000000');
  assert.equal(openFlagsShort(0o2000000, 'x64'), 'r');
  assert.equal(openFlagsShort(0o1101, 'x64'), 'wct');
  assert.equal(openFlagsShort(0o2302, 'x64'), 'rwcax');
  assert.equal(openFlagsShort(0o200000, 'x64'), 'rd');
  assert.equal(openFlagsShort(0o10000000, 'x64'), 'path');
});

const head = { pid: 100, tid: 100, comm: 'app', monoNs: 0 };
const open = (i: number, errno = 0, p = `/data/f${i}`): OpenEvent => ({
  ...head, kind: 'open', ts: Date.UTC(2025, 0, 1, 12, 0, 0, i), latencyNs: 1000 * (i + 1), call: 'openat', path: p,
  pathTruncated: false, pathUnreadable: false, dfd: null, flags: 0, mode: 0, fd: errno ? null : 3 + i, errno,
});
const bio = (i: number, ms: number): BioEvent => ({
  ...head, kind: 'bio', ts: Date.UTC(2025, 0, 1, 12, 0, 1, i), latencyNs: ms * 1e6, dev: '254:0', disk: 'vda', op: 'W',
  sync: true, fua: false, preflush: false, meta: false, sector: 1000 + i, bytes: 4096 * (i + 1), queueNs: 1e6, serviceNs: ms * 1e6 - 1e6, error: 0,
});
const sys = (i: number, ms: number, p: string | null = '/data/log'): SyscallEvent => ({
  ...head, kind: 'syscall', ts: Date.UTC(2025, 0, 1, 12, 0, 2, i), latencyNs: ms * 1e6, call: 'write', fd: 5, path: p,
  pathSource: p ? 'fd' : null, fdState: p ? 'open' : null, ret: 4096, errno: 0, count: 4096, ino: 1,
});
const events = (e: Partial<TracerEvents>): TracerEvents => ({ opens: [], bio: [], syscalls: [], counters: {}, ...e });

test('applyTracerEvents: newest first, bounded, failures by errno, losses; inputs untouched', () => {
  const first = events({ opens: [open(0), open(1, 2), open(2, 2), open(3, 13)], counters: { opensnoop: { made: 4, lost: 0, noSlot: 0, undecodable: 0, dropped: 0 } } });
  const frozen = JSON.stringify(first);
  const v1 = applyTracerEvents(emptyTracerView(), first, 5);
  assert.equal(JSON.stringify(first), frozen);
  assert.deepEqual(v1.opens.map((o) => o.path), ['/data/f3', '/data/f2', '/data/f1', '/data/f0']);
  assert.equal(v1.totals.opens, 4);
  assert.equal(v1.totals.openFailures, 3);
  assert.deepEqual(v1.totals.failuresByErrno, [{ errno: 2, name: 'ENOENT', count: 2 }, { errno: 13, name: 'EACCES', count: 1 }]);
  const v1json = JSON.stringify(v1);
  const v2 = applyTracerEvents(
    v1,
    events({
      opens: [open(4, 13), open(5, 13), open(6, 13)],
      bio: [bio(0, 12), bio(1, 30)],
      syscalls: [sys(0, 15)],
      counters: {
        opensnoop: { made: 7, lost: 2, noSlot: 0, undecodable: 0, dropped: 1 },
        biosnoop: { made: 2, lost: 3, noSlot: 4, undecodable: 0, dropped: 0 },
      },
    }),
    5,
  );
  assert.equal(JSON.stringify(v1), v1json, 'the previous view is not modified');
  assert.deepEqual(v2.opens.map((o) => o.path), ['/data/f6', '/data/f5', '/data/f4', '/data/f3', '/data/f2'], 'bounded to 5, newest first');
  assert.equal(v2.totals.opens, 7, 'totals count everything, not just what is kept');
  assert.deepEqual(v2.totals.failuresByErrno.map((e) => `${e.name} ${e.count}`), ['EACCES 4', 'ENOENT 2']);
  assert.deepEqual(v2.bio.map((b) => b.sector), [1001, 1000]);
  assert.equal(v2.totals.slowIo, 2);
  assert.equal(v2.totals.slowIoBytes, 4096 * 3);
  assert.equal(v2.totals.slowIoMaxNs, 30e6);
  assert.equal(v2.totals.slowSyscalls, 1);
  assert.equal(v2.totals.slowSyscallMaxNs, 15e6);
  // Kernel counters are cumulative: the latest value per tracer, summed over tracers.
  assert.equal(v2.totals.lost, 5);
  assert.equal(v2.totals.noSlot, 4);
  assert.equal(v2.totals.dropped, 1);
  const v3 = applyTracerEvents(v2, events({ counters: { opensnoop: { made: 7, lost: 2, noSlot: 0, undecodable: 0, dropped: 1 } } }), 5);
  assert.equal(v3.totals.lost, 5, 'a poll without biosnoop counters keeps its last ones');
});

const running = (name: TracerStatus['name'], variant: string): TracerStatus => ({ name, title: name, variant, reason: null, attempts: [] });
const statuses = [running('opensnoop', 'tracepoint'), running('biosnoop', 'tp_btf'), running('syscallslow', 'tracepoint')];
const input = (view: TracerView, status: TracerStatus[] = statuses): TracerPanelInput => ({ view, status, thresholds: { slowIoMs: 10, slowSyscallMs: 10 } });

function fits(lines: string[], width: number, height: number): void {
  assert.ok(lines.length <= height, `${lines.length} lines for ${height}`);
  for (const l of lines) assert.ok(visibleLength(l) <= width, `line wider than ${width}: ${JSON.stringify(l)} (${visibleLength(l)})`);
}

test('panel: opens with errno names highlighted, slow I/O and syscalls with paths, escaped', () => {
  const hostile = '/tmp/{bold}x\x1b[2J\n';
  const view = applyTracerEvents(emptyTracerView(), events({
    opens: [open(0), open(1, 2), open(2, 0, hostile)],
    bio: [bio(0, 25)],
    syscalls: [sys(0, 42), { ...sys(1, 11, 'log.txt'), pathSource: 'dentry', fdState: 'closed' }, { ...sys(2, 13), errno: 4, ret: 0, call: 'read' }],
    counters: { opensnoop: { made: 3, lost: 7, noSlot: 0, undecodable: 0, dropped: 0 } },
  }));
  const color = renderOpens(input(view), { width: 100, height: 10, color: true });
  assert.match(color[0], /Files opened  3 opens, 1 failed \(ENOENT 1\)/);
  assert.match(color[0], /\{red-fg\}lost 7\{\/red-fg\} \[tracepoint\]$/);
  assert.match(color[1], /TIME\s+TID RESULT\s+LAT FLAGS PATH/);
  const enoent = color.find((l) => l.includes('/data/f1'))!;
  assert.match(enoent, /\{red-fg\}ENOENT\s*\{\/red-fg\}/);
  assert.ok(color.some((l) => /fd 3 .*\/data\/f0/.test(l)));
  // System strings are shown, not interpreted: no raw ESC, braces escaped, newline visible.
  const h = color.find((l) => l.includes('/tmp/'))!;
  assert.ok(!h.includes('\x1b') && !h.includes('{bold}x'), h);
  assert.ok(h.includes('{open}bold{close}x') && h.includes('\\e[2J\\n'), h);
  const plain = renderOpens(input(view), { width: 100, height: 10, color: false });
  assert.ok(plain.every((l) => !/\{(red|blue|yellow)-fg\}/.test(l)), 'no colour tags without colour');
  assert.match(plain.find((l) => l.includes('/data/f1'))!, /\{bold\}ENOENT/);

  const io = renderSlowIo(input(view), { width: 100, height: 5, color: false });
  assert.match(io[0], /Slow block I\/O  > 10 ms: 1 requests, 4\.0K, max 25\.0ms/);
  assert.match(io[1], /DISK\s+OP\s+SECTOR\s+BYTES\s+LAT\s+QUEUE\s+SERVICE/);
  assert.match(io[2], /vda\s+WS\s+1000\s+4\.0K\s+25\.0ms\s+1\.00ms\s+24\.0ms/);

  const sc = renderSlowSyscalls(input(view), { width: 100, height: 5, color: true });
  assert.match(sc[0], /Slow syscalls  > 10 ms: 3 calls, max 42\.0ms/);
  assert.match(sc[1], /TIME\s+TID\s+CALL\s+FD\s+LAT\s+RESULT\s+FILE/);
  assert.match(sc.slice(2).find((l) => l.includes('42.0ms'))!, /write\s+5\s+42\.0ms 4\.0K\s+\/data\/log/);
  assert.match(sc.slice(2).find((l) => l.includes('log.txt'))!, /log\.txt \(fd closed since\)/);
  assert.match(sc.slice(2).find((l) => l.includes('13.0ms'))!, /\{red-fg\}EINTR/);

  for (const w of [30, 50, 80, 160]) {
    for (const color of [true, false]) {
      for (const h of [1, 3, 8, 30]) {
        const ctx = { width: w, height: h, color };
        fits(renderOpens(input(view), ctx), w, h);
        fits(renderSlowIo(input(view), ctx), w, h);
        fits(renderSlowSyscalls(input(view), ctx), w, h);
        fits(tracerLines(input(view), ctx), w, h);
      }
    }
  }
});

test('panel: empty and unavailable tracers, and how the sections share the height', () => {
  const empty = tracerLines(input(emptyTracerView()), { width: 80, height: 20, color: false });
  assert.deepEqual(empty.map((l) => l.trim()).filter((l) => !l.startsWith('{bold}')), ['no opens yet', 'no request above 10 ms', 'no call above 10 ms']);
  const down: TracerStatus[] = [
    running('opensnoop', 'raw_tp'),
    { name: 'biosnoop', title: 'slow block I/O', variant: null, reason: 'rejected by the BPF verifier (Permission denied)', attempts: [] },
    { name: 'syscallslow', title: 'slow syscalls', variant: null, reason: 'closed', attempts: [] },
  ];
  const lines = tracerLines(input(emptyTracerView(), down), { width: 80, height: 20, color: true });
  assert.ok(lines.some((l) => l.includes('{yellow-fg}unavailable: rejected by the BPF verifier')));
  assert.ok(lines.some((l) => l.includes('unavailable: closed')));
  assert.ok(!lines.join('\n').includes('[tp_btf]'));
  // Many opens, a few slow calls: each section keeps its title, the rest goes where there is more to show.
  const many = applyTracerEvents(emptyTracerView(), events({ opens: Array.from({ length: 50 }, (_, i) => open(i)), bio: [bio(0, 20)], syscalls: [sys(0, 20), sys(1, 30)] }));
  const shared = tracerLines(input(many), { width: 80, height: 16, color: false });
  assert.equal(shared.length, 16);
  const titles = shared.map((l, i) => (/^\{bold\}(Files|Slow)/.test(l) ? i : -1)).filter((i) => i >= 0);
  assert.equal(titles.length, 3);
  assert.deepEqual(titles.slice(1).map((t, k) => t - titles[k]), [1 + 1 + 7, 1 + 1 + 1], 'opens get the spare lines; I/O: title, header, one row');
  assert.equal(shared.length - titles[2], 1 + 1 + 2, 'syscalls: title, header and both rows');
});

test('clip: cuts visible columns, keeps tags balanced, counts {open}/{close} as one', () => {
  assert.equal(clip('{red-fg}ENOENT{/red-fg} /a/b', 8), '{red-fg}ENOENT{/red-fg} /');
  assert.equal(clip('ab{open}cd{close}ef', 4), 'ab{open}c');
  assert.equal(clip('{bold}abc{/bold}', 10), '{bold}abc{/bold}');
  assert.equal(visibleLength(clip('{bold}{blue-fg}' + 'x'.repeat(50) + '{/blue-fg}{/bold}', 7)), 7);
  assert.equal(clip('a{b', 2), 'a{');
});
