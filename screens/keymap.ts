/**
 * Every key, by mode, as data: the UI dispatches from it, the help screen lists it, the footer
 * shows the most used. (htop / below / btop conventions.)
 */

/** A view of the UI. */
export type Mode = 'overview' | 'process' | 'probes' | 'help';

/** What a key does. */
export type KeyAction =
  | 'quit' | 'help' | 'probes' | 'back' | 'close'
  | 'up' | 'down' | 'pageup' | 'pagedown' | 'home' | 'end'
  | 'sortLeft' | 'sortRight' | 'reverse' | 'sortCpu' | 'sortRunq' | 'sortOffcpu' | 'sortIo' | 'sortCache' | 'sortMem' | 'sortPid'
  | 'filter' | 'tree' | 'group' | 'enter' | 'kill' | 'pause' | 'stepBack' | 'stepForward' | 'jump'
  | 'nextPanel' | 'heatmap' | 'folded' | 'scrollUp' | 'scrollDown' | 'feed' | 'expand' | 'slower' | 'faster';

/** One binding: the key names (blessed's key.full, or the character), its help text, its action. */
export interface Binding {
  keys: string[];
  label: string; // as the help screen shows the keys
  what: string;
  action: KeyAction;
  replayOnly?: boolean;
  liveOnly?: boolean;
}

const QUIT: Binding = { keys: ['f10', 'C-c'], label: 'F10, Ctrl-C', what: 'quit (detaches every probe, restores the terminal)', action: 'quit' };
const HELP: Binding = { keys: ['?', 'h', 'f1'], label: '?, h, F1', what: 'this help', action: 'help' };
const PROBES: Binding = { keys: ['d'], label: 'd', what: 'probe status: variants, cost per event, why a probe is unavailable, libbpf log', action: 'probes' };
const PAUSE: Binding = { keys: ['space'], label: 'Space', what: 'pause the display (the probes keep counting); in a replay: pause the replay', action: 'pause' };
const REPLAY: Binding[] = [
  { keys: ['left', ','], label: 'Left, ,', what: 'replay: one tick back (pauses)', action: 'stepBack', replayOnly: true },
  { keys: ['right', '.'], label: 'Right, .', what: 'replay: one tick forward (pauses)', action: 'stepForward', replayOnly: true },
  { keys: ['S-t', 'T'], label: 'T', what: 'replay: jump to a time (HH:MM:SS, or +SECONDS from the start)', action: 'jump', replayOnly: true },
];

/** The bindings of each mode. */
export const KEYMAP: Record<Mode, Binding[]> = {
  overview: [
    { keys: ['q'], label: 'q', what: 'quit', action: 'quit' },
    QUIT, HELP, PROBES,
    { keys: ['up', 'k'], label: 'Up, k', what: 'select the previous process', action: 'up' },
    { keys: ['down', 'j'], label: 'Down, j', what: 'select the next process', action: 'down' },
    { keys: ['pageup', 'C-b'], label: 'PgUp', what: 'a page up', action: 'pageup' },
    { keys: ['pagedown', 'C-f'], label: 'PgDn', what: 'a page down', action: 'pagedown' },
    { keys: ['home', 'g'], label: 'Home', what: 'first process', action: 'home' },
    { keys: ['end', 'S-g', 'G'], label: 'End, G', what: 'last process', action: 'end' },
    { keys: ['return'], label: 'Enter', what: 'drill into the selected process (or cgroup group)', action: 'enter' },
    { keys: ['<'], label: '<', what: 'sort by the column to the left', action: 'sortLeft' },
    { keys: ['>'], label: '>', what: 'sort by the column to the right', action: 'sortRight' },
    { keys: ['r', 'S-i', 'I'], label: 'r, I', what: 'reverse the sort order', action: 'reverse' },
    { keys: ['S-p', 'P'], label: 'P', what: 'sort by CPU%', action: 'sortCpu' },
    { keys: ['S-r', 'R'], label: 'R', what: 'sort by run-queue wait', action: 'sortRunq' },
    { keys: ['S-o', 'O'], label: 'O', what: 'sort by off-CPU time', action: 'sortOffcpu' },
    { keys: ['S-d', 'D'], label: 'D', what: 'sort by disk I/O', action: 'sortIo' },
    { keys: ['S-c', 'C'], label: 'C', what: 'sort by page-cache hit%', action: 'sortCache' },
    { keys: ['S-m', 'M'], label: 'M', what: 'sort by resident memory', action: 'sortMem' },
    { keys: ['S-n', 'N'], label: 'N', what: 'sort by PID', action: 'sortPid' },
    { keys: ['/'], label: '/', what: 'filter by command, pid, user or cgroup (~ for a regex; Ctrl-U empties the line); Esc clears', action: 'filter' },
    { keys: ['t'], label: 't', what: 'process tree by parent', action: 'tree' },
    { keys: ['c'], label: 'c', what: 'group by cgroup / container (summed rows; Enter lists the group)', action: 'group' },
    { keys: ['f9'], label: 'F9', what: 'send a signal to the selected process (asks first)', action: 'kill', liveOnly: true },
    { keys: ['escape', 'backspace'], label: 'Esc', what: 'clear the filter', action: 'back' },
    PAUSE,
    ...REPLAY,
    { keys: ['tab'], label: 'Tab', what: 'select the next panel (its border turns yellow); scrolls to panels that do not fit', action: 'nextPanel' },
    { keys: ['e'], label: 'e', what: 'the live exec/exit feed in place of the process table (e again: back)', action: 'feed' },
    { keys: ['S-h', 'H'], label: 'H', what: 'latency heatmap of the last 5 minutes for the selected panel (all latency panels if none)', action: 'heatmap' },
  ],
  process: [
    { keys: ['escape', 'backspace', 'q'], label: 'Esc, Backspace, q', what: 'back to the process list (the selection is kept)', action: 'back' },
    QUIT, HELP, PROBES,
    { keys: ['k', 'f9'], label: 'k, F9', what: 'send a signal to this process (asks first)', action: 'kill', liveOnly: true },
    { keys: [']'], label: ']', what: 'double the slow-I/O and slow-syscall thresholds of the tracers', action: 'slower', liveOnly: true },
    { keys: ['['], label: '[', what: 'halve the slow-I/O and slow-syscall thresholds', action: 'faster', liveOnly: true },
    { keys: ['x'], label: 'x', what: 'off-CPU stacks: every frame and more stacks / back to the top frames', action: 'expand' },
    { keys: ['f'], label: 'f', what: "write this process's off-CPU stacks as folded text (flamegraph.pl, speedscope)", action: 'folded' },
    { keys: ['up'], label: 'Up', what: 'scroll up', action: 'scrollUp' },
    { keys: ['down'], label: 'Down', what: 'scroll down', action: 'scrollDown' },
    PAUSE,
    ...REPLAY,
  ],
  probes: [
    { keys: ['escape', 'backspace', 'q', 'd'], label: 'Esc, q, d', what: 'back', action: 'close' },
    QUIT, HELP,
    { keys: ['up'], label: 'Up', what: 'scroll up', action: 'scrollUp' },
    { keys: ['down'], label: 'Down', what: 'scroll down', action: 'scrollDown' },
  ],
  help: [
    { keys: ['escape', 'backspace', 'q', '?', 'h', 'f1'], label: 'Esc, q, ?', what: 'close the help', action: 'close' },
    QUIT,
    { keys: ['up'], label: 'Up', what: 'scroll up', action: 'scrollUp' },
    { keys: ['down'], label: 'Down', what: 'scroll down', action: 'scrollDown' },
  ],
};

/** The help screen's lines: every key of `mode` (the view help was opened from). */
export function helpLines(mode: Mode, replay: boolean): string[] {
  const keys = KEYMAP[mode].filter((b) => (replay ? !b.liveOnly : !b.replayOnly));
  const w = Math.max(...keys.map((k) => k.label.length));
  const title = { overview: 'the overview', process: 'the process view', probes: 'the probe status view', help: 'help' }[mode];
  return [
    `{bold}probetop — keys of ${title}${replay ? ' (replay)' : ''}{/bold}`,
    '',
    ...keys.map((k) => `  ${k.label.padEnd(w)}   ${k.what}`),
    '',
    'Histograms are log2 buckets of the interval; p50/p90/p99 are interpolated inside a bucket,',
    'max< is the upper bound of the highest non-empty bucket. Tab + H shows a heatmap over time.',
    '',
    'Press Esc or q to close this help.',
  ];
}

/** The footer line of a mode. */
export function footerFor(mode: Mode, s: { paused: boolean; replay: boolean }): string {
  switch (mode) {
    case 'overview':
      return s.replay
        ? ' q quit ? help Space pause ←/→ step T time Enter drill / filter P R O D C sort t tree d probes'
        : ` q quit  ? help  Enter drill  / filter  P R O D C sort  t tree  c cgroups  F9 kill  d probes  Space ${s.paused ? 'resume' : 'pause'}`;
    case 'process':
      return ` Esc back  ? help  f folded stacks${s.replay ? '  ←/→ step' : '  k signal'}  Space ${s.paused ? 'resume' : 'pause'}`;
    case 'probes':
      return ' Esc back  ? help  ↑/↓ scroll';
    case 'help':
      return ' Esc back';
  }
}
