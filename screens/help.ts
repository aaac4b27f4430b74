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

/** Keys of a replay, on top of the overview's. */
export const REPLAY_KEYS: KeyHelp[] = [
  { keys: 'Space', what: 'pause / resume the replay' },
  { keys: 'Left, Right (, .)', what: 'one tick back / forward (pauses)' },
  { keys: 'g', what: 'jump to a time: HH:MM:SS, or +SECONDS from the start' },
];

/** The help screen's lines. */
export function helpLines(replay = false): string[] {
  const keys = replay ? [...OVERVIEW_KEYS.filter((k) => k.keys !== 'Space'), ...REPLAY_KEYS] : OVERVIEW_KEYS;
  const w = Math.max(...keys.map((k) => k.keys.length));
  return [
    `{bold}probetop — keys${replay ? ' (replay)' : ''}{/bold}`,
    '',
    ...keys.map((k) => `  ${k.keys.padEnd(w)}   ${k.what}`),
    '',
    'Histograms are log2 buckets of the interval; p50/p90/p99 are interpolated inside a bucket,',
    'max< is the upper bound of the highest non-empty bucket.',
    '',
    'Press Esc or q to close this help.',
  ];
}

/** The footer line for the overview. */
export function overviewFooter(paused: boolean, replay = false): string {
  if (replay) return ' q quit  ? help  Space pause  ←/→ step  g jump  d probes  Tab panel  H heatmap';
  return ` q quit  ? help  d probes  Tab panel  H heatmap  Space ${paused ? 'resume' : 'pause'}`;
}
