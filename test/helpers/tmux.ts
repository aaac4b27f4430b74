/**
 * Drives the real probetop in a tmux session, as a user would: start, type keys, read the screen.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { sleep } from './bpf';

/** The compiled CLI entry point. */
export const CLI = path.resolve(__dirname, '..', '..', 'src', 'cli.js');

/** True when tmux is installed. */
export function haveTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A probetop running in its own tmux session. */
export class TmuxApp {
  readonly session = `pt-test-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  readonly exitFile: string;

  /**
   * `prefix`: shell words before the command (variables, traps). After probetop exits the pane
   * stays `lingerS` seconds (its last screen can be read) unless the session is killed first;
   * a shell that ignores the hang-up outlives kill() by that long.
   */
  constructor(args: string[], cols = 100, rows = 30, prefix: string[] = [], lingerS = 60) {
    this.exitFile = `/tmp/${this.session}.exit`;
    const cmd = `${prefix.join(' ')} ${process.execPath} ${CLI} ${args.map((a) => `'${a}'`).join(' ')}; echo $? > ${this.exitFile}; sleep ${lingerS}`;
    execFileSync('tmux', ['new-session', '-d', '-s', this.session, '-x', String(cols), '-y', String(rows), cmd]);
  }

  /** The visible screen text. */
  screen(): string {
    return execFileSync('tmux', ['capture-pane', '-p', '-t', this.session], { encoding: 'utf8' });
  }

  /** Sends tmux key names (e.g. 'q', 'Escape', 'C-c'). */
  keys(...k: string[]): void {
    execFileSync('tmux', ['send-keys', '-t', this.session, ...k]);
  }

  /** The pid of probetop (the node process in the pane). */
  pid(): number {
    const shellPid = execFileSync('tmux', ['display-message', '-p', '-t', this.session, '#{pane_pid}'], { encoding: 'utf8' }).trim();
    const out = execFileSync('pgrep', ['-P', shellPid, '-f', 'cli.js'], { encoding: 'utf8' }).trim();
    return Number(out.split('\n')[0]);
  }

  /** Waits until the screen matches `re` (or throws with the screen after `ms`). */
  async waitFor(re: RegExp, ms = 10000): Promise<string> {
    const end = Date.now() + ms;
    let s = '';
    while (Date.now() < end) {
      s = this.screen();
      if (re.test(s)) return s;
      await sleep(100);
    }
    throw new Error(`screen never matched ${re}:\n${s}`);
  }

  /** Waits for probetop to exit; returns its exit code. */
  async exitCode(ms = 10000): Promise<number> {
    const fs = await import('node:fs');
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (fs.existsSync(this.exitFile)) {
        const t = fs.readFileSync(this.exitFile, 'utf8').trim();
        if (t) return Number(t);
      }
      await sleep(100);
    }
    throw new Error(`probetop did not exit:\n${this.screen()}`);
  }

  /** Ends the tmux session. */
  kill(): void {
    try {
      execFileSync('tmux', ['kill-session', '-t', this.session], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
    try {
      require('node:fs').unlinkSync(this.exitFile);
    } catch {
      /* never written */
    }
  }
}
