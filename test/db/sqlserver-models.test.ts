/**
 * rxLinMod / rxLogit / rxGlm pushed down to SQL Server: the T-SQL is generated through the
 * same dialect mechanism as DuckDB / PostgreSQL. Without a server the tests capture the SQL
 * of the first pass (the context's execute is replaced) and check its T-SQL form: bracket
 * quoting, @p parameters for every value (factor levels, F() bounds), FLOAT casts, no
 * constructs SQL Server lacks (boolean literals, LN, GREATEST, NaN, PostgreSQL casts).
 * With RXSCALE_MSSQL set, the fits run on a real server and equal the local fits (1e-9).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rxExecBy } from '../../lib/compute/exec.js';
import type { SqlPass } from '../../lib/compute/pema.js';
import type { Schema } from '../../lib/data/types.js';
import { RxInSqlServer } from '../../lib/db/compute.js';
import { RxSqlServerData } from '../../lib/db/sqlserver.js';
import { rxGlm, rxLinMod, rxLogit } from '../../lib/models/index.js';
import { load, memoryData, modelParity } from './pushdown-helpers.js';

const HOSTILE = "b]'; DROP TABLE t; --";

class Captured extends Error {}

/** RxInSqlServer that records each pass's SQL and parameters instead of running it. */
class CapturingSqlServer extends RxInSqlServer {
  readonly captured: Array<{ sql: string; params: unknown[] }> = [];
  protected override async execute<State>(pass: SqlPass<State>, params: unknown[]): Promise<State[]> {
    this.captured.push({ sql: pass.sql, params: [...params] });
    throw new Captured('captured');
  }
}

/** A SQL Server table whose schema is known without a server. */
class OfflineTable extends RxSqlServerData {
  override async schema(): Promise<Schema> {
    return {
      columns: [
        { name: 'y', type: 'float64' },
        { name: 'x', type: 'float64' },
        { name: 'w', type: 'float64' },
        { name: 'k', type: 'int32' },
        { name: 'b', type: 'float64' },
        { name: 'g', type: 'factor', levels: ['a', HOSTILE, 'c'] },
      ],
    };
  }
}

async function captureFirstPass(run: (ctx: RxInSqlServer, src: RxSqlServerData) => Promise<unknown>) {
  const ctx = new CapturingSqlServer({ logger: () => {} });
  const src = new OfflineTable({ server: 'offline.example', table: 'my table]' });
  await expect(run(ctx, src)).rejects.toBeInstanceOf(Captured);
  expect(ctx.log).toEqual([]); // it was going to run as SQL, not stream
  return ctx.captured[0]!;
}

function expectTsql(q: { sql: string; params: unknown[] }) {
  const { sql, params } = q;
  expect(sql).toContain('FROM [my table]]]');
  // every value is a parameter @p1..@pn, each used, none spliced in
  const used = new Set([...sql.matchAll(/@p(\d+)/g)].map((m) => Number(m[1])));
  expect([...used].sort((a, b) => a - b)).toEqual(params.map((_, i) => i + 1));
  expect(sql).not.toContain('DROP TABLE');
  expect(sql).not.toMatch(/\$\d|::|"|\bTRUE\b|\bFALSE\b|\bLN\(|GREATEST\(|'NaN'|OFFSET 0|isfinite|isnan/);
  expect(sql).toContain('CAST([x] AS FLOAT)');
  expect(sql).toMatch(/COUNT_BIG\(\*\) AS rx_rows/);
}

describe('model pushdown to SQL Server: generated T-SQL (no server needed)', () => {
  it('rxLinMod: one grouped aggregate with bracketed names, bound levels and F() bounds, FLOAT casts', async () => {
    const q = await captureFirstPass((ctx, src) => rxLinMod('y ~ x + g + F(k, 1, 6)', src, { computeContext: ctx, pweights: 'w' }));
    expectTsql(q);
    expect(q.params).toContain(HOSTILE);
    expect(q.params).toEqual(expect.arrayContaining([1, 6]));
    expect(q.sql).toMatch(/CAST\(\[g\] AS NVARCHAR\(4000\)\)/);
    expect(q.sql).toMatch(/FLOOR\(CAST\(\[k\] AS FLOAT\)\) AS rx_a\d/);
    expect(q.sql).toMatch(/ GROUP BY rx_k0, rx_k1$/);
    expect(q.sql).toMatch(/VARP|CROSS JOIN/); // weighted: the weighted-mean shift
  });

  it('rxLogit: one IRLS query with LOG, CASE instead of GREATEST, and NaN terms counted (SQL Server stores no NaN)', async () => {
    const q = await captureFirstPass((ctx, src) => rxLogit('b ~ x + g', src, { computeContext: ctx }));
    expectTsql(q);
    expect(q.sql).toMatch(/LOG\(/);
    expect(q.sql).toMatch(/COUNT_BIG\(.*\) AS rx_cnt0/);
    expect(q.sql).toMatch(/COUNT_BIG\(CASE WHEN rx_y <> 0 AND rx_y <> 1 THEN 1 END\) AS rx_nonbin/);
  });

  it('rxGlm gaussian with weights, and an expression term compiled to T-SQL', async () => {
    const q = await captureFirstPass((ctx, src) => rxGlm('y ~ x + log(k)', src, { computeContext: ctx, family: 'gaussian', weights: 'w' }));
    expectTsql(q);
    expect(q.sql).toMatch(/CAST\(LOG\(\[k\]\) AS FLOAT\)|LOG\(CAST\(\[k\] AS FLOAT\)\)|LOG\(\[k\]\)/);
  });
});

const mssql = process.env.RXSCALE_MSSQL;
if (!mssql) console.warn('[skipped] SQL Server model pushdown against a server: set RXSCALE_MSSQL to a connection string to run them');

describe.skipIf(!mssql)('model pushdown on a real SQL Server (RXSCALE_MSSQL)', () => {
  const table = `rxscale_models_${process.pid}`;
  beforeAll(async () => {
    await load(new RxSqlServerData({ connectionString: mssql!, table }), memoryData());
  }, 120_000);
  afterAll(async () => {
    const src = new RxSqlServerData({ connectionString: mssql!, table });
    const conn = await src.connect();
    const td = await import('tedious');
    await new Promise<void>((resolve) => {
      conn.execSql(new td.Request(`DROP TABLE IF EXISTS [${table}]`, () => resolve()));
    });
    conn.close();
  });

  it('rxLinMod, rxLogit and rxGlm equal the local fits on the same rows', async () => {
    const ctx = new RxInSqlServer({ connectionString: mssql!, logger: () => {} });
    const src = new RxSqlServerData({ connectionString: mssql!, table });
    await modelParity(ctx as never, src, memoryData(), ['lm factors + F()', 'lm interaction, weights', 'lm cube', 'logit', 'gaussian glm, weights']);
  }, 300_000);

  it('rxExecBy partitions by SELECT DISTINCT and counts each partition through its filtered source', async () => {
    const ctx = new RxInSqlServer({ connectionString: mssql!, logger: () => {} });
    const count = (_k: unknown, d: { numRows(): Promise<number> }) => d.numRows();
    const got = await rxExecBy(new RxSqlServerData({ connectionString: mssql!, table }), ['h'], count, { computeContext: ctx });
    const want = await rxExecBy(memoryData(), ['h'], async (_k: unknown, d: { numRows(): Promise<number | undefined> }) => d.numRows(), { reportProgress: 0 });
    expect(ctx.log).toEqual([]);
    expect(got.map((r) => [r.keys.h, r.result])).toEqual(want.map((r) => [r.keys.h, r.result]));
  }, 120_000);
});
