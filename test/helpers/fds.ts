/**
 * File descriptors this process holds open, by what they point to (/proc/self/fd links).
 */
import fs from 'node:fs';

/** How many of this process's open file descriptors point to a path that `match` accepts. */
export function openFiles(match: (path: string) => boolean): number {
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (match(fs.readlinkSync(`/proc/self/fd/${fd}`))) n++;
    } catch {
      /* closed meanwhile (the directory's own fd among them) */
    }
  }
  return n;
}
