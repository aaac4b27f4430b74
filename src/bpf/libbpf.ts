/**
 * koffi declarations for the system's libbpf.so.1 — the only module that imports koffi
 * (src/bpf/ as a whole is the only place that touches native memory).
 *
 * Conventions of libbpf 1.x that the wrappers rely on: int-returning calls return a negative
 * errno; pointer-returning calls return NULL and set errno, which must be read at once.
 */
import koffi from 'koffi';
import type { LibraryHandle, TypeObject } from 'koffi';

/** An opaque native pointer as koffi hands it out (null for NULL). */
export type Ptr = unknown;

let lib: LibraryHandle | undefined;
let libc: LibraryHandle | undefined;
let loadError: string | undefined;

function openLibs(): LibraryHandle {
  if (lib) return lib;
  if (loadError) throw new Error(loadError);
  try {
    lib = koffi.load('libbpf.so.1');
    libc = koffi.load('libc.so.6');
  } catch (e) {
    loadError =
      `cannot load libbpf.so.1 (${(e as Error).message}); install it with: apt-get install libbpf1`;
    throw new Error(loadError);
  }
  return lib;
}

type Fn = (...args: any[]) => any;

/** The libbpf (and few libc) functions probetop uses, bound on first use. */
export interface Libbpf {
  bpf_object__open_file(path: string, opts: null): Ptr;
  bpf_object__load(obj: Ptr): number;
  bpf_object__close(obj: Ptr): void;
  bpf_object__find_program_by_name(obj: Ptr, name: string): Ptr;
  bpf_object__find_map_by_name(obj: Ptr, name: string): Ptr;
  bpf_object__next_program(obj: Ptr, prev: Ptr): Ptr;
  bpf_program__name(prog: Ptr): string;
  bpf_program__set_autoload(prog: Ptr, autoload: boolean): number;
  bpf_program__autoload(prog: Ptr): boolean;
  bpf_program__attach(prog: Ptr): Ptr;
  bpf_program__fd(prog: Ptr): number;
  bpf_link__destroy(link: Ptr): number;
  bpf_map__fd(map: Ptr): number;
  bpf_map__set_max_entries(map: Ptr, n: number): number;
  bpf_map__max_entries(map: Ptr): number;
  bpf_map__value_size(map: Ptr): number;
  bpf_map__key_size(map: Ptr): number;
  bpf_map__set_autocreate(map: Ptr, autocreate: boolean): number;
  bpf_map__initial_value(map: Ptr, size: number[]): Ptr;
  bpf_map_lookup_elem(fd: number, key: Buffer, value: Buffer): number;
  bpf_map_update_elem(fd: number, key: Buffer, value: Buffer, flags: number): number;
  bpf_map_delete_elem(fd: number, key: Buffer): number;
  bpf_map_get_next_key(fd: number, key: Buffer | null, next: Buffer): number;
  bpf_map_delete_batch(fd: number, keys: Buffer, count: Uint32Array, opts: null): number;
  bpf_map_lookup_batch(
    fd: number, inBatch: Buffer | null, outBatch: Buffer, keys: Buffer, values: Buffer,
    count: Uint32Array, opts: null): number;
  bpf_prog_get_info_by_fd(fd: number, info: Buffer, len: Uint32Array): number;
  bpf_enable_stats(type: number): number;
  libbpf_num_possible_cpus(): number;
  libbpf_strerror(err: number, buf: Buffer, size: number): number;
  libbpf_set_print(fn: Ptr): Ptr;
  ring_buffer__new(fd: number, cb: Ptr, ctx: null, opts: null): Ptr;
  ring_buffer__consume(rb: Ptr): number;
  ring_buffer__free(rb: Ptr): void;
  vsnprintf(buf: Buffer, size: number, fmt: Ptr, ap: Ptr): number;
  mmap(addr: null, len: number, prot: number, flags: number, fd: number, off: number): Ptr;
  munmap(addr: Ptr, len: number): number;
  close(fd: number): number;
  dup2(oldfd: number, newfd: number): number;
  malloc_trim(pad: number): number;
  sigfillset(set: Buffer): number;
  pthread_sigmask(how: number, set: Buffer | null, old: Buffer | null): number;
}

const DECLS: Record<keyof Libbpf, string> = {
  bpf_object__open_file: 'void *bpf_object__open_file(const char *path, void *opts)',
  bpf_object__load: 'int bpf_object__load(void *obj)',
  bpf_object__close: 'void bpf_object__close(void *obj)',
  bpf_object__find_program_by_name: 'void *bpf_object__find_program_by_name(void *obj, const char *name)',
  bpf_object__find_map_by_name: 'void *bpf_object__find_map_by_name(void *obj, const char *name)',
  bpf_object__next_program: 'void *bpf_object__next_program(void *obj, void *prev)',
  bpf_program__name: 'const char *bpf_program__name(void *prog)',
  bpf_program__set_autoload: 'int bpf_program__set_autoload(void *prog, bool autoload)',
  bpf_program__autoload: 'bool bpf_program__autoload(void *prog)',
  bpf_program__attach: 'void *bpf_program__attach(void *prog)',
  bpf_program__fd: 'int bpf_program__fd(void *prog)',
  bpf_link__destroy: 'int bpf_link__destroy(void *link)',
  bpf_map__fd: 'int bpf_map__fd(void *map)',
  bpf_map__set_max_entries: 'int bpf_map__set_max_entries(void *map, uint32_t n)',
  bpf_map__max_entries: 'uint32_t bpf_map__max_entries(void *map)',
  bpf_map__value_size: 'uint32_t bpf_map__value_size(void *map)',
  bpf_map__key_size: 'uint32_t bpf_map__key_size(void *map)',
  bpf_map__set_autocreate: 'int bpf_map__set_autocreate(void *map, bool autocreate)',
  bpf_map__initial_value: 'void *bpf_map__initial_value(void *map, _Out_ size_t *psize)',
  bpf_map_lookup_elem: 'int bpf_map_lookup_elem(int fd, const void *key, void *value)',
  bpf_map_update_elem: 'int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags)',
  bpf_map_delete_elem: 'int bpf_map_delete_elem(int fd, const void *key)',
  bpf_map_get_next_key: 'int bpf_map_get_next_key(int fd, const void *key, void *next)',
  bpf_map_delete_batch: 'int bpf_map_delete_batch(int fd, void *keys, void *count, void *opts)',
  bpf_map_lookup_batch:
    'int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, void *count, void *opts)',
  bpf_prog_get_info_by_fd: 'int bpf_obj_get_info_by_fd(int fd, void *info, void *len)',
  bpf_enable_stats: 'int bpf_enable_stats(int type)',
  libbpf_num_possible_cpus: 'int libbpf_num_possible_cpus()',
  libbpf_strerror: 'int libbpf_strerror(int err, void *buf, size_t size)',
  libbpf_set_print: 'void *libbpf_set_print(void *fn)',
  ring_buffer__new: 'void *ring_buffer__new(int fd, void *cb, void *ctx, void *opts)',
  ring_buffer__consume: 'int ring_buffer__consume(void *rb)',
  ring_buffer__free: 'void ring_buffer__free(void *rb)',
  vsnprintf: 'int vsnprintf(void *buf, size_t size, void *fmt, void *ap)',
  close: 'int close(int fd)',
  dup2: 'int dup2(int oldfd, int newfd)',
  malloc_trim: 'int malloc_trim(size_t pad)',
  sigfillset: 'int sigfillset(void *set)',
  pthread_sigmask: 'int pthread_sigmask(int how, const void *set, void *old)',
  mmap: 'void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off)',
  munmap: 'int munmap(void *addr, size_t len)',
};

const LIBC_FUNCS = new Set<keyof Libbpf>(['vsnprintf', 'close', 'dup2', 'malloc_trim', 'mmap', 'munmap', 'sigfillset', 'pthread_sigmask']);
const bound: Partial<Record<keyof Libbpf, Fn>> = {};

/** The bound libbpf functions; throws a readable error when libbpf.so.1 is missing. */
export const bpf: Libbpf = new Proxy({} as Libbpf, {
  get(_t, name: string) {
    const key = name as keyof Libbpf;
    let f = bound[key];
    if (!f) {
      const decl = DECLS[key];
      if (!decl) throw new Error(`libbpf function not declared: ${name}`);
      const l = openLibs();
      f = (LIBC_FUNCS.has(key) ? libc! : l).func(decl) as Fn;
      bound[key] = f;
    }
    return f;
  },
});

/** Throws if libbpf.so.1 cannot be loaded, with the install command in the message. */
export function ensureLibbpf(): void {
  openLibs();
}

/**
 * Gives freed native memory back to the system. Loading a BPF object parses the kernel's BTF
 * (megabytes) and frees it after load; glibc keeps the pages unless asked (~20 MB here).
 */
export function trimNativeHeap(): void {
  try {
    bpf.malloc_trim(0);
  } catch {
    /* not glibc: nothing to do */
  }
}

/** The errno of the last failed native call (read it right after the call). */
export function lastErrno(): number {
  return koffi.errno();
}

/** A human-readable text for a (positive or negative) errno or libbpf error code. */
export function strerror(err: number): string {
  const buf = Buffer.alloc(256);
  bpf.libbpf_strerror(Math.abs(err), buf, buf.length);
  const end = buf.indexOf(0);
  return buf.subarray(0, end < 0 ? buf.length : end).toString();
}

/** Copies `len` bytes of native memory at `ptr` into a new Buffer. */
export function copyOut(ptr: Ptr, len: number): Buffer {
  return Buffer.from(new Uint8Array(koffi.view(ptr, len)));
}

/** A writable Uint8Array over native memory (for .rodata before load). */
export function viewOf(ptr: Ptr, len: number): Uint8Array {
  return new Uint8Array(koffi.view(ptr, len));
}

/**
 * Maps `len` bytes of a BPF map's fd at `offset` (shared; writable or read-only); returns an
 * ArrayBuffer over the mapping and the function that unmaps it (after which the memory must not
 * be touched). Throws when the kernel refuses.
 */
export function mapFd(fd: number, len: number, offset = 0, writable = true): { view: ArrayBuffer; unmap(): void } {
  const PROT_READ = 1, PROT_WRITE = 2, MAP_SHARED = 1;
  const p = bpf.mmap(null, len, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, offset);
  const err = koffi.errno();
  const addr = p === null ? 0n : BigInt(koffi.address(p));
  if (addr === 0n || addr === 0xffffffffffffffffn) throw new Error(`mmap of BPF map fd ${fd}: ${strerror(err)}`); // MAP_FAILED
  let mapped = true;
  return {
    view: koffi.view(p, len) as ArrayBuffer,
    unmap() {
      if (mapped) bpf.munmap(p, len);
      mapped = false;
    },
  };
}

/** Maps a whole BPF_F_MMAPABLE map (see mapFd), as a Buffer. */
export function mmapShared(fd: number, len: number): { buf: Buffer; unmap(): void } {
  const m = mapFd(fd, len);
  return { buf: Buffer.from(m.view), unmap: m.unmap };
}

/** libbpf message levels (enum libbpf_print_level). */
export const PrintLevel = { WARN: 0, INFO: 1, DEBUG: 2 } as const;

let printCb: unknown;
let printSink: (level: number, line: string) => void = () => {};

/**
 * Routes libbpf's log into `sink` instead of stderr (which would corrupt the TUI).
 * va_list is passed as a pointer on x86_64 and arm64 alike, so vsnprintf can format it.
 */
export function captureLibbpfLog(sink: (level: number, line: string) => void): void {
  printSink = sink;
  if (printCb) return;
  const proto = koffi.proto('int probetop_print_fn(int level, void *fmt, void *ap)');
  // Verifier logs arrive as one message; a va_list can be formatted only once, so the buffer
  // must hold the whole log (its end, where the error is, matters most).
  // allocUnsafeSlow: untouched pages of the 4 MiB cost no memory until a long log arrives.
  const buf = Buffer.allocUnsafeSlow(4 << 20);
  printCb = koffi.register((level: number, fmt: Ptr, ap: Ptr) => {
    const n = bpf.vsnprintf(buf, buf.length, fmt, ap);
    const text = buf.subarray(0, Math.max(0, Math.min(n, buf.length - 1))).toString();
    for (const line of text.split('\n')) if (line.length) printSink(level, line);
    return 0;
  }, koffi.pointer(proto));
  bpf.libbpf_set_print(printCb);
}

/** The callback type ring_buffer__new expects, for koffi.register. */
export function registerRingCallback(fn: (data: Buffer) => number | void): { ptr: Ptr; release(): void } {
  const proto = ringProto ?? (ringProto = koffi.proto('int probetop_ring_cb(void *ctx, void *data, size_t size)'));
  const ptr = koffi.register((_ctx: Ptr, data: Ptr, size: number) => {
    // A negative return stops ring_buffer__consume, leaving the rest in the ring (a per-drain budget).
    return fn(copyOut(data, Number(size))) ?? 0;
  }, koffi.pointer(proto));
  return { ptr, release: () => koffi.unregister(ptr as bigint) };
}
let ringProto: TypeObject | undefined;
