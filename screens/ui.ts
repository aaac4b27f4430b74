/**
 * The terminal UI: one blessed screen, the views on it (overview, process drill-down, probe
 * status, help), and key handling by mode from the keymap. It draws what it is given and reports
 * what the user asked for; it never samples.
 */
import blessed from 'blessed';
import { detailWindow, FULL_HISTORY, pastSnapshot, slimSnapshot, Snapshot } from '../src/model/snapshot';
import type { ProbeLoadInfo } from '../src/sampler';
import type { LogLine } from '../src/bpf/object';
import type { HostInfo } from '../src/procfs/system';
import { OverviewScreen, PANELS } from './overview';
import { probeStatusLines } from './probes';
import { helpLines, footerFor, KEYMAP, KeyAction, Mode } from './keymap';
import { escapeText } from './widgets/text';
import { HISTORY_TICKS } from './panels/types';
import { tableDisplay } from './procarea';
import { defaultView, moveSelection, shiftSort, sortBy, TableView } from './tableview';
import { processLines, processView, ProcessView } from './process';
import { columnAt } from './proctable';
import { panelCapacity } from './layout';
import { rowPainted, setRows } from './widgets/rowpaint';
import { useLeanDraw } from './widgets/fastdraw';

/**
 * blessed's draw asks unicode.charWidth for every cell of every changed line (fullUnicode), and
 * that general lookup was a fifth of the draw. Printable ASCII is one column wide: answered
 * first. Other characters of the Basic Multilingual Plane (box drawing, blocks, sparklines)
 * have a width that depends on the code point alone: blessed's answer is remembered per code
 * point. Control characters (a tab's width is a setting) and surrogates (a pair makes one code
 * point) always go to blessed's own function. Installed once.
 */
export function fastAsciiWidth(): void {
  type Width = (s: string | number, i?: number) => number;
  const u = (blessed as unknown as { unicode: { charWidth: Width & { general?: Width } } }).unicode;
  if (u.charWidth.general) return;
  const general = u.charWidth;
  const known = new Int8Array(0x10000).fill(-1);
  const fast = (s: string | number, i?: number): number => {
    const c = typeof s === 'string' ? s.charCodeAt(i ?? 0) : s;
    if (c >= 0x20 && c < 0x7f) return 1;
    if (!(c >= 0xa0 && c <= 0xffff) || (c >= 0xd800 && c <= 0xdfff)) return general(s, i); // NaN too (past the end)
    let w = known[c];
    if (w < 0) known[c] = w = general(c);
    return w;
  };
  u.charWidth = Object.assign(fast, { general });
}

export type { Mode as ViewMode } from './keymap';

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
  /** Sends a signal to a process (live only); returns an error message or null. */
  kill?(pid: number, signal: string): string | null;
  /** Opens the drill-down on this pid at start (--pid). */
  pid?: number;
  /** Writes the selected process's off-CPU stacks as folded text; returns what to tell the user. */
  writeFolded?(pid: number, snaps: readonly Snapshot[]): string;
  /** Per-event tracers for the process view (live only): attached on entry, detached on leaving. */
  tracers?: { open(pid: number): TracerHandle };
  /** A line shown above everything (e.g. the /proc-only mode's explanation). */
  banner?: string | null;
  /**
   * Called with true when the probe-status view opens and false when it closes: its figures
   * want BPF statistics read every tick, where the rest of the UI shows them over a few ticks.
   */
  liveStats?(on: boolean): void;
}

/** The tracers of one open process view. */
export interface TracerHandle {
  /** Takes the events that arrived and returns the section's lines. */
  lines(width: number, color: boolean): string[];
  /** Multiplies the slow-I/O and slow-syscall thresholds (2 = double); returns them. */
  scaleThresholds(factor: number): { slowIoMs: number; slowSyscallMs: number };
  /** Status lines for the probe-status view. */
  status(): { name: string; variant: string | null; reason: string | null }[];
  close(): void;
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
  mode: Mode = 'overview';
  private previousMode: Mode = 'overview';
  paused = false;
  private keptWhole = new Set<Snapshot>(); // left untrimmed for the paused snapshot (see update)
  private snap: Snapshot | undefined;
  private history: Snapshot[] = [];
  private destroyed = false;
  /** Panel selected with Tab (-1: none); H toggles its heatmap. */
  focused = -1;
  readonly heatmap = new Set<string>();
  /** Filter, sort, tree, grouping and selection of the process table. */
  table: TableView = defaultView();
  /** The drill-down's state while a process screen is open. */
  proc: ProcessView | null = null;
  /** Its per-event tracers, while open. */
  private tracer: TracerHandle | null = null;
  /** First panel shown when not all fit (Tab scrolls). */
  panelStart = 0;
  /** The process area shows the exec/exit feed (e). */
  feed = false;
  /** A one-off message for the footer (cleared when a key is pressed). */
  message: string | null = null;
  private prompting = false;

  constructor(private opts: UiOptions) {
    fastAsciiWidth();
    this.screen =
      opts.screen ??
      blessed.screen({ smartCSR: true, fullUnicode: true, forceUnicode: true, title: 'probetop', warnings: false, autoPadding: true } as blessed.Widgets.IScreenOptions);
    // Draw borders as Unicode box characters, not the VT100 alternate charset: every terminal
    // that runs probetop speaks UTF-8, and ACS shows as "lqqk" in tmux captures and some terminals.
    (this.screen as unknown as { tput: { brokenACS: boolean } }).tput.brokenACS = true;
    useLeanDraw(this.screen);
    this.overview = new OverviewScreen(this.screen, opts.color, (x, y) => this.onTableClick(x, y));
    this.page = rowPainted(blessed.box({ parent: this.screen, tags: true, top: 0, left: 0, width: '100%', height: '100%', hidden: true, wrap: false } as blessed.Widgets.BoxOptions));
    this.screen.on('keypress', (ch: string | undefined, key: { full?: string; name?: string }) => this.onKey(ch, key));
    this.screen.on('resize', () => this.draw());
    if (opts.pid) this.openProcess(opts.pid);
  }

  private onKey(ch: string | undefined, key: { full?: string; name?: string }): void {
    if (this.prompting || this.destroyed) return;
    // blessed reports one Enter as both "enter" and "return": act on "return" only.
    if (key?.name === 'enter') return;
    const k = key?.full ?? ch ?? '';
    const binding = KEYMAP[this.mode].find((b) => b.keys.includes(k) || (ch !== undefined && b.keys.includes(ch)));
    if (!binding) return;
    if (binding.replayOnly && !this.opts.player) return;
    if (binding.liveOnly && this.opts.player) return;
    this.message = null;
    this.run(binding.action);
  }

  /** Performs a key's action (also used by tests). */
  run(a: KeyAction): void {
    const t = this.table;
    const rows = () => tableDisplay(this.snap, t, this.history).rows;
    const page = () => Math.max(1, this.overview.tableHeight() - 1);
    switch (a) {
      case 'quit': return this.opts.onQuit();
      case 'help': this.previousMode = this.mode === 'help' ? this.previousMode : this.mode; return this.setMode(this.mode === 'help' ? this.previousMode : 'help');
      case 'probes': this.previousMode = this.mode === 'probes' ? this.previousMode : this.mode; return this.setMode(this.mode === 'probes' ? this.previousMode : 'probes');
      case 'back':
        if (this.mode === 'process') {
          this.proc = null;
          this.closeTracers();
        }
        else if (this.mode === 'overview' && t.filter) t.filter = '';
        return this.setMode(this.mode === 'help' || this.mode === 'probes' ? this.previousMode : 'overview');
      case 'close': return this.setMode(this.previousMode);
      case 'up': moveSelection(t, rows(), -1); break;
      case 'down': moveSelection(t, rows(), 1); break;
      case 'pageup': moveSelection(t, rows(), -page()); break;
      case 'pagedown': moveSelection(t, rows(), page()); break;
      case 'home': moveSelection(t, rows(), -1e9); break;
      case 'end': moveSelection(t, rows(), 1e9); break;
      case 'sortLeft': shiftSort(t, -1); break;
      case 'sortRight': shiftSort(t, 1); break;
      case 'reverse': t.sort = { ...t.sort, descending: !t.sort.descending }; break;
      case 'sortCpu': sortBy(t, 'cpu'); break;
      case 'sortRunq': sortBy(t, 'runq'); break;
      case 'sortOffcpu': sortBy(t, 'offcpu'); break;
      case 'sortIo': sortBy(t, 'io'); break;
      case 'sortCache': sortBy(t, 'cache'); break;
      case 'sortMem': sortBy(t, 'mem'); break;
      case 'sortPid': sortBy(t, 'pid'); break;
      case 'tree': t.tree = !t.tree; t.group = false; break;
      case 'group': t.group = !t.group; t.tree = false; t.selectedPid = null; break;
      case 'filter': return this.ask('Filter (command, pid, user or cgroup; ~ for a regex; empty clears):', t.filter, (v) => {
        t.filter = v;
        t.offset = 0;
      });
      case 'enter': {
        const d = tableDisplay(this.snap, t, this.history);
        const sel = d.selected >= 0 ? d.rows[d.selected] : d.rows[0];
        if (!sel) return;
        if (sel.group) {
          t.filter = `cgroup=${sel.group.cgroup}`;
          t.group = false;
          t.selectedPid = null;
          break;
        }
        return this.openProcess(sel.row.pid);
      }
      case 'kill': return this.confirmKill();
      case 'pause':
        if (this.opts.player) return this.opts.player.togglePause();
        this.paused = !this.paused;
        break;
      case 'stepBack': return this.opts.player?.step(-1);
      case 'stepForward': return this.opts.player?.step(1);
      case 'jump': return this.ask('Jump to time (HH:MM:SS, or +SECONDS from the start):', '', (v) => {
        if (v) this.message = this.opts.player?.jumpTo(v) ?? null;
      });
      case 'nextPanel': {
        this.focused = this.focused + 1 >= PANELS.length ? -1 : this.focused + 1;
        // Scroll the panel window so the selected panel is on screen.
        const fit = Math.min(PANELS.length, panelCapacity(this.screen.width as number, this.screen.height as number));
        if (this.focused >= 0 && fit < PANELS.length) {
          const pos = (this.focused - this.panelStart + PANELS.length) % PANELS.length;
          if (pos >= fit) this.panelStart = (this.focused - fit + 1 + PANELS.length) % PANELS.length;
        }
        break;
      }
      case 'feed': this.feed = !this.feed; break;
      case 'expand': if (this.proc) this.proc.expanded = !this.proc.expanded; break;
      case 'slower':
      case 'faster':
        if (this.tracer) {
          const t2 = this.tracer.scaleThresholds(a === 'slower' ? 2 : 0.5);
          this.message = `thresholds: slow I/O ${t2.slowIoMs} ms, slow syscalls ${t2.slowSyscallMs} ms`;
        } else this.message = 'the per-event tracers run only in the live process view';
        break;
      case 'heatmap': {
        const targets = (this.focused >= 0 ? [PANELS[this.focused]] : PANELS).filter((p) => p.hist);
        const on = !targets.every((p) => this.heatmap.has(p.name));
        for (const p of targets) on ? this.heatmap.add(p.name) : this.heatmap.delete(p.name);
        break;
      }
      case 'folded':
        if (this.proc && this.snap && this.opts.writeFolded) this.message = this.opts.writeFolded(this.proc.pid, detailWindow(this.snap, this.history));
        else this.message = 'off-CPU stacks are not available';
        break;
      case 'scrollUp': this.pageTop = Math.max(0, this.pageTop - 1); break;
      case 'scrollDown': this.pageTop++; break; // held at the last page by draw()
    }
    this.draw();
  }

  /** Opens the drill-down on `pid`. */
  openProcess(pid: number): void {
    this.table.selectedPid = pid;
    this.proc = processView(pid);
    this.closeTracers();
    if (this.opts.tracers && !this.opts.player) {
      try {
        this.tracer = this.opts.tracers.open(pid);
      } catch (e) {
        this.message = `tracers: ${(e as Error).message}`;
      }
    }
    this.setMode('process');
  }

  /** Detaches the process view's tracers after the next screen is drawn (detaching can take a while). */
  private closeTracers(): void {
    const t = this.tracer;
    this.tracer = null;
    if (t) setImmediate(() => t.close());
  }

  /** Status of the tracers attached now (for the probe-status view). */
  tracerStatus(): { name: string; variant: string | null; reason: string | null }[] {
    return this.tracer?.status() ?? [];
  }

  private onTableClick(x: number, y: number): void {
    if (this.mode !== 'overview') return;
    if (y === 0) {
      const c = columnAt(x, this.overview.tableWidth());
      if (c) sortBy(this.table, c.id);
    } else {
      const rows = tableDisplay(this.snap, this.table, this.history).rows;
      const r = rows[this.table.offset + y - 1];
      if (r) this.table.selectedPid = r.row.pid;
    }
    this.draw();
  }

  private ask(question: string, initial: string, done: (value: string) => void): void {
    this.prompting = true;
    const box = blessed.textbox({
      parent: this.screen, bottom: 0, left: 0, height: 1, width: '100%', inputOnFocus: true,
      style: this.opts.color ? { bg: 'blue', fg: 'white' } : { inverse: true },
    });
    const label = blessed.box({ parent: this.screen, bottom: 1, left: 0, height: 1, width: '100%', content: ` ${question}`, style: { inverse: true } });
    box.setValue(initial);
    const finish = (value: string | null) => {
      box.destroy();
      label.destroy();
      // The Enter/Esc that ended the prompt is still being dispatched: let it pass first.
      setImmediate(() => (this.prompting = false));
      if (value !== null) done(value.trim());
      this.draw();
    };
    // Ctrl-U empties the line, as in a shell (the prompt starts with the current value).
    box.key('C-u', () => {
      box.setValue('');
      this.screen.render();
    });
    box.on('submit', (v: string) => finish(v ?? ''));
    box.on('cancel', () => finish(this.mode === 'overview' && question.startsWith('Filter') ? '' : null));
    box.focus();
    this.screen.render();
  }

  private confirmKill(): void {
    const pid = this.mode === 'process' ? this.proc?.pid : this.table.selectedPid;
    if (!pid || pid < 0 || !this.opts.kill) {
      this.message = this.opts.kill ? 'select a process first' : 'signals cannot be sent from a replay';
      return this.draw();
    }
    const row = tableDisplay(this.snap, { ...this.table, filter: '', tree: false, group: false }).rows.find((d) => d.row.pid === pid)?.row;
    const name = row ? escapeText(row.comm, 32) : '?';
    this.ask(`Send a signal to ${pid} (${name})? Type TERM, KILL, INT, HUP, STOP, CONT or a number and Enter; Esc cancels:`, 'TERM', (v) => {
      if (!v) return;
      this.message = this.opts.kill!(pid, v) ?? `sent SIG${v.toUpperCase().replace(/^SIG/, '')} to ${pid}`;
    });
  }

  /** Switches view and redraws. */
  setMode(mode: Mode): void {
    if ((mode === 'probes') !== (this.mode === 'probes')) this.opts.liveStats?.(mode === 'probes');
    this.mode = mode;
    this.pageTop = 0;
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
    // At least HISTORY_TICKS, and 5.5 minutes at short intervals (the heatmaps show 5 minutes).
    const keep = Math.max(HISTORY_TICKS, Math.ceil(330_000 / this.opts.intervalMs));
    if (this.history.length > keep) this.history.splice(0, this.history.length - keep);
    // The one before it leaves the screen now: only its recent-past parts stay. Older snapshots
    // keep what charts need, not every process (bounded memory under storms). While paused, the
    // paused snapshot's detail window (it and the FULL_HISTORY - 1 before it) is left whole, so
    // that its process views count the exits and stacks of those ticks however long the pause
    // lasts; each is trimmed as it would have been once the pause ends.
    const old = this.history.length - 1 - FULL_HISTORY;
    this.trim(this.history.length - 2, old);
    this.trim(old, old);
    if (this.paused) return;
    for (const s of this.keptWhole) this.trim(this.history.indexOf(s), old);
    this.keptWhole.clear();
    this.snap = snap;
    this.draw();
  }

  // Trims history[i] for its age (slimmed at `old` and before, else past), unless it is in the
  // detail window of the snapshot the UI is paused on: then it is kept whole until the pause ends.
  private trim(i: number, old: number): void {
    if (i < 0) return;
    const s = this.history[i];
    if (this.paused && this.snap) {
      const at = this.history.indexOf(this.snap);
      if (at >= 0 && i <= at && i > at - FULL_HISTORY) {
        this.keptWhole.add(s);
        return;
      }
    }
    this.history[i] = i <= old ? slimSnapshot(s) : pastSnapshot(s);
  }

  /** The snapshot on screen. */
  current(): Snapshot | undefined {
    return this.snap;
  }

  private modeLabel(): string {
    const color = this.opts.color;
    if (this.opts.player) return this.opts.player.label();
    return this.paused ? (color ? '{yellow-fg}PAUSED{/yellow-fg}' : 'PAUSED') : 'live';
  }

  /** Redraws the current view. */
  draw(): void {
    if (this.destroyed) return;
    const color = this.opts.color;
    const footer = this.message ? ` ${escapeText(this.message)}` : footerFor(this.mode, { paused: this.paused, replay: !!this.opts.player });
    if (this.mode === 'overview') {
      this.page.hide();
      this.footer?.hide();
      this.overview.render({
        snap: this.snap,
        history: this.snap ? this.history.slice(0, this.history.indexOf(this.snap) + 1) : [],
        info: { host: this.opts.host, intervalMs: this.opts.intervalMs, mode: this.modeLabel() },
        color,
        footer,
        focused: this.focused,
        heatmap: this.heatmap,
        intervalMs: this.opts.intervalMs,
        table: this.table,
        banner: this.opts.banner ?? null,
        panelStart: this.panelStart,
        feed: this.feed,
      });
    } else {
      this.overview.setVisible(false);
      const width = this.screen.width as number;
      let lines: string[];
      if (this.mode === 'help') lines = helpLines(this.previousMode, !!this.opts.player);
      else if (this.mode === 'process' && this.proc) {
        lines = [` ${this.modeLabel()}  —  process view`, ...processLines(this.snap, this.proc, width, color, this.history)];
        if (this.tracer) lines.push('', ...this.tracer.lines(width, color));
      }
      else lines = probeStatusLines({ snap: this.snap, loadInfo: this.opts.loadInfo(), log: this.opts.log(), color, statsError: this.opts.statsError?.() ?? null, tracers: this.tracerStatus() }, width);
      const rows = (this.screen.height as number) - 1;
      this.page.height = rows;
      // Up/Down scroll a page taller than the screen, as far as its last line.
      this.pageTop = Math.max(0, Math.min(this.pageTop, lines.length - rows));
      setRows(this.page, this.pageTop > 0 ? lines.slice(this.pageTop) : lines);
      this.page.show();
      setRows(this.footerBox(), [footer]);
    }
    this.screen.render();
  }

  private footer?: blessed.Widgets.BoxElement;
  /** First line of the help, process or probe view on screen (Up/Down). */
  private pageTop = 0;
  private footerBox(): blessed.Widgets.BoxElement {
    if (!this.footer) this.footer = rowPainted(blessed.box({ parent: this.screen, bottom: 0, left: 0, height: 1, width: '100%', tags: true, wrap: false, style: this.opts.color ? { bg: 'blue', fg: 'white' } : { inverse: true } } as blessed.Widgets.BoxOptions));
    this.footer.show();
    this.footer.setFront();
    return this.footer;
  }

  /** Restores the terminal. Safe to call more than once. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    const t = this.tracer;
    this.tracer = null;
    t?.close();
    this.screen.destroy();
  }
}

