import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Chunk } from '../../lib/data/types.js';
import { RxMemoryData } from '../../lib/data/memory.js';
import { RxPostgresData } from '../../lib/db/postgres.js';
import { type PgInstance, postgresUnavailableReason, startPostgres } from '../helpers/postgres.js';

const skip = postgresUnavailableReason();
if (skip) console.warn(`[skipped] PostgreSQL tests: ${skip}`);

let inst: PgInstance;
let client: pg.Client;

async function readAll(src: RxPostgresData, rowsPerRead?: number): Promise<Chunk[]> {
  const out: Chunk[] = [];
  for await (const c of src.chunks(rowsPerRead ? { rowsPerRead } : {})) out.push(c);
  return out;
}

describe.skipIf(skip)('RxPostgresData (real PostgreSQL server)', () => {
  beforeAll(async () => {
    inst = await startPostgres();
    client = new pg.Client({ connectionString: inst.url });
    await client.connect();
    await client.query(`CREATE TABLE t (i int4, s int2, b int8, f float8, r real, n numeric(20,6), ok bool, txt text, d date, ts timestamptz)`);
    await client.query(`INSERT INTO t VALUES
      (1, 10, 9007199254740993, 1.5, 0.25, 123456.789012, true, 'a', '2020-01-02', '2020-01-02T03:04:05.678Z'),
      (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
      (-7, -3, -5, -2.25, 1e10, -0.000001, false, 'b', '1969-12-31', '1960-06-01T00:00:00Z'),
      (4, 4, 4, 'NaN', 4, 'NaN', true, 'a', '2000-01-01', '2000-01-01T00:00:00Z'),
      (5, 5, 5, 5, 5, 5, false, 'c', '2000-01-01', '2000-01-01T00:00:00Z')`);
    await client.query(`CREATE TABLE odd (id int4, p point)`);
  });
  afterAll(async () => {
    await client?.end();
    inst?.stop();
  });

  it('maps PostgreSQL types to the schema and reads every value (binary COPY)', async () => {
    const src = new RxPostgresData({ connectionString: inst.url, table: 't' });
    const schema = await src.schema();
    expect(schema.columns.map((c) => [c.name, c.type])).toEqual([
      ['i', 'int32'], ['s', 'int16'], ['b', 'float64'], ['f', 'float64'], ['r', 'float32'], ['n', 'float64'],
      ['ok', 'bool'], ['txt', 'string'], ['d', 'date'], ['ts', 'timestamp'],
    ]);
    const [c] = await readAll(src);
    expect(c!.numRows).toBe(5);
    const col = (n: string) => c!.columns[n]!;
    expect(Array.from(col('i').data as Int32Array)).toEqual([1, 0, -7, 4, 5]);
    expect(Array.from(col('i').valid!)).toEqual([1, 0, 1, 1, 1]);
    expect((col('b').data as Float64Array)[0]).toBe(9007199254740992); // int8 beyond 2^53 rounds (documented rule)
    expect(Array.from(col('f').data as Float64Array)).toEqual([1.5, Number.NaN, -2.25, Number.NaN, 5]);
    expect(Array.from(col('n').data as Float64Array)).toEqual([123456.789012, Number.NaN, -0.000001, Number.NaN, 5]);
    expect(Array.from(col('ok').data as Uint8Array)).toEqual([1, 0, 0, 1, 0]);
    expect(col('txt').data).toEqual(['a', null, 'b', 'a', 'c']);
    expect(Array.from(col('d').data as Int32Array)).toEqual([18263, 0, -1, 10957, 10957]);
    expect((col('ts').data as Float64Array)[0]).toBe(Date.UTC(2020, 0, 2, 3, 4, 5, 678));
    expect((col('ts').data as Float64Array)[2]).toBe(Date.UTC(1960, 5, 1));
  });

  it('streams in chunks of rowsPerRead with identical data, and applies colInfo factors', async () => {
    const src = new RxPostgresData({ connectionString: inst.url, sqlQuery: 'SELECT i, txt FROM t ORDER BY i NULLS LAST', colInfo: { txt: { type: 'factor', levels: ['a', 'b'] } } });
    const chunks = await readAll(src, 2);
    expect(chunks.map((c) => c.numRows)).toEqual([2, 2, 1]);
    expect(chunks.map((c) => c.startRow)).toEqual([0, 2, 4]);
    const txt = chunks.flatMap((c) => Array.from(c.columns.txt!.data as Int32Array, (v, i) => (c.columns.txt!.valid?.[i] === 0 ? null : c.columns.txt!.levels![v])));
    expect(txt).toEqual(['b', 'a', 'a', null, null]); // 'c' is outside the declared levels -> missing
  });

  it('writes chunks with binary COPY atomically, refuses to clobber, appends', async () => {
    const mem = new RxMemoryData({ x: Float64Array.from([1, Number.NaN, 3]), g: ['u', 'v', 'u'], k: Int32Array.from([7, 8, 9]) });
    const dest = new RxPostgresData({ connectionString: inst.url, table: 'out' });
    const schema = await mem.schema();
    let w = await dest.open(schema, {});
    for await (const c of mem.chunks({ rowsPerRead: 2 })) await w.write(c);
    await w.close();
    await expect(dest.open(schema, {})).rejects.toMatchObject({ code: 'RX_IO' });
    w = await dest.open(schema, { append: 'rows' });
    for await (const c of mem.chunks()) await w.write(c);
    await w.close();
    const r = await client.query('SELECT x, g, k FROM out');
    expect(r.rows).toHaveLength(6);
    expect(r.rows.slice(0, 3)).toEqual([
      { x: 1, g: 'u', k: 7 },
      { x: null, g: 'v', k: 8 },
      { x: 3, g: 'u', k: 9 },
    ]);
    // an aborted overwrite leaves the old table untouched
    w = await dest.open(schema, { overwrite: true });
    await w.write((await readAll(new RxPostgresData({ connectionString: inst.url, table: 'out' })))[0]!);
    await w.abort();
    expect((await client.query('SELECT count(*)::int AS n FROM out')).rows[0].n).toBe(6);
  });

  it('gives clear RxErrors for bad input', async () => {
    await expect(new RxPostgresData({ connectionString: inst.url, table: 'odd' }).schema()).rejects.toMatchObject({ code: 'RX_SCHEMA', message: expect.stringMatching(/Column "p".*cannot map/) });
    await expect(new RxPostgresData({ connectionString: inst.url, table: 'nope' }).schema()).rejects.toMatchObject({ code: 'RX_SQL', message: expect.stringMatching(/does not exist/) });
    await expect(new RxPostgresData({ connectionString: inst.url, sqlQuery: 'SELEC 1' }).schema()).rejects.toMatchObject({ code: 'RX_SQL', message: expect.stringMatching(/syntax error/) });
    const wrongUser = inst.url.replace('postgres@', 'nobody_here@');
    await expect(new RxPostgresData({ connectionString: wrongUser, table: 't' }).schema()).rejects.toMatchObject({ code: 'RX_DATA_SOURCE' });
    await expect(new RxPostgresData({ connectionString: 'postgres://postgres@127.0.0.1:1/postgres', table: 't' }).schema()).rejects.toMatchObject({ code: 'RX_DATA_SOURCE' });
  });

  it('quotes hostile identifiers: the table survives', async () => {
    const evil = 't"; DROP TABLE t; --';
    const dest = new RxPostgresData({ connectionString: inst.url, table: evil });
    const mem = new RxMemoryData({ x: [1, 2] });
    const w = await dest.open(await mem.schema(), {});
    for await (const c of mem.chunks()) await w.write(c);
    await w.close();
    expect((await client.query('SELECT count(*)::int AS n FROM t')).rows[0].n).toBe(5);
    const back = await readAll(new RxPostgresData({ connectionString: inst.url, table: evil }));
    expect(Array.from(back[0]!.columns.x!.data as Float64Array)).toEqual([1, 2]);
  });

  it('reports a server stopped mid-stream as RX_DATA_SOURCE', async () => {
    await client.query('CREATE TABLE big AS SELECT g::float8 AS x FROM generate_series(1, 300000) g');
    const src = new RxPostgresData({ connectionString: inst.url, table: 'big' });
    let rows = 0;
    const run = async () => {
      for await (const c of src.chunks({ rowsPerRead: 1000 })) {
        rows += c.numRows;
        if (rows === 1000) await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND query LIKE $1', ['COPY%']);
      }
    };
    await expect(run()).rejects.toMatchObject({ code: 'RX_DATA_SOURCE' });
    expect(rows).toBeLessThan(300000);
  });
});
