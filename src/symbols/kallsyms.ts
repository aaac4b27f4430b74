/**
 * Kernel symbols from /proc/kallsyms: function addresses sorted once, looked up by binary
 * search. Read it after loading BPF programs (they appear there too, as bpf_prog_*).
 */
import fs from 'node:fs';
import type { Sym } from './index';

/** Where the kernel lists its symbols. */
export const KALLSYMS = '/proc/kallsyms';

/** Offsets past a symbol's start beyond which an address is not taken to be inside it. */
const MAX_OFFSET = 1n << 20n;

/**
 * The kernel's function symbols, sorted by address. Kept compact (the UI holds them for its
 * whole run, ~120,000 on a distribution kernel): the names in one string with a start offset
 * each, instead of one string per symbol, each a slice that kept the whole file's text alive
 * (3.1 MB of heap instead of 5.9 MB for this VM's 122,079).
 */
export class KernelSymbols {
  /** True when the file hid the addresses (kptr_restrict, or not root): nothing resolves. */
  readonly hidden: boolean;

  private constructor(
    private readonly addrs: BigUint64Array,
    /** Every name, each followed by "\n"; name i starts at nameAt[i] (nameAt has one more entry). */
    private readonly names: string,
    private readonly nameAt: Uint32Array,
    /** The module of the symbols that are in one (by index); core kernel symbols are not listed. */
    private readonly modules: Map<number, string>,
  ) {
    this.hidden = addrs.length === 0;
  }

  /** Reads and sorts the function symbols of `path` (default /proc/kallsyms). */
  static load(path = KALLSYMS): KernelSymbols {
    return KernelSymbols.parse(fs.readFileSync(path, 'latin1'));
  }

  /** Parses kallsyms text: "ffffffff81000000 T _stext" with an optional "[module]". */
  static parse(text: string): KernelSymbols {
    const entries: { addr: bigint; name: string; module?: string }[] = [];
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      const line = text.slice(start, end);
      start = end + 1;
      const s1 = line.indexOf(' ');
      if (s1 <= 0 || line.length < s1 + 4) continue;
      const type = line[s1 + 1];
      // Text symbols only (t/T, and weak w/W, which kallsyms also uses for functions).
      if (type !== 't' && type !== 'T' && type !== 'w' && type !== 'W') continue;
      const addr = BigInt('0x' + line.slice(0, s1));
      if (addr === 0n) continue; // hidden address (or an undefined weak symbol)
      const rest = line.slice(s1 + 3);
      const tab = rest.indexOf('\t');
      const name = tab < 0 ? rest : rest.slice(0, tab);
      const module = tab < 0 ? undefined : rest.slice(tab + 1).replace(/^\[|\]$/g, '');
      entries.push({ addr, name, module });
    }
    entries.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
    const addrs = new BigUint64Array(entries.length);
    const nameAt = new Uint32Array(entries.length + 1);
    const modules = new Map<number, string>();
    let at = 0;
    entries.forEach((e, i) => {
      addrs[i] = e.addr;
      nameAt[i] = at;
      at += e.name.length + 1;
      if (e.module) modules.set(i, e.module);
    });
    nameAt[entries.length] = at;
    // join() makes a new flat string: the slices of `text` above can then be freed with it.
    const names = entries.length ? entries.map((e) => e.name).join('\n') + '\n' : '';
    return new KernelSymbols(addrs, names, nameAt, modules);
  }

  /** Number of function symbols. */
  get size(): number {
    return this.addrs.length;
  }

  private nameOf(i: number): string {
    return this.names.slice(this.nameAt[i], this.nameAt[i + 1] - 1);
  }

  /** The function containing `addr`, or null. */
  resolve(addr: bigint): Sym | null {
    const a = this.addrs;
    let lo = 0;
    let hi = a.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid] <= addr) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return null;
    const offset = addr - a[found];
    if (offset >= MAX_OFFSET) return null;
    const sym: Sym = { name: this.nameOf(found), offset: Number(offset) };
    const module = this.modules.get(found);
    if (module) sym.module = module;
    return sym;
  }

  /** The address of a function by name (the lowest one when names repeat), or null. */
  addressOf(name: string): bigint | null {
    if (!name || name.includes('\n')) return null;
    // A whole name: at the very start, or right after the "\n" that ends the one before.
    let pos = 0;
    if (!this.names.startsWith(name + '\n')) {
      const nl = this.names.indexOf('\n' + name + '\n');
      if (nl < 0) return null;
      pos = nl + 1;
    }
    // The index whose name starts at pos (binary search over the start offsets).
    let lo = 0;
    let hi = this.addrs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.nameAt[mid] < pos) lo = mid + 1;
      else hi = mid;
    }
    return this.addrs[lo];
  }
}

/** Address ranges of the running kernel that the off-CPU probe needs before it loads. */
export interface KernelRanges {
  text: { start: bigint; end: bigint }; // core kernel text [_stext, _etext)
  syscallEntry: { start: bigint; end: bigint } | null; // do_syscall_64 (x86_64), null elsewhere
}

/**
 * The core kernel's text range and its syscall entry function from /proc/kallsyms, or null
 * when the addresses are hidden or the symbols missing. Read before loading BPF (it goes into
 * .rodata), so it scans the text once for a few names instead of sorting every symbol.
 */
export function kernelRanges(path = KALLSYMS): KernelRanges | null {
  let text: string;
  try {
    text = fs.readFileSync(path, 'latin1');
  } catch {
    return null;
  }
  const find = (name: string): { addr: bigint; next: bigint } | null => {
    const m = new RegExp(`^([0-9a-f]+) [tT] ${name}\n([0-9a-f]+) `, 'm').exec(text);
    return m ? { addr: BigInt('0x' + m[1]), next: BigInt('0x' + m[2]) } : null;
  };
  const start = find('_stext')?.addr ?? 0n;
  const end = find('_etext')?.addr ?? 0n;
  if (!start || end <= start) return null;
  const entry = find('do_syscall_64');
  return { text: { start, end }, syscallEntry: entry && entry.next > entry.addr ? { start: entry.addr, end: entry.next } : null };
}
