/**
 * Reads a recording back. A truncated or corrupted file yields every Sample up to the last good
 * line and says where it stopped; a file of another format version is refused.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';
import type { Sample } from '../model/sample';
import { FORMAT_NAME, FORMAT_VERSION, RecordingHeader } from './format';

/** A recording read into memory. */
export interface Recording {
  header: RecordingHeader;
  samples: Sample[];
  /** Why reading stopped before the end of the file, or null when the file was whole. */
  stoppedEarly: string | null;
}

/** A recording that cannot be replayed at all (the message is for the user). */
export class RecordingError extends Error {}

function decompress(path: string, raw: Buffer): { text: string; cut: string | null } {
  if (!(raw[0] === 0x1f && raw[1] === 0x8b)) return { text: raw.toString('utf8'), cut: null };
  try {
    return { text: zlib.gunzipSync(raw).toString('utf8'), cut: null };
  } catch (e) {
    // Truncated gzip: take what decompresses (each tick was flushed on its own).
    try {
      const text = zlib.gunzipSync(raw, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString('utf8');
      return { text, cut: `the compressed data of ${path} is cut short (${(e as Error).message})` };
    } catch (e2) {
      throw new RecordingError(`${path} is not a readable gzip file: ${(e2 as Error).message}`);
    }
  }
}

function isSample(v: unknown): v is Sample {
  const s = v as Sample;
  return typeof s === 'object' && s !== null && typeof s.ts === 'number' && typeof s.monoMs === 'number' && typeof s.probes === 'object' && typeof s.system === 'object';
}

/** Reads a whole recording; throws RecordingError when there is nothing to replay. */
export function readRecording(path: string): Recording {
  let raw: Buffer;
  try {
    raw = fs.readFileSync(path);
  } catch (e) {
    throw new RecordingError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (raw.length === 0) throw new RecordingError(`${path} is empty: not a probetop recording`);
  const { text, cut } = decompress(path, raw);
  const lines = text.split('\n');
  let header: RecordingHeader;
  try {
    header = JSON.parse(lines[0]);
  } catch {
    throw new RecordingError(`${path} is not a probetop recording (its first line is not a probetop header)`);
  }
  if (!header || header.format !== FORMAT_NAME) throw new RecordingError(`${path} is not a probetop recording (no "${FORMAT_NAME}" header)`);
  if (header.version !== FORMAT_VERSION)
    throw new RecordingError(`${path} is recording format version ${header.version}; this probetop reads version ${FORMAT_VERSION} only`);
  const samples: Sample[] = [];
  let stoppedEarly: string | null = null;
  const last = lines.length - 1;
  for (let i = 1; i <= last; i++) {
    const line = lines[i];
    if (line === '' && i === last) break; // the final newline
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      stoppedEarly = i === last ? `line ${i + 1} is cut short (the recording was interrupted)` : `line ${i + 1} is corrupted`;
      break;
    }
    if (!isSample(v)) {
      stoppedEarly = `line ${i + 1} is not a sample`;
      break;
    }
    samples.push(v);
  }
  if (cut && !stoppedEarly) stoppedEarly = cut;
  if (samples.length === 0) throw new RecordingError(`${path} holds no complete tick${stoppedEarly ? ` (${stoppedEarly})` : ''}`);
  return { header, samples, stoppedEarly: stoppedEarly ? `replay stops after tick ${samples.length}: ${stoppedEarly}` : null };
}
