/**
 * `probetop replay FILE`: the same UI on a recording — Samples from the file instead of the
 * probes, through the same buildSnapshot and screens.
 */
import { buildSnapshot, Snapshot } from './model/snapshot';
import type { Recording } from './record/reader';
import { Ui, Player } from '../screens/ui';
import { HISTORY_TICKS } from '../screens/panels/types';

/** Snapshots of every tick of a recording (tick 0 has no interval; it is the baseline). */
export function replaySnapshots(rec: Recording): Snapshot[] {
  return rec.samples.map((s, i) => buildSnapshot(s, i > 0 ? rec.samples[i - 1] : undefined)).slice(1);
}

/** Parses "HH:MM:SS" (a wall-clock time on the recording's first day) or "+SECONDS". */
export function findTick(snaps: readonly Snapshot[], text: string): number | string {
  const t = text.trim();
  let target: number;
  if (/^\+\d+(\.\d+)?$/.test(t)) target = snaps[0].ts + Number(t.slice(1)) * 1000;
  else {
    const m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(t);
    if (!m) return `"${text}" is not HH:MM:SS or +SECONDS`;
    const d = new Date(snaps[0].ts);
    d.setHours(Number(m[1]), Number(m[2]), Number(m[3] ?? 0), 0);
    target = d.getTime();
  }
  if (target < snaps[0].ts - 1000 || target > snaps[snaps.length - 1].ts + 1000) return `${text} is outside the recording`;
  let best = 0;
  snaps.forEach((s, i) => {
    if (Math.abs(s.ts - target) < Math.abs(snaps[best].ts - target)) best = i;
  });
  return best;
}

/** Opens the replay UI; resolves with the exit code. */
export function runReplay(path: string, rec: Recording, color: boolean): Promise<number> {
  const snaps = replaySnapshots(rec);
  if (snaps.length === 0) {
    process.stderr.write(`probetop: ${path} has a single tick: nothing to replay (a tick is the difference of two samples)\n`);
    return Promise.resolve(2);
  }
  return new Promise((resolve) => {
    let i = 0;
    let paused = false;
    let timer: NodeJS.Timeout | undefined;
    let ui: Ui;
    const time = (ts: number) => new Date(ts).toTimeString().slice(0, 8);
    const show = () => ui.setData(snaps[i], snaps.slice(Math.max(0, i - HISTORY_TICKS), i + 1));
    const schedule = () => {
      if (timer) clearInterval(timer);
      timer = setInterval(() => {
        if (paused) return;
        if (i < snaps.length - 1) {
          i++;
          show();
        } else {
          paused = true;
          ui.message = rec.stoppedEarly ?? 'end of recording';
          show();
        }
      }, rec.header.intervalMs);
    };
    const player: Player = {
      togglePause() {
        paused = !paused;
        if (!paused && i >= snaps.length - 1) i = 0;
        show();
      },
      step(d) {
        paused = true;
        i = Math.max(0, Math.min(snaps.length - 1, i + d));
        show();
      },
      jumpTo(text) {
        const r = findTick(snaps, text);
        if (typeof r === 'string') return r;
        i = r;
        paused = true;
        show();
        return null;
      },
      label: () => `replay ${time(snaps[i].ts)} tick ${i + 1}/${snaps.length}${paused ? ' PAUSED' : ''}`,
    };
    const finish = (code: number) => {
      if (timer) clearInterval(timer);
      ui.destroy();
      for (const [s, h] of handlers) process.off(s, h);
      if (rec.stoppedEarly) process.stderr.write(`probetop: ${path}: ${rec.stoppedEarly}\n`);
      resolve(code);
    };
    const handlers: [string, () => void][] = [
      ['SIGINT', () => finish(130)],
      ['SIGTERM', () => finish(143)],
      ['SIGHUP', () => finish(129)],
    ];
    for (const [s, h] of handlers) process.on(s, h);
    ui = new Ui({
      host: rec.header.host,
      intervalMs: rec.header.intervalMs,
      color,
      onQuit: () => finish(0),
      loadInfo: () =>
        Object.entries(rec.header.variants).map(([name, v]) => ({
          name: name as never,
          ...(v.startsWith('unavailable') ? { reason: v } : { variant: v }),
          attempts: [],
        })),
      log: () => [],
      player,
    });
    if (rec.stoppedEarly) ui.message = rec.stoppedEarly;
    show();
    schedule();
  });
}
