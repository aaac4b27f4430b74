/**
 * The registry of always-on probes, in the order they are loaded and shown.
 */
import { runqlat } from './runqlat';
import { cachestat } from './cachestat';
import { biolatency } from './biolatency';
import { procevents } from './procevents';
import { offcputime } from './offcputime';
import type { ProbeSpec } from './types';
import type { ProbesRaw } from '../model/sample';

/** Every always-on probe, keyed by the name used across layers. */
export const PROBES = { runqlat, offcputime, biolatency, cachestat, procevents } satisfies { [K in keyof Required<ProbesRaw>]: ProbeSpec<any> };

/** A probe name. */
export type ProbeName = keyof typeof PROBES;

/** All probe names, in load order. */
export const PROBE_NAMES = Object.keys(PROBES) as ProbeName[];
