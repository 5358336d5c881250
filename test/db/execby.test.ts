/**
 * rxExecBy in in-database contexts: partitions come from SELECT DISTINCT on the keys (every
 * shard, combined), each partition is the source filtered to its key values as bound
 * parameters, and an analysis of a partition in the same context runs as SQL there. The
 * results equal rxExecBy on the same rows in memory (RxLocalSeq): same keys in the same
 * order, same rows per partition. DuckDB and PostgreSQL (one server and 3 shards) for real;
 * SQL Server's filtered SQL by generation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RxLocalSeq } from '../../lib/compute/context.js';
import { type RxExecByResult, rxExec, rxExecBy } from '../../lib/compute/exec.js';
import { RxMemoryData } from '../../lib/data/memory.js';
import type { DataSource } from '../../lib/data/types.js';
import { RxInDuckDb, RxInPostgres, RxPostgresShardsData } from '../../lib/db/compute.js';
import { RxDuckDbData } from '../../lib/db/duckdb.js';
import { RxPostgresData } from '../../lib/db/postgres.js';
import { RxSqlServerData, tsqlCount, tsqlFrom, tsqlSelect } from '../../lib/db/sqlserver.js';
import { rxSummary } from '../../lib/summary/index.js';
import { type PgInstance, postgresUnavailableReason, startPostgres } from '../helpers/postgres.js';
import { load } from './pushdown-helpers.js';

const EVIL = 'x"; DROP TABLE t; --';
const N = 600;
function rows(n = N, part?: { s: number; of: number }) {
  const g: Array<string | null> = [];
  const k: number[] = [];
  const x: number[] = [];
  for (let i = 0; i < n; i++) {
    if (part && i % part.of !== part.s) continue;
    g.push(i % 29 === 0 ? null : i % 31 === 0 ? EVIL : ['north', 'south', 'east'][i % 3]!);
    k.push(i % 37 === 0 ? Number.NaN : i % 41 === 0 ? Number.NaN : (i % 4) + 0.5);
    x.push(Math.sin(i) * 10 + i / 7);
  }
  return new RxMemoryData({ g, k: Float64Array.from(k), x: Float64Array.from(x) }, { stringsAsFactors: false });
}

/** What every partition reports: its rows (read through the source) and the pushed-down mean of x. */
async function describePartition(keys: Record<string, unknown>, data: DataSource, ctx: object) {
  let n = 0;
  let sum = 0;
  for await (const c of data.chunks({ rowsPerRead: 50 })) {
    n += c.numRows;
    for (const v of c.columns.x!.data as Float64Array) sum += v;
  }
  const s = (await rxSummary('~ x', data, { ...ctx, reportProgress: 0 })) as unknown as { sDataFrame: Array<{ Mean: number; ValidObs: number }> };
  return { keys, n, sum, mean: s.sDataFrame[0]!.Mean, valid: s.sDataFrame[0]!.ValidObs };
}

function expectSameAs(got: RxExecByResult[], want: RxExecByResult[]) {
  expect(got.map((r) => r.status)).toEqual(want.map(() => 'OK'));
  expect(got.map((r) => r.keys)).toEqual(want.map((r) => r.keys));
  for (const [i, r] of got.entries()) {
    const a = r.result as { n: number; sum: number; mean: number; valid: number };
    const b = want[i]!.result as typeof a;
    expect(a.n).toBe(b.n);
    expect(a.valid).toBe(b.valid);
    expect(Math.abs(a.sum - b.sum)).toBeLessThan(1e-9 * Math.abs(b.sum) + 1e-9);
    expect(Math.abs(a.mean - b.mean)).toBeLessThan(1e-10 * Math.abs(b.mean) + 1e-12);
  }
}

const local = new RxLocalSeq();
const localRun = (keys: string[]) => rxExecBy(rows(), keys, (kv: Record<string, unknown>, d: DataSource) => describePartition(kv, d, { computeContext: local }), { computeContext: local, reportProgress: 0 });

describe('rxExecBy in RxInDuckDb', () => {
  const path = ':memory:';
  beforeAll(async () => {
    await load(new RxDuckDbData({ path, table: 'ex' }), rows());
  });

  it('partitions by SELECT DISTINCT, hands each function a filtered source, and runs its analysis as SQL', async () => {
    const ctx = new RxInDuckDb({ path, logger: () => {} });
    const src = new RxDuckDbData({ path, table: 'ex' });
    const got = await rxExecBy(src, ['g'], (kv: Record<string, unknown>, d: DataSource) => describePartition(kv, d, { computeContext: ctx }), { computeContext: ctx });
    expectSameAs(got, await localRun(['g']));
    expect(got.map((r) => r.keys.g)).toContain(null);
    expect(got.map((r) => r.keys.g)).toContain(EVIL);
    expect(ctx.log).toEqual([]); // nothing streamed to split or to summarise
    // the key values are bound parameters, never SQL text; the table survives the hostile one
    const summaries = ctx.queries.filter((q) => q.accumulator === 'rxSummary');
    expect(summaries.length).toBe(got.length);
    for (const q of summaries) expect(q.sql).not.toContain('DROP TABLE');
    expect(await new RxDuckDbData({ path, table: 'ex' }).numRows()).toBe(N);
  });

  it('two keys, a numeric key whose NaN and NULL are one missing group, in key order', async () => {
    const ctx = new RxInDuckDb({ path, numTasks: 3, logger: () => {} });
    const got = await rxExecBy(new RxDuckDbData({ path, table: 'ex' }), ['k', 'g'], (kv: Record<string, unknown>, d: DataSource) => describePartition(kv, d, { computeContext: ctx }), {
      computeContext: ctx,
    });
    expectSameAs(got, await localRun(['k', 'g']));
    expect(got.at(-1)!.keys.k).toBeNull();
  });

  it('a failing function is an Error row, the others still run; data not in the database streams and says so', async () => {
    const lines: string[] = [];
    const ctx = new RxInDuckDb({ path, logger: (l) => lines.push(l) });
    const got = await rxExecBy(
      new RxDuckDbData({ path, table: 'ex' }),
      ['g'],
      (kv: Record<string, unknown>) => {
        if (kv.g === 'east') throw new Error('no east');
        return kv.g;
      },
      { computeContext: ctx },
    );
    expect(got.filter((r) => r.status === 'Error').map((r) => r.keys.g)).toEqual(['east']);
    expect(got.filter((r) => r.status === 'OK').length).toBe(got.length - 1);
    const mem = await rxExecBy(rows(), ['g'], (kv: Record<string, unknown>) => kv.g, { computeContext: ctx, reportProgress: 0 });
    expect(mem.length).toBe(got.length);
    expect(lines.join('\n')).toMatch(/rxExecBy: the data .* is not in this database; streaming/);
    // rxExec runs its tasks in this process
    expect((await rxExec((a: number) => a * 2, { elemArgs: [[1], [2]], computeContext: ctx })).map((r) => r.result)).toEqual([2, 4]);
  });

  it('a filtered source reads only its rows and refuses writes', async () => {
    const f = new RxDuckDbData({ path, table: 'ex', filter: { g: EVIL } });
    expect(await f.numRows()).toBe(Array.from({ length: N }, (_, i) => i).filter((i) => i % 29 !== 0 && i % 31 === 0).length);
    await expect(f.open(await f.schema(), { overwrite: true })).rejects.toMatchObject({ code: 'RX_ARG' });
    expect(() => new RxDuckDbData({ path, table: 'ex', filter: { g: [1] } as never })).toThrow(/filter/);
  });
});

describe('rxExecBy filters on SQL Server (generated T-SQL)', () => {
  it('binds key values as @p parameters, brackets identifiers, NULL keys as IS NULL', () => {
    const ref = { table: 't', filter: { 'g]x': EVIL, k: 2.5, b: true, m: null } };
    expect(tsqlFrom(ref)).toEqual({ from: '(SELECT * FROM [t] WHERE [g]]x] = @p1 AND [k] = @p2 AND [b] = @p3 AND [m] IS NULL) AS rx_p', params: [EVIL, 2.5, true] });
    expect(tsqlSelect(ref, ['x'])).toBe('SELECT [x] FROM (SELECT * FROM [t] WHERE [g]]x] = @p1 AND [k] = @p2 AND [b] = @p3 AND [m] IS NULL) AS rx_p');
    expect(tsqlCount({ sqlQuery: 'SELECT * FROM u', filter: { g: 'a' } })).toBe('SELECT CAST(COUNT_BIG(*) AS FLOAT) AS n FROM (SELECT * FROM (SELECT * FROM u) AS rx_q WHERE [g] = @p1) AS rx_p');
    const src = new RxSqlServerData({ server: 'db', table: 't' }).withFilter({ g: 'a' }).withFilter({ k: 1 });
    expect(src.opts.filter).toEqual({ g: 'a', k: 1 });
  });
});

const pgSkip = postgresUnavailableReason();
if (pgSkip) console.warn(`[skipped] rxExecBy in PostgreSQL: ${pgSkip}`);

describe.skipIf(pgSkip)('rxExecBy in RxInPostgres (one server, 3 shards)', () => {
  const servers: PgInstance[] = [];
  beforeAll(async () => {
    servers.push(...(await Promise.all([startPostgres(), startPostgres(), startPostgres()])));
    await Promise.all([
      load(new RxPostgresData({ connectionString: servers[0]!.url, table: 'all' }), rows()),
      ...servers.map((s, i) => load(new RxPostgresData({ connectionString: s.url, table: 'part' }), rows(N, { s: i, of: 3 }))),
    ]);
  }, 60_000);
  afterAll(() => {
    for (const s of servers) s.stop();
  });

  it('one server: partitions by SQL and pushes each partition analysis down (NaN and NULL keys one group)', async () => {
    const ctx = new RxInPostgres({ connectionString: servers[0]!.url, logger: () => {} });
    const src = new RxPostgresData({ connectionString: servers[0]!.url, table: 'all' });
    const got = await rxExecBy(src, ['k', 'g'], (kv: Record<string, unknown>, d: DataSource) => describePartition(kv, d, { computeContext: ctx }), { computeContext: ctx });
    expectSameAs(got, await localRun(['k', 'g']));
    expect(ctx.log).toEqual([]);
    expect(ctx.queries.every((q) => !q.sql.includes('DROP TABLE'))).toBe(true);
    expect(await src.numRows()).toBe(N);
  });

  it('3 shards: the partitions of every shard combine; each function sees its key on all shards', async () => {
    const ctx = new RxInPostgres({ shards: servers.map((s) => s.url), numTasks: 2, logger: () => {} });
    const src = new RxPostgresData({ connectionString: servers[0]!.url, table: 'part' });
    const got = await rxExecBy(src, ['g'], (kv: Record<string, unknown>, d: DataSource) => describePartition(kv, d, { computeContext: ctx }), { computeContext: ctx });
    expectSameAs(got, await localRun(['g']));
    expect(ctx.log).toEqual([]);
    // the summaries ran on all 3 shards, one row back from each
    expect(ctx.queries.every((q) => q.rowsPerShard.length === 3)).toBe(true);
    const one = (await rxExecBy(src, ['g'], (_k: unknown, d: DataSource) => d, { computeContext: ctx }))[0]!.result;
    expect(one).toBeInstanceOf(RxPostgresShardsData);
    const sh = one as RxPostgresShardsData;
    // rows of all shards read as one source, with global row numbers; startRow / numRows across shards
    const n = await sh.numRows();
    const starts: number[] = [];
    let read = 0;
    for await (const c of sh.chunks({ startRow: 5, numRows: n - 7, rowsPerRead: 16 })) {
      starts.push(c.startRow);
      read += c.numRows;
    }
    expect(read).toBe(n - 7);
    expect(starts[0]).toBe(5);
  });
});
