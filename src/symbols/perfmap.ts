/**
 * JIT symbols from /tmp/perf-PID.map, the text format JITs (V8 with --perf-basic-prof, the JVM
 * with perf-map-agent, LuaJIT, ...) write for perf: one "START SIZE NAME" line per function,
 * hex numbers with or without 0x. Code can be freed and its range reused: a later line for
 * the same start address replaces an earlier one.
 */
import fs from 'node:fs';
import type { Sym } from './index';

/** The perf map path of a process. */
export function perfMapPath(pid: number, dir = '/tmp'): string {
  return `${dir}/perf-${pid}.map`;
}

/** The functions of one perf map, sorted by start address. */
export class PerfMap {
  private constructor(
    private readonly starts: Float64Array,
    private readonly sizes: Float64Array,
    private readonly names: string[],
  ) {}

  /** Reads a perf map file; throws when it cannot be read. */
  static read(path: string): PerfMap {
    return PerfMap.parse(fs.readFileSync(path, 'utf8'));
  }

  /** Parses perf map text; malformed lines are skipped. */
  static parse(text: string): PerfMap {
    const byStart = new Map<number, { size: number; name: string }>();
    for (const line of text.split('\n')) {
      const m = /^\s*(?:0x)?([0-9a-fA-F]+)\s+(?:0x)?([0-9a-fA-F]+)\s+(.*?)\s*$/.exec(line);
      if (!m) continue;
      const start = parseInt(m[1], 16);
      const size = parseInt(m[2], 16);
      if (!Number.isSafeInteger(start) || !size || !m[3]) continue;
      byStart.set(start, { size, name: m[3] });
    }
    const starts = [...byStart.keys()].sort((a, b) => a - b);
    return new PerfMap(
      Float64Array.from(starts),
      Float64Array.from(starts.map((s) => byStart.get(s)!.size)),
      starts.map((s) => byStart.get(s)!.name),
    );
  }

  /** Number of functions. */
  get size(): number {
    return this.starts.length;
  }

  /** The function containing `addr`, or null. */
  resolve(addr: number): Sym | null {
    const s = this.starts;
    let lo = 0;
    let hi = s.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid] <= addr) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0 || addr >= s[found] + this.sizes[found]) return null;
    return { name: this.names[found], offset: addr - s[found] };
  }
}
