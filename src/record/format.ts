/**
 * The recording format: JSON lines. Line 1 is a header naming the format and its version, the
 * host, the probes' variants and the interval; every further line is one raw Sample. Replay
 * feeds the Samples through the same buildSnapshot and screens as live.
 */
import type { HostInfo } from '../procfs/system';

/** The format name in every header. */
export const FORMAT_NAME = 'probetop-recording';
/** The version this build writes and the only one it reads. */
export const FORMAT_VERSION = 1;

/** The first line of a recording. */
export interface RecordingHeader {
  format: typeof FORMAT_NAME;
  version: number;
  probetop: string; // the version that wrote it
  host: HostInfo;
  intervalMs: number;
  started: number; // ms since the epoch
  variants: Record<string, string>; // probe -> variant in use ("unavailable: why" otherwise)
}
