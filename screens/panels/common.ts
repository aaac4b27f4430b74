/**
 * Pieces every panel shares.
 */
import type { ProbeSnap } from '../../src/model/snapshot';
import { escapeText } from '../widgets/text';
import type { PanelContext } from './types';

/** Word-wraps plain text to `width` columns. */
export function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (!word) continue;
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = '';
    }
    let w = word;
    while (w.length > width) {
      if (line) {
        out.push(line);
        line = '';
      }
      out.push(w.slice(0, width));
      w = w.slice(width);
    }
    line = line ? `${line} ${w}` : w;
  }
  if (line) out.push(line);
  return out;
}

/** The body of a panel whose probe is not running: "unavailable: reason" (wrapped) or "disabled". */
export function unavailableLines(data: ProbeSnap<unknown>, ctx: PanelContext): string[] {
  if (data.status === 'disabled') return ['disabled (--disable)'];
  if (data.status === 'ok') return [];
  const lines = wrap(`unavailable: ${data.reason}`, ctx.width).slice(0, ctx.height).map((l) => escapeText(l));
  if (ctx.color && lines.length) lines[0] = `{yellow-fg}${lines[0]}{/yellow-fg}`;
  return lines;
}
