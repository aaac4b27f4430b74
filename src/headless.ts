/**
 * Headless modes: `--json` prints one snapshot per tick on stdout; `--prometheus` serves
 * /metrics over HTTP (127.0.0.1 unless told otherwise). Same sampler, same buildSnapshot.
 */
import http from 'node:http';
import { Sampler } from './sampler';
import type { ProbeOptions } from './probes/types';
import { buildSnapshot } from './model/snapshot';
import { hostInfo } from './procfs/system';
import { snapshotJson } from './export/json';
import { PrometheusState } from './export/prometheus';

/** Options of a headless run. */
export interface HeadlessOptions {
  intervalMs: number;
  disable?: string[];
  json?: { count?: number };
  prometheus?: { host: string; port: number };
  probeOpts?: ProbeOptions;
}

/** Parses "[ADDR:]PORT" (IPv6 as [::1]:9100); the default address is 127.0.0.1. */
export function parseListen(v: string): { host: string; port: number } | string {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:\s]+):)?(\d{1,5})$/.exec(v.trim());
  if (!m) return `"${v}" is not [ADDR:]PORT`;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return `port ${port} is out of range (1 to 65535)`;
  const host = m[1] ? m[1].replace(/^\[|\]$/g, '') : '127.0.0.1';
  return { host, port };
}

/** Runs until --count ticks are printed or a signal arrives; resolves with the exit code. */
export async function runHeadless(opts: HeadlessOptions): Promise<number> {
  const sampler = new Sampler({ ...opts.probeOpts, disable: opts.disable });
  sampler.start();
  const host = hostInfo();
  for (const l of sampler.loadInfo) if (!l.variant && l.reason !== 'disabled') process.stderr.write(`probetop: ${l.name} unavailable: ${l.reason}\n`);
  const prom = opts.prometheus ? new PrometheusState() : undefined;
  let server: http.Server | undefined;
  let finish!: (code: number) => void;
  const done = new Promise<number>((r) => (finish = r));
  if (opts.prometheus && prom) {
    server = http.createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('probetop: try /metrics\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(prom.render());
    });
    const { host: h, port } = opts.prometheus;
    const listening = await new Promise<string | null>((resolve) => {
      server!.once('error', (e: NodeJS.ErrnoException) => resolve(`cannot listen on ${h}:${port}: ${e.code ?? e.message}`));
      server!.listen(port, h, () => resolve(null));
    });
    if (listening) {
      sampler.close();
      process.stderr.write(`probetop: ${listening}\n`);
      return 2;
    }
    process.stderr.write(`probetop: serving http://${h.includes(':') ? `[${h}]` : h}:${port}/metrics\n`);
  }
  let printed = 0;
  let prev = sampler.sample();
  const tick = () => {
    const cur = sampler.sample();
    const snap = buildSnapshot(cur, prev);
    prev = cur;
    prom?.add(snap);
    if (opts.json) {
      process.stdout.write(JSON.stringify(snapshotJson(snap, host)) + '\n');
      printed++;
      if (opts.json.count && printed >= opts.json.count) finish(0);
    }
  };
  const timer = setInterval(() => {
    try {
      tick();
    } catch (e) {
      process.stderr.write(`probetop: ${(e as Error).message}\n`);
      finish(1);
    }
  }, opts.intervalMs);
  // A reader that went away (`probetop --json | head`) ends the run quietly.
  const onPipe = (e: NodeJS.ErrnoException) => finish(e.code === 'EPIPE' ? 0 : 1);
  process.stdout.on('error', onPipe);
  const handlers: [string, () => void][] = [
    ['SIGINT', () => finish(130)],
    ['SIGTERM', () => finish(143)],
    ['SIGHUP', () => finish(129)],
  ];
  for (const [s, h] of handlers) process.on(s, h);
  const code = await done;
  clearInterval(timer);
  for (const [s, h] of handlers) process.off(s, h);
  process.stdout.off('error', onPipe);
  server?.close();
  sampler.close();
  return code;
}
