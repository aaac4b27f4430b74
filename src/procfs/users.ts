/**
 * uid -> user name from /etc/passwd, cached and reloaded when the file changes. Users that only
 * NSS knows (LDAP, sssd) are not in the file: they show as their number, as in a container's ps.
 */
import fs from 'node:fs';
import { decodeRaw } from './procs';

/** Parses passwd(5) text into uid -> name; the first line for a uid wins, as getpwuid() does. */
export function parsePasswd(buf: Buffer): Map<number, string> {
  const names = new Map<number, string>();
  let from = 0;
  while (from < buf.length) {
    let to = buf.indexOf(0x0a, from);
    if (to < 0) to = buf.length;
    const c1 = buf.indexOf(0x3a, from); // name:password:uid:...
    const c2 = c1 < 0 || c1 >= to ? -1 : buf.indexOf(0x3a, c1 + 1);
    const c3 = c2 < 0 || c2 >= to ? -1 : buf.indexOf(0x3a, c2 + 1);
    if (c3 > 0 && c3 < to && c1 > from && buf[from] !== 0x23 /* # */) {
      const uidText = buf.toString('latin1', c2 + 1, c3);
      const uid = /^\d+$/.test(uidText) ? Number(uidText) : -1;
      if (uid >= 0 && !names.has(uid)) names.set(uid, decodeRaw(buf, from, c1));
    }
    from = to + 1;
  }
  return names;
}

/** A cached uid -> name table for one passwd file. */
export class UserNames {
  private names = new Map<number, string>();
  private sig = ''; // mtime, size and inode of the file as loaded
  private checkedMs = -Infinity;

  /** `checkMs`: how often (ms) to stat the file for changes; 0 checks on every lookup. */
  constructor(
    readonly path = '/etc/passwd',
    private readonly checkMs = 1000,
  ) {}

  /** The user name of `uid`, or the uid as text when the file does not list it (or uid < 0: '?'). */
  name(uid: number): string {
    if (uid < 0) return '?';
    this.refresh();
    return this.names.get(uid) ?? String(uid);
  }

  /** Reloads the table if the file changed (checked at most every checkMs). */
  refresh(now = performance.now()): void {
    if (now - this.checkedMs < this.checkMs) return;
    this.checkedMs = now;
    let sig: string;
    try {
      // Editors replace the file (new inode); an edit in place may keep the size and the
      // second, so compare nanosecond times too.
      const st = fs.statSync(this.path, { bigint: true });
      sig = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    } catch {
      sig = 'missing';
    }
    if (sig === this.sig) return;
    this.sig = sig;
    try {
      this.names = parsePasswd(fs.readFileSync(this.path));
    } catch {
      this.names = new Map();
    }
  }
}

let shared: UserNames | undefined;

/**
 * The user name of `uid` from the system's /etc/passwd (one shared cache, checked for changes
 * every 10 s: a user added shows by name within 10 s, and the table's tick does not pay a stat).
 */
export function userName(uid: number): string {
  shared ??= new UserNames('/etc/passwd', 10_000);
  return shared.name(uid);
}
