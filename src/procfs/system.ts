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

const NO_CPU: CpuTimes = { user: 0, nice: 0, system: 0, idle: 0, iowait: 0, irq: 0, softirq: 0, steal: 0 };

// The files are read every tick: kept open and re-read from offset 0 (one syscall each), and
// parsed from the bytes read: at one tick a second, decoding them to a string and splitting it
// cost ~15 times the parse (measured ~75 µs against ~5 µs a tick for /proc/stat).
const fds = new Map<string, number>();
const readBuf = Buffer.alloc(4096);

/** Reads the start of a /proc file (up to 4 KiB: the lines wanted are at the top) into readBuf: its length, or -1. */
function readHead(path: string): number {
  try {
    let fd = fds.get(path);
    if (fd === undefined) {
      fd = fs.openSync(path, 'r');
      fds.set(path, fd);
    }
    return fs.readSync(fd, readBuf, 0, readBuf.length, 0);
  } catch {
    return -1;
  }
}

/**
 * Reads up to `n` space-separated unsigned numbers (integer or decimal) from `buf` at `from`,
 * stopping at the end of the line: how many were read. Anything else ends the list.
 */
export function parseNumbers(buf: Buffer, from: number, len: number, out: number[], n: number): number {
  let i = from;
  let k = 0;
  while (k < n) {
    while (i < len && buf[i] === 0x20) i++;
    let c = buf[i];
    if (i >= len || c < 0x30 || c > 0x39) break;
    let v = 0;
    for (; i < len && c >= 0x30 && c <= 0x39; c = buf[++i]) v = v * 10 + (c - 0x30);
    if (c === 0x2e) {
      // One division of exact integers: rounded as Number() rounds the text.
      let scale = 1;
      for (c = buf[++i]; i < len && c >= 0x30 && c <= 0x39; c = buf[++i]) {
        v = v * 10 + (c - 0x30);
        scale *= 10;
      }
      v /= scale;
    }
    out[k++] = v;
    if (i < len && c !== 0x20) break;
  }
  return k;
}

const nums = [0, 0, 0, 0, 0, 0, 0, 0];

/** Parses the first number of /proc/uptime: seconds since boot (0 when there is none). */
export function parseUptime(buf: Buffer, len = buf.length): number {
  return parseNumbers(buf, 0, len, nums, 1) === 1 ? nums[0] : 0;
}

/** The "cpu " line at the start of /proc/stat's bytes, or null when they do not start with it. */
export function parseCpuBytes(buf: Buffer, len: number): CpuTimes | null {
  if (len < 4 || buf[0] !== 0x63 || buf[1] !== 0x70 || buf[2] !== 0x75 || buf[3] !== 0x20) return null;
  nums.fill(0);
  if (parseNumbers(buf, 4, len, nums, 8) < 4) return null;
  return { user: nums[0], nice: nums[1], system: nums[2], idle: nums[3], iowait: nums[4], irq: nums[5], softirq: nums[6], steal: nums[7] };
}

/**
 * This process's resident memory in bytes, from /proc/self/statm kept open (one read; Node's
 * process.memoryUsage.rss() opens, reads and closes /proc/self/stat each time).
 */
export function selfRssBytes(pageSize: number): number {
  const n = readHead('/proc/self/statm');
  const pages = n > 0 && parseNumbers(readBuf, 0, n, nums, 2) === 2 ? nums[1] : 0;
  return pages > 0 ? pages * pageSize : process.memoryUsage.rss();
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
  let uptimeS = uptime || 0;
  let n: number;
  if (!uptimeS) {
    n = readHead('/proc/uptime');
    uptimeS = (n > 0 && parseUptime(readBuf, n)) || os.uptime();
  }
  n = readHead('/proc/stat');
  // The first line is the sum over CPUs.
  const cpu = (n > 0 && parseCpuBytes(readBuf, n)) || { ...NO_CPU };
  // CPUs counted once from the per-CPU lines (os.cpus() reads /proc/cpuinfo on every call).
  if (!ncpu) ncpu = countCpus();
  // Kept open like the others (os.loadavg() opens /proc/loadavg on every call).
  n = readHead('/proc/loadavg');
  const l = n > 0 && parseNumbers(readBuf, 0, n, nums, 3) === 3 ? nums : os.loadavg();
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
