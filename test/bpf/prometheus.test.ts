/**
 * A real Prometheus server (Debian's package, started here on loopback) scrapes
 * `probetop --prometheus` and its HTTP API shows the run-queue histogram's count increasing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { bpfSkipReason, sleep } from '../helpers/bpf';

const CLI = path.resolve(__dirname, '..', '..', 'src', 'cli.js');

function promBinary(): string | null {
  try {
    return execFileSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

const prom = promBinary();
const skip = bpfSkipReason() ?? (prom ? null : 'Prometheus is not installed (apt-get install prometheus; npm test installs it as root)');
if (skip) console.log(`# skipping the Prometheus test: ${skip}`);

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

async function query(port: number, q: string): Promise<number | null> {
  const r = await get(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`);
  const j = JSON.parse(r.body);
  const v = j.data?.result?.[0]?.value?.[1];
  return v === undefined ? null : Number(v);
}

test('Prometheus scrapes probetop: the run-queue histogram count increases', { skip: skip ?? false, timeout: 60000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pt-prom-'));
  const exporterPort = 19000 + Math.floor(Math.random() * 500);
  const promPort = 19600 + Math.floor(Math.random() * 300);
  fs.writeFileSync(
    path.join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: probetop\n    static_configs:\n      - targets: ['127.0.0.1:${exporterPort}']\n`,
  );
  let exporter: ChildProcess | undefined;
  let server: ChildProcess | undefined;
  try {
    exporter = spawn(process.execPath, [CLI, '--prometheus', String(exporterPort), '--interval', '500'], { stdio: ['ignore', 'ignore', 'pipe'] });
    server = spawn(prom!, [
      `--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ], { stdio: 'ignore' });
    // The exporter itself binds loopback only and serves the text format.
    let page = '';
    for (let i = 0; i < 50 && !page.includes('probetop_runqueue_latency_seconds_count'); i++) {
      await sleep(200);
      page = await get(`http://127.0.0.1:${exporterPort}/metrics`).then((r) => r.body, () => '');
    }
    assert.match(page, /# TYPE probetop_runqueue_latency_seconds histogram/);
    assert.match(page, /probetop_runqueue_latency_seconds_bucket\{le="\+Inf"\} \d+/);
    let first: number | null = null;
    for (let i = 0; i < 60 && first === null; i++) {
      await sleep(500);
      first = await query(promPort, 'probetop_runqueue_latency_seconds_count').catch(() => null);
    }
    assert.ok(first !== null, 'Prometheus never returned the series');
    let second = first;
    for (let i = 0; i < 30 && second! <= first!; i++) {
      await sleep(500);
      second = (await query(promPort, 'probetop_runqueue_latency_seconds_count').catch(() => null)) ?? second;
    }
    assert.ok(second! > first!, `count did not increase: ${first} then ${second}`);
    const up = await query(promPort, 'probetop_probe_up{probe="runqlat"}');
    assert.equal(up, 1);
  } finally {
    exporter?.kill('SIGTERM');
    server?.kill('SIGTERM');
    await sleep(300);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
