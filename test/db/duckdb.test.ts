import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Chunk } from '../../lib/data/types.js';
import { RxMemoryData } from '../../lib/data/memory.js';
import { RxDuckDbData } from '../../lib/db/duckdb.js';

const dir = mkdtempSync(join(tmpdir(), 'rxscale-duck-'));
const path = join(dir, 'test.duckdb');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function readAll(src: RxDuckDbData, rowsPerRead?: number): Promise<Chunk[]> {
  const out: Chunk[] = [];
  for await (const c of src.chunks(rowsPerRead ? { rowsPerRead } : {})) out.push(c);
  return out;
}

describe('RxDuckDbData (embedded DuckDB)', () => {
  beforeAll(async () => {
    const conn = await new RxDuckDbData({ path, table: 'x' }).connect();
    await conn.run(`CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')`);
    await conn.run(`CREATE TABLE t (i INTEGER, b BIGINT, f DOUBLE, dec DECIMAL(12,3), ok BOOLEAN, s VARCHAR, m mood, d DATE, ts TIMESTAMPTZ)`);
    await conn.run(`INSERT INTO t VALUES
      (1, 9007199254740993, 1.5, 12.345, true, 'a', 'ok', '2020-01-02', '2020-01-02 03:04:05.678+00'),
      (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
      (-7, -5, -2.25, -0.001, false, 'b', 'happy', '1969-12-31', '1960-06-01 00:00:00+00')`);
    await conn.run(`CREATE TABLE big AS SELECT range::DOUBLE AS x, (range % 3)::INTEGER AS g FROM range(5000)`);
    await conn.run(`CREATE TABLE odd (id INTEGER, l INTEGER[])`);
    conn.closeSync();
  });

  it('maps DuckDB types (ENUM -> factor with its levels) and reads every value', async () => {
    const src = new RxDuckDbData({ path, table: 't' });
    const schema = await src.schema();
    expect(schema.columns.map((c) => [c.name, c.type])).toEqual([
      ['i', 'int32'], ['b', 'float64'], ['f', 'float64'], ['dec', 'float64'], ['ok', 'bool'], ['s', 'string'], ['m', 'factor'], ['d', 'date'], ['ts', 'timestamp'],
    ]);
    expect(schema.columns[6]!.levels).toEqual(['sad', 'ok', 'happy']);
    const [c] = await readAll(src);
    const col = (n: string) => c!.columns[n]!;
    expect(Array.from(col('i').data as Int32Array)).toEqual([1, 0, -7]);
    expect(Array.from(col('i').valid!)).toEqual([1, 0, 1]);
    expect(Array.from(col('f').data as Float64Array)).toEqual([1.5, Number.NaN, -2.25]);
    expect(Array.from(col('dec').data as Float64Array)).toEqual([12.345, Number.NaN, -0.001]);
    expect(col('s').data).toEqual(['a', null, 'b']);
    expect(Array.from(col('m').data as Int32Array, (v, i) => (col('m').valid?.[i] === 0 ? null : col('m').levels![v]))).toEqual(['ok', null, 'happy']);
    expect(Array.from(col('d').data as Int32Array)).toEqual([18263, 0, -1]);
    expect((col('ts').data as Float64Array)[0]).toBe(Date.UTC(2020, 0, 2, 3, 4, 5, 678));
  });

  it('re-chunks DuckDB vectors to rowsPerRead across vector boundaries', async () => {
    const chunks = await readAll(new RxDuckDbData({ path, sqlQuery: 'SELECT x FROM big ORDER BY x' }), 1500);
    expect(chunks.map((c) => c.numRows)).toEqual([1500, 1500, 1500, 500]);
    const all = chunks.flatMap((c) => Array.from(c.columns.x!.data as Float64Array));
    expect(all).toEqual(Array.from({ length: 5000 }, (_, i) => i));
  });

  it('writes atomically through the appender, refuses to clobber, appends', async () => {
    const mem = new RxMemoryData({ x: Float64Array.from([1, Number.NaN, 3]), g: ['u', 'v', 'u'], k: Int32Array.from([7, 8, 9]) });
    const dest = new RxDuckDbData({ path, table: 'out' });
    const schema = await mem.schema();
    let w = await dest.open(schema, {});
    for await (const c of mem.chunks({ rowsPerRead: 2 })) await w.write(c);
    await w.close();
    await expect(dest.open(schema, {})).rejects.toMatchObject({ code: 'RX_IO' });
    w = await dest.open(schema, { append: 'rows' });
    for await (const c of mem.chunks()) await w.write(c);
    await w.close();
    const [c] = await readAll(dest);
    expect(c!.numRows).toBe(6);
    expect(Array.from(c!.columns.x!.data as Float64Array).slice(0, 3)).toEqual([1, Number.NaN, 3]);
    expect(c!.columns.g!.data).toEqual(['u', 'v', 'u', 'u', 'v', 'u']);
    w = await dest.open(schema, { overwrite: true });
    await w.write(c!);
    await w.abort();
    expect(await dest.numRows()).toBe(6);
  });

  it('gives clear RxErrors for unmappable types, missing tables and bad SQL; quotes hostile names', async () => {
    await expect(new RxDuckDbData({ path, table: 'odd' }).schema()).rejects.toMatchObject({ code: 'RX_SCHEMA', message: expect.stringMatching(/Column "l"/) });
    await expect(new RxDuckDbData({ path, table: 'nope' }).schema()).rejects.toMatchObject({ code: 'RX_SQL' });
    await expect(new RxDuckDbData({ path, sqlQuery: 'SELEC 1' }).schema()).rejects.toMatchObject({ code: 'RX_SQL' });
    const evil = 't"; DROP TABLE t; --';
    const mem = new RxMemoryData({ x: [1, 2] });
    const w = await new RxDuckDbData({ path, table: evil }).open(await mem.schema(), {});
    for await (const c of mem.chunks()) await w.write(c);
    await w.close();
    expect(await new RxDuckDbData({ path, table: 't' }).numRows()).toBe(3);
    expect(await new RxDuckDbData({ path, table: evil }).numRows()).toBe(2);
  });
});
