/**
 * Checks a TypeScript struct layout against the BTF of a built BPF object (bpftool's JSON dump).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { StructLayout } from '../../src/bpf/layout';

export interface BtfType {
  id: number;
  kind: string;
  name?: string;
  size?: number;
  type_id?: number;
  nr_elems?: number;
  members?: { name: string; type_id: number; bits_offset: number }[];
}

export function btfOf(obj: string): Map<number, BtfType> {
  const out = execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', obj], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return new Map((JSON.parse(out).types as BtfType[]).map((t) => [t.id, t]));
}

export function sizeOf(types: Map<number, BtfType>, id: number): number {
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

export function check(layout: StructLayout, types: Map<number, BtfType>, obj: string): void {
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


/** True when bpftool is installed (the checks need it). */
export function haveBpftool(): boolean {
  try {
    execFileSync('bpftool', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
