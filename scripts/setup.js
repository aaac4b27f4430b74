#!/usr/bin/env node
// Does all the set-up a fresh Debian/Ubuntu machine needs, then builds: npm dependencies,
// the system packages (clang, llvm, libbpf, bpftool — installed with apt when run as root,
// otherwise the exact command is printed), the BPF objects and the TypeScript.
// Usage: node scripts/setup.js [--quiet] [--test]   (--test: also what the tests need)
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const args = new Set(process.argv.slice(2));
const quiet = args.has('--quiet');
const forTests = args.has('--test');
const say = (m) => { if (!quiet) process.stderr.write(`setup: ${m}\n`); };
const fail = (m) => { process.stderr.write(`setup: ${m}\n`); process.exit(1); };

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit', cwd: root, ...opts });
  if (r.error) return { ok: false, why: r.error.message };
  return { ok: r.status === 0, why: `exit code ${r.status}` };
}

function which(cmd) {
  for (const dir of (process.env.PATH || '/usr/bin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = path.join(dir, cmd);
    try { fs.accessSync(p, fs.constants.X_OK); return p; } catch { /* next */ }
  }
  return null;
}

function mtime(p) {
  try { return fs.statSync(p).mtimeMs; } catch { return 0; }
}

// 1. Node itself.
const major = Number(process.versions.node.split('.')[0]);
if (major < 20) fail(`Node ${process.versions.node} is too old: probetop needs Node 20 or newer`);

// 2. npm dependencies, when missing or older than the lock file.
const lock = path.join(root, 'package-lock.json');
const installed = path.join(root, 'node_modules', '.package-lock.json');
if (!fs.existsSync(installed) || mtime(lock) > mtime(installed) || mtime(path.join(root, 'package.json')) > mtime(installed)) {
  say('installing npm dependencies');
  const r = run('npm', [fs.existsSync(lock) ? 'ci' : 'install', '--no-audit', '--no-fund']);
  if (!r.ok) fail(`npm install failed (${r.why})`);
}

// 3. System packages: what to check, and the Debian package that provides it.
const arch = process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : process.arch;
const needs = [
  { what: 'clang', ok: () => which('clang'), pkg: 'clang' },
  { what: 'llvm-strip', ok: () => which('llvm-strip'), pkg: 'llvm' },
  { what: 'libbpf headers', ok: () => fs.existsSync('/usr/include/bpf/bpf_helpers.h'), pkg: 'libbpf-dev' },
  { what: 'libbpf.so.1', ok: () => ['/usr/lib', `/usr/lib/${arch}-linux-gnu`, '/lib', `/lib/${arch}-linux-gnu`, '/usr/lib64'].some((d) => fs.existsSync(`${d}/libbpf.so.1`)), pkg: 'libbpf1' },
  { what: 'asm headers', ok: () => fs.existsSync(`/usr/include/${arch}-linux-gnu/asm/types.h`) || fs.existsSync('/usr/include/asm/types.h'), pkg: 'linux-libc-dev' },
];
if (forTests) {
  needs.push({ what: 'bpftool', ok: () => which('bpftool'), pkg: 'bpftool' });
  needs.push({ what: 'tmux', ok: () => which('tmux'), pkg: 'tmux' });
  needs.push({ what: 'prometheus', ok: () => which('prometheus'), pkg: 'prometheus' });
}
let missing = needs.filter((n) => !n.ok());
if (missing.length) {
  const pkgs = [...new Set(missing.map((m) => m.pkg))];
  const isRoot = process.geteuid && process.geteuid() === 0;
  if (isRoot && which('apt-get')) {
    say(`installing ${pkgs.join(' ')} with apt-get (missing: ${missing.map((m) => m.what).join(', ')})`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    let r = run('apt-get', ['update', '-q'], { env });
    if (!r.ok) say(`apt-get update failed (${r.why}); trying the install anyway`);
    r = run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...pkgs], { env });
    if (!r.ok) fail(`apt-get install ${pkgs.join(' ')} failed (${r.why})`);
    missing = needs.filter((n) => !n.ok());
    if (missing.length) fail(`still missing after apt-get: ${missing.map((m) => m.what).join(', ')}`);
  } else {
    const builtOk = !forTests && fs.existsSync(path.join(root, 'build', 'bpf')) && missing.every((m) => m.pkg !== 'libbpf1');
    const cmd = `sudo apt-get update && sudo apt-get install -y ${pkgs.join(' ')}`;
    if (!builtOk) fail(`missing ${missing.map((m) => m.what).join(', ')}. Install them with:\n  ${cmd}\n(or run this command as root and it installs them itself)`);
    say(`missing ${missing.map((m) => m.what).join(', ')}; using the BPF objects already built (to rebuild: ${cmd})`);
  }
}

// 4. Build (incremental: the build script skips BPF objects that are up to date).
const r = run(process.execPath, [path.join(__dirname, 'build.js'), ...(missing.length ? ['--ts-only'] : [])]);
if (!r.ok) fail('build failed');
