/**
 * Off-CPU stacks as folded text — `frame;frame;frame count`, root first, one stack a line — the
 * format flamegraph.pl and speedscope read. Counts are off-CPU microseconds.
 */

/** One stack's off-CPU time. */
export interface FoldedStack {
  comm: string;
  userFrames: string[] | null; // leaf first, null when not captured
  kernelFrames: string[]; // leaf first, [] when not captured
  offcpuNs: number;
}

function clean(frame: string): string {
  // Separators and whitespace inside a frame would split it: replace them.
  return frame.replace(/[;\s]+/g, '_') || '?';
}

/**
 * Folded lines for `stacks`, plus one line for the off-CPU time no stack covers (short blocks,
 * which are counted but not walked), so that the counts add up to `totalNs`.
 */
export function foldedLines(comm: string, stacks: readonly FoldedStack[], totalNs: number): string[] {
  const merged = new Map<string, number>();
  let covered = 0;
  for (const s of stacks) {
    const user = s.userFrames ? s.userFrames.slice().reverse().map(clean) : ['[user stack not captured]'];
    const kernel = s.kernelFrames.length ? s.kernelFrames.slice().reverse().map(clean) : ['[kernel stack not captured]'];
    const key = [clean(s.comm), ...user, '-', ...kernel].join(';');
    merged.set(key, (merged.get(key) ?? 0) + s.offcpuNs);
    covered += s.offcpuNs;
  }
  const rest = totalNs - covered;
  if (rest > 0) merged.set(`${clean(comm)};[blocks shorter than the stack threshold]`, rest);
  return [...merged.entries()].filter(([, ns]) => ns >= 1000).map(([k, ns]) => `${k} ${Math.round(ns / 1000)}`);
}

/** Parses folded text back: total count and lines. */
export function parseFolded(text: string): { stacks: { frames: string[]; count: number }[]; total: number } {
  const stacks = text.split('\n').filter(Boolean).map((l) => {
    const i = l.lastIndexOf(' ');
    return { frames: l.slice(0, i).split(';'), count: Number(l.slice(i + 1)) };
  });
  return { stacks, total: stacks.reduce((s, x) => s + x.count, 0) };
}
