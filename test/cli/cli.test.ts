/**
 * The command line as a user meets it: bad values get a clear message and exit code 2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const CLI = path.resolve(__dirname, '..', '..', 'src', 'cli.js');

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 15000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

for (const [args, pattern] of [
  [['--interval', 'abc'], /"abc" is not a whole number of milliseconds/],
  [['--interval', '5'], /5 ms is out of range/],
  [['--interval', '-100'], /not a whole number|out of range|unknown option/],
  [['--interval'], /argument missing/],
  [['--disable', 'nosuchprobe'], /unknown probe nosuchprobe/],
  [['--log', '/nonexistent-dir/x.log'], /cannot write \/nonexistent-dir\/x\.log: ENOENT/],
  [['--bogus'], /unknown option '--bogus'/],
  [['--pid', 'abc'], /"abc" is not a process id/],
  [['-p', '999999999'], /no process with id 999999999/],
  [['--offcpu-min-block', '-5'], /not a whole number|unknown option/],
  [['--prometheus', 'nope:'], /not \[ADDR:\]PORT/],
  [['--count', '3'], /--count goes with --json/],
  [['record'], /required option '-o, --output <file>' not specified/],
  [['record', '-o', '/nonexistent-dir/r.jsonl', '-d', '1'], /cannot write \/nonexistent-dir\/r\.jsonl: ENOENT/],
  [['replay', '/nonexistent-file'], /cannot read \/nonexistent-file: ENOENT/],
] as const) {
  test(`probetop ${args.join(' ')} → exit 2 with a clear message`, () => {
    const r = run(...args);
    assert.equal(r.code, 2, `exit code (stderr: ${r.err})`);
    assert.match(r.err, pattern);
    assert.match(r.err, /^probetop: /m);
  });
}

test('--help lists the options and ends with examples; exit 0', () => {
  const r = run('--help');
  assert.equal(r.code, 0);
  assert.match(r.out, /--interval <ms>/);
  assert.match(r.out, /Examples:\n {2}sudo probetop/);
});

test('--help into a reader that is gone (| true): exit 0, no stack trace', () => {
  // `true` exits long before node has started, so probetop's write fails with EPIPE.
  const r = spawnSync('bash', ['-c', `"${process.execPath}" "${CLI}" --help | true; echo "rc=\${PIPESTATUS[0]}"`], { encoding: 'utf8', timeout: 15000 });
  assert.equal(r.stdout.trim(), 'rc=0', `stderr: ${r.stderr}`);
  assert.equal(r.stderr, '');
});

test('--version prints the package version', () => {
  const r = run('--version');
  assert.equal(r.code, 0);
  assert.match(r.out.trim(), /^\d+\.\d+\.\d+$/);
});

test('without a terminal the monitor refuses to start, exit 2', () => {
  const r = run('--interval', '500');
  assert.equal(r.code, 2);
  assert.match(r.err, /not a terminal/);
});
