// In-database analysis on PostgreSQL: rxSummary and rxLinMod over ROWS rows (default
// 10,000,000) pushed down as SQL (RxInPostgres) vs streaming the rows to the client
// (RxLocalSeq over RxPostgresData, binary COPY), with the bytes each moves; then the same
// rows split over 3 local PostgreSQL instances (RxInPostgres({ shards })) vs one.
// Servers are throw-away (initdb into os.tmpdir(), 127.0.0.1, fsync off). Medians of 3
// (pushdown) and 1 (streaming; it is the slow side). Skips when PostgreSQL is not installed.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { row, timeIt } from './lib.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

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

async function startPg(bin) {
  const dir = mkdtempSync(join(tmpdir(), 'rxscale-bench-pg-'));
  const asRoot = process.getuid?.() === 0;
  const run = (cmd, args) => (asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { stdio: 'pipe' }) : execFileSync(join(bin, cmd), args, { stdio: 'pipe' }));
  if (asRoot) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
  const data = join(dir, 'data');
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--locale=C']);
  const port = await freePort();
  run('pg_ctl', ['-D', data, '-w', '-t', '60', '-l', join(dir, 'log.txt'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_parallel_workers_per_gather=0`, 'start']);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Deterministic rows [start, start + n): x1..x3 doubles, g a 5-level string, y linear in them plus noise. */
function batch(start, n) {
  const x1 = new Float64Array(n);
  const x2 = new Float64Array(n);
  const x3 = new Float64Array(n);
  const y = new Float64Array(n);
  const g = new Array(n);
  const lv = ['a', 'b', 'c', 'd', 'e'];
  for (let k = 0; k < n; k++) {
    const i = start + k;
    const u = Math.sin(i * 12.9898) * 43758.5453;
    const r = u - Math.floor(u);
    x1[k] = (i % 1000) / 10;
    x2[k] = Math.cos(i) * 5;
    x3[k] = r * 20;
    g[k] = lv[i % 5];
    y[k] = 1 + 0.5 * x1[k] - 2 * x2[k] + 0.25 * x3[k] + (i % 5) + r;
  }
  return { x1, x2, x3, y, g };
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
  const rows = Number(process.env.ROWS ?? 10_000_000);
  const per = 500_000;
  const out = [];
  const servers = [];
  try {
    for (let s = 0; s < 4; s++) servers.push(await startPg(bin));
    const [one, ...shards] = servers;
    const schema = await new pkg.RxMemoryData(batch(0, 10), { stringsAsFactors: false }).schema();
    const writers = [await new pkg.RxPostgresData({ connectionString: one.url, table: 't' }).open(schema, {})];
    for (const s of shards) writers.push(await new pkg.RxPostgresData({ connectionString: s.url, table: 't' }).open(schema, {}));
    const t0 = performance.now();
    for (let start = 0; start < rows; start += per) {
      const b = batch(start, Math.min(per, rows - start));
      for await (const c of new pkg.RxMemoryData(b, { stringsAsFactors: false }).chunks({ rowsPerRead: per })) await writers[0].write(c);
      for (let s = 0; s < 3; s++) {
        const part = Object.fromEntries(Object.entries(b).map(([k, v]) => [k, Array.isArray(v) ? v.filter((_, i) => i % 3 === s) : v.filter((_, i) => i % 3 === s)]));
        for await (const c of new pkg.RxMemoryData(part, { stringsAsFactors: false }).chunks({ rowsPerRead: per })) await writers[s + 1].write(c);
      }
    }
    for (const w of writers) await w.close();
    const loadS = (performance.now() - t0) / 1000;
    out.push(row('load: binary COPY through RxPostgresData (1 server + 3 shards, 2x the rows written)', rows, loadS, { rowsPerSecond: Math.round((2 * rows) / loadS) }));
    ctx.log(JSON.stringify(out.at(-1)));
    const pgSql = (await import('pg')).default;
    for (const s of servers) {
      const c = new pgSql.Client({ connectionString: s.url });
      await c.connect();
      await c.query('VACUUM ANALYZE t');
      await c.end();
    }
    const src = new pkg.RxPostgresData({ connectionString: one.url, table: 't' });
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
      out.push(row(`${name}: pushdown (RxInPostgres, 1 server)`, rows, p.median, { times: p.times, bytesMoved: pushBytes, queries: ctxOne.queries.length / 3 }));
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
        out.push({ name: 'rxLinMod pushdown vs streaming: max relative coefficient difference', value: d });
      }
    }
  } finally {
    for (const s of servers) s.stop();
  }
  return out;
}
