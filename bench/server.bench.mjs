// Scoring server under load: createScoringServer (fastify) in a child process on
// 127.0.0.1 serving a saved rxFastTrees model (100 trees, 31 leaves, 28 features), and
// autocannon in this process: 64 connections, 20 s, single-row JSON requests
// (`{"rows":[{...}]}`) cycling over 256 distinct rows. Reports requests/s, latency
// p50 / p99 and errors; checks one response against createScorer first.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const rx = await import(${JSON.stringify(join(here, '..', 'dist', 'lib', 'index.js'))});
       const s = await rx.createScoringServer({ modelsDir: ${JSON.stringify(dir)}, watch: false });
       const url = await s.listen({ port: 0, host: '127.0.0.1' });
       console.log('URL ' + url);
       process.on('SIGTERM', async () => { await s.close(); process.exit(0); });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const url = await new Promise((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (d) => {
        buf += d;
        const m = /URL (\S+)/.exec(buf);
        if (m) resolve(m[1]);
      });
      child.on('exit', (c) => reject(new Error(`server exited with ${c}`)));
    });
    const test = makeData(256, 2);
    const bodies = Array.from({ length: 256 }, (_, i) => JSON.stringify({ rows: [Object.fromEntries(names.map((nm, j) => [nm, test.cols[j][i]]))] }));
    // correctness of one response
    const res = await fetch(`${url}/v1/models/ft/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies[0] });
    const got = await res.json();
    const ref = await rx.rxPredictTrees(model, Object.fromEntries(names.map((nm, j) => [nm, [test.cols[j][0]]])));
    const ok = Math.abs(got.predictions[0].Probability - ref.Probability[0]) < 1e-12;
    ctx.log('first response', JSON.stringify(got).slice(0, 200), 'matches rxPredictTrees:', ok);
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
    const cpu0 = cpuSeconds(child.pid);
    const r = await run(20);
    const cpu1 = cpuSeconds(child.pid);
    const serverCpuSeconds = cpu0 === null || cpu1 === null ? null : +(cpu1 - cpu0).toFixed(2);
    const out = {
      requestsPerSec: r.requests.average,
      latencyP50Ms: r.latency.p50,
      latencyP99Ms: r.latency.p99,
      latencyMaxMs: r.latency.max,
      errors: r.errors,
      timeouts: r.timeouts,
      non2xx: r.non2xx,
      totalRequests: r.requests.total,
      connections: 64,
      durationS: 20,
      responseMatchesRxPredictTrees: ok,
      // load-independent view: requests served per CPU-second the server process used
      serverCpuSeconds,
      requestsPerServerCpuSecond: serverCpuSeconds ? Math.round(r.requests.total / serverCpuSeconds) : null,
      note: 'server (1 process) and autocannon (this process) share the machine',
    };
    ctx.log(out);
    return [row('scoring server: single-row POST /v1/models/ft/predict (rxFastTrees 100 x 31, 28 features)', r.requests.total, 1 / r.requests.average, out)];
  } finally {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}
