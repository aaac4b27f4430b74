/**
 * Record a few seconds of a known workload with the real probes, replay the file, and check that
 * the replayed snapshots equal the ones computed live from the same samples.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { bpfSkipReason, runqlatVariant } from '../helpers/bpf';
import { readRecording } from '../../src/record/reader';
import { replaySnapshots } from '../../src/replay';
import { buildSnapshot } from '../../src/model/snapshot';

const skip = bpfSkipReason();
const CLI = path.resolve(__dirname, '..', '..', 'src', 'cli.js');

test('probetop record: 5 s of CPU contention, replayed equal to live', { skip: skip ?? false }, () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pt-rec-')), 'run.jsonl.gz');
  // The workload runs alongside the recording: 4 spinners for 2.5 s.
  const r = spawnSync('sh', ['-c', `(for i in 1 2 3 4; do timeout 2.5 sh -c 'while :; do :; done' & done; wait) & ${process.execPath} ${CLI} record -o ${out} -d 5 -i 500; echo rc=$?`], { encoding: 'utf8', timeout: 30000 });
  assert.match(r.stdout, /rc=0/, r.stderr);
  assert.equal(fs.statSync(out).mode & 0o777, 0o600);
  const rec = readRecording(out);
  assert.equal(rec.stoppedEarly, null);
  assert.equal(rec.header.intervalMs, 500);
  assert.equal(rec.header.variants.runqlat, runqlatVariant());
  assert.ok(rec.samples.length >= 10, `${rec.samples.length} samples`);
  const replayed = replaySnapshots(rec);
  const live = rec.samples.slice(1).map((s, i) => buildSnapshot(s, rec.samples[i]));
  assert.deepEqual(replayed, live);
  // The workload is in the recording: run-queue waits by the spinners ("sh" children of timeout).
  const waits = replayed.reduce((n, s) => n + (s.runqlat.status === 'ok' ? s.runqlat.data.hist.count : 0), 0);
  assert.ok(waits > 100, `only ${waits} run-queue waits recorded`);
  const heavy = replayed.some((s) => s.runqlat.status === 'ok' && s.runqlat.data.procs.some((p) => p.waitMsPerSec > 100));
  assert.ok(heavy, 'a contending process waited > 100 ms/s in some tick');
});
