/**
 * The struct bpf_prog_info offsets probetop reads match the running kernel's BTF.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { PROG_INFO } from '../../src/bpf/stats';

const skip = !fs.existsSync('/sys/kernel/btf/vmlinux') ? 'no kernel BTF' : false;

test('bpf_prog_info offsets match kernel BTF', { skip }, () => {
  let out: string;
  try {
    out = execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', '/sys/kernel/btf/vmlinux'], { encoding: 'utf8', maxBuffer: 512 << 20 });
  } catch (e) {
    assert.fail(`bpftool failed: ${(e as Error).message}`);
  }
  const t = (JSON.parse(out).types as { kind: string; name?: string; size: number; members: { name: string; bits_offset: number }[] }[]).find(
    (x) => x.kind === 'STRUCT' && x.name === 'bpf_prog_info',
  )!;
  const off = (n: string) => t.members.find((m) => m.name === n)!.bits_offset / 8;
  assert.ok(t.size >= PROG_INFO.size);
  assert.equal(off('id'), PROG_INFO.id);
  assert.equal(off('run_time_ns'), PROG_INFO.runTimeNs);
  assert.equal(off('run_cnt'), PROG_INFO.runCnt);
  assert.equal(off('recursion_misses'), PROG_INFO.recursionMisses);
});
