/**
 * Function symbols of an ELF64 little-endian file (executables and shared objects): .symtab,
 * or .dynsym when the file is stripped, read with positioned reads of only the headers and the
 * symbol and string tables. Addresses are the file's virtual addresses (st_value); map a
 * process address to one with fileOffsetToVaddr() and the mapping's file offset.
 */
import fs from 'node:fs';
import type { Sym } from './index';

const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const PT_LOAD = 1;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const STB_LOCAL = 0;
const STB_GLOBAL = 1;
/** How far past the start of a symbol without a size an address is still taken to be in it. */
const SIZELESS_SPAN = 4096;

/** A loadable segment: file bytes [offset, offset + filesz) are mapped at vaddr. */
interface Segment {
  offset: number;
  vaddr: number;
  filesz: number;
}

function readAt(fd: number, pos: number, len: number): Buffer {
  const buf = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const n = fs.readSync(fd, buf, got, len - got, pos + got);
    if (n === 0) throw new Error(`ELF file ends at ${pos + got}, wanted ${pos + len}`);
    got += n;
  }
  return buf;
}

/** Numbers in ELF headers are u64; a file's offsets and a user-space vaddr fit in a double. */
function u64(buf: Buffer, off: number): number {
  return Number(buf.readBigUInt64LE(off));
}

/** Preference between aliases at one address: fewer leading "_", then global, weak, local. */
function rank(name: string, bind: number): number {
  const underscores = /^_*/.exec(name)![0].length;
  const b = bind === STB_GLOBAL ? 0 : bind === STB_LOCAL ? 2 : 1;
  return underscores * 4 + b;
}

/** The function symbols of one ELF file, sorted by address. */
export class ElfSymbols {
  private constructor(
    /** Which table the symbols came from ("none" when the file has neither). */
    readonly table: 'symtab' | 'dynsym' | 'none',
    private readonly values: Float64Array,
    private readonly sizes: Float64Array,
    private readonly nameOffs: Uint32Array,
    private readonly strtab: Buffer,
    private readonly segments: Segment[],
  ) {}

  /** Reads the symbols of the ELF file at `path`; throws when it is not ELF64 little-endian. */
  static read(path: string): ElfSymbols {
    const fd = fs.openSync(path, 'r');
    try {
      return ElfSymbols.fromFd(fd, path);
    } finally {
      fs.closeSync(fd);
    }
  }

  private static fromFd(fd: number, path: string): ElfSymbols {
    const eh = readAt(fd, 0, 64);
    if (eh.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${path}: not an ELF file`);
    if (eh[4] !== 2 || eh[5] !== 1) throw new Error(`${path}: not ELF64 little-endian`);
    const phoff = u64(eh, 0x20);
    const shoff = u64(eh, 0x28);
    const phentsize = eh.readUInt16LE(0x36);
    const phnum = eh.readUInt16LE(0x38);
    const shentsize = eh.readUInt16LE(0x3a);
    const shnum = eh.readUInt16LE(0x3c);

    const segments: Segment[] = [];
    if (phoff && phnum) {
      const ph = readAt(fd, phoff, phentsize * phnum);
      for (let i = 0; i < phnum; i++) {
        const o = i * phentsize;
        if (ph.readUInt32LE(o) !== PT_LOAD) continue;
        segments.push({ offset: u64(ph, o + 8), vaddr: u64(ph, o + 0x10), filesz: u64(ph, o + 0x20) });
      }
    }

    const empty = () => new ElfSymbols('none', new Float64Array(0), new Float64Array(0), new Uint32Array(0), Buffer.alloc(0), segments);
    if (!shoff || !shnum) return empty();
    const sh = readAt(fd, shoff, shentsize * shnum);
    const section = (i: number) => {
      const o = i * shentsize;
      return { type: sh.readUInt32LE(o + 4), offset: u64(sh, o + 0x18), size: u64(sh, o + 0x20), link: sh.readUInt32LE(o + 0x28), entsize: u64(sh, o + 0x38) };
    };
    let symIdx = -1;
    let table: 'symtab' | 'dynsym' = 'dynsym';
    for (let i = 0; i < shnum; i++) {
      const t = section(i).type;
      if (t === SHT_SYMTAB) {
        symIdx = i;
        table = 'symtab';
        break;
      }
      if (t === SHT_DYNSYM && symIdx < 0) symIdx = i;
    }
    if (symIdx < 0) return empty();
    const symSec = section(symIdx);
    if (symSec.link >= shnum) return empty();
    const strSec = section(symSec.link);
    const syms = readAt(fd, symSec.offset, symSec.size);
    const strtab = readAt(fd, strSec.offset, strSec.size);
    const entsize = symSec.entsize || 24;

    const found: { value: number; size: number; nameOff: number; rank: number }[] = [];
    for (let o = 0; o + 24 <= syms.length; o += entsize) {
      const info = syms[o + 4];
      const type = info & 0xf;
      if (type !== STT_FUNC && type !== STT_GNU_IFUNC) continue;
      if (syms.readUInt16LE(o + 6) === 0) continue; // SHN_UNDEF: imported, not defined here
      const value = u64(syms, o + 8);
      if (!value) continue;
      const nameOff = syms.readUInt32LE(o);
      const end = strtab.indexOf(0, nameOff);
      const name = strtab.toString('latin1', nameOff, end < 0 ? strtab.length : end);
      found.push({ value, size: u64(syms, o + 16), nameOff, rank: rank(name, info >> 4) });
    }
    found.sort((a, b) => a.value - b.value || a.rank - b.rank);
    // One symbol per address: the preferred alias (e.g. "read" over "__read" and "__libc_read").
    const kept = found.filter((s, i) => i === 0 || s.value !== found[i - 1].value);
    const values = new Float64Array(kept.length);
    const sizes = new Float64Array(kept.length);
    const nameOffs = new Uint32Array(kept.length);
    kept.forEach((s, i) => {
      values[i] = s.value;
      sizes[i] = s.size;
      nameOffs[i] = s.nameOff;
    });
    return new ElfSymbols(table, values, sizes, nameOffs, strtab, segments);
  }

  /** Number of function symbols kept (one per address). */
  get size(): number {
    return this.values.length;
  }

  private nameAt(i: number): string {
    const off = this.nameOffs[i];
    const end = this.strtab.indexOf(0, off);
    return this.strtab.toString('latin1', off, end < 0 ? this.strtab.length : end);
  }

  /** The function containing virtual address `vaddr`, or null. */
  resolve(vaddr: number): Sym | null {
    const v = this.values;
    let lo = 0;
    let hi = v.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (v[mid] <= vaddr) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return null;
    const offset = vaddr - v[found];
    const span = this.sizes[found] || SIZELESS_SPAN;
    if (offset >= span) return null;
    return { name: this.nameAt(found), offset };
  }

  /** The virtual address of a function by name, or null (for tests and lookups by name). */
  addressOf(name: string): number | null {
    for (let i = 0; i < this.values.length; i++) if (this.nameAt(i) === name) return this.values[i];
    return null;
  }

  /** The virtual address that file offset `off` is loaded at, or null when no segment maps it. */
  fileOffsetToVaddr(off: number): number | null {
    for (const s of this.segments) if (off >= s.offset && off < s.offset + s.filesz) return off - s.offset + s.vaddr;
    return null;
  }
}
