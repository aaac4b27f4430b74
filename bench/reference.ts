/**
 * The reference beside benchmark 3: a node process that does the same fixed work once a second,
 * run in the same windows as the probetop process measured. Its CPU says how fast the machine is
 * in that window: the same probetop code has measured 0.39-0.61% of a core from run to run with
 * the guest quiet by every check (bench/lib/quiet.ts), because the host's load (other guests on
 * the same caches and memory) is not visible from inside. A probetop number next to a reference
 * number is comparable with another run's pair; alone it is not.
 *
 * The work is shaped like a tick of probetop, at about its size: a few /proc files read, several
 * hundred small objects built, sorted and formatted into lines, and a walk over memory that the
 * rest of the second has pushed out of the caches. It is fixed: nothing in it depends on the
 * machine's state, so its CPU time changes only with how fast the machine runs it.
 *
 * Usage: node dist/bench/reference.js   (runs until killed)
 */
import fs from 'node:fs';

const ROWS = 800;
const MEMORY_BYTES = 24 << 20;
const STRIDE = 64; // one cache line

const memory = new Float64Array(MEMORY_BYTES / 8);
for (let i = 0; i < memory.length; i++) memory[i] = i & 0xff;
const files = ['/proc/stat', '/proc/loadavg', '/proc/self/stat', '/proc/self/statm', '/proc/uptime'];
let sink = 0;

function tick(n: number): void {
  for (const f of files) sink += fs.readFileSync(f, 'latin1').length;
  const rows: { id: number; name: string; a: number; b: number; c: number }[] = [];
  for (let i = 0; i < ROWS; i++) rows.push({ id: i, name: `proc-${(i * 7919) % 1009}`, a: (i * 31 + n) % 97, b: (i * 17) % 13, c: i / 3 });
  rows.sort((x, y) => y.a - x.a || x.id - y.id);
  const lines = rows.map((r) => `${String(r.id).padStart(7)} ${r.name.padEnd(12)} ${r.a.toFixed(1).padStart(6)} ${r.b} ${r.c.toFixed(2)}`);
  sink += lines.join('\n').length;
  let s = 0;
  for (let i = 0; i < memory.length; i += STRIDE / 8) s += memory[i];
  sink += s;
}

let n = 0;
setInterval(() => tick(n++), 1000);
process.on('SIGTERM', () => process.exit(sink > 0 ? 0 : 1));
