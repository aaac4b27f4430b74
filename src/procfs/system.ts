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

/** Reads load, uptime and CPU times. */
export function readSystem(): SystemRaw {
  let uptimeS = os.uptime();
  let cpu = parseCpuLine('');
  try {
    uptimeS = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    cpu = parseCpuLine(fs.readFileSync('/proc/stat', 'utf8'));
  } catch {
    /* keep the os module's view */
  }
  const l = os.loadavg();
  return { loadavg: [l[0], l[1], l[2]], uptimeS, cpu, ncpu: os.cpus().length || 1 };
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
