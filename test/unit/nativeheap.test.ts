/**
 * The sampler hands freed native memory back to the system every TRIM_PERIOD_TICKS samples:
 * glibc keeps the pages of freed Buffers and libbpf allocations in its heap otherwise (~17 MB of
 * probetop's RSS under a fork storm). Checked on this process's own malloc heap, in /proc.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Sampler, TRIM_PERIOD_TICKS } from '../../src/sampler';
import { PROBE_NAMES } from '../../src/probes';

/** Resident kB of the brk heap, or null when malloc has none (not glibc). */
function mallocHeapKb(): number | null {
  const smaps = fs.readFileSync('/proc/self/smaps', 'utf8');
  const at = smaps.indexOf('[heap]');
  if (at < 0) return null;
  const m = /\nRss:\s+(\d+) kB/.exec(smaps.slice(at));
  return m ? Number(m[1]) : null;
}

test('sampler: every TRIM_PERIOD_TICKS samples, freed native memory leaves the resident set', async (t) => {
  if (mallocHeapKb() === null) return t.skip('no brk heap in /proc/self/smaps (not glibc malloc)');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const s = new Sampler({ disable: [...PROBE_NAMES] });
  s.start();
  try {
    s.sample(); // the first sample's own allocations settle before the counting starts
    const settle = (TRIM_PERIOD_TICKS - (1 % TRIM_PERIOD_TICKS)) % TRIM_PERIOD_TICKS;
    for (let i = 0; i < settle; i++) s.sample();
    // 64 MiB of 16 KiB native buffers (under glibc's mmap threshold, so in the brk heap), pages
    // touched; one in 64 stays alive, so the freed runs lie between live chunks where a plain
    // free() cannot return them.
    let bufs: Buffer[] = [];
    for (let i = 0; i < 4096; i++) bufs.push(Buffer.allocUnsafeSlow(16 << 10).fill(i & 0xff));
    const kept = bufs.filter((_, i) => i % 64 === 63);
    bufs = [];
    gc();
    await new Promise((r) => setTimeout(r, 200)); // backing stores may be freed off the main thread
    gc();
    const before = mallocHeapKb()!;
    for (let i = 0; i < TRIM_PERIOD_TICKS - 1; i++) s.sample();
    const between = mallocHeapKb()!;
    s.sample();
    const after = mallocHeapKb()!;
    assert.ok(before > 50 * 1024, `the freed buffers were resident in the heap: ${before} kB`);
    assert.ok(between > before - 8 * 1024, `no trim before the period ends: ${before} kB -> ${between} kB`);
    assert.ok(after < between - 48 * 1024, `the period's sample gave the freed pages back: ${between} kB -> ${after} kB`);
    assert.equal(kept.length, 64);
  } finally {
    s.close();
  }
});
