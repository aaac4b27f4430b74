/**
 * The help screen: every key, by mode.
 */

/** One key binding as the help screen and the footer show it. */
export interface KeyHelp {
  keys: string;
  what: string;
}

/** Keys of the overview. */
export const OVERVIEW_KEYS: KeyHelp[] = [
  { keys: 'q, F10, Ctrl-C', what: 'quit (detaches every probe, restores the terminal)' },
  { keys: '?, h, F1', what: 'this help' },
  { keys: 'd', what: 'probe status: variants in use, why a probe is unavailable, libbpf log' },
  { keys: 'Space', what: 'pause the display (probes keep counting)' },
  { keys: 'Tab', what: 'select the next panel (its border turns yellow)' },
  { keys: 'H', what: 'latency heatmap over the last 5 minutes for the selected panel (all latency panels if none)' },
  { keys: 'Esc', what: 'back to the overview' },
];

/** The help screen's lines. */
export function helpLines(): string[] {
  const w = Math.max(...OVERVIEW_KEYS.map((k) => k.keys.length));
  return [
    '{bold}probetop — keys{/bold}',
    '',
    ...OVERVIEW_KEYS.map((k) => `  ${k.keys.padEnd(w)}   ${k.what}`),
    '',
    'Histograms are log2 buckets of the interval; p50/p90/p99 are interpolated inside a bucket,',
    'max< is the upper bound of the highest non-empty bucket.',
    '',
    'Press Esc or q to close this help.',
  ];
}

/** The footer line for the overview. */
export function overviewFooter(paused: boolean): string {
  return ` q quit  ? help  d probes  Tab panel  H heatmap  Space ${paused ? 'resume' : 'pause'}`;
}
