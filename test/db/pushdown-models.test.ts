/**
 * Parity of in-database rxLinMod / rxLogit / rxGlm in RxInDuckDb with the local fit on the
 * same rows (tolerance 1e-9 relative, see modelParity). PostgreSQL (one server, 3 shards)
 * is in pushdown-postgres.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { RxLocalSeq } from '../../lib/compute/context.js';
import { RxInDuckDb } from '../../lib/db/compute.js';
import { RxDuckDbData } from '../../lib/db/duckdb.js';
import { rxGlm, rxLinMod } from '../../lib/models/index.js';
import { RxMemoryData } from '../../lib/data/memory.js';
import { GLM_FIELDS, LM_FIELDS, expectClose, load, memoryData, modelCases, modelParity, pickFields } from './pushdown-helpers.js';

const local = new RxLocalSeq();

describe('models pushed down into DuckDB', () => {
  const path = ':memory:';
  beforeAll(async () => {
    await load(new RxDuckDbData({ path, table: 'mrows' }), memoryData());
  });

  it('rxLinMod, rxLogit (one query per IRLS iteration) and rxGlm equal the local fits', async () => {
    const ctx = new RxInDuckDb({ path, logger: () => {} });
    const src = new RxDuckDbData({ path, table: 'mrows' });
    await modelParity(ctx, src, src, modelCases.map((c) => c[0]));
    const logit = ctx.queries.filter((q) => q.accumulator === 'rxGlm');
    expect(logit.length).toBeGreaterThan(3); // one aggregate query per iteration
    for (const q of ctx.queries) {
      // rxGlm: one row of sums; rxLinMod: one row of sums per factor-level group (g, h, F(k): at most 5 * 3 * 7)
      if (q.accumulator === 'rxGlm') expect(q.rowsPerShard).toEqual([1]);
      else expect(q.rowsPerShard[0]).toBeLessThanOrEqual(105);
    }
    expect(ctx.queries.find((q) => q.accumulator === 'rxLinMod')!.sql).toMatch(/GROUP BY/);
  });

  it('rxLinMod with more factor-level combinations than the grouped query takes uses one row of sums over the dummies', async () => {
    // three factors of 17 levels: 4913 combinations, above the 4096 groups rxLinMod groups by
    const n = 2000;
    const a = Array.from({ length: n }, (_, i) => `a${i % 17}`);
    const b = Array.from({ length: n }, (_, i) => `b${(i * 7) % 17}`);
    const c = Array.from({ length: n }, (_, i) => `c${Math.floor(i / 17) % 17}`);
    const x = Float64Array.from({ length: n }, (_, i) => Math.sin(i) * 3);
    const y = Float64Array.from({ length: n }, (_, i) => 1 + 2 * x[i]! + (i % 17) / 10 + Math.cos(i * 3));
    await load(new RxDuckDbData({ path, table: 'wide' }), new RxMemoryData({ a, b, c, x, y }, { stringsAsFactors: false }));
    const ctx = new RxInDuckDb({ path, logger: () => {} });
    const src = new RxDuckDbData({ path, table: 'wide' });
    const got = (await rxLinMod('y ~ x + a + b + c', src, { computeContext: ctx })) as unknown as Record<string, unknown>;
    const want = (await rxLinMod('y ~ x + a + b + c', new RxMemoryData({ a, b, c, x, y }, { stringsAsFactors: false }), { computeContext: local })) as unknown as Record<string, unknown>;
    expect(ctx.log).toEqual([]);
    expect(ctx.queries[0]!.sql).not.toMatch(/GROUP BY/);
    expect(ctx.queries[0]!.rowsPerShard).toEqual([1]);
    expectClose(pickFields(got, LM_FIELDS), pickFields(want, LM_FIELDS), 1e-9, 'wide factors');
  });

  it('poisson regression (lgamma in the AIC) equals the local fit', async () => {
    const ctx = new RxInDuckDb({ path, logger: () => {} });
    const src = new RxDuckDbData({ path, table: 'mrows' });
    const run = (o: object) => rxGlm('k ~ I(x - 1000) + g', src, { ...o, family: 'poisson' });
    const got = (await run({ computeContext: ctx })) as unknown as Record<string, unknown>;
    const want = (await run({ computeContext: local })) as unknown as Record<string, unknown>;
    expect(ctx.log).toEqual([]);
    expectClose(pickFields(got, GLM_FIELDS), pickFields(want, GLM_FIELDS), 1e-9, 'poisson');
  });

  it('an ill-conditioned problem pushes the cross-product pass and streams the QR pass, saying so', async () => {
    const lines: string[] = [];
    const ctx = new RxInDuckDb({ path, logger: (l) => lines.push(l) });
    const src = new RxDuckDbData({ path, table: 'mrows' });
    const got = (await rxLinMod('y ~ x + I(x^2) + I(x^3)', src, { computeContext: ctx })) as unknown as Record<string, unknown>;
    const want = (await rxLinMod('y ~ x + I(x^2) + I(x^3)', src, { computeContext: local })) as unknown as Record<string, unknown>;
    expect(ctx.queries.length).toBe(1);
    expect(lines.join('\n')).toMatch(/pass 2 cannot run as SQL; streaming/);
    expect(got.solver).toBe(want.solver);
    expectClose(got.coefficients, want.coefficients, 1e-6, 'ill-conditioned');
  });
});
