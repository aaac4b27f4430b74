#!/usr/bin/env node
// Soak: probetop's TUI runs for a long time (default 10 minutes) under a fork/exec storm, direct
// block I/O and page-cache churn. Every 10 s it records probetop's RSS, the fill of every
// bounded BPF map probetop loaded, and the process-event counters (events, lost). At the end it
// fits a line to the RSS after warm-up and writes the result to bench/results/soak-*.json and a
// summary to stdout, to be copied into BENCHMARKS.md.
// Usage (root): node bench/soak.js [--minutes 10] [--warmup 2]
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawn } = require('node:child_process');

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write('usage (root): node bench/soak.js [--minutes 10] [--warmup 2]\n');
  process.exit(0);
}
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const minutes = opt('minutes', 10);
const warmupMin = opt('warmup', 2);
const root = path.resolve(__dirname, '..');
const CLI = path.join(root, 'dist', 'src', 'cli.js');
// probetop's node flags, as its launcher (bin/probetop, where they are written) passes them.
const { probetopNodeFlags } = require(path.join(root, 'dist', 'bench', 'lib', 'configs.js'));
const session = `pt-soak-${process.pid}`;
const work = fs.mkdtempSync('/var/tmp/pt-soak-');

function sh(cmd, a) {
  return execFileSync(cmd, a, { encoding: 'utf8', maxBuffer: 256 << 20 });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Maps probetop creates, by name prefix (our names; other tools' maps are not counted).
const OURS = /^(rq_|offcpu_|bio_|cs_|pe_|disks|procs|starts_|stats|op_starts|ss_starts)/;

/** The hash maps the probetop process `pid` holds (by its fds), so other instances do not count. */
function ourMaps(pid) {
  const held = new Set();
  for (const fd of fs.readdirSync(`/proc/${pid}/fdinfo`)) {
    try {
      const m = /^map_id:\s*(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (m) held.add(Number(m[1]));
    } catch { /* closed meanwhile */ }
  }
  const maps = JSON.parse(sh('bpftool', ['-j', 'map', 'show']));
  return maps.filter((m) => held.has(m.id) && OURS.test(m.name || '') && /hash/.test(m.type));
}

function entries(id) {
  try {
    return JSON.parse(sh('bpftool', ['-j', 'map', 'dump', 'id', String(id)])).length;
  } catch {
    return null;
  }
}

function peStats() {
  const m = JSON.parse(sh('bpftool', ['-j', 'map', 'show'])).find((x) => x.name === 'pe_stats');
  if (!m) return null;
  const dump = JSON.parse(sh('bpftool', ['-j', 'map', 'dump', 'id', String(m.id)]));
  const sum = { events: 0, lost: 0 };
  for (const e of dump) for (const v of e.formatted?.values ?? []) {
    sum.events += (v.value.events ?? []).reduce((a, b) => a + b, 0);
    sum.lost += (v.value.lost ?? []).reduce((a, b) => a + b, 0);
  }
  return sum;
}

function rssOf(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : null;
}

function slope(points) {
  // Least squares: bytes per minute.
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.t, 0) / n;
  const my = points.reduce((s, p) => s + p.rss, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mx) * (p.rss - my);
    den += (p.t - mx) ** 2;
  }
  return den ? (num / den) * 60 : 0;
}

async function main() {
  if (process.geteuid() !== 0) throw new Error('run as root');
  execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '160', '-y', '48', `${process.execPath} ${probetopNodeFlags(root).join(' ')} ${CLI}`]);
  await sleep(3000);
  const pane = sh('tmux', ['display-message', '-p', '-t', session, '#{pane_pid}']).trim();
  let pid = Number(pane); // the shell may exec node directly
  try {
    pid = Number(sh('pgrep', ['-P', pane, '-f', 'cli.js']).trim().split('\n')[0]) || pid;
  } catch { /* node is the pane's process */ }
  // The workload: a fork/exec storm, direct I/O, and page-cache churn on a 256 MiB file.
  const big = path.join(work, 'big');
  execFileSync('dd', ['if=/dev/zero', `of=${big}`, 'bs=1M', 'count=256', 'status=none']);
  const loads = [
    spawn('bash', ['-c', 'while :; do /bin/true; done'], { stdio: 'ignore' }),
    spawn('bash', ['-c', `while :; do dd if=/dev/zero of=${work}/d bs=4k count=256 oflag=direct status=none; done`], { stdio: 'ignore' }),
    spawn('bash', ['-c', `while :; do cat ${big} > /dev/null; dd if=${big} iflag=nocache count=0 status=none; done`], { stdio: 'ignore' }),
  ];
  // Stopped early (Ctrl-C, SIGTERM, the terminal or the reading pipe gone): leave nothing behind.
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    for (const l of loads) l.kill('SIGKILL');
    try {
      execFileSync('pkill', ['-f', work], { stdio: 'ignore' });
    } catch { /* nothing left */ }
    try {
      execFileSync('tmux', ['send-keys', '-t', session, 'q']);
      await sleep(1500);
      execFileSync('tmux', ['kill-session', '-t', session], { stdio: 'ignore' });
    } catch { /* gone */ }
    fs.rmSync(work, { recursive: true, force: true });
  };
  const abort = (code) => () => void cleanup().finally(() => process.exit(code));
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) process.on(sig, abort(code));
  process.stderr.on('error', abort(1)); // EPIPE: `soak.js 2>&1 | head`
  process.stdout.on('error', abort(1));
  const start = Date.now();
  const samples = [];
  let fillMax = {};
  const lru = new Set();
  try {
    while (Date.now() - start < minutes * 60000) {
      await sleep(10000);
      const t = (Date.now() - start) / 1000;
      const rss = rssOf(pid);
      const fill = {};
      for (const m of ourMaps(pid)) {
        if (m.type === 'lru_hash') lru.add(m.name);
        const n = entries(m.id);
        if (n !== null) fill[m.name] = n / m.max_entries;
        fillMax[m.name] = Math.max(fillMax[m.name] ?? 0, fill[m.name] ?? 0);
      }
      const pe = peStats();
      samples.push({ t, rss, fill, pe });
      // LRU maps are caches that evict by design (offcpu_sites, starts_rq); the others must not fill.
      const strict = Object.entries(fill).filter(([n]) => !lru.has(n)).map(([, v]) => v);
      process.stderr.write(`soak: ${t.toFixed(0)} s rss ${(rss / 1048576).toFixed(1)} MiB, fullest non-LRU map ${Math.max(0, ...strict).toFixed(3)}, events ${pe?.events} lost ${pe?.lost}\n`);
    }
  } finally {
    await cleanup();
  }
  const after = samples.filter((s) => s.t >= warmupMin * 60);
  const rssAfter = after.map((s) => s.rss);
  const result = {
    date: new Date().toISOString(),
    kernel: os.release(),
    minutes,
    warmupMinutes: warmupMin,
    rssMiB: { first: samples[0].rss / 1048576, min: Math.min(...rssAfter) / 1048576, max: Math.max(...rssAfter) / 1048576, last: samples[samples.length - 1].rss / 1048576 },
    rssSlopeMiBPerMin: slope(after) / 1048576,
    fullestMapFill: fillMax,
    lruMaps: [...lru],
    processEvents: samples[samples.length - 1].pe,
    samples,
  };
  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const out = path.join(dir, `soak-${result.date.replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(out, JSON.stringify(result, null, 1));
  console.log(JSON.stringify({ ...result, samples: undefined }, null, 1));
  console.log(`written ${out}`);
}

main().catch((e) => {
  console.error(`soak: ${e.message}`);
  process.exit(1);
});
