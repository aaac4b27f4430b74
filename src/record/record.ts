/**
 * `probetop record`: samples headless and writes one line per tick until the duration ends or a
 * signal arrives; the file is always finished properly and every probe detached.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Sampler } from '../sampler';
import type { ProbeOptions } from '../probes/types';
import { hostInfo } from '../procfs/system';
import { RecordingWriter } from './writer';
import { FORMAT_NAME, FORMAT_VERSION } from './format';

/** Options of a recording run. */
export interface RecordOptions {
  out: string;
  durationS?: number; // stop after this many seconds (default: until a signal)
  intervalMs: number;
  disable?: string[];
  version: string;
  quiet?: boolean;
  probeOpts?: ProbeOptions;
}

/** Records until done; resolves with the exit code. */
export async function runRecord(opts: RecordOptions): Promise<number> {
  // Say so before loading any probe when the file cannot be written at all.
  try {
    fs.accessSync(path.dirname(opts.out), fs.constants.W_OK);
  } catch (e) {
    process.stderr.write(`probetop: cannot write ${opts.out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    return 2;
  }
  const sampler = new Sampler({ ...opts.probeOpts, disable: opts.disable });
  sampler.start();
  const variants: Record<string, string> = {};
  for (const l of sampler.loadInfo) variants[l.name] = l.variant ?? `unavailable: ${l.reason}`;
  let writer: RecordingWriter;
  try {
    writer = new RecordingWriter(opts.out, {
      format: FORMAT_NAME,
      version: FORMAT_VERSION,
      probetop: opts.version,
      host: hostInfo(),
      intervalMs: opts.intervalMs,
      started: Date.now(),
      variants,
    });
  } catch (e) {
    sampler.close();
    process.stderr.write(`probetop: ${(e as Error).message}\n`);
    return 2;
  }
  if (!opts.quiet) {
    for (const l of sampler.loadInfo) process.stderr.write(`probetop: ${l.name}: ${l.variant ?? `unavailable: ${l.reason}`}\n`);
    process.stderr.write(`probetop: recording to ${opts.out} every ${opts.intervalMs} ms${opts.durationS ? ` for ${opts.durationS} s` : ' until interrupted'}\n`);
  }
  let stop = false;
  let wake: (() => void) | undefined;
  const onSignal = () => {
    stop = true;
    wake?.();
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const s of signals) process.on(s, onSignal);
  const end = opts.durationS ? Date.now() + opts.durationS * 1000 : Infinity;
  let code = 0;
  try {
    await writer.write(sampler.sample());
    let next = Date.now() + opts.intervalMs;
    while (!stop && Date.now() < end) {
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, Math.max(0, Math.min(next, end) - Date.now()));
      });
      if (stop) break;
      if (Date.now() >= next) {
        await writer.write(sampler.sample());
        next += opts.intervalMs;
        if (next < Date.now()) next = Date.now() + opts.intervalMs; // fell behind: do not burst
      }
    }
  } catch (e) {
    process.stderr.write(`probetop: recording failed: ${(e as Error).message}\n`);
    code = 1;
  } finally {
    for (const s of signals) process.off(s, onSignal);
    await writer.close().catch(() => undefined);
    sampler.close();
  }
  if (!opts.quiet) process.stderr.write(`probetop: wrote ${writer.ticks + 1} lines (${writer.ticks} ticks) to ${opts.out}\n`);
  return code;
}
