#!/usr/bin/env node
// Builds the BPF objects (clang -target bpf -g -O2, DWARF stripped, BTF kept) and the TypeScript.
// Usage: node scripts/build.js [--bpf-only|--ts-only] [--force]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const bpfSrc = path.join(root, 'bpf');
const bpfOut = path.join(root, 'build', 'bpf');
const args = new Set(process.argv.slice(2));
const force = args.has('--force');

function archDir() {
  const m = { x64: 'x86', arm64: 'arm64' }[process.arch];
  if (!m) throw new Error(`unsupported architecture ${process.arch}`);
  return m;
}

function newest(files) {
  return Math.max(0, ...files.map((f) => fs.statSync(f).mtimeMs));
}

function headers() {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.h')) out.push(p);
    }
  };
  walk(bpfSrc);
  return out;
}

function buildBpf() {
  fs.mkdirSync(bpfOut, { recursive: true });
  const arch = archDir();
  const hdrTime = newest(headers());
  // bpf/*.bpf.c, and bpf/testing/*.bpf.c (programs that exist only for the tests).
  fs.mkdirSync(path.join(bpfOut, 'testing'), { recursive: true });
  const sources = [
    ...fs.readdirSync(bpfSrc).filter((f) => f.endsWith('.bpf.c')),
    ...fs.readdirSync(path.join(bpfSrc, 'testing')).filter((f) => f.endsWith('.bpf.c')).map((f) => path.join('testing', f)),
  ];
  const multiarch = `/usr/include/${process.arch === 'x64' ? 'x86_64' : 'aarch64'}-linux-gnu`;
  const failed = [];
  for (const src of sources) {
    const input = path.join(bpfSrc, src);
    const output = path.join(bpfOut, src.replace(/\.c$/, '.o'));
    if (!force && fs.existsSync(output) && fs.statSync(output).mtimeMs >= Math.max(hdrTime, fs.statSync(input).mtimeMs)) continue;
    const tmp = `${output}.tmp`;
    process.stderr.write(`  BPF     ${src}\n`);
    try {
      execFileSync('clang', [
        '-g', '-O2', '-target', 'bpf', `-D__TARGET_ARCH_${arch}`, '-Wall', '-Werror',
        '-I', bpfSrc, '-I', path.join(bpfSrc, 'vmlinux', arch), '-I', multiarch,
        '-c', input, '-o', tmp,
      ], { stdio: 'inherit' });
    } catch {
      failed.push(src); // build the others, fail at the end
      continue;
    }
    // Keep .BTF/.BTF.ext (CO-RE relocations) but drop DWARF, as libbpf-tools does.
    execFileSync('llvm-strip', ['-g', tmp], { stdio: 'inherit' });
    fs.renameSync(tmp, output);
    // Other users must not be able to swap the programs root loads.
    fs.chmodSync(output, 0o644);
  }
  if (failed.length) throw new Error(`BPF compile failed: ${failed.join(', ')}`);
}

function buildTs() {
  process.stderr.write('  TSC     tsconfig.json\n');
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', root], { stdio: 'inherit', cwd: root });
}

try {
  let bpfError;
  if (!args.has('--ts-only')) {
    try {
      buildBpf();
    } catch (e) {
      bpfError = e;
    }
  }
  if (!args.has('--bpf-only')) buildTs();
  if (bpfError) throw bpfError;
} catch (e) {
  process.stderr.write(`build failed: ${e.message}\n`);
  process.exit(1);
}
