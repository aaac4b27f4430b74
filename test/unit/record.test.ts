/**
 * Recordings: round trip, gzip, mode 0600, and every kind of damaged file handled as promised.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RecordingWriter } from '../../src/record/writer';
import { readRecording, RecordingError } from '../../src/record/reader';
import { FORMAT_NAME, FORMAT_VERSION, RecordingHeader } from '../../src/record/format';
import { replaySnapshots, findTick } from '../../src/replay';
import { buildSnapshot } from '../../src/model/snapshot';
import { SAMPLE_A, SAMPLE_B } from '../fixtures/samples';
import type { Sample } from '../../src/model/sample';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pt-rec-'));
const header: RecordingHeader = {
  format: FORMAT_NAME, version: FORMAT_VERSION, probetop: '0.0.0', host: { hostname: 'h', kernel: 'k', arch: 'x64' },
  intervalMs: 1000, started: SAMPLE_A.ts, variants: { runqlat: 'tp_btf' },
};
const tick = (i: number): Sample => ({ ...(i % 2 ? SAMPLE_B : SAMPLE_A), ts: SAMPLE_A.ts + i * 1000, monoMs: SAMPLE_A.monoMs + i * 1000 });

async function write(name: string, n: number): Promise<string> {
  const p = path.join(dir, name);
  const w = new RecordingWriter(p, header);
  for (let i = 0; i < n; i++) await w.write(tick(i));
  await w.close();
  return p;
}

for (const name of ['r.jsonl', 'r.jsonl.gz']) {
  test(`round trip (${name}): header, samples, snapshots equal to live ones; file mode 0600`, async () => {
    const p = await write(name, 5);
    assert.equal(fs.statSync(p).mode & 0o777, 0o600);
    if (name.endsWith('.gz')) assert.equal(fs.readFileSync(p)[0], 0x1f);
    const rec = readRecording(p);
    assert.equal(rec.stoppedEarly, null);
    assert.deepEqual(rec.header, header);
    assert.equal(rec.samples.length, 5);
    const live = [1, 2, 3, 4].map((i) => buildSnapshot(tick(i), tick(i - 1)));
    assert.deepEqual(replaySnapshots(rec), live);
  });
}

test('an existing file is truncated and made 0600', async () => {
  const p = path.join(dir, 'old.jsonl');
  fs.writeFileSync(p, 'x'.repeat(10000), { mode: 0o644 });
  const w = new RecordingWriter(p, header);
  await w.close();
  assert.equal(fs.statSync(p).mode & 0o777, 0o600);
  assert.ok(fs.statSync(p).size < 1000);
});

test('a path that cannot be written: a clear error', () => {
  assert.throws(() => new RecordingWriter('/nonexistent-dir/r.jsonl', header), /cannot write \/nonexistent-dir\/r\.jsonl: ENOENT/);
});

test('a truncated plain file replays up to its last whole line and says where it stopped', async () => {
  const p = await write('t.jsonl', 6);
  const raw = fs.readFileSync(p);
  fs.writeFileSync(p, raw.subarray(0, raw.length - 300));
  const rec = readRecording(p);
  assert.equal(rec.samples.length, 5);
  assert.match(rec.stoppedEarly!, /replay stops after tick 5: line 7 is cut short/);
});

test('a truncated gzip file replays the ticks that were flushed', async () => {
  const p = await write('t.jsonl.gz', 6);
  const raw = fs.readFileSync(p);
  // Cut the gzip trailer and part of the last tick (near-identical ticks compress to ~15 bytes each).
  fs.writeFileSync(p, raw.subarray(0, raw.length - 20));
  const rec = readRecording(p);
  assert.ok(rec.samples.length >= 4 && rec.samples.length < 6, `${rec.samples.length} samples`);
  assert.match(rec.stoppedEarly!, /replay stops after tick \d/);
  assert.deepEqual(rec.samples[1], tick(1));
});

test('a corrupted line in the middle stops the replay there', async () => {
  const p = await write('c.jsonl', 5);
  const lines = fs.readFileSync(p, 'utf8').split('\n');
  lines[3] = lines[3].slice(0, 20) + '#garbage#' + lines[3].slice(40);
  fs.writeFileSync(p, lines.join('\n'));
  const rec = readRecording(p);
  assert.equal(rec.samples.length, 2);
  assert.match(rec.stoppedEarly!, /line 4 is corrupted/);
});

test('refused: empty, not probetop, unknown version, header only, garbage gzip', () => {
  const cases: [string, string | Buffer, RegExp][] = [
    ['empty', '', /is empty: not a probetop recording/],
    ['other.json', '{"hello": "world"}\n', /not a probetop recording/],
    ['text', 'just some text\n', /not a probetop recording/],
    ['v99', JSON.stringify({ ...header, version: 99 }) + '\n', /format version 99; this probetop reads version 1 only/],
    ['headeronly', JSON.stringify(header) + '\n', /holds no complete tick/],
    ['bad.gz', Buffer.from([0x1f, 0x8b, 1, 2, 3, 4, 5]), /not a readable gzip file|not a probetop recording|no complete tick/],
  ];
  for (const [name, content, re] of cases) {
    const p = path.join(dir, name);
    fs.writeFileSync(p, content);
    assert.throws(() => readRecording(p), (e: unknown) => e instanceof RecordingError && re.test((e as Error).message), name);
  }
  assert.throws(() => readRecording(path.join(dir, 'missing')), /cannot read .*: ENOENT/);
});

test('jump to a time: +SECONDS and HH:MM:SS, outside the recording refused', () => {
  const snaps = [1, 2, 3, 4, 5].map((i) => buildSnapshot(tick(i), tick(i - 1)));
  assert.equal(findTick(snaps, '+2'), 2);
  const d = new Date(snaps[3].ts);
  const hhmmss = `${d.getHours()}:${String(d.getMinutes()).padStart(2, '0')}:${String(d.getSeconds()).padStart(2, '0')}`;
  assert.equal(findTick(snaps, hhmmss), 3);
  assert.match(String(findTick(snaps, '+3600')), /outside the recording/);
  assert.match(String(findTick(snaps, 'soon')), /not HH:MM:SS/);
});
