/**
 * What the UI keeps of snapshots once they are no longer on screen (pastSnapshot, then
 * slimSnapshot beyond FULL_HISTORY): less memory, and not one character less on screen. Checked
 * with the recorded fixture (short-lived processes, off-CPU stacks, I/O) against a UI given the
 * same snapshots whole.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testScreen } from '../helpers/screen';
import { Ui } from '../../screens/ui';
import { FULL_HISTORY, pastSnapshot, Snapshot } from '../../src/model/snapshot';
import { fixtureSnapshots as fixture } from '../helpers/fixture';

test('pastSnapshot: drops the per-process lists only the snapshot on screen uses, keeps exits, stacks and totals; input untouched', () => {
  const { snaps } = fixture();
  const s = snaps[snaps.length - 1];
  assert.equal(s.runqlat.status, 'ok');
  assert.equal(s.cachestat.status, 'ok');
  assert.equal(s.procevents.status, 'ok');
  assert.equal(s.offcputime.status, 'ok');
  if (s.runqlat.status !== 'ok' || s.cachestat.status !== 'ok' || s.procevents.status !== 'ok' || s.offcputime.status !== 'ok' || s.biolatency.status !== 'ok') return;
  assert.ok(s.procs.length > 0 && s.runqlat.data.procs.length > 0 && s.cachestat.data.procs.length > 0, 'the fixture has per-process lists');
  const before = structuredClone(s);
  const p = pastSnapshot(s);
  assert.deepEqual(s, before, 'the input is not changed');
  assert.equal(p.procs.length, 0);
  for (const k of ['runqlat', 'biolatency', 'cachestat'] as const) {
    const probe = p[k];
    assert.equal(probe.status, 'ok');
    if (probe.status === 'ok') {
      assert.equal(probe.data.procs.length, 0, `${k} procs`);
      // Everything else of the probe is the same object.
      for (const [f, v] of Object.entries(probe.data)) if (f !== 'procs') assert.equal(v, (s[k].status === 'ok' ? (s[k].data as unknown as Record<string, unknown>) : {})[f], `${k}.${f}`);
    }
  }
  assert.equal(p.procevents, s.procevents, 'exits and feed stay');
  assert.equal(p.offcputime, s.offcputime, 'off-CPU processes and stacks stay');
  assert.equal(p.system, s.system);
  assert.equal(p.cost.probes.length, 0, 'per-program cost rows go');
  assert.deepEqual({ ...p.cost, probes: s.cost.probes }, s.cost, 'cost totals stay');
  assert.equal(p.ts, s.ts);
  assert.equal(p.intervalMs, s.intervalMs);
});

/** The fixture's snapshots over and over, `n` in all, each later by its place (every `ts` moved). */
function longer(snaps: Snapshot[], n: number): Snapshot[] {
  const span = snaps[snaps.length - 1].ts - snaps[0].ts + snaps[1].ts - snaps[0].ts;
  const shift = (v: unknown, dt: number): unknown => {
    if (Array.isArray(v)) return v.map((x) => shift(x, dt));
    if (typeof v !== 'object' || v === null) return v;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === 'ts' && typeof x === 'number' ? x + dt : shift(x, dt)]));
  };
  return Array.from({ length: n }, (_, i) => shift(snaps[i % snaps.length], Math.floor(i / snaps.length) * span) as Snapshot);
}

test('the UI shows the same with its past snapshots trimmed as with them whole: overview, feed, process views', () => {
  const { host, intervalMs, snaps: recorded } = fixture();
  // Past FULL_HISTORY, so the oldest are slimmed too.
  const snaps = longer(recorded, FULL_HISTORY + 8);
  const last = snaps[snaps.length - 1];
  assert.equal(last.procevents.status, 'ok');
  assert.equal(last.offcputime.status, 'ok');
  if (last.procevents.status !== 'ok' || last.offcputime.status !== 'ok') return;
  // The parent with the most exits over the recording, and the process with the most off-CPU stacks.
  const exitsBy = new Map<number, number>();
  const stacksBy = new Map<number, number>();
  for (const s of snaps) {
    if (s.procevents.status === 'ok') for (const x of s.procevents.data.exited) exitsBy.set(x.ppid, (exitsBy.get(x.ppid) ?? 0) + 1);
    if (s.offcputime.status === 'ok') for (const st of s.offcputime.data.stacks) stacksBy.set(st.pid, (stacksBy.get(st.pid) ?? 0) + 1);
  }
  const most = (m: Map<number, number>) => [...m.entries()].sort((a, b) => b[1] - a[1])[0];
  const [parent, exits] = most(exitsBy);
  const [blocked, stacks] = most(stacksBy);
  assert.ok(exits >= 10, `a parent with many exits (${exits})`);
  assert.ok(stacks >= 2, `a process with off-CPU stacks (${stacks})`);

  const trimmed = testScreen(200, 60);
  const whole = testScreen(200, 60);
  const opts = { host, intervalMs, color: true, onQuit: () => {}, loadInfo: () => [], log: () => [] };
  const a = new Ui({ ...opts, screen: trimmed.screen });
  const b = new Ui({ ...opts, screen: whole.screen });
  try {
    for (const s of snaps) a.update(s); // every snapshot but the last is trimmed as it is replaced
    b.setData(last, snaps); // the same snapshots, whole
    const same = (what: string) => {
      a.draw();
      b.draw();
      assert.deepEqual(trimmed.text(), whole.text(), what);
    };
    same('overview');
    const text = trimmed.text().join('\n');
    assert.match(text, / X /, 'recently exited processes are in the table');
    a.run('feed');
    b.run('feed');
    same('exec/exit feed');
    a.run('feed');
    b.run('feed');
    for (let i = 0; i < 5; i++) {
      a.run('nextPanel');
      b.run('nextPanel');
      a.run('heatmap');
      b.run('heatmap');
      same(`heatmap of panel ${i + 1}`);
    }
    a.run('probes');
    b.run('probes');
    same('probe view');
    a.run('back');
    b.run('back');
    for (const pid of [parent, blocked]) {
      a.openProcess(pid);
      b.openProcess(pid);
      same(`process view of ${pid}`);
      a.run('expand');
      b.run('expand');
      same(`process view of ${pid}, all frames`);
      a.run('back');
      b.run('back');
    }
    // The children section counts the exits of the window it states (FULL_HISTORY ticks), not
    // of the whole history, whose older snapshots have none left.
    const window = snaps.slice(-FULL_HISTORY);
    const inWindow = window.reduce((n, s) => n + (s.procevents.status === 'ok' ? s.procevents.data.exited.filter((x) => x.ppid === parent).length : 0), 0);
    const spanS = Math.round((window[window.length - 1].ts - window[0].ts + last.intervalMs) / 1000);
    a.openProcess(parent);
    assert.match(trimmed.text().join('\n'), new RegExp(`exited in the last ${spanS} s: ${inWindow}\\b`), 'the children section: exits and span of the window');
  } finally {
    trimmed.destroy();
    whole.destroy();
  }
});

test('paused for longer than FULL_HISTORY ticks: the paused snapshot\'s process views still count the exits and stacks of the ticks they state', () => {
  const { host, intervalMs, snaps: recorded } = fixture();
  const snaps = longer(recorded, 3 * FULL_HISTORY);
  const at = FULL_HISTORY + 4; // paused on this one, with a whole window behind it
  const shown = snaps[at];
  const exitsBy = new Map<number, number>();
  const stacksBy = new Map<number, number>();
  for (const s of snaps.slice(at - FULL_HISTORY + 1, at + 1)) {
    if (s.procevents.status === 'ok') for (const x of s.procevents.data.exited) exitsBy.set(x.ppid, (exitsBy.get(x.ppid) ?? 0) + 1);
    if (s.offcputime.status === 'ok') for (const st of s.offcputime.data.stacks) stacksBy.set(st.pid, (stacksBy.get(st.pid) ?? 0) + 1);
  }
  const most = (m: Map<number, number>) => [...m.entries()].sort((a, b) => b[1] - a[1])[0];
  const [parent, exits] = most(exitsBy);
  const [blocked, stacks] = most(stacksBy);
  assert.ok(exits >= 10 && stacks >= 2, `the window has exits (${exits}) and stacks (${stacks})`);

  const paused = testScreen(200, 60);
  const whole = testScreen(200, 60);
  const opts = { host, intervalMs, color: false, onQuit: () => {}, loadInfo: () => [], log: () => [] };
  const a = new Ui({ ...opts, screen: paused.screen });
  const b = new Ui({ ...opts, screen: whole.screen });
  // The mode label and the footer's Space key are what a paused screen shows differently.
  const body = (t: { text(): string[] }) => t.text().map((l) => l.replace('PAUSED', 'live').replace('Space resume', 'Space pause').trimEnd());
  try {
    for (const s of snaps.slice(0, at + 1)) a.update(s);
    a.run('pause');
    for (const s of snaps.slice(at + 1)) a.update(s); // 2 × FULL_HISTORY more ticks arrive while paused
    assert.equal(a.current(), shown);
    b.setData(shown, snaps.slice(0, at + 1));
    for (const pid of [parent, blocked]) {
      a.openProcess(pid);
      b.openProcess(pid);
      assert.deepEqual(body(paused), body(whole), `process view of ${pid}`);
      a.run('expand');
      b.run('expand');
      assert.deepEqual(body(paused), body(whole), `process view of ${pid}, all frames`);
      a.run('back');
      b.run('back');
    }
    // Once resumed, what was kept whole for the pause is trimmed like the rest.
    a.run('pause');
    a.update(snaps[snaps.length - 1]);
    const kept = a['history'] as Snapshot[];
    const heavy = kept.slice(0, kept.length - FULL_HISTORY).filter((s) => s.procevents.status === 'ok' && s.procevents.data.exited.length > 0);
    assert.equal(heavy.length, 0, 'no snapshot beyond FULL_HISTORY keeps its exits after the pause');
  } finally {
    paused.destroy();
    whole.destroy();
  }
});
