/**
 * Parity of the in-database summaries (rxSummary, rxCube, rxCrossTabs, rxCovCor, rxQuantile)
 * in RxInDuckDb with the local result on the same rows: "local" streams the very same
 * database rows to the client (RxLocalSeq), so both sides see identical data. Tolerance
 * 1e-10 relative (see summaryParity). PostgreSQL (one server, 3 shards) is in
 * pushdown-postgres.test.ts, sharing one set of servers with the model tests.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { RxLocalSeq } from '../../lib/compute/context.js';
import { RxInDuckDb } from '../../lib/db/compute.js';
import { RxDuckDbData } from '../../lib/db/duckdb.js';
import { rxQuantile } from '../../lib/summary/index.js';
import { load, makeRows, memoryData, summaryCases, summaryParity } from './pushdown-helpers.js';

const local = new RxLocalSeq();

describe('summaries pushed down into DuckDB', () => {
  const path = ':memory:';
  beforeAll(async () => {
    await load(new RxDuckDbData({ path, table: 'rows' }), memoryData());
  });

  it('rxSummary, rxCube, rxCrossTabs, rxCovCor, rxQuantile equal the local results on the same rows', async () => {
    const ctx = new RxInDuckDb({ path, logger: () => {} });
    const src = new RxDuckDbData({ path, table: 'rows' });
    await summaryParity(ctx, src, src, summaryCases.map((c) => c[0]));
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
