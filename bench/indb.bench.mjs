// In-database analysis on PostgreSQL: rxSummary and rxLinMod over ROWS rows (default
// 10,000,000) pushed down as SQL (RxInPostgres) vs streaming the rows to the client
// (RxLocalSeq over RxPostgresData, binary COPY), with the bytes each moves; then the same
// rows split over 3 local PostgreSQL instances (RxInPostgres({ shards })) vs one.
//
// Servers are throw-away (one initdb into a template, copied per server; 127.0.0.1, fsync
// off, parallel query off: the machine has 2 cores). The rows are generated inside
// PostgreSQL with generate_series (deterministic; y = linear in x1, x2, x3, g plus noise
// independent of them). Loading 10M rows takes minutes on a busy machine, so do it
// before taking the benchmark lock:
//   node bench/indb.bench.mjs --prepare      # starts 4 servers, loads, writes the state file
//   flock /tmp/rxscale-bench.lock npm run bench -- indb   # uses them, stops them at the end
// Without --prepare the benchmark starts and loads its own servers.
// Medians of 3 (pushdown) and 1 (streaming; it is the slow side).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { row, timeIt } from './lib.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROWS = Number(process.env.ROWS ?? 10_000_000);
const STATE = join(tmpdir(), `rxscale-indb-bench-${ROWS}.json`);

function pgBin() {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const v = readdirSync(base).filter((d) => existsSync(join(base, d, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return v.length ? join(base, v[0], 'bin') : null;
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const asRoot = process.getuid?.() === 0;
const runPg = (program, args) => (asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', program, ...args], { stdio: 'pipe' }) : execFileSync(program, args, { stdio: 'pipe' }));

function ownedDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (asRoot) runPgChown(dir);
  return dir;
}
function runPgChown(dir) {
  execFileSync('chown', ['postgres:postgres', dir]);
}

/** initdb once (cached per version, like test/helpers/postgres.ts), copied per server. */
function template(bin) {
  const version = /(\d+(?:\.\d+)*)/.exec(execFileSync(join(bin, 'postgres'), ['--version']).toString())?.[1] ?? 'unknown';
  const final = join(tmpdir(), `rxscale-pg-template-${version}-v1`);
  if (existsSync(join(final, 'READY'))) return join(final, 'data');
  const work = ownedDir('rxscale-pg-template-build-');
  runPg(join(bin, 'initdb'), ['-D', join(work, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--locale=C']);
  writeFileSync(join(work, 'READY'), `${new Date().toISOString()}\n`);
  try {
    renameSync(work, final);
  } catch {
    rmSync(work, { recursive: true, force: true });
  }
  return join(final, 'data');
}

async function startPg(bin) {
  const dir = ownedDir('rxscale-bench-pg-');
  const data = join(dir, 'data');
  runPg('cp', ['-a', template(bin), data]);
  const port = await freePort();
  runPg(join(bin, 'pg_ctl'), ['-D', data, '-w', '-t', '60', '-l', join(dir, 'log.txt'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_parallel_workers_per_gather=0 -c shared_buffers=512MB`, 'start']);
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, dir };
}

function stopPg(bin, s) {
  try {
    runPg(join(bin, 'pg_ctl'), ['-D', join(s.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
  } catch {
    /* already stopped */
  }
  rmSync(s.dir, { recursive: true, force: true });
}

/**
 * Rows i in [0, ROWS) with i % step == offset, generated in the server: x1 = (i % 1000) / 10,
 * x2 = 5 cos(i), x3 = 20 u(i), g = 'a'..'e' by i % 5, y = 1 + 0.5 x1 - 2 x2 + 0.25 x3 + (i % 5) + v(i),
 * u and v two hash-like uniforms (fractional parts of scaled sines).
 */
function genSql(offset, step) {
  return `CREATE TABLE t AS SELECT ((i % 1000) / 10.0)::float8 AS x1, (5 * cos(i))::float8 AS x2, (20 * u)::float8 AS x3,
  (1 + 0.5 * ((i % 1000) / 10.0) - 2 * (5 * cos(i)) + 0.25 * (20 * u) + (i % 5) + v)::float8 AS y, chr(97 + (i % 5)::int) AS g
  FROM (SELECT i, (sin(i * 12.9898) * 43758.5453) - floor(sin(i * 12.9898) * 43758.5453) AS u,
               (sin(i * 78.233) * 12345.6789) - floor(sin(i * 78.233) * 12345.6789) AS v
        FROM generate_series(${offset}::bigint, ${ROWS - 1}::bigint, ${step}::bigint) AS i) s`;
}

async function loadAll(servers) {
  const pg = (await import('pg')).default;
  await Promise.all(
    servers.map(async (s, k) => {
      const c = new pg.Client({ connectionString: s.url });
      await c.connect();
      try {
        await c.query('DROP TABLE IF EXISTS t');
        await c.query(k === 0 ? genSql(0, 1) : genSql(k - 1, 3));
        await c.query('VACUUM ANALYZE t');
      } finally {
        await c.end();
      }
    }),
  );
}

/** Starts 4 servers (one + 3 shards) and loads them; returns { servers, loadSeconds }. */
async function prepare(bin) {
  const servers = [];
  for (let s = 0; s < 4; s++) servers.push(await startPg(bin));
  const t0 = performance.now();
  await loadAll(servers);
  return { servers, loadSeconds: (performance.now() - t0) / 1000 };
}

/** Bytes of the binary COPY stream of `cols` (what streaming to the client reads). */
async function copyBytes(url, table, cols) {
  const pg = (await import('pg')).default;
  const { to } = await import('pg-copy-streams');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  let bytes = 0;
  try {
    const s = c.query(to(`COPY (SELECT ${cols.map((x) => `"${x}"`).join(', ')} FROM ${table}) TO STDOUT (FORMAT binary)`));
    for await (const chunk of s) bytes += chunk.length;
  } finally {
    await c.end();
  }
  return bytes;
}

export default async function (ctx) {
  const bin = pgBin();
  if (!bin || (process.getuid?.() === 0 && spawnSync('id', ['postgres']).status !== 0)) return [{ name: 'in-database PostgreSQL', skipped: 'PostgreSQL server binaries not installed' }];
  const pkg = await import(pathToFileURL(join(root, 'dist', 'lib', 'index.js')).href);
  const rows = ROWS;
  const out = [];
  let prepared = null;
  if (existsSync(STATE)) {
    prepared = JSON.parse(readFileSync(STATE, 'utf8'));
    if (!prepared.servers.every((s) => existsSync(join(s.dir, 'data', 'postmaster.pid')))) prepared = null;
  }
  const { servers, loadSeconds } = prepared ?? (await prepare(bin));
  try {
    const [one, ...shards] = servers;
    out.push(row(`load: generate_series inside PostgreSQL (1 server with all rows + 3 shards with a third each, in parallel)${prepared ? ', before taking the lock' : ''}`, rows, loadSeconds, { rowsPerSecond: Math.round((2 * rows) / loadSeconds) }));
    ctx.log(JSON.stringify(out.at(-1)));
    // g's levels declared (colInfo), as with RevoScaleR's SQL sources: without them the
    // model's factor levels come from one streamed pass over g before the model pass
    const src = new pkg.RxPostgresData({ connectionString: one.url, table: 't', colInfo: { g: { type: 'factor', levels: ['a', 'b', 'c', 'd', 'e'] } } });
    const analyses = [
      ['rxSummary ~ x1 + x2 + x3 + y + g', (o, d) => pkg.rxSummary('~ x1 + x2 + x3 + y + g', d, { ...o, reportProgress: 0 }), ['x1', 'x2', 'x3', 'y', 'g']],
      ['rxLinMod y ~ x1 + x2 + x3 + g', (o, d) => pkg.rxLinMod('y ~ x1 + x2 + x3 + g', d, { ...o, reportProgress: 0 }), ['x1', 'x2', 'x3', 'y', 'g']],
    ];
    for (const [name, run, cols] of analyses) {
      const ctxOne = new pkg.RxInPostgres({ connectionString: one.url, logger: () => {} });
      let pushed;
      const p = await timeIt(async () => {
        pushed = await run({ computeContext: ctxOne }, src);
      }, { runs: 3 });
      const pushBytes = (ctxOne.queries.at(-1).bytesPerShard ?? []).reduce((a, b) => a + b, 0);
      out.push(row(`${name}: pushdown (RxInPostgres, 1 server)`, rows, p.median, { times: p.times, bytesMoved: pushBytes, queries: ctxOne.queries.length / 3, streamedPasses: ctxOne.log.length / 3 }));
      ctx.log(JSON.stringify(out.at(-1)));
      let streamed;
      const l = await timeIt(async () => {
        streamed = await run({ computeContext: new pkg.RxLocalSeq() }, src);
      }, { runs: 1 });
      const sb = await copyBytes(one.url, 't', cols);
      out.push(row(`${name}: streaming rows to the client (RxLocalSeq over RxPostgresData, binary COPY)`, rows, l.median, { times: l.times, bytesMoved: sb }));
      ctx.log(JSON.stringify(out.at(-1)));
      const ctxSh = new pkg.RxInPostgres({ shards: shards.map((s) => s.url), logger: () => {} });
      const sh = await timeIt(() => run({ computeContext: ctxSh }, src), { runs: 3 });
      const shBytes = (ctxSh.queries.at(-1).bytesPerShard ?? []).reduce((a, b) => a + b, 0);
      out.push(row(`${name}: pushdown on 3 shards (a third of the rows each, merged)`, rows, sh.median, { times: sh.times, bytesMoved: shBytes }));
      ctx.log(JSON.stringify(out.at(-1)));
      out.push({ name: `${name}: streaming / pushdown`, ratio: +(l.median / p.median).toFixed(1), oneServer_over_3shards: +(p.median / sh.median).toFixed(2) });
      ctx.log(JSON.stringify(out.at(-1)));
      if (name.startsWith('rxLinMod')) {
        const d = Math.max(...pushed.coefficients.map((c, i) => Math.abs(c - streamed.coefficients[i]) / Math.max(1e-300, Math.abs(streamed.coefficients[i]))));
        out.push({ name: 'rxLinMod pushdown vs streaming: max relative coefficient difference', value: d, solver: pushed.solver });
      }
    }
  } finally {
    for (const s of servers) stopPg(bin, s);
    if (prepared) rmSync(STATE, { force: true });
  }
  return out;
}

// node bench/indb.bench.mjs --prepare: start and load the servers outside the benchmark lock
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--prepare')) {
  const bin = pgBin();
  if (!bin) throw new Error('PostgreSQL server binaries not installed');
  mkdirSync(tmpdir(), { recursive: true });
  const p = await prepare(bin);
  writeFileSync(STATE, JSON.stringify(p));
  console.log(`prepared ${ROWS} rows on ${p.servers.length} servers in ${p.loadSeconds.toFixed(1)} s: ${STATE}`);
}
