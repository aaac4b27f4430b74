/**
 * JSON and Prometheus output from fixture snapshots: histograms with bounds, cumulative `le`
 * buckets in seconds, and hostile process names that stay inert data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSnapshot } from '../../src/model/snapshot';
import { snapshotJson, JSON_VERSION, HIST_FREE, holdsHist } from '../../src/export/json';
import zlib from 'node:zlib';
import fs from 'node:fs';
import path from 'node:path';
import type { Sample } from '../../src/model/sample';
import { PrometheusState } from '../../src/export/prometheus';
import { parseListen } from '../../src/headless';
import { SAMPLE_A, SAMPLE_B } from '../fixtures/samples';

const host = { hostname: 'h', kernel: 'k' };

test('JSON: versioned, histograms as buckets with µs bounds, control characters escaped', () => {
  const snap = buildSnapshot(SAMPLE_B, SAMPLE_A);
  const text = JSON.stringify(snapshotJson(snap, host));
  assert.ok(!text.includes('\x1b'), 'no raw ESC in the output');
  assert.ok(text.includes('\\u001b[2J'), 'the ESC survives as an escaped character');
  const j = JSON.parse(text);
  assert.equal(j.version, JSON_VERSION);
  const h = j.runqlat.data.hist;
  assert.equal(h.count, 1000);
  assert.deepEqual(h.buckets[0], { lowUs: 4, highUs: 8, count: 600 });
  assert.equal(h.buckets.reduce((s: number, b: { count: number }) => s + b.count, 0), 1000);
  assert.equal(j.procs.length, 3);
});

test('JSON: buckets of small counts are shared frozen objects, written as any other; large and fractional counts are not shared', () => {
  const base = buildSnapshot(SAMPLE_B, SAMPLE_A);
  const hist = (slots: number[]) => ({ count: slots.reduce((a, b) => a + b, 0), sumNs: 1, slots });
  const data = { ...(base.runqlat as { data: object }).data, hist: hist([0, 1, 0, 2]), extra: [hist([0, 1]), hist([0, 1, 0, 40]), hist([0.5])] };
  const snap = { ...base, runqlat: { status: 'ok', variant: 'x', data } } as unknown as typeof base;
  const j = snapshotJson(snap, host) as { runqlat: { data: { hist: { buckets: object[] }; extra: { buckets: object[] }[] } } };
  const d = j.runqlat.data;
  assert.deepEqual(d.hist.buckets, [{ lowUs: 2, highUs: 4, count: 1 }, { lowUs: 8, highUs: 16, count: 2 }]);
  assert.equal(d.extra[0].buckets[0], d.hist.buckets[0], 'slot 1 with a count of 1: one object');
  assert.ok(Object.isFrozen(d.hist.buckets[0]));
  assert.deepEqual(d.extra[1].buckets[1], { lowUs: 8, highUs: 16, count: 40 });
  assert.ok(!Object.isFrozen(d.extra[1].buckets[1]), 'a count of 40 gets its own object');
  assert.deepEqual(d.extra[2].buckets, [{ lowUs: 0, highUs: 2, count: 0.5 }]);
  assert.equal(JSON.stringify(d.extra[0]), '{"count":1,"sumNs":1,"buckets":[{"lowUs":2,"highUs":4,"count":1}]}');
});

test('JSON: the parts passed through unconverted (HIST_FREE) hold no histogram, in the fixtures and in a real recorded workload', () => {
  // A recording of all probes under a real workload (fork storm, direct I/O, page cache).
  // Its first line is the recording's header; samples follow.
  const rec = zlib.gunzipSync(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'workload.jsonl.gz'))).toString().trim().split('\n').slice(1).map((l) => JSON.parse(l) as Sample);
  const snaps = [buildSnapshot(SAMPLE_B, SAMPLE_A), ...rec.slice(1).map((s, i) => buildSnapshot(s, rec[i]))];
  const withHist = new Set<string>();
  let exits = 0;
  for (const snap of snaps) {
    for (const [k, v] of Object.entries(snap)) {
      if (HIST_FREE.has(k)) assert.equal(holdsHist(v), false, `${k} holds a histogram`);
      else if (holdsHist(v)) withHist.add(k);
    }
    if (snap.procevents.status === 'ok') exits += snap.procevents.data.exited.length;
    // What is passed through comes out as it went in.
    const j = JSON.parse(JSON.stringify(snapshotJson(snap, host)));
    for (const k of HIST_FREE) assert.deepEqual(j[k], JSON.parse(JSON.stringify((snap as unknown as Record<string, unknown>)[k])));
  }
  assert.ok(exits > 100, `the recording has process exits (${exits})`);
  // The check can fail: the converted parts do hold histograms.
  for (const k of ['runqlat', 'biolatency', 'offcputime']) assert.ok(withHist.has(k), `${k} holds histograms`);
});

test('Prometheus: cumulative le buckets in seconds, +Inf equals _count, sums in seconds, counters grow', () => {
  const st = new PrometheusState();
  const snap = buildSnapshot(SAMPLE_B, SAMPLE_A);
  st.add(snap);
  st.add(snap);
  const page = st.render();
  const bucket = (le: string) => Number(new RegExp(`probetop_runqueue_latency_seconds_bucket\\{le="${le.replace(/[.+]/g, '\\$&')}"\\} (\\d+)`).exec(page)![1]);
  assert.equal(bucket('0.000004'), 0);
  assert.equal(bucket('0.000008'), 1200);
  assert.equal(bucket('0.000128'), 1800);
  assert.equal(bucket('0.002048'), 1980);
  assert.equal(bucket('+Inf'), 2000);
  assert.match(page, /probetop_runqueue_latency_seconds_count 2000\n/);
  assert.match(page, /probetop_runqueue_latency_seconds_sum 0\.6\n/);
  // Buckets never decrease along le.
  const values = [...page.matchAll(/probetop_runqueue_latency_seconds_bucket\{le="[^"]+"\} (\d+)/g)].map((m) => Number(m[1]));
  values.reduce((a, b) => (assert.ok(b >= a), b));
  assert.match(page, /# TYPE probetop_runqueue_latency_seconds histogram/);
});

test('Prometheus: hostile process names are escaped label values with no control characters', () => {
  const st = new PrometheusState();
  st.add(buildSnapshot(SAMPLE_B, SAMPLE_A));
  const page = st.render();
  assert.ok(!page.includes('\x1b'));
  assert.match(page, /probetop_process_runqueue_wait_seconds_total\{pid="77",comm="evil\{red-fg\}\?\[2J"\} 0\.05/);
  for (const line of page.split('\n').filter((l) => l && !l.startsWith('#'))) {
    assert.match(line, /^[a-z_]+(\{([a-z_]+="([^"\\\n]|\\.)*",?)*\})? [-+0-9.e]+$/, line);
  }
});

test('--prometheus address: 127.0.0.1 unless told otherwise', () => {
  assert.deepEqual(parseListen('9100'), { host: '127.0.0.1', port: 9100 });
  assert.deepEqual(parseListen('0.0.0.0:9100'), { host: '0.0.0.0', port: 9100 });
  assert.deepEqual(parseListen('[::1]:9100'), { host: '::1', port: 9100 });
  assert.match(String(parseListen('99999')), /out of range/);
  assert.match(String(parseListen('localhost:')), /not \[ADDR:\]PORT/);
});
