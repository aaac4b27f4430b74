/**
 * The recorded workload (test/fixtures/workload.jsonl.gz: a few seconds of CPU contention,
 * direct I/O, page-cache reads, sleeping and short-lived processes, recorded on the project's
 * CI-kind machine), replayed into the snapshots the UI is given.
 */
import path from 'node:path';
import { readRecording } from '../../src/record/reader';
import { replaySnapshots } from '../../src/replay';
import type { Snapshot } from '../../src/model/snapshot';
import type { HostInfo } from '../../src/procfs/system';

export const FIXTURE = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'workload.jsonl.gz');

/** The fixture's host, interval and snapshots, oldest first. */
export function fixtureSnapshots(): { host: HostInfo; intervalMs: number; snaps: Snapshot[] } {
  const rec = readRecording(FIXTURE);
  return { host: rec.header.host, intervalMs: rec.header.intervalMs, snaps: replaySnapshots(rec) };
}
