/**
 * Bad input and safety of the in-database contexts with real databases: unreachable and
 * wrongly authenticated shards, bad SQL, missing tables, unmappable types, a server
 * stopped in the middle of a pushed-down pass and of an import to .xdf (no partial
 * output), SQL injection through a formula column name and a rowSelection value, and
 * model storage in PostgreSQL / DuckDB with the data source itself as `dest`.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RxLocalSeq } from '../../lib/compute/context.js';
import type { RxXdfData } from '../../lib/data/xdf.js';
import { RxInDuckDb, RxInPostgres } from '../../lib/db/compute.js';
import { RxDuckDbData } from '../../lib/db/duckdb.js';
import { RxPostgresData } from '../../lib/db/postgres.js';
import { rxImport } from '../../lib/etl/import.js';
import { rxLinMod } from '../../lib/models/index.js';
import { rxListKeys, rxReadObject, rxWriteObject } from '../../lib/scoring/store.js';
import { rxSummary } from '../../lib/summary/index.js';
import { type PgInstance, postgresUnavailableReason, startPostgres } from '../helpers/postgres.js';

const EVIL = 'x"; DROP TABLE t; --';
const dir = mkdtempSync(join(tmpdir(), 'rxscale-indb-err-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('RxInDuckDb: bad input and injection', () => {
  const path = join(dir, 'e.duckdb');
  beforeAll(async () => {
    const conn = await new RxDuckDbData({ path, table: 't' }).connect();
    await conn.run(`CREATE TABLE t (${'"x""; DROP TABLE t; --"'} DOUBLE, g VARCHAR, l INTEGER[])`);
    await conn.run(`INSERT INTO t SELECT range::DOUBLE, CASE WHEN range % 2 = 0 THEN 'a' ELSE 'b' END, [1] FROM range(100)`);
    conn.closeSync();
  });

  it('quotes a hostile column name in the formula and binds a hostile rowSelection value; the table survives', async () => {
    const ctx = new RxInDuckDb({ path, logger: () => {} });
    const src = new RxDuckDbData({ path, sqlQuery: `SELECT "x""; DROP TABLE t; --", g FROM t` });
    const s = await rxSummary(`~ \`${EVIL}\``, src, { computeContext: ctx });
    expect(s.sDataFrame[0]).toMatchObject({ Name: EVIL, Mean: 49.5, ValidObs: 100 });
    const sel = await rxSummary(`~ \`${EVIL}\``, src, { computeContext: ctx, rowSelection: `g == '${EVIL.replaceAll("'", "\\'")}' | g == 'a'` });
    expect(sel.sDataFrame[0]!.ValidObs).toBe(50);
    expect(ctx.log).toEqual([]);
    // the name appears only as a quoted identifier; the value only as a bound parameter
    for (const q of ctx.queries) expect(q.sql.replaceAll('"x""; DROP TABLE t; --"', '')).not.toMatch(/DROP/);
    const conn = await new RxDuckDbData({ path, table: 't' }).connect();
    expect(Number((await conn.runAndReadAll('SELECT count(*) FROM t')).getRows()[0]![0])).toBe(100);
    conn.closeSync();
  });

  it('bad SQL, a missing table and an unmappable column are RxErrors naming the problem', async () => {
    const ctx = new RxInDuckDb({ path, logger: () => {} });
    await expect(rxSummary('~ a', new RxDuckDbData({ path, sqlQuery: 'SELEC 1 AS a' }), { computeContext: ctx })).rejects.toMatchObject({ code: 'RX_SQL', message: expect.stringMatching(/syntax error/i) });
    await expect(rxSummary('~ a', new RxDuckDbData({ path, table: 'nope' }), { computeContext: ctx })).rejects.toMatchObject({ code: 'RX_SQL', message: expect.stringMatching(/nope/) });
    await expect(rxSummary('~ g', new RxDuckDbData({ path, table: 't' }), { computeContext: ctx })).rejects.toMatchObject({ code: 'RX_SCHEMA', message: expect.stringMatching(/"l"/) });
  });

  it('a query that fails inside the database mid-pass is RX_SQL with the database message', async () => {
    const ctx = new RxInDuckDb({ path, logger: () => {} });
    // the string -> double cast only fails when DuckDB reaches row 'oops' during the aggregate
    const src = new RxDuckDbData({ path, sqlQuery: `SELECT CAST(CASE WHEN range < 5000 THEN CAST(range AS VARCHAR) ELSE 'oops' END AS DOUBLE) AS v FROM range(6000)` });
    await expect(rxSummary('~ v', src, { computeContext: ctx })).rejects.toMatchObject({ code: 'RX_SQL', message: expect.stringMatching(/oops/) });
  });
});

const pgSkip = postgresUnavailableReason();
if (pgSkip) console.warn(`[skipped] PostgreSQL in-database error tests: ${pgSkip}`);

describe.skipIf(pgSkip)('RxInPostgres: bad input, stopped servers, injection, object store', () => {
  let inst: PgInstance;
  let client: pg.Client;
  beforeAll(async () => {
    inst = await startPostgres();
    client = new pg.Client({ connectionString: inst.url });
    await client.connect();
    await client.query(`CREATE TABLE t (${'"x""; DROP TABLE t; --"'} float8, g text, y float8)`);
    await client.query(`INSERT INTO t SELECT i, CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END, 2 * i + (i % 7) FROM generate_series(0, 99) i`);
    await client.query('CREATE TABLE big AS SELECT g::float8 AS x, (g % 5)::float8 AS y FROM generate_series(1, 400000) g');
  }, 60_000);
  afterAll(async () => {
    await client?.end().catch(() => {});
    inst?.stop();
  });

  it('quotes a hostile column name and binds a hostile value in pushed-down SQL; the table survives', async () => {
    const ctx = new RxInPostgres({ logger: () => {} });
    const src = new RxPostgresData({ connectionString: inst.url, table: 't' });
    const s = await rxSummary(`~ \`${EVIL}\``, src, { computeContext: ctx, rowSelection: `g == '${EVIL.replaceAll("'", "\\'")}' | g == 'b'` });
    expect(s.sDataFrame[0]).toMatchObject({ ValidObs: 50, Mean: 50 });
    const m = await rxLinMod(`y ~ \`${EVIL}\``, src, { computeContext: ctx });
    expect(m.nValidObs).toBe(100);
    expect(ctx.log).toEqual([]);
    expect((await client.query('SELECT count(*)::int AS n FROM t')).rows[0].n).toBe(100);
  });

  it('unreachable and wrongly authenticated shards are RX_DATA_SOURCE naming the shard, password redacted', async () => {
    const src = new RxPostgresData({ connectionString: inst.url, table: 't' });
    const dead = 'postgres://postgres:secret@127.0.0.1:1/postgres';
    const ctx = new RxInPostgres({ shards: [inst.url, dead], logger: () => {} });
    const err = await rxSummary('~ y', src, { computeContext: ctx }).catch((e) => e);
    expect(err).toMatchObject({ code: 'RX_DATA_SOURCE' });
    expect(err.message).toMatch(/127\.0\.0\.1:1/);
    expect(err.message).not.toMatch(/secret/);
    const wrongUser = inst.url.replace('postgres@', 'nobody_here@');
    await expect(rxSummary('~ y', src, { computeContext: new RxInPostgres({ shards: [wrongUser], logger: () => {} }) })).rejects.toMatchObject({
      code: 'RX_DATA_SOURCE',
      message: expect.stringMatching(/nobody_here/),
    });
    // a table that does not exist: the server's message
    await expect(rxSummary('~ y', new RxPostgresData({ connectionString: inst.url, table: 'nope' }), { computeContext: new RxInPostgres({ logger: () => {} }) })).rejects.toMatchObject({
      code: 'RX_SQL',
      message: expect.stringMatching(/does not exist/),
    });
  });

  it('an import to .xdf that loses the server mid-stream fails with RX_DATA_SOURCE and leaves no output file', async () => {
    const out = join(dir, 'big.xdf');
    const src = new RxPostgresData({ connectionString: inst.url, table: 'big', rowsPerRead: 5000 });
    let killed = false;
    const killer = setInterval(async () => {
      if (killed) return;
      const r = await client.query(`SELECT pg_terminate_backend(pid) AS k FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND query LIKE 'COPY%'`);
      if (r.rows.length) killed = true;
    }, 5);
    try {
      await expect(rxImport({ inData: src, outFile: out, rowsPerRead: 5000 })).rejects.toMatchObject({ code: 'RX_DATA_SOURCE' });
    } finally {
      clearInterval(killer);
    }
    expect(killed).toBe(true);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.startsWith('big'))).toEqual([]);
    // the same import succeeds when nothing interferes (the failure above was the server's)
    const ok = await rxImport({ inData: new RxPostgresData({ connectionString: inst.url, table: 't' }), outFile: join(dir, 't.xdf') });
    expect(await (ok as RxXdfData).numRows()).toBe(100);
  });

  it('stores and reads models in PostgreSQL and DuckDB with the data source itself as dest', async () => {
    const src = new RxPostgresData({ connectionString: inst.url, table: 't' });
    const m = await rxLinMod('y ~ g', src, { computeContext: new RxLocalSeq() });
    await rxWriteObject(src, 'lm1', m);
    await rxWriteObject(src, 'cfg', { a: 1, b: [1, 2, 3] });
    expect(await rxListKeys(src)).toEqual(['cfg', 'lm1']);
    const back = (await rxReadObject(src, 'lm1')) as typeof m;
    expect(back.coefficients).toEqual(m.coefficients);
    expect(await rxReadObject(src, 'cfg')).toEqual({ a: 1, b: [1, 2, 3] });
    await expect(rxWriteObject(src, 'cfg', {})).rejects.toMatchObject({ code: 'RX_IO' });
    expect((await client.query('SELECT count(*)::int AS n FROM rx_objects')).rows[0].n).toBe(2);
    const duck = new RxDuckDbData({ path: join(dir, 'store.duckdb'), table: 'anything' });
    await rxWriteObject(duck, 'cfg', { z: 'x' });
    expect(await rxReadObject(duck, 'cfg')).toEqual({ z: 'x' });
  });

  // last in this block: it stops the block's server
  it('a server stopped before a pushed-down pass is RX_DATA_SOURCE', async () => {
    const src = new RxPostgresData({ connectionString: inst.url, table: 't' });
    await src.schema(); // the schema is known; the server goes away before the pass
    await client.end();
    inst.stop();
    await expect(rxSummary('~ y', src, { computeContext: new RxInPostgres({ logger: () => {} }) })).rejects.toMatchObject({ code: 'RX_DATA_SOURCE' });
  });
});
