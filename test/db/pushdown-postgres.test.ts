/**
 * Parity of the pushed-down summaries and models on PostgreSQL with the local result on
 * the same rows: one server (table "rows", all N rows, on shard 0) and 3 shards in
 * parallel (table "part", a third of the rows on each), states merged in Node. One set of
 * throw-away servers serves every case. DuckDB runs every case (pushdown-summary /
 * pushdown-models.test.ts); here each analysis family runs at least once on one server
 * and once on 3 shards, choosing the cases whose SQL differs (weights, F(), byTerm,
 * dependent variables, cube counts, IRLS with and without weights). Tolerances: 1e-10
 * (summaries) and 1e-9 (models) relative, see summaryParity / modelParity.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RxInPostgres } from '../../lib/db/compute.js';
import { RxPostgresData } from '../../lib/db/postgres.js';
import { type PgInstance, postgresUnavailableReason, startPostgres } from '../helpers/postgres.js';
import { N, load, memoryData, modelParity, shardPart, summaryParity } from './pushdown-helpers.js';

const pgSkip = postgresUnavailableReason();
if (pgSkip) console.warn(`[skipped] PostgreSQL pushdown tests: ${pgSkip}`);

describe.skipIf(pgSkip)('pushdown into PostgreSQL (one server, 3 shards)', () => {
  const shards: PgInstance[] = [];
  const all = () => new RxPostgresData({ connectionString: shards[0]!.url, table: 'rows' });
  const part = () => new RxPostgresData({ connectionString: shards[0]!.url, table: 'part' });
  beforeAll(async () => {
    shards.push(...(await Promise.all([startPostgres(), startPostgres(), startPostgres()])));
    await Promise.all([...shards.map((s, i) => load(new RxPostgresData({ connectionString: s.url, table: 'part' }), shardPart(i))), load(all(), memoryData())]);
  }, 90_000);
  afterAll(() => {
    for (const s of shards) s.stop();
  });

  it('one server: summaries equal the local results on the same rows', async () => {
    const ctx = new RxInPostgres({ connectionString: shards[0]!.url, logger: () => {} });
    await summaryParity(ctx, all(), all(), ['summary', 'summary byTerm false', 'cube weighted F', 'crosstabs dep', 'cor weighted', 'quantile']);
    for (const q of ctx.queries) expect(q.rowsPerShard.every((r) => r < 200)).toBe(true);
  });

  it('3 shards in parallel, states merged: summaries equal the local results on all rows', async () => {
    const ctx = new RxInPostgres({ shards: shards.map((s) => s.url), logger: () => {} });
    await summaryParity(ctx, part(), all(), ['summary weighted', 'cube', 'crosstabs', 'covcor']);
    expect(ctx.queries.every((q) => q.rowsPerShard.length === 3)).toBe(true);
    expect(N).toBe(3000);
  });

  it('one server: rxLinMod, rxLogit (one query per IRLS iteration), rxGlm equal the local fits', async () => {
    const ctx = new RxInPostgres({ connectionString: shards[0]!.url, logger: () => {} });
    await modelParity(ctx, all(), all(), ['lm factors + F()', 'lm interaction, weights', 'lm factor only', 'lm numeric interaction', 'logit']);
    expect(ctx.queries.filter((q) => q.accumulator === 'rxGlm').length).toBeGreaterThan(3);
  });

  it('3 shards: rxLinMod and rxGlm merge the per-shard cross products to the local fit on all rows', async () => {
    const ctx = new RxInPostgres({ shards: shards.map((s) => s.url), logger: () => {} });
    await modelParity(ctx, part(), all(), ['lm cube', 'lm interaction, weights', 'gaussian glm, weights']);
    // one row of sums per shard (rxGlm) or per shard and factor-level group (rxLinMod: g:h, 4 * 2 groups and the invalid rows')
    expect(ctx.queries.every((q) => q.rowsPerShard.length === 3 && q.rowsPerShard.every((r) => (q.accumulator === 'rxGlm' ? r === 1 : r <= 9)))).toBe(true);
  });
});
