import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RxMemoryData } from '../../lib/data/memory.js';
import { RxParquetData } from '../../lib/data/parquet.js';
import type { Chunk, Column } from '../../lib/data/types.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rx-pq-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function vals(c: Column): unknown[] {
  const out: unknown[] = [];
  const d = c.data as ArrayLike<unknown>;
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    const miss = c.valid ? c.valid[i] === 0 : v === null || (typeof v === 'number' && Number.isNaN(v));
    out.push(miss ? null : c.type === 'factor' ? c.levels![v as number] : v);
  }
  return out;
}
async function readAll(src: { chunks(o?: object): AsyncIterable<Chunk> }, opts = {}) {
  const cols: Record<string, unknown[]> = {};
  const sizes: number[] = [];
  for await (const ch of src.chunks(opts)) {
    sizes.push(ch.numRows);
    for (const n of ch.names) (cols[n] ??= []).push(...vals(ch.columns[n]!));
  }
  return { cols, sizes };
}

const n = 5000;
const cols: Record<string, Column> = {
  f64: { type: 'float64', data: Float64Array.from({ length: n }, (_, i) => (i % 7 === 3 ? Number.NaN : i * 0.25)) },
  f32: { type: 'float32', data: Float32Array.from({ length: n }, (_, i) => i / 8) },
  i32: { type: 'int32', data: Int32Array.from({ length: n }, (_, i) => i - 2500), valid: Uint8Array.from({ length: n }, (_, i) => (i % 10 === 0 ? 0 : 1)) },
  i16: { type: 'int16', data: Int16Array.from({ length: n }, (_, i) => (i % 500) - 250) },
  u8: { type: 'uint8', data: Uint8Array.from({ length: n }, (_, i) => i % 256) },
  b: { type: 'bool', data: Uint8Array.from({ length: n }, (_, i) => i % 2), valid: Uint8Array.from({ length: n }, (_, i) => (i % 9 === 0 ? 0 : 1)) },
  fac: { type: 'factor', data: Int32Array.from({ length: n }, (_, i) => i % 4), levels: ['d', 'c', 'b', 'a', 'unused'], ordered: true, valid: Uint8Array.from({ length: n }, (_, i) => (i % 11 === 0 ? 0 : 1)) },
  s: { type: 'string', data: Array.from({ length: n }, (_, i) => (i % 13 === 0 ? null : `v'${i}"`)) },
  d: { type: 'date', data: Int32Array.from({ length: n }, (_, i) => i - 100) },
  t: { type: 'timestamp', data: Float64Array.from({ length: n }, (_, i) => (i % 17 === 0 ? Number.NaN : 1.7e12 + i * 1001)) },
};

describe('RxParquetData', () => {
  it('round-trips every type, missing values and factor levels (incl. unused, ordered) through Parquet', async () => {
    const file = join(dir, 'all.parquet');
    const src = new RxMemoryData(cols, { rowsPerRead: 1500 });
    const w = await new RxParquetData(file).open({ ...(await src.schema()), columns: (await src.schema()).columns.map((c) => (c.name === 'f64' ? { ...c, description: 'a float', low: 0, high: 10 } : c)) }, {});
    for await (const ch of src.chunks()) await w.write(ch);
    await w.close();
    expect(readdirSync(dir)).toEqual(['all.parquet']);
    const pq = new RxParquetData(file);
    const s = await pq.schema();
    expect(s.numRows).toBe(n);
    expect(s.columns.map((c) => c.type)).toEqual(Object.values(cols).map((c) => c.type));
    const fac = s.columns.find((c) => c.name === 'fac')!;
    expect(fac.levels).toEqual(['d', 'c', 'b', 'a', 'unused']);
    expect(fac.ordered).toBe(true);
    expect(s.columns[0]).toMatchObject({ description: 'a float', low: 0, high: 10 });
    const { cols: got, sizes } = await readAll(pq, { rowsPerRead: 2000 });
    expect(sizes).toEqual([2000, 2000, 1000]);
    for (const [k, c] of Object.entries(cols)) expect(got[k], k).toEqual(vals(c));
  });

  it('reads a row range and column subset', async () => {
    const pq = new RxParquetData(join(dir, 'all.parquet'));
    const { cols: got } = await readAll(pq, { startRow: 4990, numRows: 20, columns: ['s', 'i32'] });
    expect(Object.keys(got)).toEqual(['s', 'i32']);
    expect(got.s).toEqual(vals(cols.s!).slice(4990));
    expect(got.i32).toEqual(vals(cols.i32!).slice(4990));
  });

  it('reads Parquet written by DuckDB itself (BIGINT, DECIMAL, VARCHAR, TIMESTAMP)', async () => {
    const file = join(dir, 'duck.parquet');
    const inst = await DuckDBInstance.create(':memory:');
    const con = await inst.connect();
    await con.run(
      `COPY (SELECT i::BIGINT AS k, (i/4)::DECIMAL(10,2) AS dec, 'x' || i AS s, TIMESTAMP '2020-01-01' + INTERVAL (i) SECOND AS ts, DATE '2000-01-01' + i::INTEGER AS d FROM range(3) t(i)) TO '${file}' (FORMAT parquet)`,
    );
    con.closeSync();
    inst.closeSync();
    const pq = new RxParquetData(file);
    expect((await pq.schema()).columns.map((c) => c.type)).toEqual(['float64', 'float64', 'string', 'timestamp', 'date']);
    const { cols: got } = await readAll(pq);
    expect(got.k).toEqual([0, 1, 2]);
    expect(got.dec).toEqual([0, 0.25, 0.5]);
    expect(got.s).toEqual(['x0', 'x1', 'x2']);
    expect(got.ts).toEqual([Date.UTC(2020, 0, 1), Date.UTC(2020, 0, 1, 0, 0, 1), Date.UTC(2020, 0, 1, 0, 0, 2)]);
    expect(got.d).toEqual([10957, 10958, 10959]);
  });

  it('overwrite: false refuses; append: rows adds rows; bad files are RX_IO / RX_DATA_SOURCE', async () => {
    const file = join(dir, 'app.parquet');
    const a = new RxMemoryData({ g: ['x', 'y'], v: [1, 2] });
    let w = await new RxParquetData(file).open(await a.schema(), {});
    for await (const ch of a.chunks()) await w.write(ch);
    await w.close();
    await expect(new RxParquetData(file).open(await a.schema(), {})).rejects.toMatchObject({ code: 'RX_IO', file });
    const b = new RxMemoryData({ g: ['z'], v: [3] });
    w = await new RxParquetData(file).open(await b.schema(), { append: 'rows' });
    for await (const ch of b.chunks()) await w.write(ch);
    await w.close();
    expect((await readAll(new RxParquetData(file))).cols).toEqual({ g: ['x', 'y', 'z'], v: [1, 2, 3] });
    expect((await new RxParquetData(file).schema()).columns[0]!.levels).toEqual(['x', 'y', 'z']);
    await expect(new RxParquetData(join(dir, 'none.parquet')).schema()).rejects.toMatchObject({ code: 'RX_IO' });
    const junk = join(dir, 'junk.parquet');
    writeFileSync(junk, 'not parquet at all');
    await expect(new RxParquetData(junk).schema()).rejects.toMatchObject({ code: 'RX_DATA_SOURCE', file: junk });
    expect(existsSync(join(dir, 'none.parquet'))).toBe(false);
  });
});
