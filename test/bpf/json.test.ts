/**
 * Real `probetop --json` output, with a workload running, validated against the published
 * JSON Schema (schema/snapshot.schema.json); every exited process of the interval is listed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { bpfSkipReason } from '../helpers/bpf';

const CLI = path.resolve(__dirname, '..', '..', 'src', 'cli.js');
const SCHEMA = path.resolve(__dirname, '..', '..', '..', 'schema', 'snapshot.schema.json');
const skip = bpfSkipReason();

test('--json lines validate against the schema and list every exited process', { skip: skip ?? false, timeout: 30000 }, async () => {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const validate = ajv.compile(JSON.parse(fs.readFileSync(SCHEMA, 'utf8')));
  const out: string[] = [];
  const child = spawn(process.execPath, [CLI, '--json', '-n', '5', '-i', '700'], { stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout.setEncoding('utf8');
  let buf = '';
  child.stdout.on('data', (d: string) => (buf += d));
  // A workload during the run, once the probes are up (the first line is out): 40 short
  // processes, half of them exiting with 3.
  for (let i = 0; i < 200 && !buf.includes('\n'); i++) await new Promise((r) => setTimeout(r, 50));
  const work = spawn('sh', ['-c', 'for i in $(seq 20); do /bin/true; sh -c "exit 3"; done'], { stdio: 'ignore' });
  await new Promise((r) => work.on('exit', r));
  const code = await new Promise((r) => child.on('exit', r));
  assert.equal(code, 0);
  out.push(...buf.trim().split('\n'));
  assert.equal(out.length, 5);
  const snaps = out.map((l) => JSON.parse(l));
  for (const s of snaps) assert.ok(validate(s), JSON.stringify(validate.errors?.slice(0, 5), null, 1));
  const exits = snaps.flatMap((s) => (s.procevents.status === 'ok' ? s.procevents.data.exited : []));
  const threes = exits.filter((x: { exitCode: number; ppid: number }) => x.exitCode === 3 && x.ppid === work.pid);
  assert.equal(threes.length, 20, `20 "exit 3" children listed, got ${threes.length}`);
  assert.ok(snaps.some((s) => s.runqlat.status === 'ok' && s.runqlat.data.hist.count > 0));
});
