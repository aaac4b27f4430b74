/**
 * The terminal UI: one blessed screen, the views on it (overview, probe status, help), and key
 * handling. It draws what it is given and reports what the user asked for; it never samples.
 */
import blessed from 'blessed';
import type { Snapshot } from '../src/model/snapshot';
import type { ProbeLoadInfo } from '../src/sampler';
import type { LogLine } from '../src/bpf/object';
import type { HostInfo } from '../src/procfs/system';
import { OverviewScreen, PANELS } from './overview';
import { probeStatusLines } from './probes';
import { helpLines, overviewFooter } from './help';
import { escapeText } from './widgets/text';
import type { TableView } from './procarea';

/** Which view is on screen. */
export type ViewMode = 'overview' | 'probes' | 'help';

/** Options of the UI. */
export interface UiOptions {
  host: HostInfo;
  intervalMs: number;
  color: boolean;
  screen?: blessed.Widgets.Screen; // tests pass an off-screen one
  onQuit(): void;
  loadInfo(): readonly ProbeLoadInfo[];
  log(): readonly LogLine[];
  /** Why BPF statistics are off, or null. */
  statsError?(): string | null;
  /** Set in replay: the player owns pause and stepping. */
  player?: Player;
}

/** Controls of a replay. */
export interface Player {
  togglePause(): void;
  step(ticks: number): void; // -1 back, +1 forward (pauses)
  jumpTo(text: string): string | null; // "HH:MM:SS" or "+SECONDS"; returns an error message or null
  label(): string; // e.g. "replay 12:03:05 tick 5/120, paused"
}

/** The running UI. */
export class Ui {
  readonly screen: blessed.Widgets.Screen;
  private overview: OverviewScreen;
  private page: blessed.Widgets.BoxElement;
  mode: ViewMode = 'overview';
  paused = false;
  private snap: Snapshot | undefined;
  private history: Snapshot[] = [];
  private destroyed = false;
  /** Panel selected with Tab (-1: none); H toggles its heatmap. */
  focused = -1;
  readonly heatmap = new Set<string>();
  /** Sort, selection and scroll of the process table. */
  table: TableView = { sort: { column: 'cpu', descending: true }, selected: -1, offset: 0 };
  /** A one-off message for the footer (cleared on the next redraw after it was shown). */
  message: string | null = null;

  constructor(private opts: UiOptions) {
    this.screen =
      opts.screen ??
      blessed.screen({ smartCSR: true, fullUnicode: true, forceUnicode: true, title: 'probetop', warnings: false, autoPadding: true } as blessed.Widgets.IScreenOptions);
    // Draw borders as Unicode box characters, not the VT100 alternate charset: every terminal
    // that runs probetop speaks UTF-8, and ACS shows as "lqqk" in tmux captures and some terminals.
    (this.screen as unknown as { tput: { brokenACS: boolean } }).tput.brokenACS = true;
    this.overview = new OverviewScreen(this.screen, opts.color);
    this.page = blessed.box({
      parent: this.screen, tags: true, top: 0, left: 0, width: '100%', height: '100%', hidden: true,
      scrollable: true, alwaysScroll: true, keys: true, vi: true,
    });
    this.screen.key(['q'], () => (this.mode === 'overview' ? this.opts.onQuit() : this.setMode('overview')));
    this.screen.key(['f10', 'C-c'], () => this.opts.onQuit());
    this.screen.key(['?', 'h', 'f1'], () => this.setMode(this.mode === 'help' ? 'overview' : 'help'));
    this.screen.key(['d'], () => this.setMode(this.mode === 'probes' ? 'overview' : 'probes'));
    this.screen.key(['escape', 'backspace'], () => this.setMode('overview'));
    this.screen.key(['tab'], () => {
      if (this.mode !== 'overview') return;
      this.focused = this.focused + 1 >= PANELS.length ? -1 : this.focused + 1;
      this.draw();
    });
    this.screen.key(['S-h', 'H'], () => {
      if (this.mode !== 'overview') return;
      const targets = (this.focused >= 0 ? [PANELS[this.focused]] : PANELS).filter((p) => p.hist);
      const on = !targets.every((p) => this.heatmap.has(p.name));
      for (const p of targets) on ? this.heatmap.add(p.name) : this.heatmap.delete(p.name);
      this.draw();
    });
    this.screen.key(['space'], () => {
      if (opts.player) return opts.player.togglePause();
      this.paused = !this.paused;
      this.draw();
    });
    if (opts.player) {
      const player = opts.player;
      this.screen.key(['left', ','], () => this.mode === 'overview' && player.step(-1));
      this.screen.key(['right', '.'], () => this.mode === 'overview' && player.step(1));
      this.screen.key(['g'], () => {
        if (this.mode !== 'overview') return;
        const prompt = blessed.prompt({ parent: this.screen, border: 'line', height: 'shrink', width: 'half', top: 'center', left: 'center', tags: true, keys: true });
        prompt.input('Jump to time (HH:MM:SS, or +SECONDS from the start):', '', (_err, value) => {
          prompt.destroy();
          const err = value ? player.jumpTo(value) : null;
          this.message = err;
          this.draw();
        });
      });
    }
    this.screen.on('resize', () => this.draw());
  }

  /** Switches view and redraws. */
  setMode(mode: ViewMode): void {
    this.mode = mode;
    this.draw();
  }

  /** Replaces what is shown (replay: the snapshot at the cursor and the ones before it). */
  setData(snap: Snapshot, history: Snapshot[]): void {
    this.snap = snap;
    this.history = history;
    this.draw();
  }

  /** Takes a new snapshot (kept in history even while paused) and redraws unless paused. */
  update(snap: Snapshot): void {
    this.history.push(snap);
    if (this.history.length > 600) this.history.splice(0, this.history.length - 600);
    if (this.paused) return;
    this.snap = snap;
    this.draw();
  }

  /** Redraws the current view. */
  draw(): void {
    if (this.destroyed) return;
    const color = this.opts.color;
    if (this.mode === 'overview') {
      this.page.hide();
      this.overview.render({
        snap: this.snap,
        history: this.snap ? this.history.slice(0, this.history.indexOf(this.snap) + 1) : [],
        info: {
          host: this.opts.host,
          intervalMs: this.opts.intervalMs,
          mode: this.opts.player ? this.opts.player.label() : this.paused ? (color ? '{yellow-fg}PAUSED{/yellow-fg}' : 'PAUSED') : 'live',
        },
        color,
        footer: this.message ? ` ${escapeText(this.message)}` : overviewFooter(this.paused, !!this.opts.player),
        focused: this.focused,
        heatmap: this.heatmap,
        intervalMs: this.opts.intervalMs,
        table: this.table,
      });
    } else {
      this.overview.setVisible(false);
      const width = this.screen.width as number;
      const lines =
        this.mode === 'help'
          ? helpLines(!!this.opts.player)
          : probeStatusLines({ snap: this.snap, loadInfo: this.opts.loadInfo(), log: this.opts.log(), color, statsError: this.opts.statsError?.() ?? null }, width);
      this.page.setContent(lines.join('\n'));
      this.page.show();
      this.page.focus();
    }
    this.screen.render();
  }

  /** Restores the terminal. Safe to call more than once. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.screen.destroy();
  }
}
