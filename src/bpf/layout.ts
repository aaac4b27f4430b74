/**
 * TypeScript views of the C structs shared with BPF programs (bpf/*.h). Offsets follow the C
 * ABI; test/bpf/layout.test.ts checks each against the BTF of the built object, so a struct that
 * drifts fails a test instead of quietly producing wrong numbers.
 */

/** A C scalar type of a shared struct field. */
export type Scalar = 'u8' | 'u16' | 'u32' | 'u64' | 's32' | 's64' | 'char';

/** One field: a scalar, an array of scalars, or a nested struct. */
export interface FieldSpec {
  name: string;
  type: Scalar | StructLayout;
  count?: number; // array length
}

/** A laid-out field: byte offset and total size. */
export interface Field extends FieldSpec {
  offset: number;
  size: number;
}

/** A C struct's computed layout. */
export interface StructLayout {
  name: string;
  fields: Field[];
  size: number;
  align: number;
}

const SCALAR: Record<Scalar, number> = { u8: 1, u16: 2, u32: 4, u64: 8, s32: 4, s64: 8, char: 1 };

/** Computes offsets and size of a struct under the x86_64/arm64 C ABI. */
export function struct(name: string, specs: FieldSpec[]): StructLayout {
  let off = 0;
  let align = 1;
  const fields: Field[] = [];
  for (const f of specs) {
    const el = typeof f.type === 'string' ? SCALAR[f.type] : f.type.size;
    const al = typeof f.type === 'string' ? SCALAR[f.type] : f.type.align;
    off = Math.ceil(off / al) * al;
    const size = el * (f.count ?? 1);
    fields.push({ ...f, offset: off, size });
    off += size;
    align = Math.max(align, al);
  }
  return { name, fields, size: Math.ceil(off / align) * align, align };
}

/** The byte offset of a field by name (throws on a typo, so layouts and readers stay in step). */
export function offsetOf(layout: StructLayout, field: string): number {
  const f = layout.fields.find((x) => x.name === field);
  if (!f) throw new Error(`${layout.name} has no field ${field}`);
  return f.offset;
}
