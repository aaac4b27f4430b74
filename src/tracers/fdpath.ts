/**
 * The path of a traced process's file descriptor, resolved in user space when a slow-call event
 * arrives: readlink of /proc/PID/fd/N, checked against the inode the kernel recorded (the fd
 * may have been closed, or reused for another file, in the ≤100 ms since). Where the hook did
 * not see the fd (fentry on VFS functions), the open fds are searched for the inode.
 */
import fs from 'node:fs';

/** What became of the fd by the time the event arrived (null: the hook did not see an fd). */
export type FdState = 'open' | 'closed' | 'reused' | null;

/** A resolved file: the path and where it came from. */
export interface ResolvedPath {
  path: string | null;
  source: 'fd' | 'dentry' | null;
  fdState: FdState; // 'closed': gone (or the process is); 'reused': names another file now
}

interface FdInfo {
  path: string;
  ino: number;
}

/** Resolves fds of one process; caches per drain (call reset() before each batch). */
export class FdResolver {
  private byFd = new Map<number, FdInfo | null>();
  private byIno: Map<number, string> | null = null;

  constructor(
    readonly pid: number,
    private readonly procDir = '/proc',
  ) {}

  /** Forgets what was resolved: fds change between batches. */
  reset(): void {
    this.byFd.clear();
    this.byIno = null;
  }

  private fdInfo(fd: number): FdInfo | null {
    let info = this.byFd.get(fd);
    if (info !== undefined) return info;
    info = null;
    const link = `${this.procDir}/${this.pid}/fd/${fd}`;
    try {
      const path = fs.readlinkSync(link);
      // stat follows the magic link to the open file itself (pipes and sockets too).
      const ino = Number(fs.statSync(link, { bigint: true }).ino);
      info = { path, ino };
    } catch {
      /* closed, or the process is gone */
    }
    this.byFd.set(fd, info);
    return info;
  }

  private inoIndex(): Map<number, string> {
    if (this.byIno) return this.byIno;
    this.byIno = new Map();
    let fds: string[] = [];
    try {
      fds = fs.readdirSync(`${this.procDir}/${this.pid}/fd`);
    } catch {
      /* the process is gone */
    }
    for (const name of fds) {
      const info = this.fdInfo(Number(name));
      if (info && !this.byIno.has(info.ino)) this.byIno.set(info.ino, info.path);
    }
    return this.byIno;
  }

  /**
   * The file of a call on `fd` (null: unknown to the hook) whose inode was `ino` (0: unknown),
   * falling back to the kernel's dentry `name` when the fd no longer names that file.
   */
  resolve(fd: number | null, ino: number, name: string): ResolvedPath {
    if (fd !== null && fd >= 0) {
      const info = this.fdInfo(fd);
      if (info && (ino === 0 || info.ino === ino)) return { path: info.path, source: 'fd', fdState: 'open' };
      const fdState = info ? 'reused' : 'closed';
      return name ? { path: name, source: 'dentry', fdState } : { path: null, source: null, fdState };
    }
    if (ino !== 0) {
      const path = this.inoIndex().get(ino);
      if (path !== undefined) return { path, source: 'fd', fdState: null };
    }
    return name ? { path: name, source: 'dentry', fdState: null } : { path: null, source: null, fdState: null };
  }
}
