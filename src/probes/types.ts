/**
 * The contract every probe follows: a BPF object, ordered variants each with a feature test,
 * and a read() that returns raw cumulative data for the Sample.
 */
import type { BpfObject } from '../bpf/object';
import type { Features } from '../bpf/features';
import type { StructLayout } from '../bpf/layout';

/** One way to attach a probe; the first variant whose feature test passes and that loads wins. */
export interface ProbeVariant {
  name: string; // shown on screen, e.g. "tp_btf"
  programs: readonly string[]; // programs to load and attach
  unusedMaps?: readonly string[]; // maps this variant does not need (not created)
  /** null when the kernel has what this variant needs, else the reason it does not. */
  requires(f: Features): string | null;
}

/** Options every probe receives from the CLI. */
export interface ProbeOptions {
  filterTgid?: number; // only this process (0/undefined = all)
  variants?: Record<string, string>; // probe name -> the only variant to try (tests, --variant)
  offcpuMinBlockUs?: number; // off-CPU blocks at least this long get stacks, µs (default 1000)
  offcpuStackWalksPerSec?: number; // per-CPU stack budget, walks/s (default 50; 0 = no limit)
  offcpuUserStacks?: boolean; // capture user stacks (default true)
  offcpuVerifySites?: boolean; // tests: also walk on cache hits and count mismatches
  bioQueued?: boolean; // biolatency: time block I/O from insertion into the I/O scheduler (biolatency -Q)
  mapMaxEntries?: Record<string, number>; // map name -> max entries (tests fill maps on purpose)
  [k: string]: unknown;
}

/** A loaded probe: reads its maps and releases everything on close. */
export interface LoadedProbe<Raw> {
  variant: string;
  obj: BpfObject;
  /** Raw cumulative counters for this tick (JSON-serializable: it goes into recordings). */
  read(): Raw;
  /** Program names and fds, for BPF run-time statistics. */
  programs(): { name: string; fd: number }[];
  /**
   * Process events only, and only where the count is exact: a count that changes whenever a
   * process is created, read without draining anything (see ProcChurn in procfs); null when it
   * cannot be read.
   */
  processChurn?(): number | null;
  close(): void;
}

/** A probe definition: what to load and how to read it. */
export interface ProbeSpec<Raw> {
  name: string; // one name across layers: bpf/<name>.bpf.c, src/probes/<name>.ts, sample.probes.<name>
  title: string; // for the probe-status view
  object: string; // file name under build/bpf/
  variants: readonly ProbeVariant[];
  /** TypeScript views of the structs shared with the BPF object (checked against its BTF). */
  layouts: readonly StructLayout[];
  /** Writes config into .rodata and sizes maps, before load. */
  configure?(obj: BpfObject, opts: ProbeOptions): void;
  /** Wraps a loaded object into a reader. */
  bind(obj: BpfObject, variant: ProbeVariant, opts: ProbeOptions): Omit<LoadedProbe<Raw>, 'variant' | 'obj' | 'close' | 'programs'> & { close?(): void };
}
