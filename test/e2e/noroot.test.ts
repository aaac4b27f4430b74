/**
 * Without root or capabilities probetop still starts, in the /proc-only mode: a banner says
 * what needs root and how to get it, and the process table comes from /proc.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { haveTmux, TmuxApp } from '../helpers/tmux';

const CLI = path.resolve(__dirname, '..', '..', 'src', 'cli.js');

function canDropPrivileges(): string | null {
  if (process.geteuid?.() !== 0) return 'needs root to switch to the unprivileged user nobody';
  try {
    execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'true']);
  } catch {
    return 'setpriv is not available';
  }
  // A checkout under a private directory (mktemp -d is 0700) cannot be run by another user.
  try {
    execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'test', '-r', CLI]);
  } catch {
    return `user nobody cannot read ${CLI} (a directory above it is private, e.g. mktemp -d's 0700)`;
  }
  return haveTmux() ? null : 'tmux not installed';
}

const skip = canDropPrivileges();
if (skip) console.log(`# skipping the unprivileged tests: ${skip}`);

test('as user nobody: banner, /proc process table, q exits 0', { skip: skip ?? false }, async () => {
  const app = new TmuxApp(['--interval', '500'], 110, 30, ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all']);
  try {
    const s = await app.waitFor(/[1-9]\d* processes/);
    assert.match(s, /\/proc-only mode: not root and missing CAP_BPF and CAP_PERFMON: run with sudo/);
    assert.match(s, /PID .*CPU%▼/);
    assert.match(s, /\[kthreadd\]|process_api|init/);
    app.keys('q');
    assert.equal(await app.exitCode(), 0);
  } finally {
    app.kill();
  }
});

test('as user nobody, --json still prints the process table from /proc', { skip: skip ?? false }, () => {
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, CLI, '--json', '-n', '2', '-i', '300'], { encoding: 'utf8', timeout: 15000 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  assert.equal(lines[1].runqlat.status, 'unavailable');
  assert.match(lines[1].runqlat.reason, /CAP_BPF/);
  assert.ok(lines[1].procs.length > 5, 'processes from /proc');
  assert.ok(lines[1].procs.some((p: { pid: number }) => p.pid === 1));
});
