/**
 * Parity of the in-database summaries (rxSummary, rxCube, rxCrossTabs, rxCovCor, rxQuantile)
 * with the local result on the same rows: RxInDuckDb (embedded) and RxInPostgres (one
 * server and 3 shards holding a third of the rows each). "Local" streams the very same
 * database rows to the client (RxLocalSeq), so both sides see identical data.
 * Tolerance 1e-10 relative: the database sums in a different order (and uses Welford /
 * Youngs-Cramer for variances) than the chunked local pass; counts are exact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RxLocalSeq } from '../../lib/compute/context.js';
import type { DataSource } from '../../lib/data/types.js';
import { RxInDuckDb, RxInPostgres } from '../../lib/db/compute.js';
import { RxDuckDbData } from '../../lib/db/duckdb.js';
import { RxPostgresData } from '../../lib/db/postgres.js';
import { rxCovCor, rxCrossTabs, rxCube, rxQuantile, rxSummary } from '../../lib/summary/index.js';
import { type PgInstance, postgresUnavailableReason, startPostgres } from '../helpers/postgres.js';
import { N, expectClose, makeRows, memoryData } from './pushdown-helpers.js';
import { RxMemoryData } from '../../lib/data/memory.js';

const local = new RxLocalSeq();

async function load(sink: { open: RxDuckDbData['open'] }, src: DataSource): Promise<void> {
  const w = await sink.open(await src.schema(), { overwrite: true });
  for await (const c of src.chunks({ rowsPerRead: 1000 })) await w.write(c);
  await w.close();
}

type Ctx = RxInDuckDb | RxInPostgres;

/** Runs every summary in `ctx` and locally on `data`, compares, and checks nothing streamed. */
async function parity(ctx: Ctx, data: DataSource, localData: DataSource = data): Promise<void> {
  const o = { computeContext: ctx, reportProgress: 0 } as const;
  const l = { computeContext: local, reportProgress: 0 } as const;
  const cases: Array<[string, (opts: typeof o | typeof l, d: DataSource) => Promise<unknown>]> = [
    ['summary', (c, d) => rxSummary('~ x + y + g + g:h + x:g + F(k) + y:F(k, 1, 4)', d, c)],
    ['summary weighted', (c, d) => rxSummary('~ x + g + x:g:h', d, { ...c, fweights: 'w' })],
    ['summary byTerm false', (c, d) => rxSummary('~ x + y:g + h', d, { ...c, byTerm: false })],
    ['cube', (c, d) => rxCube('y ~ g:h', d, c)],
    ['cube weighted F', (c, d) => rxCube('x ~ g:F(k)', d, { ...c, fweights: 'w' })],
    ['crosstabs', (c, d) => rxCrossTabs('~ g:h', d, c)],
    ['crosstabs dep', (c, d) => rxCrossTabs('y ~ g:F(k)', d, c)],
    ['covcor', (c, d) => rxCovCor('~ x + y + k', d, c)],
    ['cor weighted', (c, d) => rxCovCor('~ x + y + k', d, { ...c, type: 'Cor', fweights: 'w' })],
    ['quantile', (c, d) => rxQuantile('x', d, { ...c, probs: [0, 0.1, 0.25, 0.5, 0.9, 0.999, 1] })],
  ];
  for (const [name, run] of cases) {
    if (name === 'quantile' && ctx instanceof RxInPostgres && (ctx.opts.shards?.length ?? 1) > 1) continue;
    const before = ctx.log.length;
    const got = await run(o, data);
    const want = await run(l, localData);
    expect(ctx.log.slice(before), `${name} must not stream`).toEqual([]);
    const strip = (r: unknown) => JSON.parse(JSON.stringify(r, (k, v) => (k === 'passes' || k === 'dataName' ? undefined : typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)));
    expectClose(strip(got), strip(want), 1e-10, name);
  }
}

describe('summaries pushed down into DuckDB', () => {
  const path = ':memory:';
  beforeAll(async () => {
    await load(new RxDuckDbData({ path, table: 'rows' }), memoryData());
  });

  it('rxSummary, rxCube, rxCrossTabs, rxCovCor, rxQuantile equal the local results on the same rows', async () => {
    const ctx = new RxInDuckDb({ path, logger: () => {} });
    await parity(ctx, new RxDuckDbData({ path, table: 'rows' }));
    // every pass ran as SQL and brought back a handful of rows, never the table
    expect(ctx.queries.length).toBeGreaterThan(10);
    for (const q of ctx.queries) expect(q.rowsPerShard.every((r) => r < 200)).toBe(true);
  });

  it('approx_quantile (DuckDB t-digest): within 1% of the data range of the exact quantiles', async () => {
    const ctx = new RxInDuckDb({ path, logger: () => {} });
    const src = new RxDuckDbData({ path, table: 'rows' });
    const probs = [0.05, 0.25, 0.5, 0.75, 0.95];
    const approx = await rxQuantile('x', src, { computeContext: ctx, probs, method: 'approx' });
    const exact = await rxQuantile('x', src, { computeContext: local, probs });
    expect(ctx.queries.some((q) => /approx_quantile/.test(q.sql))).toBe(true);
    const xs = makeRows().x.filter((v) => !Number.isNaN(v));
    const range = Math.max(...xs) - Math.min(...xs);
    for (const [i, v] of approx.values.entries()) expect(Math.abs(v - exact.values[i]!)).toBeLessThan(0.01 * range);
  });
});

const pgSkip = postgresUnavailableReason();
if (pgSkip) console.warn(`[skipped] PostgreSQL pushdown tests: ${pgSkip}`);

describe.skipIf(pgSkip)('summaries pushed down into PostgreSQL (one server, 3 shards)', () => {
  const shards: PgInstance[] = [];
  beforeAll(async () => {
    for (let s = 0; s < 3; s++) shards.push(await startPostgres());
    const rows = makeRows();
    for (let s = 0; s < 3; s++) {
      const pick = <T>(a: ArrayLike<T>) => Array.from(a).filter((_, i) => i % 3 === s);
      const part = new RxMemoryData(
        { x: Float64Array.from(pick(rows.x)), y: Float64Array.from(pick(rows.y)), w: Float64Array.from(pick(rows.w)), k: Int32Array.from(pick(rows.k)), b: Float64Array.from(pick(rows.b)), g: pick(rows.g), h: pick(rows.h) },
        { stringsAsFactors: false },
      );
      await load(new RxPostgresData({ connectionString: shards[s]!.url, table: 'part' }), part);
    }
    await load(new RxPostgresData({ connectionString: shards[0]!.url, table: 'rows' }), memoryData());
  }, 60_000);
  afterAll(() => {
    for (const s of shards) s.stop();
  });

  it('one server: every summary equals the local result on the same rows', async () => {
    await parity(new RxInPostgres({ connectionString: shards[0]!.url, logger: () => {} }), new RxPostgresData({ connectionString: shards[0]!.url, table: 'rows' }));
  });

  it('3 shards in parallel, states merged: equal to the local result on all rows', async () => {
    const ctx = new RxInPostgres({ shards: shards.map((s) => s.url), logger: () => {} });
    // local reference: all N rows (the union of the shards) from the single table
    await parity(ctx, new RxPostgresData({ connectionString: shards[0]!.url, table: 'part' }), new RxPostgresData({ connectionString: shards[0]!.url, table: 'rows' }));
    expect(ctx.queries.every((q) => q.rowsPerShard.length === 3)).toBe(true);
    expect(N).toBe(3000);
  });
});
