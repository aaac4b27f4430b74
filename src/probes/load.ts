/**
 * Loading a probe: try its variants in order (feature test, then a real load and attach on a
 * fresh object, since a failed load cannot be retried on the same object); the first that
 * works is used. A probe that cannot load is "unavailable: reason", never fatal.
 */
import path from 'node:path';
import fs from 'node:fs';
import { BpfObject, BpfError } from '../bpf/object';
import type { Features } from '../bpf/features';
import type { LoadedProbe, ProbeOptions, ProbeSpec } from './types';

/** Where built BPF objects live (build/bpf/ at the package root). */
export const BPF_DIR = path.resolve(__dirname, '..', '..', '..', 'build', 'bpf');

/** One variant that was tried and why it was not used. */
export interface Attempt {
  variant: string;
  error: string;
  logTail?: string[];
}

/** The outcome of loading one probe. */
export type LoadResult<Raw> =
  | { ok: true; probe: LoadedProbe<Raw>; attempts: Attempt[] }
  | { ok: false; reason: string; attempts: Attempt[] };

/**
 * Why the BPF object at `file` must not be loaded, or null. Root loads these programs into the
 * kernel: a file (or a directory above it) that another user can write could be swapped for
 * theirs. Like sshd's StrictModes: owned by root or by us, and not group- or world-writable.
 */
export function unsafeObjectReason(file: string): string | null {
  const uid = process.geteuid?.() ?? 0;
  let p = path.resolve(file);
  for (;;) {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch (e) {
      return p === path.resolve(file) ? null : `cannot check ${p}: ${(e as NodeJS.ErrnoException).code}`; // a missing object is reported by open
    }
    const sticky = st.isDirectory() && (st.mode & 0o1000) !== 0;
    if (st.uid !== 0 && st.uid !== uid) return `${p} is owned by uid ${st.uid}, not by root or the user running probetop`;
    if ((st.mode & 0o022) !== 0 && !sticky) return `${p} is writable by ${st.mode & 0o002 ? 'every user' : 'its group'} (mode ${(st.mode & 0o7777).toString(8)}); fix with: chmod go-w ${p}`;
    const up = path.dirname(p);
    if (up === p) return null;
    p = up;
  }
}

/** Loads `spec` with the first variant that works on this kernel. */
export function loadProbe<Raw>(spec: ProbeSpec<Raw>, opts: ProbeOptions, features: Features, dir = BPF_DIR): LoadResult<Raw> {
  const attempts: Attempt[] = [];
  if (!features.privileged) return { ok: false, reason: features.privilegeHint, attempts };
  const unsafe = unsafeObjectReason(path.join(dir, spec.object));
  if (unsafe) return { ok: false, reason: `refusing to load a BPF object other users can change: ${unsafe}`, attempts };
  const forced = opts.variants?.[spec.name];
  if (forced && !spec.variants.some((v) => v.name === forced))
    return { ok: false, reason: `no variant ${forced} (have ${spec.variants.map((v) => v.name).join(', ')})`, attempts };
  for (const variant of spec.variants) {
    if (forced && variant.name !== forced) continue;
    const missing = variant.requires(features);
    if (missing) {
      attempts.push({ variant: variant.name, error: missing });
      continue;
    }
    let obj: BpfObject | undefined;
    try {
      obj = BpfObject.open(path.join(dir, spec.object));
      obj.selectPrograms(variant.programs);
      for (const m of variant.unusedMaps ?? []) obj.skipMap(m);
      spec.configure?.(obj, opts);
      for (const [m, n] of Object.entries(opts.mapMaxEntries ?? {})) if (obj.hasMap(m)) obj.setMaxEntries(m, n);
      obj.load();
      obj.attach(variant.programs);
      const bound = spec.bind(obj, variant, opts);
      const o = obj;
      // Looked up once: the fds stay while the object is loaded (the BPF statistics are read
      // through them every tick, and finding a program by name is two native calls).
      const progs = variant.programs.map((name) => ({ name, fd: o.programFd(name) }));
      const probe: LoadedProbe<Raw> = {
        variant: variant.name,
        obj: o,
        read: bound.read,
        processChurn: bound.processChurn,
        programs: () => progs,
        close: () => {
          bound.close?.();
          o.close();
        },
      };
      return { ok: true, probe, attempts };
    } catch (e) {
      obj?.close();
      const err = e as Error;
      attempts.push({ variant: variant.name, error: err.message, logTail: e instanceof BpfError ? e.logTail : undefined });
      // Without permission or BTF no other variant can do better.
      if (e instanceof BpfError && (e.kind === 'permission' || e.kind === 'no-btf') && variant === spec.variants[spec.variants.length - 1]) break;
    }
  }
  const last = attempts[attempts.length - 1];
  const reason = attempts.length === 0 ? 'no variant defined' : attempts.length === 1 ? last.error : `${last.error} (tried ${attempts.map((a) => a.variant).join(', ')})`;
  return { ok: false, reason, attempts };
}
