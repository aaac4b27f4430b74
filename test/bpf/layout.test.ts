/**
 * Every TypeScript view of a shared C struct matches the BTF of the built BPF object: same
 * size, same members in the same order at the same offsets with the same sizes. A struct that
 * drifts on one side fails here instead of producing wrong numbers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import { PROBES } from '../../src/probes';
import { BPF_DIR } from '../../src/probes/load';
import { btfOf, check, haveBpftool } from '../helpers/btf';

const probes = Object.values(PROBES);
const bpftool = haveBpftool();

for (const spec of probes) {
  const obj = path.join(BPF_DIR, spec.object);
  test(`struct layouts of ${spec.name} match the BTF of ${spec.object}`, { skip: !bpftool ? 'bpftool not installed' : false }, () => {
    assert.ok(fs.existsSync(obj), `${obj} not built`);
    assert.ok(spec.layouts.length > 0, `${spec.name} declares no layouts`);
    const types = btfOf(obj);
    for (const l of spec.layouts) check(l, types, spec.object);
  });
}
