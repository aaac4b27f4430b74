#!/usr/bin/env node
// Runs every test: the type-check happened in the build; here node's test runner takes the
// compiled unit, screen, CLI and BPF tests (BPF tests skip, saying why, where BPF is not allowed).
// Usage: node scripts/test.js [unit|screens|bpf|cli ...]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const testDir = path.join(root, 'dist', 'test');
const only = process.argv.slice(2);

function collect(dir) {
  if (!fs.existsSync(dir)) return [];
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...collect(p));
    else if (e.name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

const files = collect(testDir).filter((f) => only.length === 0 || only.some((o) => path.relative(testDir, f).startsWith(o)));
if (files.length === 0) {
  console.error('no test files found under dist/test (did the build run?)');
  process.exit(1);
}
// BPF tests load probes into one kernel: run files one at a time so their counts do not mix.
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
