// Scoring server under load: `rxscale serve` (fastify; 1 process, then --workers 2 with
// node:cluster) in a child process on 127.0.0.1 serving a saved rxFastTrees model
// (100 trees, 31 leaves, 28 features), and autocannon in this process: 64 connections,
// 30 s after a 3 s warm-up, single-row JSON requests (`{"rows":[{...}]}`) cycling over
// 256 distinct rows. Reports requests/s, latency p50 / p99, errors and the load average;
// checks one response against rxPredictTrees first.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { row } from './lib.mjs';

const P = 28;
/** CPU seconds (user + system) a process has used, from /proc (Linux; null elsewhere). */
function cpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}
const here = fileURLToPath(new URL('.', import.meta.url));

function makeData(n, seed) {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  const cols = Array.from({ length: P }, () => new Float64Array(n));
  const y = [];
  for (let i = 0; i < n; i++) {
    let f = 0;
    for (let j = 0; j < P; j++) {
      const v = gauss() + (j % 2 ? 0.5 * cols[j - 1][i] : 0);
      cols[j][i] = v;
      f += (j % 3 === 0 ? Math.sin(v) : j % 3 === 1 ? 0.3 * v * v - 0.3 : 0.2 * v) * (1 - j / 40);
    }
    y.push(1 / (1 + Math.exp(-f)) > u() ? 'yes' : 'no');
  }
  return { cols, y };
}

export default async function server(ctx) {
  const rx = await import('../dist/lib/index.js');
  const { default: autocannon } = await import('autocannon');
  const names = Array.from({ length: P }, (_, j) => `x${j + 1}`);
  const train = makeData(50_000, 1);
  const table = Object.fromEntries(names.map((nm, j) => [nm, train.cols[j]]));
  table.y = train.y;
  ctx.log('training rxFastTrees 100 x 31 leaves');
  const model = await rx.rxFastTrees(`y ~ ${names.join(' + ')}`, table, { numTrees: 100, numLeaves: 31, randomSeed: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'rxscale-serve-'));
  writeFileSync(join(dir, 'ft.rxm'), rx.rxSerializeModel(model));
  const freePort = () =>
    new Promise((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port } = srv.address();
        srv.close(() => resolve(port));
      });
    });
  const test = makeData(256, 2);
  const bodies = Array.from({ length: 256 }, (_, i) => JSON.stringify({ rows: [Object.fromEntries(names.map((nm, j) => [nm, test.cols[j][i]]))] }));
  const ref = await rx.rxPredictTrees(model, Object.fromEntries(names.map((nm, j) => [nm, [test.cols[j][0]]])));
  const results = [];
  try {
    for (const workers of [1, 2]) results.push(await measure(workers));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;

  async function measure(workers) {
    const port = await freePort();
    const bin = join(here, '..', 'dist', 'lib', 'cli', 'bin.js');
    const child = spawn(process.execPath, [bin, 'serve', '--models', dir, '--port', String(port), '--workers', String(workers)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    try {
      const url = await new Promise((resolve, reject) => {
        child.stderr.on('data', (d) => {
          stderr += d;
          const m = /listening on (\S+)/.exec(stderr);
          if (m) resolve(m[1]);
        });
        child.on('exit', (c) => reject(new Error(`server exited with ${c}: ${stderr}`)));
      });
      // correctness of one response
      const res = await fetch(`${url}/v1/models/ft/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies[0] });
      const got = await res.json();
      const ok = Math.abs(got.predictions[0].Probability - ref.Probability[0]) < 1e-12 && got.predictions[0].PredictedLabel === ref.PredictedLabel[0];
      ctx.log(`workers ${workers}: first response`, JSON.stringify(got).slice(0, 200), 'matches rxPredictTrees:', ok);
      let k = 0;
      const run = (duration) =>
        new Promise((resolve, reject) =>
          autocannon(
            {
              url: `${url}/v1/models/ft/predict`,
              connections: 64,
              duration,
              requests: [{ method: 'POST', headers: { 'content-type': 'application/json' }, setupRequest: (r) => ({ ...r, body: bodies[k++ & 255] }) }],
            },
            (err, r) => (err ? reject(err) : resolve(r)),
          ),
        );
      await run(3); // warm-up
      const pids = [child.pid, ...workerPids(child.pid)];
      const cpu0 = pids.map(cpuSeconds);
      const load0 = loadavg()[0];
      const r = await run(30);
      const load1 = loadavg()[0];
      const cpu1 = pids.map(cpuSeconds);
      const serverCpuSeconds = cpu0.includes(null) || cpu1.includes(null) ? null : +cpu1.reduce((a, c, i) => a + c - cpu0[i], 0).toFixed(2);
      const out = {
        workers,
        requestsPerSec: r.requests.average,
        latencyP50Ms: r.latency.p50,
        latencyP99Ms: r.latency.p99,
        latencyMaxMs: r.latency.max,
        errors: r.errors,
        timeouts: r.timeouts,
        non2xx: r.non2xx,
        totalRequests: r.requests.total,
        connections: 64,
        durationS: 30,
        loadAverage1mBeforeAfter: [+load0.toFixed(2), +load1.toFixed(2)],
        responseMatchesRxPredictTrees: ok,
        // load-independent view: requests served per CPU-second the server processes used
        serverCpuSeconds,
        requestsPerServerCpuSecond: serverCpuSeconds ? Math.round(r.requests.total / serverCpuSeconds) : null,
        note: 'server (child process; --workers N: N processes under node:cluster) and autocannon (this process) share the 2-core machine',
      };
      ctx.log(out);
      return row(`scoring server, ${workers} process${workers > 1 ? 'es' : ''}: single-row POST /v1/models/ft/predict (rxFastTrees 100 x 31, 28 features)`, r.requests.total, 1 / r.requests.average, out);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
    }
  }
}

/** Child pids of a process (the cluster workers), from /proc (Linux; empty elsewhere). */
function workerPids(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
