/**
 * /proc process reading: the parsers on literal /proc contents, the reader on a fake /proc tree
 * (pid reuse, vanishing processes, threads coming and going), and on the real /proc against
 * child processes whose behaviour we know (a spinner, a sleeper, pinned contenders, odd argv).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn, ChildProcess } from 'node:child_process';
import { clockInfo, decodeRaw, encodeRaw, parseCgroup, parseCmdline, parseSchedstat, parseStat, parseStatusUid, ProcCache, ProcRaw, ProcsRaw, readProcs, STAT_REFRESH_TICKS, LISTING_REFRESH_TICKS } from '../../src/procfs/procs';
import { parsePasswd, UserNames } from '../../src/procfs/users';
import { buildProcs } from '../../src/model/procs';
import { openFiles } from '../helpers/fds';
import { parseCpuBytes, parseNumbers, readSystem, selfRssBytes } from '../../src/procfs/system';

const B = (s: string | number[]) => (typeof s === 'string' ? Buffer.from(s, 'latin1') : Buffer.from(s));

// A /proc/PID/stat line with every field proc(5) lists, the ones we read set from `f`.
function statLine(f: { pid: number; comm: string | Buffer; state?: string; ppid?: number; utime?: number; stime?: number; threads?: number; start?: number; rss?: number; prio?: number }): Buffer {
  const rest = [f.state ?? 'S', f.ppid ?? 1, f.pid, f.pid, 0, -1, 4194304, 99, 0, 0, 0, f.utime ?? 0, f.stime ?? 0, 0, 0, f.prio ?? 20, 0, f.threads ?? 1, 0, f.start ?? 100, 3133440, f.rss ?? 390];
  rest.push(...'18446744073709551615 1 1 1 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 1 1 1 1 1 1 1 0'.split(' '));
  return Buffer.concat([B(`${f.pid} (`), typeof f.comm === 'string' ? Buffer.from(f.comm) : f.comm, B(`) ${rest.join(' ')}\n`)]);
}

// ---- parsers -----------------------------------------------------------------------------------

test('parseStat reads the fields of a real-looking line', () => {
  const line = B('18905 (cat) R 18901 18901 3972 0 -1 4194304 99 0 0 0 12 34 0 0 20 0 1 0 121530 3133440 390 18446744073709551615 94104323305472 94104323325353 140720756738720 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 94104323341360 94104323342976 94104459079680 140720756746979 140720756746999 140720756746999 140720756748267 0\n');
  assert.deepEqual(parseStat(line), { pid: 18905, comm: 'cat', state: 'R', ppid: 18901, utimeTicks: 12, stimeTicks: 34, threads: 1, startTimeTicks: 121530, rssPages: 390 });
});

test('parseStat: comm with spaces, parentheses and field-like text', () => {
  assert.equal(parseStat(statLine({ pid: 42, comm: '(a) b)', ppid: 7, utime: 5 }))!.comm, '(a) b)');
  const tricky = parseStat(statLine({ pid: 43, comm: 'x) S 1 2 3', state: 'D', ppid: 9, utime: 11, stime: 22, threads: 4, start: 555, rss: 66 }))!;
  assert.deepEqual(tricky, { pid: 43, comm: 'x) S 1 2 3', state: 'D', ppid: 9, utimeTicks: 11, stimeTicks: 22, threads: 4, startTimeTicks: 555, rssPages: 66 });
  assert.equal(parseStat(statLine({ pid: 44, comm: '' }))!.comm, '');
});

test('parseStat: negative priority (real-time task) does not shift the fields', () => {
  const s = parseStat(statLine({ pid: 10, comm: 'migration/0', prio: -100, threads: 1, start: 7, rss: 0, utime: 3 }))!;
  assert.equal(s.threads, 1);
  assert.equal(s.startTimeTicks, 7);
  assert.equal(s.utimeTicks, 3);
});

test('parseStat: control characters and invalid UTF-8 in comm survive byte for byte', () => {
  const comm = B([0x61, 0x0a, 0x1b, 0x5b, 0x32, 0x4a, 0xff, 0x29, 0x20, 0x62]); // "a\n\e[2J\xff) b"
  const s = parseStat(statLine({ pid: 5, comm, ppid: 3 }))!;
  assert.equal(s.ppid, 3);
  assert.equal(s.comm, 'a\n\x1b[2J\udcff) b');
  assert.deepEqual(encodeRaw(s.comm), comm);
});

test('parseStat: truncated or malformed lines give null', () => {
  const full = statLine({ pid: 1, comm: 'init' });
  assert.equal(parseStat(full.subarray(0, 40)), null);
  assert.equal(parseStat(B('')), null);
  assert.equal(parseStat(B('12 no parens S 1')), null);
  assert.notEqual(parseStat(full, full.length), null);
});

test('parseSchedstat', () => {
  assert.deepEqual(parseSchedstat(B('182784168 10850329 392\n')), [182784168, 10850329]);
  assert.deepEqual(parseSchedstat(B('0 0 0\n')), [0, 0]);
  assert.equal(parseSchedstat(B('abc 1 2\n')), null);
  assert.equal(parseSchedstat(B('12')), null);
});

test('parseCmdline: args, setproctitle padding, kernel threads', () => {
  assert.deepEqual(parseCmdline(B('/usr/bin/python3\0-c\0print("a b")\0')), ['/usr/bin/python3', '-c', 'print("a b")']);
  assert.deepEqual(parseCmdline(B('nginx: worker process\0\0\0\0\0\0')), ['nginx: worker process']);
  assert.deepEqual(parseCmdline(B('sshd: root@pts/0')), ['sshd: root@pts/0']); // rewritten title, no NUL at all
  assert.deepEqual(parseCmdline(B('a\0\0b\0')), ['a', '', 'b']); // an empty argument in the middle stays
  assert.deepEqual(parseCmdline(B('')), []);
  const weird = parseCmdline(B([0x78, 0x00, 0x61, 0xc3, 0xa9, 0xfe, 0x0a, 0x00]));
  assert.deepEqual(weird, ['x', 'a\u00e9\udcfe\n']);
});

test('parseCgroup: v2, hybrid v1+v2, v1 only', () => {
  assert.equal(parseCgroup('0::/user.slice/user-1000.slice/session-2.scope\n'), '/user.slice/user-1000.slice/session-2.scope');
  const hybrid = '12:pids:/user.slice\n1:name=systemd:/user.slice/session-3.scope\n0::/user.slice/session-3.scope\n';
  assert.equal(parseCgroup(hybrid), '/user.slice/session-3.scope');
  const thisVm = '9:name=systemd:/\n8:pids:/\n4:memory:/process_api/17a0fac0\n3:cpuset:/\n0::/\n';
  assert.equal(parseCgroup(thisVm), '/process_api/17a0fac0');
  assert.equal(parseCgroup('0::/\n'), '/');
  assert.equal(parseCgroup('0::/a:b/c\n'), '/a:b/c'); // a cgroup name may hold ':'
  assert.equal(parseCgroup(''), '');
});

test('parseStatusUid takes the effective uid', () => {
  const status = 'Name:\tsudo\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t9\nPid:\t9\nPPid:\t1\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n';
  assert.equal(parseStatusUid(status), 0);
  assert.equal(parseStatusUid('Name:\tx\nUid:\t1000\t1001\t1002\t1003\n'), 1001);
  assert.equal(parseStatusUid('Name:\tx\n'), -1);
});

test('decodeRaw/encodeRaw: every byte value and random buffers round-trip exactly', () => {
  for (let b = 0; b < 256; b++) assert.deepEqual(encodeRaw(decodeRaw(B([b]))), B([b]), `byte ${b}`);
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  for (let i = 0; i < 2000; i++) {
    const buf = Buffer.from(Array.from({ length: 1 + (i % 23) }, rnd));
    const s = decodeRaw(buf);
    assert.deepEqual(encodeRaw(s), buf);
    assert.deepEqual(encodeRaw(JSON.parse(JSON.stringify(s))), buf, 'survives JSON');
  }
});

test('decodeRaw: valid UTF-8 decodes normally, each byte of an invalid sequence is escaped', () => {
  for (const s of ['plain', 'caf\u00e9', '\u65e5\u672c', '\u{1f600} ok', '\u{10ffff}']) assert.equal(decodeRaw(Buffer.from(s)), s);
  assert.equal(decodeRaw(B([0xc0, 0x80])), '\udcc0\udc80'); // overlong NUL
  assert.equal(decodeRaw(B([0xed, 0xa0, 0x80])), '\udced\udca0\udc80'); // an encoded surrogate
  assert.equal(decodeRaw(B([0xf4, 0x90, 0x80, 0x80])), '\udcf4\udc90\udc80\udc80'); // above U+10FFFF
  assert.equal(decodeRaw(B([0xe2, 0x82, 0x41])), '\udce2\udc82A'); // truncated sequence
  assert.equal(decodeRaw(B([0x61, 0xf0, 0x9f, 0x98, 0x80, 0xff])), 'a\u{1f600}\udcff');
  assert.equal(decodeRaw(B('xabcx'), 1, 4), 'abc');
});

test('clockInfo matches getconf', (t) => {
  let tck: number;
  let page: number;
  try {
    tck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
    page = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }));
  } catch {
    t.skip('getconf not installed');
    return;
  }
  assert.deepEqual(clockInfo(), { clkTck: tck, pageSize: page });
});

// ---- users -----------------------------------------------------------------------------------

test('parsePasswd: uid -> name, first entry wins, comments and junk ignored', () => {
  const names = parsePasswd(B('root:x:0:0:root:/root:/bin/bash\n# comment:x:5:5\nbad line\nalice:x:1000:1000::/home/alice:/bin/sh\ntoor:x:0:0::/root:/bin/sh\nbob:x:notanumber:1::/:\n'));
  assert.deepEqual([...names], [
    [0, 'root'],
    [1000, 'alice'],
  ]);
});

test('UserNames reloads when the file changes', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probetop-passwd-'));
  try {
    const file = path.join(dir, 'passwd');
    fs.writeFileSync(file, 'root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n');
    const u = new UserNames(file, 0);
    assert.equal(u.name(1000), 'alice');
    assert.equal(u.name(1001), '1001');
    assert.equal(u.name(-1), '?');
    fs.writeFileSync(file, 'root:x:0:0::/root:/bin/sh\nalicia:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/:/bin/sh\n');
    assert.equal(u.name(1000), 'alicia');
    assert.equal(u.name(1001), 'bob');
    // The same size and (perhaps) the same second: an in-place edit must still be noticed.
    fs.writeFileSync(file, 'root:x:0:0::/root:/bin/sh\nalicib:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/:/bin/sh\n');
    assert.equal(u.name(1000), 'alicib');
    const slow = new UserNames(file, 60_000);
    assert.equal(slow.name(1000), 'alicib');
    fs.writeFileSync(file, 'carol:x:1000:1000::/:/bin/sh\n');
    assert.equal(slow.name(1000), 'alicib', 'not re-checked within checkMs');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ---- the reader on a fake /proc ----------------------------------------------------------------

interface FakeProc {
  pid: number;
  comm?: string;
  ppid?: number;
  start?: number; // ticks after boot
  utime?: number;
  stime?: number;
  rss?: number;
  state?: string;
  cmdline?: string[];
  cgroup?: string;
  uid?: number;
  threads?: Record<number, [number, number]>; // tid -> [runNs, waitNs]
}

class FakeProcFs {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'probetop-proc-'));
  constructor(uptimeS: number) {
    this.uptime(uptimeS);
    fs.writeFileSync(path.join(this.root, 'self'), ''); // not a pid: must be ignored
  }
  uptime(s: number): void {
    fs.writeFileSync(path.join(this.root, 'uptime'), `${s.toFixed(2)} 0.00\n`);
  }
  // Writes a process's files. Rewriting keeps the inodes (writeFileSync truncates), as the
  // kernel's files keep theirs; only the parts given are rewritten.
  put(p: FakeProc): void {
    const dir = path.join(this.root, String(p.pid));
    fs.mkdirSync(dir, { recursive: true });
    const threads = p.threads ?? { [p.pid]: [0, 0] };
    if (p.comm !== undefined) {
      const line = statLine({ pid: p.pid, comm: p.comm, state: p.state, ppid: p.ppid, utime: p.utime, stime: p.stime, threads: Object.keys(threads).length, start: p.start, rss: p.rss });
      fs.writeFileSync(path.join(dir, 'stat'), line);
    }
    if (p.cmdline) fs.writeFileSync(path.join(dir, 'cmdline'), p.cmdline.map((a) => a + '\0').join(''));
    if (p.cgroup !== undefined) fs.writeFileSync(path.join(dir, 'cgroup'), `0::${p.cgroup}\n`);
    if (p.uid !== undefined) fs.writeFileSync(path.join(dir, 'status'), `Name:\tx\nUid:\t${p.uid}\t${p.uid}\t${p.uid}\t${p.uid}\n`);
    if (p.threads) {
      const task = path.join(dir, 'task');
      fs.mkdirSync(task, { recursive: true });
      for (const tid of fs.readdirSync(task)) if (!(tid in threads)) fs.rmSync(path.join(task, tid), { recursive: true });
      for (const [tid, [run, wait]] of Object.entries(threads)) {
        fs.mkdirSync(path.join(task, tid), { recursive: true });
        fs.writeFileSync(path.join(task, tid, 'schedstat'), `${run} ${wait} 1\n`);
      }
    }
  }
  remove(pid: number): void {
    fs.rmSync(path.join(this.root, String(pid)), { recursive: true, force: true });
  }
  close(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

const proc = (raw: ProcsRaw, pid: number) => raw.procs.find((p) => p.pid === pid);

test('fake /proc: fields, vanished pids, static fields cached per pid + start time', () => {
  const f = new FakeProcFs(1000); // 1000 s after boot
  const cache = new ProcCache({ root: f.root, schedstat: true });
  try {
    f.put({ pid: 1, comm: 'init', ppid: 0, start: 1, cmdline: ['/sbin/init'], cgroup: '/', uid: 0, utime: 5, stime: 6, rss: 100 });
    f.put({ pid: 42, comm: 'app', ppid: 1, start: 50_000, cmdline: ['app', '--flag'], cgroup: '/app.slice', uid: 1000, threads: { 42: [1000, 200] } });
    fs.mkdirSync(path.join(f.root, '77')); // a process that vanished after readdir: no files left
    const r1 = readProcs(cache);
    assert.equal(r1.uptimeS, 1000);
    assert.deepEqual(
      r1.procs.map((p) => p.pid),
      [1, 42],
    );
    assert.deepEqual(proc(r1, 42), { pid: 42, ppid: 1, uid: 1000, comm: 'app', cmdline: ['app', '--flag'], cgroup: '/app.slice', state: 'S', startTimeTicks: 50_000, utimeTicks: 0, stimeTicks: 0, rssPages: 390, threads: 1, schedRunNs: 1000, schedWaitNs: 200 });
    assert.equal(proc(r1, 1)!.rssPages, 100);
    assert.deepEqual(JSON.parse(JSON.stringify(r1)), r1, 'JSON round trip');

    // cmdline is read once per process: a rewrite is not seen while pid and start time stay...
    f.put({ pid: 42, cmdline: ['changed'], threads: { 42: [2000, 300] }, comm: 'app', ppid: 1, start: 50_000, utime: 1 });
    const r2 = readProcs(cache);
    assert.deepEqual(proc(r2, 42)!.cmdline, ['app', '--flag']);
    assert.equal(proc(r2, 42)!.utimeTicks, 1);
    assert.equal(proc(r2, 42)!.schedWaitNs, 300);

    // ...but a new start time means the pid was reused: a new process, read afresh.
    f.put({ pid: 42, comm: 'other', ppid: 1, start: 60_000, cmdline: ['other'], uid: 0, cgroup: '/x', threads: { 42: [10, 5] } });
    const r3 = readProcs(cache);
    assert.deepEqual(proc(r3, 42), { pid: 42, ppid: 1, uid: 0, comm: 'other', cmdline: ['other'], cgroup: '/x', state: 'S', startTimeTicks: 60_000, utimeTicks: 0, stimeTicks: 0, rssPages: 390, threads: 1, schedRunNs: 10, schedWaitNs: 5 });

    f.remove(42);
    const r4 = readProcs(cache);
    assert.deepEqual(
      r4.procs.map((p) => p.pid),
      [1],
    );
  } finally {
    cache.close();
    assert.equal(cache.keptFds(), 0);
    f.close();
  }
});

test('fake /proc: a young process has its cmdline read again (fork, then exec)', () => {
  const f = new FakeProcFs(1000);
  const cache = new ProcCache({ root: f.root, schedstat: true });
  try {
    // Started 0.5 s ago, still the parent's image.
    f.put({ pid: 9, comm: 'bash', ppid: 1, start: 99_950, cmdline: ['bash'], cgroup: '/', uid: 0 });
    assert.deepEqual(proc(readProcs(cache), 9)!.cmdline, ['bash']);
    f.put({ pid: 9, comm: 'bash', ppid: 1, start: 99_950, cmdline: ['make', '-j2'], threads: { 9: [5, 1] } });
    f.uptime(1001);
    assert.deepEqual(proc(readProcs(cache), 9)!.cmdline, ['make', '-j2'], 'still young: read again');
    // 1.5 s old at the last read, so read once more; 3.5 s old now: settled after this one.
    f.put({ pid: 9, comm: 'bash', ppid: 1, start: 99_950, cmdline: ['make: title'], threads: { 9: [6, 1] } });
    f.uptime(1003);
    assert.deepEqual(proc(readProcs(cache), 9)!.cmdline, ['make: title']);
    f.put({ pid: 9, comm: 'bash', ppid: 1, start: 99_950, cmdline: ['not read'], threads: { 9: [7, 1] } });
    f.uptime(1004);
    assert.deepEqual(proc(readProcs(cache), 9)!.cmdline, ['make: title'], 'settled: not read every tick');
  } finally {
    cache.close();
    f.close();
  }
});

test('fake /proc: exec (comm change) re-reads cmdline and uid of an old process', () => {
  const f = new FakeProcFs(1000);
  const cache = new ProcCache({ root: f.root, schedstat: true });
  try {
    f.put({ pid: 9, comm: 'sh', ppid: 1, start: 100, cmdline: ['sh'], cgroup: '/', uid: 1000, threads: { 9: [5, 1] } });
    assert.equal(proc(readProcs(cache), 9)!.uid, 1000);
    f.put({ pid: 9, comm: 'passwd', ppid: 1, start: 100, cmdline: ['passwd'], uid: 0, threads: { 9: [9, 1] } });
    const p = proc(readProcs(cache), 9)!;
    assert.deepEqual([p.comm, p.cmdline, p.uid], ['passwd', ['passwd'], 0]);
  } finally {
    cache.close();
    f.close();
  }
});

test('fake /proc: a kernel thread renamed by its workqueue is not re-read as if it had exec\'d', () => {
  const f = new FakeProcFs(1000);
  const cache = new ProcCache({ root: f.root, schedstat: true });
  try {
    f.put({ pid: 2, comm: 'kthreadd', ppid: 0, start: 1, cmdline: [], cgroup: '/', uid: 0, threads: { 2: [10, 1] } });
    f.put({ pid: 50, comm: 'kworker/0:1-events', ppid: 2, start: 100, cmdline: [], cgroup: '/', uid: 0, threads: { 50: [10, 1] } });
    f.put({ pid: 51, comm: 'sh', ppid: 1, start: 100, cmdline: ['sh'], cgroup: '/', uid: 0, threads: { 51: [10, 1] } });
    readProcs(cache);
    // Both renamed; the files behind them changed too (a marker the kernel would never show for
    // a kernel thread): only the user process's are read again.
    f.put({ pid: 50, comm: 'kworker/0:1-mm_percpu_wq', ppid: 2, start: 100, cmdline: ['marker'], threads: { 50: [20, 1] } });
    f.put({ pid: 51, comm: 'make', ppid: 1, start: 100, cmdline: ['make'], threads: { 51: [20, 1] } });
    const r = readProcs(cache);
    assert.equal(proc(r, 50)!.comm, 'kworker/0:1-mm_percpu_wq', 'the new name is shown');
    assert.deepEqual(proc(r, 50)!.cmdline, [], 'no static re-read for a kernel thread');
    assert.deepEqual(proc(r, 51)!.cmdline, ['make'], 'a user process is re-read');
  } finally {
    cache.close();
    f.close();
  }
});

test('fake /proc: a process that did not run still gets its new parent when the old one exits', () => {
  const f = new FakeProcFs(1000);
  const cache = new ProcCache({ root: f.root, schedstat: true });
  try {
    f.put({ pid: 1, comm: 'init', ppid: 0, start: 1, cmdline: ['init'], cgroup: '/', uid: 0, threads: { 1: [100, 1] } });
    f.put({ pid: 20, comm: 'parent', ppid: 1, start: 100, cmdline: ['parent'], cgroup: '/', uid: 0, threads: { 20: [100, 1] } });
    f.put({ pid: 21, comm: 'child', ppid: 20, start: 100, cmdline: ['child'], cgroup: '/', uid: 0, threads: { 21: [100, 1] } });
    assert.equal(proc(readProcs(cache), 21)!.ppid, 20);
    // The parent exits; the child is reparented to init without running (its schedstat is unchanged).
    f.remove(20);
    f.put({ pid: 21, comm: 'child', ppid: 1, start: 100 });
    assert.equal(proc(readProcs(cache), 21)!.ppid, 1);
  } finally {
    cache.close();
    f.close();
  }
});

test('fake /proc: with a RanHint, processes that did not run are not read; runnable ones and the periodic refresh are', () => {
  const f = new FakeProcFs(1000);
  const cache = new ProcCache({ root: f.root, schedstat: true });
  try {
    // Sleepers on as many consecutive pids as the refresh period (exactly one of them is due at
    // each tick), and after them the one the hint says ran.
    const pids = Array.from({ length: STAT_REFRESH_TICKS + 1 }, (_, i) => 100 + i);
    const ran = pids[pids.length - 1];
    f.put({ pid: 1, comm: 'init', ppid: 0, start: 1, cmdline: ['init'], cgroup: '/', uid: 0, threads: { 1: [100, 1] } });
    for (const pid of pids) f.put({ pid, comm: 'sleeper', ppid: 1, start: 100, cmdline: ['s'], cgroup: '/', uid: 0, utime: 1, threads: { [pid]: [100, 1] } });
    f.put({ pid: 200, comm: 'spinner', state: 'R', ppid: 1, start: 100, cmdline: ['x'], cgroup: '/', uid: 0, utime: 1, threads: { 200: [100, 1] } });
    readProcs(cache); // first sight: everything read
    // Every process's CPU time moves, but the hint says only `ran` ran.
    for (const pid of pids) f.put({ pid, comm: 'sleeper', ppid: 1, start: 100, utime: 2, threads: { [pid]: [200, 1] } });
    f.put({ pid: 200, comm: 'spinner', state: 'R', ppid: 1, start: 100, utime: 2, threads: { 200: [200, 1] } });
    const seen: number[] = [];
    const r = readProcs(cache, { ran: (pid) => (seen.push(pid), pid === ran || pid === 1) });
    const utime = (pid: number) => proc(r, pid)!.utimeTicks;
    assert.equal(utime(ran), 2, 'the hint says it ran: read');
    assert.equal(utime(200), 2, 'runnable at the last read: read whatever the hint says');
    // One sleeper is due for its periodic refresh this tick (RSS, which changes without running).
    const refreshed = pids.filter((pid) => pid !== ran && utime(pid) === 2);
    assert.equal(refreshed.length, 1, `one periodic refresh among the sleepers, got ${refreshed}`);
    const skipped = pids.filter((pid) => pid !== ran && utime(pid) === 1);
    assert.equal(skipped.length, STAT_REFRESH_TICKS - 1, 'the rest were not read: their old values stay');
    assert.ok(!seen.includes(200), 'a runnable process does not ask the hint');
    // Without a hint the next tick reads them all again.
    assert.ok(pids.every((pid) => proc(readProcs(cache), pid)!.utimeTicks === 2));
    // A reused pid is a new process, which ran: the hint says so and it is read afresh.
    f.put({ pid: 105, comm: 'newcomer', ppid: 1, start: 90_000, cmdline: ['n'], utime: 0, threads: { 105: [1, 1] } });
    const r2 = readProcs(cache, { ran: (pid) => pid === 105 });
    assert.equal(proc(r2, 105)!.comm, 'newcomer');
  } finally {
    cache.close();
    f.close();
  }
});

for (const maxFds of [undefined, 0]) {
  test(`fake /proc: threads come and go, the process's schedstat sums never drop (${maxFds === 0 ? 'no kept fds' : 'kept fds'})`, () => {
    const f = new FakeProcFs(1000);
    const cache = new ProcCache({ root: f.root, schedstat: true, maxFds });
    try {
      const put = (threads: Record<number, [number, number]>) => f.put({ pid: 50, comm: 'java', ppid: 1, start: 100, cmdline: ['java'], cgroup: '/', uid: 0, threads });
      put({ 50: [1000, 100], 51: [2000, 200], 52: [3000, 300] });
      let p = proc(readProcs(cache), 50)!;
      assert.equal(p.threads, 3);
      assert.deepEqual([p.schedRunNs, p.schedWaitNs], [6000, 600]);
      // 52 exits; 51 runs 500 ns more and waits 50 ns more.
      put({ 50: [1000, 100], 51: [2500, 250] });
      p = proc(readProcs(cache), 50)!;
      assert.deepEqual([p.schedRunNs, p.schedWaitNs], [6500, 650]);
      // 51 exits and 53 starts (same count); 53 has run 40 and waited 4 since it started.
      put({ 50: [1100, 110], 53: [40, 4] });
      p = proc(readProcs(cache), 50)!;
      if (maxFds === 0) assert.deepEqual([p.schedRunNs, p.schedWaitNs], [6640, 664]);
      // With kept fds a deleted regular file stays readable (unlike /proc, where the read
      // fails), so this fake cannot show the swap; the leader's progress still counts.
      else assert.ok(p.schedRunNs! >= 6600 && p.schedWaitNs! >= 660, `${p.schedRunNs} ${p.schedWaitNs}`);
      assert.equal(cache.keptFds() > 0, maxFds !== 0);
    } finally {
      cache.close();
      assert.equal(cache.keptFds(), 0);
      f.close();
    }
  });
}

test('fake /proc: with schedstat off no schedstat file is read or kept; back on, sums start afresh', () => {
  const f = new FakeProcFs(1000);
  const cache = new ProcCache({ root: f.root, schedstat: true });
  const schedFds = () => openFiles((p) => p.startsWith(f.root) && p.endsWith('/schedstat'));
  try {
    f.put({ pid: 1, comm: 'init', ppid: 0, start: 1, cmdline: ['init'], cgroup: '/', uid: 0, threads: { 1: [100, 10] } });
    f.put({ pid: 42, comm: 'mt', ppid: 1, start: 100, cmdline: ['mt'], cgroup: '/', uid: 0, threads: { 42: [100, 10], 43: [200, 20] } });
    let r = readProcs(cache);
    assert.deepEqual([proc(r, 1)!.schedWaitNs, proc(r, 42)!.schedWaitNs], [10, 30]);
    assert.equal(schedFds(), 3, 'one kept schedstat per thread');
    // Off: the kept files are closed, nothing is read (unreadable files would not matter), and
    // the readings carry no sums.
    for (const tid of ['1', '42', '43']) fs.writeFileSync(path.join(f.root, tid === '43' ? '42' : tid, 'task', tid, 'schedstat'), 'garbage');
    f.put({ pid: 7, comm: 'new', ppid: 1, start: 500, cmdline: ['new'], cgroup: '/', uid: 0, threads: { 7: [5, 5] } });
    const prev = readProcs(cache, null, null, false);
    assert.equal(schedFds(), 0, 'schedstat files closed');
    for (const p of prev.procs) assert.deepEqual([p.schedRunNs, p.schedWaitNs], [undefined, undefined], `pid ${p.pid}`);
    assert.deepEqual(prev.procs.map((p) => p.pid).sort((a, b) => a - b), [1, 7, 42]);
    // On again: lifetime totals, which are not taken as the interval's wait...
    f.put({ pid: 1, comm: 'init', ppid: 0, start: 1, threads: { 1: [100, 500] } });
    f.put({ pid: 42, comm: 'mt', ppid: 1, start: 100, threads: { 42: [100, 1000], 43: [200, 2000] } });
    f.put({ pid: 7, comm: 'new', ppid: 1, start: 500, threads: { 7: [5, 5] } });
    r = readProcs(cache);
    assert.deepEqual([proc(r, 1)!.schedWaitNs, proc(r, 42)!.schedWaitNs, proc(r, 7)!.schedWaitNs], [500, 3000, 5]);
    const meta = { clkTck: r.clkTck, pageSize: r.pageSize, uptimeS: 1000 };
    for (const p of buildProcs(r.procs, prev.procs, 1000, meta)) assert.equal(p.runqWaitMsPerSec, null, `pid ${p.pid}: no rate from a first reading`);
    // ...and from the next reading on, rates of the progress since.
    f.put({ pid: 42, comm: 'mt', ppid: 1, start: 100, threads: { 42: [100, 1000 + 2e6], 43: [200, 2000 + 1e6] } });
    const r2 = readProcs(cache);
    assert.equal(buildProcs(r2.procs, r.procs, 1000, meta).find((p) => p.pid === 42)!.runqWaitMsPerSec, 3);
  } finally {
    cache.close();
    f.close();
  }
});

test('fake /proc: the per-tick thread-read budget serves the stalest process first', () => {
  const f = new FakeProcFs(1000);
  const cache = new ProcCache({ root: f.root, schedstat: true, maxThreadReads: 3 });
  try {
    const put = (pid: number, run: number) => f.put({ pid, comm: 'mt', ppid: 1, start: 100, cmdline: ['mt'], cgroup: '/', uid: 0, threads: { [pid]: [run, 0], [pid + 1]: [run, 0], [pid + 2]: [run, 0] } });
    put(100, 10);
    put(200, 10);
    let r = readProcs(cache);
    assert.equal(proc(r, 100)!.schedRunNs, 30);
    assert.equal(proc(r, 200)!.schedRunNs, undefined, 'not read yet: no value rather than a wrong one');
    put(100, 20);
    put(200, 20);
    r = readProcs(cache);
    assert.equal(proc(r, 100)!.schedRunNs, 30, 'skipped this tick: the old sum');
    assert.equal(proc(r, 200)!.schedRunNs, 60);
    r = readProcs(cache);
    assert.equal(proc(r, 100)!.schedRunNs, 60, 'its turn again: the missed progress is counted');
  } finally {
    cache.close();
    f.close();
  }
});

// ---- the reader on the real /proc --------------------------------------------------------------

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => Number(process.hrtime.bigint()) / 1e6;

function exited(c: ChildProcess): Promise<void> {
  return c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', () => r()));
}

// Reads until `ok` holds for the process `pid` (a fresh child may not have exec'd yet).
async function waitFor(cache: ProcCache, pid: number, ok: (p: ProcRaw) => boolean, ms = 5000): Promise<ProcRaw> {
  const end = Date.now() + ms;
  for (;;) {
    const p = proc(readProcs(cache), pid);
    if (p && ok(p)) return p;
    if (Date.now() > end) assert.fail(`process ${pid} never matched: last seen ${JSON.stringify(p)}`);
    await sleep(20);
  }
}

const spinCode = (ms: number) => `const end = Date.now() + ${ms}; while (Date.now() < end) {}`;

test('real /proc: a spinning child shows ~100% of one CPU (or waits for the rest)', async (t) => {
  const cache = new ProcCache();
  const child = spawn(process.execPath, ['-e', spinCode(3000)], { stdio: 'ignore' });
  try {
    await waitFor(cache, child.pid!, (p) => p.utimeTicks > 0);
    await sleep(200); // past node's start-up, into the loop
    const t1 = now();
    const r1 = readProcs(cache);
    await sleep(1000);
    const t2 = now();
    const r2 = readProcs(cache);
    const snap = buildProcs(r2.procs, r1.procs, t2 - t1, r2).find((p) => p.pid === child.pid)!;
    assert.ok(snap, 'spinner listed');
    // Other tests share this machine's CPUs: a spinner is always runnable, so it is on a CPU or
    // waiting for one, and the two add up to the whole interval. With a CPU to spare (little
    // waiting) it simply shows 80..105%.
    const wait = snap.runqWaitMsPerSec! / 10; // ms/s -> % of the interval
    const msg = `spinner at ${snap.cpuPct?.toFixed(1)}% of a CPU, waiting ${wait.toFixed(1)}%`;
    assert.ok(snap.cpuPct! + wait >= 80 && snap.cpuPct! + wait <= 110, msg);
    if (wait < 5) assert.ok(snap.cpuPct! >= 80 && snap.cpuPct! <= 105, msg);
    assert.ok(snap.cpuPct! <= 105, msg);
    t.diagnostic(msg);
    assert.ok(snap.userPct! > snap.sysPct!, `a busy loop is user time: user ${snap.userPct}% sys ${snap.sysPct}%`);
    assert.ok(snap.threads > 1, 'node has helper threads');
    // schedstat counts the same CPU time in ns (summed over the threads); the two must agree.
    const a = proc(r1, child.pid!)!;
    const b = proc(r2, child.pid!)!;
    const schedPct = ((b.schedRunNs! - a.schedRunNs!) / 1e6 / (t2 - t1)) * 100;
    assert.ok(Math.abs(schedPct - snap.cpuPct!) < 6, `schedstat says ${schedPct.toFixed(1)}%, stat ${snap.cpuPct}%`);
  } finally {
    child.kill();
    await exited(child);
    cache.close();
  }
});

test('real /proc: a sleeping child: state S, our pid as parent, its cmdline, cgroup and uid', async () => {
  const cache = new ProcCache();
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    const p = await waitFor(cache, child.pid!, (x) => x.comm === 'sleep' && x.cmdline[0] === 'sleep' && x.state === 'S');
    assert.equal(p.ppid, process.pid);
    assert.deepEqual(p.cmdline, ['sleep', '30']);
    assert.equal(p.uid, process.geteuid!());
    assert.equal(p.cgroup, parseCgroup(fs.readFileSync('/proc/self/cgroup', 'utf8')), 'a child starts in its parent cgroup');
    assert.equal(p.threads, 1);
    assert.ok(p.rssPages > 0);
    const r = readProcs(cache);
    const s = buildProcs(r.procs, undefined, 0, { ...r, ts: Date.now() }).find((x) => x.pid === child.pid)!;
    assert.ok(s.ageS >= 0 && s.ageS < 10, `age ${s.ageS} s`);
    assert.ok(Math.abs(s.startMs! - Date.now()) < 10_000);
    assert.ok(proc(r, process.pid), 'this process is listed');
    assert.ok(!r.procs.some((x) => x.pid !== process.pid && fs.existsSync(`/proc/${process.pid}/task/${x.pid}`)), 'threads are not listed as processes');
  } finally {
    child.kill();
    await exited(child);
    cache.close();
  }
});

test('real /proc: odd argv (newline, ESC, invalid UTF-8) comes back byte for byte', async () => {
  const cache = new ProcCache();
  // node cannot pass non-UTF-8 bytes in argv; printf can. sh execs node, keeping the pid.
  const script = String.raw`exec "$0" -e "setTimeout(() => {}, 30000)" -- "$(printf 'a\377b\nc\033d\303\251\355\240\200e')"`;
  const child = spawn('/bin/sh', ['-c', script, process.execPath], { stdio: 'ignore' });
  try {
    const p = await waitFor(cache, child.pid!, (x) => x.cmdline.length === 5);
    const expected = B([0x61, 0xff, 0x62, 0x0a, 0x63, 0x1b, 0x64, 0xc3, 0xa9, 0xed, 0xa0, 0x80, 0x65]);
    assert.deepEqual(encodeRaw(p.cmdline[4]), expected);
    assert.equal(p.cmdline[4], 'a\udcffb\nc\x1bd\u00e9\udced\udca0\udc80e');
    const back = JSON.parse(JSON.stringify(p)) as ProcRaw;
    assert.deepEqual(encodeRaw(back.cmdline[4]), expected, 'survives a recording');
    assert.deepEqual(back.cmdline.slice(0, 4), [process.execPath, '-e', 'setTimeout(() => {}, 30000)', '--']);
  } finally {
    child.kill();
    await exited(child);
    cache.close();
  }
});

test('real /proc: two spinners pinned to one CPU wait for it, as schedstat run-queue wait', async (t) => {
  if (!fs.existsSync('/usr/bin/taskset') && !fs.existsSync('/bin/taskset')) {
    t.skip('taskset not installed');
    return;
  }
  const cache = new ProcCache();
  const kids = [0, 1].map(() => spawn('taskset', ['-c', '0', process.execPath, '-e', spinCode(2500)], { stdio: 'ignore' }));
  try {
    for (const k of kids) await waitFor(cache, k.pid!, (p) => p.cmdline[0] === process.execPath && p.utimeTicks > 0);
    await sleep(200);
    const t1 = now();
    const r1 = readProcs(cache);
    await sleep(800);
    const t2 = now();
    const r2 = readProcs(cache);
    const snaps = buildProcs(r2.procs, r1.procs, t2 - t1, r2);
    for (const k of kids) {
      const s = snaps.find((p) => p.pid === k.pid)!;
      const a = proc(r1, k.pid!)!;
      const b = proc(r2, k.pid!)!;
      // Always runnable: every moment is spent either running or waiting for the CPU.
      const runMs = (b.schedRunNs! - a.schedRunNs!) / 1e6;
      const waitMs = (b.schedWaitNs! - a.schedWaitNs!) / 1e6;
      const busy = (runMs + waitMs) / (t2 - t1);
      assert.ok(busy > 0.85 && busy < 1.1, `pid ${k.pid}: run ${runMs.toFixed(0)} + wait ${waitMs.toFixed(0)} ms in ${(t2 - t1).toFixed(0)} ms`);
      // Sharing one CPU, each waits about half the time (more if anything else runs there).
      assert.ok(s.runqWaitMsPerSec! > 250, `pid ${k.pid} waited only ${s.runqWaitMsPerSec} ms/s`);
      assert.ok(s.cpuPct! < 75, `pid ${k.pid} had ${s.cpuPct}% of the one CPU it shares`);
    }
  } finally {
    for (const k of kids) k.kill();
    await Promise.all(kids.map(exited));
    cache.close();
  }
});

test('real /proc: processes starting and exiting during reads are handled, no fd leaks', async () => {
  const fdsBefore = fs.readdirSync('/proc/self/fd').length;
  const cache = new ProcCache();
  const kids: ChildProcess[] = [];
  for (let i = 0; i < 20; i++) {
    for (let k = 0; k < 5; k++) kids.push(spawn('true', [], { stdio: 'ignore' }));
    const r = readProcs(cache);
    for (const p of r.procs) assert.ok(p.pid > 0 && p.state.length === 1 && p.startTimeTicks >= 0, JSON.stringify(p));
    await sleep(10);
  }
  await Promise.all(kids.map(exited));
  const r = readProcs(cache);
  for (const k of kids) assert.equal(proc(r, k.pid!), undefined, `exited child ${k.pid} still listed`);
  // One stat per process, one schedstat per thread, /proc/uptime; threads may have come and gone
  // since the last read, hence the slack.
  const bound = r.procs.reduce((n, p) => n + 1 + p.threads, 1);
  assert.ok(cache.keptFds() > r.procs.length && cache.keptFds() <= bound + 20, `${cache.keptFds()} fds kept for ${r.procs.length} processes, ${bound - 1 - r.procs.length} threads`);
  cache.close();
  assert.equal(fs.readdirSync('/proc/self/fd').length, fdsBefore, 'every fd closed');
});

test('readSystem: load averages from the kept-open /proc/loadavg are what the kernel reports, tick after tick', () => {
  for (let i = 0; i < 3; i++) {
    const before = os.loadavg();
    const s = readSystem();
    const after = os.loadavg();
    // The kernel updates them every 5 s: equal to one of the readings around ours.
    assert.ok([before, after].some((l) => l.every((v, j) => v === s.loadavg[j])), `${s.loadavg} vs ${before} / ${after}`);
    assert.ok(s.ncpu >= 1 && s.uptimeS > 0);
    assert.equal(readSystem(1234.5).uptimeS, 1234.5, 'the uptime the caller just read is taken as it is');
  }
});

test('fake /proc: an unchanged process-fork count reuses the last listing, a changed one lists again', () => {
  const f = new FakeProcFs(1000);
  const cache = new ProcCache({ root: f.root, schedstat: true });
  const pids = (r: ProcsRaw) => r.procs.map((p) => p.pid).sort((a, b) => a - b);
  try {
    f.put({ pid: 1, comm: 'init', ppid: 0, start: 1 });
    f.put({ pid: 42, comm: 'app', ppid: 1, start: 50_000 });
    assert.deepEqual(pids(readProcs(cache, null, 7)), [1, 42]); // tick 1: the first listing
    assert.equal(cache.listingsReused, 0);
    // A new directory while the count stays: the listing is reused, so it is not seen yet...
    f.put({ pid: 50, comm: 'new', ppid: 1, start: 60_000 });
    assert.deepEqual(pids(readProcs(cache, null, 7)), [1, 42]);
    assert.equal(cache.listingsReused, 1);
    // ...and a count that moved, or none at all, lists /proc again. (A process gone from a
    // reused listing is dropped when its kept-open files fail to read: real /proc only, see the
    // BPF test in procs-hint.)
    f.remove(42);
    assert.deepEqual(pids(readProcs(cache, null, 8)), [1, 50]);
    f.put({ pid: 51, comm: 'new2', ppid: 1, start: 61_000 });
    assert.deepEqual(pids(readProcs(cache, null, null)), [1, 50, 51]);
    assert.equal(cache.listingsReused, 1);
    // Every LISTING_REFRESH_TICKS ticks the directory is listed whatever the count says.
    f.put({ pid: 52, comm: 'new3', ppid: 1, start: 62_000 });
    let tick = 4;
    assert.deepEqual(pids(readProcs(cache, null, 9)), [1, 50, 51, 52]); // tick 5: the count moved
    const reusedBefore = cache.listingsReused;
    f.put({ pid: 53, comm: 'new4', ppid: 1, start: 63_000 });
    for (tick = 6; tick % LISTING_REFRESH_TICKS !== 0; tick++) assert.deepEqual(pids(readProcs(cache, null, 9)), [1, 50, 51, 52], `tick ${tick}`);
    assert.equal(cache.listingsReused, reusedBefore + (tick - 6));
    assert.deepEqual(pids(readProcs(cache, null, 9)), [1, 50, 51, 52, 53], `tick ${tick}: the periodic listing`);
  } finally {
    cache.close();
    f.close();
  }
});

test('parseCpuBytes: the first line of /proc/stat read as bytes gives what the text gives', () => {
  const real = fs.readFileSync('/proc/stat');
  // The same line read as text: "cpu" and then the fields of proc(5) in order.
  const [user, nice, system, idle, iowait, irq, softirq, steal] = real.toString('latin1').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  assert.deepEqual(parseCpuBytes(real, real.length), { user, nice, system, idle, iowait, irq, softirq, steal });
  const line = Buffer.from('cpu  153863 79 55768 3106780 3766 0 618 60 0 0\ncpu0 1 2 3 4\n');
  assert.deepEqual(parseCpuBytes(line, line.length), { user: 153863, nice: 79, system: 55768, idle: 3106780, iowait: 3766, irq: 0, softirq: 618, steal: 60 });
  // Old kernels print fewer fields: the missing ones are 0. Only a read cut short keeps them out.
  const old = Buffer.from('cpu  10 20 30 40\n');
  assert.deepEqual(parseCpuBytes(old, old.length), { user: 10, nice: 20, system: 30, idle: 40, iowait: 0, irq: 0, softirq: 0, steal: 0 });
  assert.equal(parseCpuBytes(line, 12), null, 'fewer than four numbers');
  const other = Buffer.from('intr 1 2 3 4 5\n');
  assert.equal(parseCpuBytes(other, other.length), null, 'a file that does not start with the cpu line');
});

test('parseNumbers: decimals are the numbers Number() reads from the same text', () => {
  for (const text of ['0.27 1.50 12.05 1/123 4567', '0.00 0.01 0.99', '16906.96 33120.51', '3 4.125 99999999.999']) {
    const out: number[] = [];
    const b = Buffer.from(text);
    const n = parseNumbers(b, 0, b.length, out, 3);
    const want = text.split(' ').slice(0, 3).filter((w) => /^[\d.]+$/.test(w)).map(Number);
    assert.equal(n, want.length, text);
    assert.deepEqual(out.slice(0, n), want, text);
  }
  const out: number[] = [];
  assert.equal(parseNumbers(Buffer.from('12 x 3'), 0, 6, out, 3), 1, 'a word that is not a number ends the list');
});

test('selfRssBytes: this process resident memory from /proc/self/statm, as Node counts it', () => {
  const ours = selfRssBytes(clockInfo().pageSize);
  const node = process.memoryUsage.rss();
  assert.ok(Math.abs(ours - node) < node * 0.1, `${ours} vs ${node}`);
  const before = selfRssBytes(clockInfo().pageSize);
  const big = Buffer.alloc(64 << 20, 1); // touched: 64 MiB more resident
  const after = selfRssBytes(clockInfo().pageSize);
  assert.ok(after - before > 60 << 20, `+${after - before} bytes after touching 64 MiB (the kept file is read afresh)`);
  big.fill(2);
});
