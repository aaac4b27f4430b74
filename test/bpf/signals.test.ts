/**
 * Probes load while signals rain on the process. The verifier gives up with EAGAIN whenever a
 * signal is pending for the loading thread, and libbpf's few retries do not outlast a profiler's
 * SIGPROF every 50 us: before BpfObject.load() held signals back, every probe failed to load under
 * `node --cpu-prof --cpu-prof-interval 50`, reported as "rejected by the BPF verifier (Resource
 * temporarily unavailable)". Signals that arrive while held are delivered right after.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bpfSkipReason } from '../helpers/bpf';

const skip = bpfSkipReason();
if (skip) console.log(`# skipping the signal tests: ${skip}`);

const dist = path.resolve(__dirname, '..', '..');

/** Runs `script` in a node child under a CPU profiler sampling every 50 us; returns its stdout's last line as JSON. */
function underProfiler(script: string): unknown {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probetop-prof-'));
  try {
    const r = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval', '50', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, PROBETOP_DIST: dist },
    });
    assert.equal(r.status, 0, `child failed: ${r.stderr.slice(-2000)}`);
    // The profile was written: the profiler ran for the whole child.
    assert.ok(fs.readdirSync(dir).some((f) => f.endsWith('.cpuprofile')), 'no CPU profile written');
    const last = r.stdout.trim().split('\n').pop()!;
    return JSON.parse(last);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('every probe loads under a profiler sending SIGPROF every 50 us', { skip: skip ?? false }, () => {
  const script = `
    const d = process.env.PROBETOP_DIST;
    const { loadProbe } = require(d + '/src/probes/load');
    const { detectFeatures } = require(d + '/src/bpf/features');
    const { PROBES, PROBE_NAMES } = require(d + '/src/probes');
    const f = detectFeatures();
    const out = {};
    for (const name of PROBE_NAMES) {
      const r = loadProbe(PROBES[name], {}, f);
      out[name] = r.ok ? 'ok' : r.reason;
      if (r.ok) r.probe.close();
    }
    console.log(JSON.stringify(out));`;
  const got = underProfiler(script) as Record<string, string>;
  for (const [name, result] of Object.entries(got)) assert.equal(result, 'ok', `${name}: ${result}`);
  assert.ok(Object.keys(got).length >= 5, JSON.stringify(got));
});

/** This thread's blocked signals (SigBlk in /proc/thread-self/status) as a bit mask. */
function blockedMask(): bigint {
  const m = /\nSigBlk:\s+([0-9a-f]+)/.exec(fs.readFileSync('/proc/thread-self/status', 'utf8'));
  if (!m) throw new Error('no SigBlk in /proc/thread-self/status');
  return BigInt(`0x${m[1]}`);
}

test('signals are held while a load runs, and one raised then is delivered after', { skip: skip ?? false }, async () => {
  const { withSignalsHeld } = await import('../../src/bpf/object');
  const bit = (sig: number) => 1n << BigInt(sig - 1);
  const SIGPROF = os.constants.signals.SIGPROF;
  const SIGUSR2 = os.constants.signals.SIGUSR2;
  let got = 0;
  const onUsr2 = () => got++;
  process.on('SIGUSR2', onUsr2);
  try {
    const before = blockedMask();
    const during = withSignalsHeld(() => {
      process.kill(process.pid, 'SIGUSR2');
      return blockedMask();
    });
    assert.equal(during & bit(SIGPROF), bit(SIGPROF), `SIGPROF held during the call (SigBlk ${during.toString(16)})`);
    assert.equal(during & bit(SIGUSR2), bit(SIGUSR2), 'SIGUSR2 held during the call');
    assert.equal(blockedMask(), before, 'the mask is restored');
    // Node runs signal handlers from its event loop: give it a few turns.
    for (let i = 0; i < 50 && got === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(got, 1, 'SIGUSR2 was delivered');
  } finally {
    process.off('SIGUSR2', onUsr2);
  }
});
