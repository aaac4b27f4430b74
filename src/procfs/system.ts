/**
 * System-wide numbers from /proc for the header: load, uptime, CPU time split.
 */
import fs from 'node:fs';
import os from 'node:os';

/** Cumulative CPU time of all CPUs, in clock ticks (USER_HZ), from /proc/stat. */
export interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
}

/** The raw system part of a Sample. */
export interface SystemRaw {
  loadavg: [number, number, number];
  uptimeS: number;
  cpu: CpuTimes;
  ncpu: number;
}

/** Parses the first "cpu " line of /proc/stat. */
export function parseCpuLine(text: string): CpuTimes {
  const line = text.split('\n').find((l) => l.startsWith('cpu ')) ?? 'cpu 0 0 0 0 0 0 0 0';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  return { user: v[0] || 0, nice: v[1] || 0, system: v[2] || 0, idle: v[3] || 0, iowait: v[4] || 0, irq: v[5] || 0, softirq: v[6] || 0, steal: v[7] || 0 };
}

// The files are read every tick: kept open and re-read from offset 0 (one syscall each).
const fds = new Map<string, number>();
const readBuf = Buffer.alloc(4096);

/** The start of a /proc file (up to 4 KiB: the lines wanted are at the top), or null. */
function readHead(path: string): string | null {
  try {
    let fd = fds.get(path);
    if (fd === undefined) {
      fd = fs.openSync(path, 'r');
      fds.set(path, fd);
    }
    const n = fs.readSync(fd, readBuf, 0, readBuf.length, 0);
    return readBuf.toString('latin1', 0, n);
  } catch {
    return null;
  }
}

/**
 * This process's resident memory in bytes, from /proc/self/statm kept open (one read; Node's
 * process.memoryUsage.rss() opens, reads and closes /proc/self/stat each time).
 */
export function selfRssBytes(pageSize: number): number {
  const t = readHead('/proc/self/statm');
  const pages = t ? Number(t.split(' ', 2)[1]) : NaN;
  return Number.isFinite(pages) && pages > 0 ? pages * pageSize : process.memoryUsage.rss();
}

let ncpu = 0;

function countCpus(): number {
  try {
    return fs.readFileSync('/proc/stat', 'latin1').match(/^cpu\d+ /gm)?.length || os.cpus().length || 1;
  } catch {
    return os.cpus().length || 1;
  }
}

/** Reads load, uptime (unless the caller just read it) and CPU times. */
export function readSystem(uptime?: number): SystemRaw {
  const up = uptime ? null : readHead('/proc/uptime');
  const stat = readHead('/proc/stat');
  const uptimeS = uptime || (up ? Number(up.slice(0, up.indexOf(' '))) : os.uptime());
  const cpu = parseCpuLine(stat ? stat.slice(0, stat.indexOf('\n') + 1) : '');
  // CPUs counted once from the per-CPU lines (os.cpus() reads /proc/cpuinfo on every call).
  if (!ncpu) ncpu = countCpus();
  // Kept open like the others (os.loadavg() opens /proc/loadavg on every call).
  const load = readHead('/proc/loadavg')?.split(' ', 3).map(Number);
  const l = load && load.length === 3 && load.every(Number.isFinite) ? load : os.loadavg();
  return { loadavg: [l[0], l[1], l[2]], uptimeS, cpu, ncpu };
}

/** Static facts about the machine, shown in the header and written in recordings. */
export interface HostInfo {
  hostname: string;
  kernel: string;
  arch: string;
}

/** The host's name, kernel release and architecture. */
export function hostInfo(): HostInfo {
  return { hostname: os.hostname(), kernel: os.release(), arch: os.arch() };
}
