/**
 * An off-screen blessed terminal for screen tests: render into it, then read its text.
 */
import blessed from 'blessed';
import { PassThrough, Writable } from 'node:stream';

/** A fake TTY output of a given size that swallows what blessed writes. */
class FakeOutput extends Writable {
  isTTY = true;
  constructor(public columns: number, public rows: number) {
    super();
  }
  override _write(_chunk: unknown, _enc: string, cb: () => void): void {
    cb();
  }
  resize(columns: number, rows: number): void {
    this.columns = columns;
    this.rows = rows;
    this.emit('resize');
  }
}

/** An off-screen screen plus handles to resize it and type into it. */
export interface TestScreen {
  screen: blessed.Widgets.Screen;
  output: FakeOutput;
  input: PassThrough;
  /** The screen's text, one string per row (trailing spaces kept). */
  text(): string[];
  /** Sends key bytes as a terminal would (e.g. 'q', '\x1b[A' for Up, '\r' for Enter). */
  type(keys: string): void;
  destroy(): void;
}

/** Creates an off-screen blessed screen of `cols` x `rows`. */
export function testScreen(cols: number, rows: number): TestScreen {
  const output = new FakeOutput(cols, rows);
  const input = new PassThrough();
  (input as unknown as { isTTY: boolean }).isTTY = false;
  const screen = blessed.screen({
    input,
    output,
    terminal: 'xterm-256color',
    warnings: false,
    fullUnicode: true,
  } as unknown as blessed.Widgets.IScreenOptions);
  return {
    screen,
    output,
    input,
    text: () => (screen as unknown as { lines: [number, string][][] }).lines.map((line) => line.map((cell) => cell[1]).join('')),
    type: (keys: string) => {
      input.write(keys);
    },
    destroy: () => screen.destroy(),
  };
}
