/**
 * Writes a recording: created mode 0600 (it holds command lines), gzip when the name ends in
 * .gz, flushed after every tick so that a recording cut short still replays up to its last tick.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';
import type { Sample } from '../model/sample';
import type { RecordingHeader } from './format';

/** An open recording. */
export class RecordingWriter {
  private fd: number;
  private gz: zlib.Gzip | undefined;
  private pending: Buffer[] = [];
  ticks = 0;

  /** Creates (or truncates) `path` with mode 0600; throws with a clear message when it cannot. */
  constructor(readonly path: string, header: RecordingHeader) {
    try {
      this.fd = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o600);
      fs.fchmodSync(this.fd, 0o600); // an existing file keeps its old mode otherwise
    } catch (e) {
      throw new Error(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (path.endsWith('.gz')) {
      this.gz = zlib.createGzip();
      this.gz.on('data', (chunk: Buffer) => this.pending.push(chunk));
    }
    this.line(JSON.stringify(header));
  }

  private line(text: string): void {
    const data = Buffer.from(text + '\n');
    if (!this.gz) {
      fs.writeSync(this.fd, data);
      return;
    }
    this.gz.write(data);
  }

  /** Appends one Sample. */
  async write(sample: Sample): Promise<void> {
    this.line(JSON.stringify(sample));
    this.ticks++;
    await this.flush();
  }

  private flush(): Promise<void> {
    if (!this.gz) return Promise.resolve();
    return new Promise((resolve) =>
      this.gz!.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        for (const c of this.pending.splice(0)) fs.writeSync(this.fd, c);
        resolve();
      }),
    );
  }

  /** Finishes the file (gzip trailer) and closes it. */
  async close(): Promise<void> {
    if (this.gz) {
      await new Promise<void>((resolve) => {
        this.gz!.once('end', () => resolve());
        this.gz!.end();
        this.gz!.resume();
      });
      for (const c of this.pending.splice(0)) fs.writeSync(this.fd, c);
    }
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
  }
}
