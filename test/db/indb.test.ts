import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RxLocalSeq } from '../../lib/compute/context.js';
import type { AccumulatorDef } from '../../lib/compute/pema.js';
import { runAccumulator } from '../../lib/compute/run.js';
import { RxMemoryData } from '../../lib/data/memory.js';
import type { Chunk } from '../../lib/data/types.js';
import { RxInDuckDb, RxInPostgres } from '../../lib/db/compute.js';
import { RxDuckDbData } from '../../lib/db/duckdb.js';
import { withTransforms } from '../../lib/expr/source.js';
import { RxPostgresData } from '../../lib/db/postgres.js';
import { type PgInstance, postgresUnavailableReason, startPostgres } from '../helpers/postgres.js';

// A two-pass test accumulator with a SQL form: pass 1 = count/sum/min/max of x per group
// level g ('a','b'); pass 2 = sum of squared deviations from pass 1's mean (needs the
// previous pass's result as a bound parameter).
interface Spec {
  pass: 1 | 2;
  mean?: number;
}
interface State {
  n: number;
  sum: number;
  min: number;
  max: number;
  ss: number;
  nA: number;
}
interface Result {
  n: number;
  mean: number;
  min: number;
  max: number;
  variance: number;
  nA: number;
}
const empty = (): State => ({ n: 0, sum: 0, min: Number.POSITIVE_INFINITY, max: Number.NEGATIVE_INFINITY, ss: 0, nA: 0 });
const moments: AccumulatorDef<Spec, State, Result & { spec?: Spec }> = {
  name: 'testMomentsWithSql',
  columns: () => ['x', 'g'],
  init: () => empty(),
  process(spec, s, chunk: Chunk) {
    const x = chunk.columns.x!.data as Float64Array;
    const g = chunk.columns.g!;
    for (let i = 0; i < chunk.numRows; i++) {
      const v = x[i]!;
      if (Number.isNaN(v)) continue;
      if (spec.pass === 1) {
        s.n++;
        s.sum += v;
        s.min = Math.min(s.min, v);
        s.max = Math.max(s.max, v);
        const lvl = g.type === 'factor' ? g.levels![(g.data as Int32Array)[i]!] : (g.data as string[])[i];
        if (lvl === 'a') s.nA++;
      } else s.ss += (v - spec.mean!) ** 2;
    }
    return s;
  },
  merge: (_spec, a, b) => ({ n: a.n + b.n, sum: a.sum + b.sum, min: Math.min(a.min, b.min), max: Math.max(a.max, b.max), ss: a.ss + b.ss, nA: a.nA + b.nA }),
  finalize(spec, s) {
    if (spec.pass === 1) return { done: false, spec: { pass: 2, mean: s.sum / s.n } };
    return { done: true, result: { n: NaN, mean: spec.mean!, min: NaN, max: NaN, variance: s.ss, nA: NaN } };
  },
  pushdown(spec, _schema, sql) {
    const x = sql.quote('x');
    if (spec.pass === 1)
      return {
        sql: `SELECT COUNT(${x}) AS n, SUM(${x}) AS s, MIN(${x}) AS mn, MAX(${x}) AS mx, SUM(CASE WHEN ${sql.quote('g')} = ${sql.param('a')} THEN 1 ELSE 0 END) AS na FROM ${sql.from} WHERE ${sql.valid(x)}`,
        toState: (rows) => {
          const r = rows[0]!;
          const n = Number(r.n);
          return { ...empty(), n, sum: n ? Number(r.s) : 0, min: n ? Number(r.mn) : Number.POSITIVE_INFINITY, max: n ? Number(r.mx) : Number.NEGATIVE_INFINITY, nA: Number(r.na) };
        },
      };
    return {
      sql: `SELECT SUM((${x} - ${sql.param(spec.mean!)}) * (${x} - ${sql.param(spec.mean!)})) AS ss FROM ${sql.from} WHERE ${sql.valid(x)}`,
      toState: (rows) => ({ ...empty(), ss: Number(rows[0]!.ss ?? 0) }),
    };
  },
};
const noSql: AccumulatorDef<Spec, State, Result & { spec?: Spec }> = { ...moments, name: 'testMomentsNoSql', pushdown: undefined };

const N = 3000;
const xs = Float64Array.from({ length: N }, (_, i) => (i % 97 === 0 ? Number.NaN : Math.sin(i) * 100 + i / 10));
const gs = Array.from({ length: N }, (_, i) => (i % 3 === 0 ? 'a' : 'b'));
const local = () => runAccumulator(moments, { pass: 1 }, new RxMemoryData({ x: xs, g: gs }), { computeContext: new RxLocalSeq(), reportProgress: 0 });

describe('RxInDuckDb', () => {
  const path = ':memory:';
  beforeAll(async () => {
    const w = await new RxDuckDbData({ path, table: 'm' }).open(await new RxMemoryData({ x: xs, g: gs }).schema(), { overwrite: true });
    for await (const c of new RxMemoryData({ x: xs, g: gs }).chunks({ rowsPerRead: 1000 })) await w.write(c);
    await w.close();
  });

  it('pushes every pass down as SQL and equals the local result', async () => {
    const lines: string[] = [];
    const ctx = new RxInDuckDb({ path, logger: (l) => lines.push(l) });
    const r = await runAccumulator(moments, { pass: 1 }, new RxDuckDbData({ path, table: 'm' }), { computeContext: ctx, reportProgress: 0 });
    const l = await local();
    expect(r.mean).toBeCloseTo(l.mean, 10);
    expect(Math.abs(r.variance - l.variance) / l.variance).toBeLessThan(1e-10);
    expect(lines).toEqual([]);
  });

  it('compiles transforms and rowSelection into the pushed-down SQL (same answer as local)', async () => {
    const lines: string[] = [];
    const ctx = new RxInDuckDb({ path, logger: (l) => lines.push(l) });
    const opts = { transforms: { x: 'log(abs(x) + 1) * k' }, rowSelection: 'g == "a" & x > 0.5', transformObjects: { k: 2 } };
    const pushed = await runAccumulator(moments, { pass: 1 }, withTransforms(new RxDuckDbData({ path, table: 'm' }), opts), { computeContext: ctx, reportProgress: 0 });
    const here = await runAccumulator(moments, { pass: 1 }, withTransforms(new RxMemoryData({ x: xs, g: gs }), opts), { computeContext: new RxLocalSeq(), reportProgress: 0 });
    expect(lines).toEqual([]);
    expect(ctx.queries[0]!.sql).toMatch(/WHERE/);
    expect(Math.abs(pushed.mean - here.mean) / Math.abs(here.mean)).toBeLessThan(1e-12);
    expect(Math.abs(pushed.variance - here.variance) / here.variance).toBeLessThan(1e-10);
    // a JavaScript transformFunc cannot run in the database: it streams instead, and says so
    const js = await runAccumulator(moments, { pass: 1 }, withTransforms(new RxDuckDbData({ path, table: 'm' }), { transformFunc: (c) => c }), { computeContext: ctx, reportProgress: 0 });
    expect(js.variance).toBeCloseTo((await local()).variance, 6);
    expect(lines[0]).toMatch(/transformFunc/);
  });

  it('streams to the client, saying why, when the accumulator has no SQL form or the data lives elsewhere', async () => {
    const lines: string[] = [];
    const ctx = new RxInDuckDb({ path, logger: (l) => lines.push(l) });
    const r = await runAccumulator(noSql, { pass: 1 }, new RxDuckDbData({ path, table: 'm' }), { computeContext: ctx, reportProgress: 0 });
    expect(r.variance).toBeCloseTo((await local()).variance, 6);
    await runAccumulator(moments, { pass: 1 }, new RxMemoryData({ x: xs, g: gs }), { computeContext: ctx, reportProgress: 0 });
    expect(lines[0]).toMatch(/testMomentsNoSql: streaming rows to the client \(testMomentsNoSql has no SQL form\)/);
    expect(lines[1]).toMatch(/not in this database/);
  });
});

const pgSkip = postgresUnavailableReason();
if (pgSkip) console.warn(`[skipped] sharded PostgreSQL tests: ${pgSkip}`);

describe.skipIf(pgSkip)('RxInPostgres on one server and on 3 shards', () => {
  const shards: PgInstance[] = [];
  beforeAll(async () => {
    for (let s = 0; s < 3; s++) shards.push(await startPostgres());
    for (let s = 0; s < 3; s++) {
      const part = new RxMemoryData({ x: xs.filter((_, i) => i % 3 === s), g: gs.filter((_, i) => i % 3 === s) }, { stringsAsFactors: false });
      const w = await new RxPostgresData({ connectionString: shards[s]!.url, table: 'm' }).open(await part.schema(), {});
      for await (const c of part.chunks()) await w.write(c);
      await w.close();
    }
    // shard 0 also holds all rows in table "all" for the single-server comparison
    const all = new RxMemoryData({ x: xs, g: gs }, { stringsAsFactors: false });
    const w = await new RxPostgresData({ connectionString: shards[0]!.url, table: 'all' }).open(await all.schema(), {});
    for await (const c of all.chunks()) await w.write(c);
    await w.close();
  }, 60_000);
  afterAll(() => {
    for (const s of shards) s.stop();
  });

  it('single server pushdown equals local; shards run in parallel and merge to the same answer', async () => {
    const l = await local();
    const single = await runAccumulator(moments, { pass: 1 }, new RxPostgresData({ connectionString: shards[0]!.url, table: 'all' }), { computeContext: new RxInPostgres({ logger: () => {} }), reportProgress: 0 });
    expect(Math.abs(single.variance - l.variance) / l.variance).toBeLessThan(1e-10);
    const ctx = new RxInPostgres({ shards: shards.map((s) => s.url), logger: () => {} });
    const sharded = await runAccumulator(moments, { pass: 1 }, new RxPostgresData({ connectionString: shards[0]!.url, table: 'm' }), { computeContext: ctx, reportProgress: 0 });
    expect(sharded.mean).toBeCloseTo(l.mean, 10);
    expect(Math.abs(sharded.variance - l.variance) / l.variance).toBeLessThan(1e-10);
  });

  it('moves only the aggregates: one query per pass per shard, one row back from each', async () => {
    const ctx = new RxInPostgres({ shards: shards.map((s) => s.url), logger: () => {} });
    await runAccumulator(moments, { pass: 1 }, new RxPostgresData({ connectionString: shards[0]!.url, table: 'm' }), { computeContext: ctx, reportProgress: 0 });
    expect(ctx.queries.map((q) => [q.pass, q.rowsPerShard])).toEqual([
      [0, [1, 1, 1]],
      [1, [1, 1, 1]],
    ]);
    expect(ctx.queries[1]!.sql).toMatch(/\$1/); // pass 2 binds pass 1's mean as a parameter
    expect(ctx.log).toEqual([]);
  });
});
