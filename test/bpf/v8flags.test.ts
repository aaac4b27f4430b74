/**
 * The V8 flags probetop sets at run time: --predictable (no young-generation shrinking, see
 * src/cli.ts) only with a single-threaded GC, where it is safe. Checked by running the real
 * probetop (every probe) under a garbage collection every few thousand allocations, all of them
 * major, with the launcher's flags and with none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { bpfSkipReason } from '../helpers/bpf';
import { singleThreadedGc } from '../../src/cli';
import { probetopNodeFlags } from '../../bench/lib/configs';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'src', 'cli.js');
const skip = bpfSkipReason();

test('singleThreadedGc: from the node command line or NODE_OPTIONS', () => {
  assert.equal(singleThreadedGc(['--single-threaded'], ''), true);
  assert.equal(singleThreadedGc(['--max-semi-space-size=4', '--single-threaded-gc'], ''), true);
  assert.equal(singleThreadedGc([], '--max-old-space-size=100 --single-threaded'), true);
  assert.equal(singleThreadedGc(['--no-single-threaded'], ''), false);
  assert.equal(singleThreadedGc([], ''), false);
  assert.ok(probetopNodeFlags(ROOT).includes('--single-threaded'), 'the launcher runs probetop with a single-threaded GC');
});

/** Runs `node <flags> cli.js --json` for `ms`; its exit code, stderr and how many snapshots it wrote. */
function run(flags: string[], ms: number): Promise<{ code: number | null; signal: string | null; err: string; lines: number }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [...flags, CLI, '--json', '-i', '200'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => c.kill('SIGTERM'), ms);
    c.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, err, lines: out.split('\n').filter((l) => l.startsWith('{')).length });
    });
  });
}

// A major GC every few thousand allocations: the path where predictable mode with concurrent
// marking aborts the process.
const STRESS = ['--gc-global', '--gc-interval=3000'];

for (const [name, flags] of [
  ['the launcher\'s flags (predictable mode on)', () => probetopNodeFlags(ROOT)],
  ['no flags (predictable mode must stay off)', () => [] as string[]],
] as const) {
  test(`probetop --json with ${name} survives a major GC every 3,000 allocations`, { skip: skip ?? false, timeout: 60000 }, async () => {
    const r = await run([...flags(), ...STRESS], 6000);
    assert.doesNotMatch(r.err, /Fatal error|Check failed/, r.err.slice(0, 2000));
    assert.equal(r.signal, null, `killed by ${r.signal}: ${r.err.slice(0, 2000)}`);
    assert.ok(r.lines >= 5, `${r.lines} snapshots written: ${r.err.slice(0, 2000)}`);
  });
}
