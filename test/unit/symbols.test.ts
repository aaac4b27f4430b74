/**
 * Symbol parsers on real files of this machine (/proc/kallsyms, libc, node's own binary, this
 * process's maps) and on literal inputs (a hand-built ELF, kallsyms text, a perf map written
 * here), plus the Symbolizer resolving addresses of this very process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KernelSymbols, kernelRanges } from '../../src/symbols/kallsyms';
import { ElfSymbols } from '../../src/symbols/elf';
import { PerfMap, perfMapPath } from '../../src/symbols/perfmap';
import { Symbolizer, parseMaps, formatFrame } from '../../src/symbols';

const kallsymsHidden = (() => {
  try {
    return /^0+ /.test(fs.readFileSync('/proc/kallsyms', 'latin1').slice(0, 40));
  } catch {
    return true;
  }
})();
const kallsymsSkip = kallsymsHidden ? '/proc/kallsyms addresses are hidden here (kptr_restrict or not root)' : false;
if (kallsymsSkip) console.log(`# skipping real-kallsyms tests: ${kallsymsSkip}`);

test('kallsyms text: text symbols only, sorted, modules kept, lookups between symbols', () => {
  const k = KernelSymbols.parse(
    [
      'ffffffff81000200 T b_func',
      'ffffffff81000100 t a_func',
      'ffffffff81400000 D some_data',
      'ffffffffc0001000 t mod_func\t[ext4]',
      'ffffffff81000300 W weak_func',
      '0000000000000000 T hidden_one',
      'ffffffff81000400 T func',
      'ffffffff81000500 t func',
      '',
    ].join('\n'),
  );
  assert.equal(k.size, 6);
  assert.deepEqual(k.resolve(0xffffffff81000100n), { name: 'a_func', offset: 0 });
  assert.deepEqual(k.resolve(0xffffffff810001ffn), { name: 'a_func', offset: 0xff });
  assert.deepEqual(k.resolve(0xffffffff81000210n), { name: 'b_func', offset: 0x10 });
  assert.deepEqual(k.resolve(0xffffffffc0001004n), { name: 'mod_func', offset: 4, module: 'ext4' });
  assert.equal(k.resolve(0xffffffff81000000n), null, 'below the first symbol');
  assert.equal(k.resolve(0xffffffff81000300n + (1n << 21n)), null, 'far past the last symbol');
  assert.equal(k.addressOf('weak_func'), 0xffffffff81000300n);
  // Whole names only (not the end of "a_func" nor the start of "weak_func"); the lowest of a repeated one.
  assert.equal(k.addressOf('func'), 0xffffffff81000400n);
  assert.equal(k.addressOf('a_func'), 0xffffffff81000100n, 'the first name of all');
  assert.equal(k.addressOf('weak'), null);
  assert.equal(k.addressOf('mod_func'), 0xffffffffc0001000n);
  assert.deepEqual(k.resolve(0xffffffff81000504n), { name: 'func', offset: 4 });
  assert.ok(KernelSymbols.parse('0000000000000000 T x\n').hidden, 'all-zero addresses mean hidden');
});

test('/proc/kallsyms: schedule resolves to itself, mid-function addresses to their function', { skip: kallsymsSkip }, () => {
  const k = KernelSymbols.load();
  assert.ok(k.size > 10000, `only ${k.size} kernel functions`);
  const sched = k.addressOf('schedule');
  assert.ok(sched, 'schedule is in kallsyms');
  assert.deepEqual(k.resolve(sched), { name: 'schedule', offset: 0 });
  const r = k.resolve(sched + 5n);
  assert.equal(r?.name, 'schedule');
  assert.equal(r?.offset, 5);
  const sleep = k.addressOf('hrtimer_nanosleep');
  assert.ok(sleep && k.resolve(sleep + 1n)?.name === 'hrtimer_nanosleep');
});

test('kernelRanges: text range holds schedule; the syscall entry is do_syscall_64 (x86_64)', { skip: kallsymsSkip }, () => {
  const r = kernelRanges();
  assert.ok(r, 'ranges found');
  const k = KernelSymbols.load();
  const sched = k.addressOf('schedule')!;
  assert.ok(r.text.start <= sched && sched < r.text.end);
  if (process.arch === 'x64') {
    assert.ok(r.syscallEntry, 'do_syscall_64 found');
    assert.equal(k.resolve(r.syscallEntry.start)?.name, 'do_syscall_64');
    assert.equal(k.resolve(r.syscallEntry.end - 1n)?.name, 'do_syscall_64');
  }
});

/** A minimal ELF64 shared object: one PT_LOAD, .dynsym and (optionally) .symtab, with aliases. */
function buildElf(withSymtab: boolean): Buffer {
  const strs = ['', 'read', '__read', '__libc_read', 'write', 'local_helper', 'imported', 'a_variable'];
  const strtab = Buffer.from(strs.join('\0') + '\0', 'latin1');
  const nameOff = (s: string) => strtab.indexOf(Buffer.from(s + '\0', 'latin1'), s ? 1 : 0);
  const sym = (name: string, bind: number, type: number, shndx: number, value: number, size: number) => {
    const b = Buffer.alloc(24);
    b.writeUInt32LE(name ? nameOff(name) : 0, 0);
    b[4] = (bind << 4) | type;
    b.writeUInt16LE(shndx, 6);
    b.writeBigUInt64LE(BigInt(value), 8);
    b.writeBigUInt64LE(BigInt(size), 16);
    return b;
  };
  const FUNC = 2;
  const OBJECT = 1;
  const dyn = Buffer.concat([
    sym('', 0, 0, 0, 0, 0),
    sym('__read', 1, FUNC, 1, 0x1100, 0x40),
    sym('read', 2, FUNC, 1, 0x1100, 0x40),
    sym('__libc_read', 1, FUNC, 1, 0x1100, 0x40),
    sym('write', 1, FUNC, 1, 0x1200, 0x20),
    sym('imported', 1, FUNC, 0, 0, 0),
    sym('a_variable', 1, OBJECT, 1, 0x1300, 8),
  ]);
  const full = Buffer.concat([dyn, sym('local_helper', 0, FUNC, 1, 0x1180, 0x10)]);
  const shstr = Buffer.from('\0.dynsym\0.symtab\0.strtab\0.shstrtab\0', 'latin1');
  // Layout: ELF header, 1 program header, then the tables, then section headers.
  const phoff = 64;
  let off = phoff + 56;
  const place = (b: Buffer) => {
    const at = off;
    off += b.length;
    return at;
  };
  const dynOff = place(dyn);
  const fullOff = withSymtab ? place(full) : 0;
  const strOff = place(strtab);
  const shstrOff = place(shstr);
  off = Math.ceil(off / 8) * 8;
  const shoff = off;
  const sections: Buffer[] = [];
  const sh = (name: number, type: number, offset: number, size: number, link: number, entsize: number) => {
    const b = Buffer.alloc(64);
    b.writeUInt32LE(name, 0);
    b.writeUInt32LE(type, 4);
    b.writeBigUInt64LE(BigInt(offset), 0x18);
    b.writeBigUInt64LE(BigInt(size), 0x20);
    b.writeUInt32LE(link, 0x28);
    b.writeBigUInt64LE(BigInt(entsize), 0x38);
    sections.push(b);
  };
  sh(0, 0, 0, 0, 0, 0);
  const strIdx = withSymtab ? 3 : 2;
  sh(shstr.indexOf('.dynsym'), 11, dynOff, dyn.length, strIdx, 24);
  if (withSymtab) sh(shstr.indexOf('.symtab'), 2, fullOff, full.length, strIdx, 24);
  sh(shstr.indexOf('.strtab'), 3, strOff, strtab.length, 0, 0);
  sh(shstr.indexOf('.shstrtab'), 3, shstrOff, shstr.length, 0, 0);
  const eh = Buffer.alloc(64);
  eh.writeUInt32BE(0x7f454c46, 0);
  eh[4] = 2; // ELFCLASS64
  eh[5] = 1; // little-endian
  eh[6] = 1;
  eh.writeUInt16LE(3, 0x10); // ET_DYN
  eh.writeUInt16LE(62, 0x12); // x86_64
  eh.writeBigUInt64LE(BigInt(phoff), 0x20);
  eh.writeBigUInt64LE(BigInt(shoff), 0x28);
  eh.writeUInt16LE(64, 0x34);
  eh.writeUInt16LE(56, 0x36);
  eh.writeUInt16LE(1, 0x38);
  eh.writeUInt16LE(64, 0x3a);
  eh.writeUInt16LE(sections.length, 0x3c);
  eh.writeUInt16LE(sections.length - 1, 0x3e);
  const ph = Buffer.alloc(56);
  ph.writeUInt32LE(1, 0); // PT_LOAD
  ph.writeBigUInt64LE(0x1000n, 8); // p_offset
  ph.writeBigUInt64LE(0x1000n, 0x10); // p_vaddr
  ph.writeBigUInt64LE(0x1000n, 0x20); // p_filesz
  const body = Buffer.concat([eh, ph, dyn, ...(withSymtab ? [full] : []), strtab, shstr]);
  return Buffer.concat([body, Buffer.alloc(shoff - body.length), ...sections]);
}

test('ELF parser: .symtab preferred over .dynsym, one name per address, sizes and segments honoured', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probetop-elf-'));
  try {
    const stripped = path.join(dir, 'stripped.so');
    const full = path.join(dir, 'full.so');
    fs.writeFileSync(stripped, buildElf(false));
    fs.writeFileSync(full, buildElf(true));
    const s = ElfSymbols.read(stripped);
    assert.equal(s.table, 'dynsym');
    assert.equal(s.size, 2, 'read (3 aliases) and write; not the import, not the variable');
    assert.deepEqual(s.resolve(0x1110), { name: 'read', offset: 0x10 });
    assert.equal(s.resolve(0x1180), null, 'local_helper is only in .symtab');
    assert.equal(s.resolve(0x1220), null, 'past the end of write');
    assert.equal(s.addressOf('imported'), null);
    const f = ElfSymbols.read(full);
    assert.equal(f.table, 'symtab');
    assert.deepEqual(f.resolve(0x1184), { name: 'local_helper', offset: 4 });
    assert.equal(f.fileOffsetToVaddr(0x1234), 0x1234);
    assert.equal(f.fileOffsetToVaddr(0x10), null, 'not in a loadable segment');
    fs.writeFileSync(path.join(dir, 'text'), 'not an ELF file at all, long enough for a header'.repeat(2));
    assert.throws(() => ElfSymbols.read(path.join(dir, 'text')), /not an ELF/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** The path of a mapped file of this process whose name matches `re`. */
function mappedFile(re: RegExp): string | null {
  const m = parseMaps(fs.readFileSync('/proc/self/maps', 'utf8')).find((x) => re.test(x.path));
  return m ? m.path : null;
}

/** The address in this process where `vaddr` of the mapped file `file` is loaded. */
function runtimeAddress(file: string, elf: ElfSymbols, vaddr: number): number {
  for (const m of parseMaps(fs.readFileSync('/proc/self/maps', 'utf8'))) {
    if (m.path !== file) continue;
    // The file offset of vaddr is found through the mapping's own translation, inverted.
    for (let off = m.offset; off < m.offset + (m.end - m.start); off += 0x1000) {
      const v = elf.fileOffsetToVaddr(off);
      if (v !== null && vaddr >= v && vaddr < v + 0x1000) return m.start + (off - m.offset) + (vaddr - v);
    }
  }
  throw new Error(`vaddr ${vaddr.toString(16)} of ${file} not mapped`);
}

test("libc's ELF has read, and this process's read resolves through its maps", () => {
  const libc = mappedFile(/\/libc\.so\.6$/) ?? mappedFile(/\/libc[.-]/);
  assert.ok(libc, 'node maps a libc');
  const elf = ElfSymbols.read(libc);
  assert.ok(elf.size > 1000, `only ${elf.size} functions in ${libc}`);
  const read = elf.addressOf('read');
  assert.ok(read, `read is in ${libc} (${elf.table})`);
  assert.equal(elf.resolve(read + 3)?.name, 'read');
  const at = runtimeAddress(libc, elf, read + 3);
  const sym = new Symbolizer().user(process.pid, at.toString(16));
  assert.equal(sym?.name, 'read');
  assert.equal(sym?.offset, 3);
  assert.equal(sym?.module, path.basename(libc));
});

test("node's own binary: function symbols resolve in this process", () => {
  const exe = fs.realpathSync(process.execPath);
  const elf = ElfSymbols.read(exe);
  // Distribution builds of node keep .symtab; a stripped one still exports its API in .dynsym.
  const name = ['uv_run', 'napi_create_object', 'uv_loop_init'].find((n) => elf.addressOf(n) !== null);
  assert.ok(name, `no known libuv/N-API function in ${exe} (${elf.table}, ${elf.size} functions)`);
  const vaddr = elf.addressOf(name)!;
  const at = runtimeAddress(exe, elf, vaddr + 1);
  assert.equal(new Symbolizer().user(process.pid, at)?.name, name);
});

test('perf map: parse, overlapping rewrites, lookups, and JIT frames through the Symbolizer', () => {
  const m = PerfMap.parse(['7f0000001000 40 LazyCompile:*foo /app.js:1', '0x7f0000002000 0x10 bar', 'garbage line', '7f0000001000 20 LazyCompile:*foo2 /app.js:9', ''].join('\n'));
  assert.equal(m.size, 2);
  assert.deepEqual(m.resolve(0x7f0000001010), { name: 'LazyCompile:*foo2 /app.js:9', offset: 0x10 }, 'the later line for a start wins');
  assert.equal(m.resolve(0x7f0000001020), null, 'past the rewritten size');
  assert.deepEqual(m.resolve(0x7f000000200f), { name: 'bar', offset: 0xf });
  assert.equal(m.resolve(0x7f0000000fff), null);

  // A fake /proc with one anonymous executable mapping, and a perf map written here.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probetop-perfmap-'));
  try {
    const pid = 424242;
    fs.mkdirSync(path.join(dir, 'proc', String(pid)), { recursive: true });
    fs.writeFileSync(path.join(dir, 'proc', String(pid), 'maps'), '7f0000000000-7f0000100000 r-xp 00000000 00:00 0 \n');
    fs.writeFileSync(perfMapPath(pid, dir), '7f0000001000 40 jitted_fn\n');
    const sym = new Symbolizer({ proc: path.join(dir, 'proc'), perfMapDir: dir });
    assert.deepEqual(sym.user(pid, '7f0000001008'), { name: 'jitted_fn', offset: 8, module: '[jit]' });
    assert.equal(sym.user(pid, '7f0000005000'), null, 'anonymous but not in the perf map');
    assert.equal(sym.user(pid, '100'), null, 'not mapped at all');
    assert.equal(formatFrame(sym.user(pid, '7f0000001008'), '7f0000001008'), 'jitted_fn+0x8');
    assert.equal(formatFrame(null, '7f0000005000'), '0x7f0000005000');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('Symbolizer.kernel: hex strings and bigints resolve alike', { skip: kallsymsSkip }, () => {
  const s = new Symbolizer();
  const sched = s.kernelSymbols().addressOf('schedule')!;
  assert.equal(s.kernel(sched)?.name, 'schedule');
  assert.equal(s.kernelName((sched + 2n).toString(16)), 'schedule');
  assert.equal(s.kernel('0x' + sched.toString(16))?.offset, 0);
});

test('Symbolizer.kernelName remembers its answers until reloadKernel', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probetop-ksyms-'));
  const file = path.join(dir, 'kallsyms');
  try {
    fs.writeFileSync(file, 'ffffffff81000000 T first_fn\nffffffff81000100 T second_fn\nffffffff81000200 T _etext\n');
    const s = new Symbolizer({ kallsyms: file });
    const table = s.kernelSymbols();
    const resolve = table.resolve.bind(table);
    let lookups = 0;
    table.resolve = (a) => (lookups++, resolve(a));
    assert.equal(s.kernelName('ffffffff81000010'), 'first_fn');
    assert.equal(s.kernelName('ffffffff81000110'), 'second_fn');
    assert.equal(s.kernelName('ffffffff80000000'), null);
    assert.equal(lookups, 3);
    // Asked again (names and misses alike): answered without a lookup in the table.
    assert.equal(s.kernelName('ffffffff81000010'), 'first_fn');
    assert.equal(s.kernelName('ffffffff80000000'), null);
    assert.equal(lookups, 3);
    fs.writeFileSync(file, 'ffffffff81000000 T renamed_fn\nffffffff81000200 T _etext\n');
    // ...until the kernel table is reloaded: then no old answer is given.
    s.reloadKernel();
    assert.equal(s.kernelName('ffffffff81000010'), 'renamed_fn');
    assert.equal(s.kernelName('ffffffff81000110'), 'renamed_fn');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
