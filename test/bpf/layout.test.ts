/**
 * Every TypeScript view of a shared C struct matches the BTF of the built BPF object: same
 * size, same members in the same order at the same offsets with the same sizes. A struct that
 * drifts on one side fails here instead of producing wrong numbers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';
import { PROBES } from '../../src/probes';
import { BPF_DIR } from '../../src/probes/load';
import type { StructLayout } from '../../src/bpf/layout';

interface BtfType {
  id: number;
  kind: string;
  name?: string;
  size?: number;
  type_id?: number;
  nr_elems?: number;
  members?: { name: string; type_id: number; bits_offset: number }[];
}

function btfOf(obj: string): Map<number, BtfType> {
  const out = execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', obj], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return new Map((JSON.parse(out).types as BtfType[]).map((t) => [t.id, t]));
}

function sizeOf(types: Map<number, BtfType>, id: number): number {
  const t = types.get(id)!;
  switch (t.kind) {
    case 'INT': case 'STRUCT': case 'UNION': case 'ENUM': case 'ENUM64': case 'FLOAT':
      return t.size!;
    case 'PTR':
      return 8;
    case 'ARRAY':
      return t.nr_elems! * sizeOf(types, t.type_id!);
    case 'TYPEDEF': case 'VOLATILE': case 'CONST': case 'RESTRICT': case 'TYPE_TAG':
      return sizeOf(types, t.type_id!);
    default:
      throw new Error(`unexpected BTF kind ${t.kind}`);
  }
}

function check(layout: StructLayout, types: Map<number, BtfType>, obj: string): void {
  const candidates = [...types.values()].filter((t) => t.kind === 'STRUCT' && t.name === layout.name);
  assert.ok(candidates.length > 0, `struct ${layout.name} not in the BTF of ${obj}`);
  const s = candidates[0];
  assert.equal(layout.size, s.size, `sizeof(struct ${layout.name})`);
  assert.deepEqual(layout.fields.map((f) => f.name), s.members!.map((m) => m.name), `members of struct ${layout.name}`);
  layout.fields.forEach((f, i) => {
    const m = s.members![i];
    assert.equal(f.offset * 8, m.bits_offset, `offset of ${layout.name}.${f.name}`);
    assert.equal(f.size, sizeOf(types, m.type_id), `size of ${layout.name}.${f.name}`);
    if (typeof f.type !== 'string') check(f.type, types, obj);
  });
}

const probes = Object.values(PROBES);
let bpftool = true;
try {
  execFileSync('bpftool', ['version'], { stdio: 'ignore' });
} catch {
  bpftool = false;
}

for (const spec of probes) {
  const obj = path.join(BPF_DIR, spec.object);
  test(`struct layouts of ${spec.name} match the BTF of ${spec.object}`, { skip: !bpftool ? 'bpftool not installed' : false }, () => {
    assert.ok(fs.existsSync(obj), `${obj} not built`);
    assert.ok(spec.layouts.length > 0, `${spec.name} declares no layouts`);
    const types = btfOf(obj);
    for (const l of spec.layouts) check(l, types, spec.object);
  });
}
