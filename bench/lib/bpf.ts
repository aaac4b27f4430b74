/**
 * BPF programs seen from outside: which process holds which program (its fds in /proc), where
 * each is attached (the tracepoint name in its link's fdinfo), and the kernel's run-time
 * counters (bpftool -j prog show). Also kernel.bpf_stats_enabled.
 */
import fs from 'node:fs';
import { runOk } from './sys';

/** A program held by a process, with where it is attached when a link of that process says so. */
export interface HeldProg {
  id: number;
  pid: number;
  attach: string | null; // tracepoint name from the link's fdinfo ("sched_switch"), null when not attached
}

function fdinfo(pid: number, fd: string): Record<string, string> {
  const out: Record<string, string> = {};
  try {
    for (const line of fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8').split('\n')) {
      const m = /^([a-z_]+):\s*(.*)$/.exec(line);
      if (m) out[m[1]] = m[2].trim();
    }
  } catch {
    /* fd closed meanwhile */
  }
  return out;
}

/** Programs and maps held through fds by the given processes. */
export function heldBpf(pids: Iterable<number>): { progs: Map<number, HeldProg>; maps: Map<number, number> } {
  const progs = new Map<number, HeldProg>();
  const maps = new Map<number, number>(); // map id -> pid
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (target === 'anon_inode:bpf-prog') {
        const id = Number(fdinfo(pid, fd).prog_id);
        if (id && !progs.has(id)) progs.set(id, { id, pid, attach: null });
      } else if (target === 'anon_inode:bpf_link') {
        const i = fdinfo(pid, fd);
        const id = Number(i.prog_id);
        if (!id) continue;
        const p = progs.get(id) ?? { id, pid, attach: null };
        p.attach = i.tp_name ?? i.func_name ?? i.link_type ?? p.attach;
        progs.set(id, p);
      } else if (target === 'anon_inode:bpf-map') {
        const id = Number(fdinfo(pid, fd).map_id);
        if (id) maps.set(id, pid);
      }
    }
  }
  return { progs, maps };
}

/** One program as bpftool shows it. */
export interface ProgInfo {
  id: number;
  type: string;
  name: string;
  runTimeNs: number; // cumulative while statistics were on
  runCnt: number;
}

/** Every loaded program (bpftool -j prog show). */
export async function listProgs(): Promise<Map<number, ProgInfo>> {
  const out = await runOk('bpftool', ['-j', 'prog', 'show'], 30_000);
  const m = new Map<number, ProgInfo>();
  for (const p of JSON.parse(out || '[]') as { id: number; type: string; name?: string; run_time_ns?: number; run_cnt?: number }[]) {
    m.set(p.id, { id: p.id, type: p.type, name: p.name ?? '', runTimeNs: p.run_time_ns ?? 0, runCnt: p.run_cnt ?? 0 });
  }
  return m;
}

/** Program types that run on hot kernel paths (scheduler, block layer, syscalls): a foreign one disturbs a benchmark. */
export const HOT_TYPES = new Set(['tracing', 'raw_tracepoint', 'raw_tracepoint_writable', 'tracepoint', 'kprobe', 'perf_event', 'lsm', 'struct_ops']);

/** Loaded hot-path programs that none of `ownIds` is: someone else's tracing. */
export function foreignProgs(all: Map<number, ProgInfo>, ownIds: Set<number>): ProgInfo[] {
  return [...all.values()].filter((p) => HOT_TYPES.has(p.type) && !ownIds.has(p.id));
}

/** One map as bpftool shows it. */
export interface MapInfo {
  id: number;
  name: string;
}

/** The names of the given map ids. */
export async function mapNames(ids: Iterable<number>): Promise<MapInfo[]> {
  const out = await runOk('bpftool', ['-j', 'map', 'show'], 30_000);
  const want = new Set(ids);
  return (JSON.parse(out || '[]') as { id: number; name?: string }[]).filter((m) => want.has(m.id)).map((m) => ({ id: m.id, name: m.name ?? '' }));
}

/**
 * The per-CPU values of key 0 of a per-CPU array map, each as the object bpftool formats from the
 * map's BTF (e.g. { events: [..], lost: [..] }).
 */
export async function dumpPercpu0(id: number): Promise<Record<string, unknown>[]> {
  const out = JSON.parse(await runOk('bpftool', ['-j', 'map', 'dump', 'id', String(id)], 30_000)) as unknown[];
  const e = out[0] as { formatted?: { values?: { cpu: number; value: Record<string, unknown> }[] }; values?: { cpu: number; value: unknown }[] } | undefined;
  const vals = e?.formatted?.values ?? (e?.values as { cpu: number; value: Record<string, unknown> }[] | undefined);
  if (!vals || !vals.length || typeof vals[0].value !== 'object' || Array.isArray(vals[0].value)) {
    throw new Error(`map ${id}: bpftool did not format its values (no BTF?)`);
  }
  return vals.map((v) => v.value);
}

const SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';

/** kernel.bpf_stats_enabled as the sysctl holds it (BPF_ENABLE_STATS fds keep statistics on besides it). */
export function statsSysctl(): number {
  return Number(fs.readFileSync(SYSCTL, 'utf8').trim());
}

/** Sets kernel.bpf_stats_enabled. */
export function setStatsSysctl(v: number): void {
  fs.writeFileSync(SYSCTL, `${v}\n`);
}
