/**
 * Symbolization of stack addresses: kernel addresses through /proc/kallsyms, user addresses
 * through /proc/PID/maps and the mapped files' ELF symbol tables, or /tmp/perf-PID.map for
 * JIT code. Everything is read lazily, on the first address that needs it, and cached; the app
 * symbolizes only what it shows.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KernelSymbols, KALLSYMS } from './kallsyms';
import { ElfSymbols } from './elf';
import { PerfMap, perfMapPath } from './perfmap';

/** A resolved address: the function, the byte offset into it, and its module or file. */
export interface Sym {
  name: string;
  offset: number; // bytes from the function's start
  module?: string; // kernel module, or the basename of the mapped file
}

/** Where the symbolizer reads from (tests point these at fixtures). */
export interface SymbolizerOptions {
  kallsyms?: string; // default /proc/kallsyms
  proc?: string; // default /proc
  perfMapDir?: string; // default /tmp
  mapsMaxAgeMs?: number; // a process's maps are re-read on a miss when older than this (default 1000)
}

/** One line of /proc/PID/maps. */
interface Mapping {
  start: number;
  end: number;
  offset: number;
  exec: boolean;
  dev: string;
  inode: number;
  path: string; // "" for anonymous memory
}

/** Parses /proc/PID/maps text. */
export function parseMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+)\s+(\S+)\s+([0-9a-f]+)\s+(\S+)\s+(\d+)\s*(.*)$/.exec(line);
    if (!m) continue;
    out.push({
      start: parseInt(m[1], 16),
      end: parseInt(m[2], 16),
      exec: m[3][2] === 'x',
      offset: parseInt(m[4], 16),
      dev: m[5],
      inode: Number(m[6]),
      path: m[7],
    });
  }
  return out;
}

const MAX_PROCS = 512;
const MAX_FILES = 128;

/** Most kernel addresses whose names the Symbolizer remembers (then it starts over). */
const KERNEL_NAMES_MAX = 65536;

/** Resolves kernel and user addresses to function names, with caches. */
export class Symbolizer {
  private ksyms: KernelSymbols | undefined;
  private kernelNames = new Map<string, string | null>(); // kernelName's answers
  private procs = new Map<number, { at: number; maps: Mapping[] }>();
  private files = new Map<string, ElfSymbols | null>();
  private perfMaps = new Map<number, { checkedAt: number; mtimeMs: number; size: number; map: PerfMap | null }>();

  constructor(private readonly opts: SymbolizerOptions = {}) {}

  /** The kernel symbol table, read on first use (after probes are loaded, so BPF programs are in it). */
  kernelSymbols(): KernelSymbols {
    if (!this.ksyms) {
      try {
        this.ksyms = KernelSymbols.load(this.opts.kallsyms ?? KALLSYMS);
      } catch {
        this.ksyms = KernelSymbols.parse('');
      }
    }
    return this.ksyms;
  }

  /** Forgets the kernel symbols (after modules or BPF programs were loaded). */
  reloadKernel(): void {
    this.ksyms = undefined;
    this.kernelNames.clear();
  }

  /** Forgets what is cached about a process (it exited, or exec'd). */
  forget(pid: number): void {
    this.procs.delete(pid);
    this.perfMaps.delete(pid);
  }

  /** The kernel function containing `addr` (hex string or bigint), or null. */
  kernel(addr: string | bigint): Sym | null {
    const a = typeof addr === 'bigint' ? addr : BigInt('0x' + addr.replace(/^0x/, ''));
    return this.kernelSymbols().resolve(a);
  }

  /** The function containing user address `addr` (hex string or number) in process `pid`, or null. */
  user(pid: number, addr: string | number): Sym | null {
    const a = typeof addr === 'number' ? addr : parseInt(addr.replace(/^0x/, ''), 16);
    if (!Number.isSafeInteger(a)) return null;
    let m = this.mappingOf(pid, a, false);
    if (!m) m = this.mappingOf(pid, a, true);
    if (!m) return null;
    if (m.path === '' || m.path.startsWith('[anon')) return this.jit(pid, a);
    if (m.path === '[vdso]') return { name: '[vdso]', offset: a - m.start };
    if (m.path.startsWith('[')) return null;
    const elf = this.elfOf(pid, m);
    if (!elf) return null;
    const vaddr = elf.fileOffsetToVaddr(a - m.start + m.offset);
    if (vaddr === null) return null;
    const sym = elf.resolve(vaddr);
    return sym ? { ...sym, module: path.basename(m.path.replace(/ \(deleted\)$/, '')) } : null;
  }

  /**
   * The kernel function name at `addr`, or null (the shape the off-CPU model asks for). Names
   * are remembered: the panels ask about the same few hundred addresses every tick.
   */
  kernelName(addr: string): string | null {
    let name = this.kernelNames.get(addr);
    if (name === undefined) {
      if (this.kernelNames.size >= KERNEL_NAMES_MAX) this.kernelNames.clear();
      name = this.kernel(addr)?.name ?? null;
      this.kernelNames.set(addr, name);
    }
    return name;
  }

  /** The user function name at `addr` in `pid`, or null. */
  userName(pid: number, addr: string): string | null {
    return this.user(pid, addr)?.name ?? null;
  }

  private mappingOf(pid: number, addr: number, refresh: boolean): Mapping | null {
    let entry = this.procs.get(pid);
    const maxAge = this.opts.mapsMaxAgeMs ?? 1000;
    if (!entry || (refresh && Date.now() - entry.at > maxAge)) {
      let text: string;
      try {
        text = fs.readFileSync(`${this.opts.proc ?? '/proc'}/${pid}/maps`, 'utf8');
      } catch {
        return null;
      }
      entry = { at: Date.now(), maps: parseMaps(text) };
      this.procs.delete(pid);
      this.procs.set(pid, entry);
      if (this.procs.size > MAX_PROCS) this.procs.delete(this.procs.keys().next().value!);
    }
    for (const m of entry.maps) if (addr >= m.start && addr < m.end) return m;
    return null;
  }

  /** The ELF symbols of a mapped file, read through the process's view of it where possible. */
  private elfOf(pid: number, m: Mapping): ElfSymbols | null {
    const key = `${m.dev}:${m.inode}:${m.path}`;
    if (this.files.has(key)) return this.files.get(key)!;
    const proc = this.opts.proc ?? '/proc';
    const file = m.path.replace(/ \(deleted\)$/, '');
    // map_files works for deleted files and other mount namespaces; root/ for other namespaces.
    const candidates = [`${proc}/${pid}/map_files/${m.start.toString(16)}-${m.end.toString(16)}`, `${proc}/${pid}/root${file}`, file];
    let elf: ElfSymbols | null = null;
    for (const c of candidates) {
      try {
        elf = ElfSymbols.read(c);
        break;
      } catch {
        /* next candidate */
      }
    }
    this.files.set(key, elf);
    if (this.files.size > MAX_FILES) this.files.delete(this.files.keys().next().value!);
    return elf;
  }

  /** A JIT symbol from the process's perf map, re-read when the file changed (checked once a second). */
  private jit(pid: number, addr: number): Sym | null {
    const file = perfMapPath(pid, this.opts.perfMapDir);
    let entry = this.perfMaps.get(pid);
    const now = Date.now();
    if (!entry || now - entry.checkedAt > 1000) {
      let st: fs.Stats | undefined;
      try {
        st = fs.statSync(file);
      } catch {
        st = undefined;
      }
      if (!st) entry = { checkedAt: now, mtimeMs: 0, size: 0, map: null };
      else if (!entry || entry.mtimeMs !== st.mtimeMs || entry.size !== st.size) {
        let map: PerfMap | null = null;
        try {
          map = PerfMap.read(file);
        } catch {
          map = null;
        }
        entry = { checkedAt: now, mtimeMs: st.mtimeMs, size: st.size, map };
      } else entry.checkedAt = now;
      this.perfMaps.set(pid, entry);
      if (this.perfMaps.size > MAX_PROCS) this.perfMaps.delete(this.perfMaps.keys().next().value!);
    }
    const sym = entry.map?.resolve(addr) ?? null;
    return sym ? { ...sym, module: '[jit]' } : null;
  }
}

/** A frame as text: "name+0x1c", or the address when it did not resolve. */
export function formatFrame(sym: Sym | null, addr: string): string {
  if (!sym) return `0x${addr.replace(/^0x/, '')}`;
  return sym.offset ? `${sym.name}+0x${sym.offset.toString(16)}` : sym.name;
}

export { KernelSymbols, kernelRanges } from './kallsyms';
export { ElfSymbols } from './elf';
export { PerfMap, perfMapPath } from './perfmap';
