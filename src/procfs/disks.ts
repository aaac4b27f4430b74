/**
 * Block device names by device number, from /sys/class/block/<name>/dev ("major:minor").
 */
import fs from 'node:fs';

/** "major:minor" of a kernel-encoded dev_t (MKDEV: major << 20 | minor, as in trace records). */
export function devString(kdev: number): string {
  return `${Math.floor(kdev / 0x100000)}:${kdev % 0x100000}`;
}

/** Reads every block device's "major:minor" -> name (disks and partitions) from `dir`. */
export function readBlockNames(dir = '/sys/class/block'): Map<string, string> {
  const names = new Map<string, string>();
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return names;
  }
  for (const name of entries) {
    try {
      names.set(fs.readFileSync(`${dir}/${name}/dev`, 'utf8').trim(), name);
    } catch {
      /* a device that went away between readdir and read */
    }
  }
  return names;
}

/**
 * A cached dev -> name lookup that rereads sysfs when it meets an unknown device, at most once
 * per `minRefreshMs` (disks come and go rarely; a tick must not scan sysfs each time).
 */
export class BlockNames {
  private names = new Map<string, string>();
  private readAt = -Infinity;

  constructor(
    private readonly dir = '/sys/class/block',
    private readonly minRefreshMs = 5000,
  ) {}

  /** The name of "major:minor", or the number itself when sysfs does not know it. */
  name(dev: string): string {
    let n = this.names.get(dev);
    if (n === undefined && performance.now() - this.readAt >= this.minRefreshMs) {
      this.names = readBlockNames(this.dir);
      this.readAt = performance.now();
      n = this.names.get(dev);
    }
    return n ?? dev;
  }
}
