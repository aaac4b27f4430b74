/**
 * Tick cost, measured from outside the app: loads every probe through the same Sampler as
 * probetop, holds N extra sleeping processes, and times sample() + buildSnapshot() over many
 * ticks. Prints one JSON object on stdout.
 *
 *   node dist/bench/tick.js --procs 1000 --ticks 20 --interval-ms 1000 --forkexec bench/.build/forkexec
 */
import { Sampler } from '../src/sampler';
import { buildSnapshot } from '../src/model/snapshot';
import { holdProcesses } from './lib/sys';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

async function main(): Promise<void> {
  const procs = Number(arg('procs', '1000'));
  const ticks = Number(arg('ticks', '20'));
  const intervalMs = Number(arg('interval-ms', '1000'));
  const release = await holdProcesses(arg('forkexec', 'bench/.build/forkexec'), procs);
  const sampler = new Sampler({});
  let result: object;
  try {
    sampler.start();
    const loaded = sampler.loadInfo.filter((l) => l.variant).map((l) => `${l.name}:${l.variant}`);
    const failed = sampler.loadInfo.filter((l) => !l.variant).map((l) => `${l.name}: ${l.reason}`);
    // Time each probe's read() inside sample(), by wrapping it on the loaded object (no change to src/).
    const readMs: Record<string, number[]> = {};
    for (const [name, probe] of sampler.probes()) {
      const read = probe.read.bind(probe);
      readMs[name] = [];
      probe.read = () => {
        const t = nowMs();
        try {
          return read();
        } finally {
          readMs[name].push(nowMs() - t);
        }
      };
    }
    let prev = sampler.sample();
    await sleep(intervalMs);
    // One untimed tick first: caches (static /proc fields, symbols) fill on the first pass.
    let cur = sampler.sample();
    buildSnapshot(cur, prev);
    prev = cur;
    for (const k of Object.keys(readMs)) readMs[k] = [];
    const sampleMs: number[] = [];
    const buildMs: number[] = [];
    let procCount = 0;
    for (let i = 0; i < ticks; i++) {
      await sleep(intervalMs);
      const t0 = nowMs();
      cur = sampler.sample();
      const t1 = nowMs();
      const snap = buildSnapshot(cur, prev);
      const t2 = nowMs();
      sampleMs.push(t1 - t0);
      buildMs.push(t2 - t1);
      procCount = snap.procs.length;
      prev = cur;
    }
    result = { procsExtra: procs, procsSeen: procCount, ticks, intervalMs, loaded, failed, sampleMs, buildMs, readMs };
  } finally {
    sampler.close();
    await release();
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`tick: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
