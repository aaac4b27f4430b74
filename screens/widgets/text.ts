/**
 * Text helpers for screens: safe display of system strings, padding, number formats.
 */

// Printable ASCII without blessed's tag braces: drawn as it is, one column per character.
const PLAIN = /^[\x20-\x7a|~]*$/;

/**
 * Makes text from the system safe to draw: control characters (including ESC, so no escape
 * sequence reaches the terminal), DEL and C1 controls become "?" or a visible escape, and
 * blessed's tag braces are escaped. Lengths are capped.
 */
export function escapeText(s: string, max = 512): string {
  if (s.length <= max && PLAIN.test(s)) return s; // the common case: nothing to escape
  let out = '';
  const src = s.length > max ? s.slice(0, max) + '…' : s;
  // By code point (a pair is one), with an index: for-of makes an iterator result per character.
  for (let i = 0; i < src.length; ) {
    const c = src.codePointAt(i)!;
    const n = c > 0xffff ? 2 : 1;
    if (c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0)) out += c === 0x1b ? '^[' : '?';
    else if (c === 0x7b) out += '{open}';
    else if (c === 0x7d) out += '{close}';
    else if (c === 0xfffd) out += '?';
    else if (c >= 0xd800 && c <= 0xdfff) out += '?'; // a raw byte that was not UTF-8 (procfs decodeRaw)
    else out += n === 1 ? src[i] : src.slice(i, i + 2);
    i += n;
  }
  return out;
}

/** Visible width of a line that may contain blessed tags. */
export function visibleLength(s: string): number {
  return s.replace(/\{(open|close)\}/g, 'x').replace(/\{\/?[a-z0-9-]*\}/gi, '').length;
}

/** Pads (or cuts) plain text to exactly `n` columns; `right` aligns to the right. */
export function pad(s: string, n: number, right = false): string {
  if (s.length > n) return n <= 1 ? s.slice(0, n) : s.slice(0, n - 1) + '…';
  return right ? s.padStart(n) : s.padEnd(n);
}

/** Raw text from the system, escaped and then padded or cut to exactly `n` visible columns. */
export function cell(raw: string, n: number, right = false): string {
  if (PLAIN.test(raw)) {
    // Nothing to escape: one column per character (a long command line, most rows).
    if (raw.length >= n) return raw.slice(0, Math.max(0, n));
    return right ? raw.padStart(n) : raw.padEnd(n);
  }
  let e = escapeText(raw, n + 8);
  // Cut by visible length without splitting an {open}/{close} escape.
  while (visibleLength(e) > n) {
    const m = /(\{open\}|\{close\}|.)$/u.exec(e.endsWith('…') ? e.slice(0, -1) : e);
    e = (e.endsWith('…') ? e.slice(0, -1) : e).slice(0, e.length - (e.endsWith('…') ? 1 : 0) - (m ? m[0].length : 1));
    if (visibleLength(e) < n) e += '…';
  }
  const fill = ' '.repeat(Math.max(0, n - visibleLength(e)));
  return right ? fill + e : e + fill;
}

/** A count per second as a short label: 950, 12.3K, 4.5M. */
export function formatRate(v: number): string {
  if (v < 1000) return v < 10 && v % 1 ? v.toFixed(1) : String(Math.round(v));
  if (v < 1e6) return `${(v / 1e3).toFixed(v < 1e4 ? 1 : 0)}K`;
  return `${(v / 1e6).toFixed(1)}M`;
}

/** A byte count as a short label: 512B, 4.0K, 12M, 1.5G (binary units). */
export function formatBytes(v: number): string {
  const units = ['B', 'K', 'M', 'G', 'T'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(v)}B` : `${v.toFixed(v < 10 ? 1 : 0)}${units[i]}`;
}

/** A percentage with one decimal below 10: 0.5%, 42%. */
export function formatPct(v: number | null): string {
  if (v === null || !isFinite(v)) return '-';
  return v < 10 ? `${v.toFixed(1)}%` : `${Math.round(v)}%`;
}

/** A duration in seconds as d+hh:mm or hh:mm:ss. */
export function formatUptime(s: number): string {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  const two = (n: number) => String(n).padStart(2, '0');
  return d > 0 ? `${d}d ${two(h)}:${two(m)}` : `${two(h)}:${two(m)}:${two(sec)}`;
}

const SIGNALS: Record<number, string> = {
  1: 'HUP', 2: 'INT', 3: 'QUIT', 4: 'ILL', 5: 'TRAP', 6: 'ABRT', 7: 'BUS', 8: 'FPE', 9: 'KILL', 10: 'USR1',
  11: 'SEGV', 12: 'USR2', 13: 'PIPE', 14: 'ALRM', 15: 'TERM', 16: 'STKFLT', 17: 'CHLD', 18: 'CONT', 19: 'STOP',
  20: 'TSTP', 21: 'TTIN', 22: 'TTOU', 23: 'URG', 24: 'XCPU', 25: 'XFSZ', 26: 'VTALRM', 27: 'PROF', 28: 'WINCH',
  29: 'IO', 30: 'PWR', 31: 'SYS',
};

/** A signal number as SIGKILL, SIGRTMIN+2, or SIG<n>. */
export function signalName(sig: number): string {
  if (SIGNALS[sig]) return `SIG${SIGNALS[sig]}`;
  if (sig >= 34 && sig <= 64) return sig === 34 ? 'SIGRTMIN' : `SIGRTMIN+${sig - 34}`;
  return `SIG${sig}`;
}
