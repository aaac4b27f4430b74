/**
 * Process table model: per-process rates for one interval from two /proc readings
 * (src/procfs/procs.ts), and the process tree for the table's tree view. Pure functions.
 */
import type { ProcRaw } from '../procfs/procs';
import { prevByPid } from './hist';

/** What buildProcs needs besides the processes (a ProcsRaw fits as is). */
export interface ProcsMeta {
  clkTck: number; // clock ticks per second of the *Ticks fields
  pageSize: number; // bytes per page
  uptimeS: number; // seconds since boot at the reading
  ts?: number; // wall clock of the reading, ms since the epoch (for startMs)
}

/** One process over one interval, as the process table shows it. */
export interface ProcSnap {
  pid: number;
  ppid: number;
  uid: number; // effective uid, -1 unknown
  comm: string; // raw: escape before drawing
  cmdline: string[]; // raw args
  cgroup: string;
  state: string; // one letter, as in /proc/PID/stat
  threads: number;
  rssBytes: number;
  cpuPct: number | null; // CPU time in the interval, % of one CPU (100 = one core busy, like top)
  userPct: number | null; // user part of cpuPct, %
  sysPct: number | null; // system part of cpuPct, %
  runqWaitMsPerSec: number | null; // runnable but waiting for a CPU, ms per second of interval (schedstat)
  ageS: number; // seconds since the process started, at the reading
  startMs: number | null; // when it started, ms since the epoch (null without meta.ts)
  isNew: boolean; // started since the previous reading
}

/**
 * Per-process numbers for the interval ending at `cur`. A pid that is missing from `prev`, or
 * present with another start time (the pid was reused), is a process born in the interval: all
 * of its counters count. Without `prev` (or a zero interval) the rates are null.
 */
export function buildProcs(cur: readonly ProcRaw[], prev: readonly ProcRaw[] | undefined, intervalMs: number, meta: ProcsMeta): ProcSnap[] {
  // Indexed loops: run every tick over every process, mostly in V8's baseline tiers, where
  // for-of allocates an iterator result per step. The /proc listing keeps its order from tick
  // to tick: the previous reading is found by position first (prevByPid).
  const before = prevByPid(prev);
  const seconds = intervalMs / 1000;
  const rated = prev !== undefined && seconds > 0;
  const out: ProcSnap[] = [];
  for (let i = 0; i < cur.length; i++) {
    const p = cur[i];
    const q = before(i, p.pid);
    const same = q !== undefined && q.startTimeTicks === p.startTimeTicks;
    const ageS = Math.max(0, meta.uptimeS - p.startTimeTicks / meta.clkTck);
    // A process "born in the interval" that is older than the interval was missed by the previous
    // reading (or the readings are not consecutive): its lifetime counters are not this interval's.
    // Half a second of slack covers start times rounded to ticks and the time a reading takes.
    const usable = rated && (same || ageS <= seconds + 0.5);
    let userPct: number | null = null;
    let sysPct: number | null = null;
    let waitMsPerSec: number | null = null;
    if (usable) {
      const du = p.utimeTicks - (same ? q.utimeTicks : 0);
      const ds = p.stimeTicks - (same ? q.stimeTicks : 0);
      if (du >= 0 && ds >= 0) {
        userPct = (100 * du) / meta.clkTck / seconds;
        sysPct = (100 * ds) / meta.clkTck / seconds;
      }
      if (p.schedWaitNs !== undefined && (!same || q.schedWaitNs !== undefined)) {
        const dw = p.schedWaitNs - (same ? q.schedWaitNs! : 0);
        if (dw >= 0) waitMsPerSec = dw / 1e6 / seconds;
      }
    }
    out.push({
      pid: p.pid,
      ppid: p.ppid,
      uid: p.uid,
      comm: p.comm,
      cmdline: p.cmdline,
      cgroup: p.cgroup,
      state: p.state,
      threads: p.threads,
      rssBytes: p.rssPages * meta.pageSize,
      cpuPct: userPct === null || sysPct === null ? null : userPct + sysPct,
      userPct,
      sysPct,
      runqWaitMsPerSec: waitMsPerSec,
      ageS,
      startMs: meta.ts === undefined ? null : meta.ts - ageS * 1000,
      isNew: prev !== undefined && !same,
    });
  }
  return out;
}

/** The fields the tree helpers need. */
export interface TreeItem {
  pid: number;
  ppid: number;
}

/** One row of the process tree, in display order. */
export interface TreeRow<T> {
  item: T;
  depth: number; // 0 for a root
  last: boolean; // the last of its parent's children (or of the roots)
  parent: TreeRow<T> | null; // the row above it in the tree, null for a root
  children: number; // direct children, shown or not
  descendants: number; // every process below it
  collapsed: boolean; // it has children and they are hidden
}

/** The children of each pid, in input order. */
export function childrenByPpid<T extends TreeItem>(items: readonly T[]): Map<number, T[]> {
  const kids = new Map<number, T[]>();
  for (const it of items) {
    let list = kids.get(it.ppid);
    if (!list) kids.set(it.ppid, (list = []));
    list.push(it);
  }
  return kids;
}

/**
 * Orders processes as a tree: every parent before its children, siblings (and roots) by
 * `compare` (default: pid). A process whose parent is not in `items` is a root. Children of a
 * pid in `collapsed` are left out. Inputs are not modified.
 */
export function procTree<T extends TreeItem>(items: readonly T[], compare: (a: T, b: T) => number = (a, b) => a.pid - b.pid, collapsed: ReadonlySet<number> = new Set()): TreeRow<T>[] {
  const byPid = new Map<number, T>();
  for (const it of items) byPid.set(it.pid, it);
  const kids = new Map<number, T[]>();
  const roots: T[] = [];
  for (const it of items) {
    if (it.ppid === it.pid || !byPid.has(it.ppid)) {
      roots.push(it);
      continue;
    }
    let list = kids.get(it.ppid);
    if (!list) kids.set(it.ppid, (list = []));
    list.push(it);
  }
  for (const list of kids.values()) list.sort(compare);
  roots.sort(compare);

  // Pre-order walk of the whole tree (hidden rows included, for the descendant counts).
  // An explicit stack: a fork chain can be thousands deep.
  const walk: { row: TreeRow<T>; hidden: boolean }[] = [];
  const visited = new Set<number>();
  const visit = (root: T, last: boolean) => {
    const stack: { item: T; parent: TreeRow<T> | null; last: boolean; hidden: boolean }[] = [{ item: root, parent: null, last, hidden: false }];
    while (stack.length > 0) {
      const f = stack.pop()!;
      if (visited.has(f.item.pid)) continue;
      visited.add(f.item.pid);
      const list = kids.get(f.item.pid) ?? [];
      const isCollapsed = list.length > 0 && collapsed.has(f.item.pid);
      const row: TreeRow<T> = { item: f.item, depth: f.parent ? f.parent.depth + 1 : 0, last: f.last, parent: f.parent, children: list.length, descendants: 0, collapsed: isCollapsed };
      walk.push({ row, hidden: f.hidden });
      for (let i = list.length - 1; i >= 0; i--) stack.push({ item: list[i], parent: row, last: i === list.length - 1, hidden: f.hidden || isCollapsed });
    }
  };
  roots.forEach((r, i) => visit(r, i === roots.length - 1));
  // What is left sits on a parent cycle (pids reused while /proc was being read): break each
  // cycle at its lowest pid.
  if (visited.size < byPid.size) {
    const rest = [...byPid.values()].filter((it) => !visited.has(it.pid)).sort((a, b) => a.pid - b.pid);
    for (const it of rest) if (!visited.has(it.pid)) visit(it, false);
  }
  // Pre-order reversed visits every child before its parent.
  for (let i = walk.length - 1; i >= 0; i--) {
    const r = walk[i].row;
    if (r.parent) r.parent.descendants += r.descendants + 1;
  }
  return walk.filter((n) => !n.hidden).map((n) => n.row);
}

/** The tree drawing in front of a row's name, e.g. "│  └─ " (empty for a root). */
export function treePrefix(row: TreeRow<unknown>): string {
  if (!row.parent) return '';
  let s = row.last ? '└─ ' : '├─ ';
  for (let a = row.parent; a.parent; a = a.parent) s = (a.last ? '   ' : '│  ') + s;
  return s;
}
