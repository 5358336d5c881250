// Interoperability of RxXdfData (Arrow IPC file) with an independent Arrow implementation:
// polars (Rust; nodejs-polars, a dev dependency). Files written by rxscale must open in polars
// with the same values, types and nulls; IPC files written by polars must open here.
// pyarrow / R arrow cannot be installed on the build machine; polars and Apache Arrow JS
// (test/data/xdf.test.ts) are the two outside readers/writers checked in CI.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rxImport } from '../../lib/etl/import.js';
import { RxMemoryData } from '../../lib/data/memory.js';
import { RxTextData } from '../../lib/data/text.js';
import type { Column } from '../../lib/data/types.js';
import { RxXdfData } from '../../lib/data/xdf.js';
import { rxOptions } from '../../lib/options.js';

const require = createRequire(import.meta.url);
// nodejs-polars is CommonJS; its typings are not needed for these checks
const pl: any = require('nodejs-polars');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rx-polars-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DAY = 86_400_000;

/** Every rxscale column type, with a missing value in each column that can hold one. */
function allTypes(): Record<string, Column> {
  return {
    f64: { type: 'float64', data: Float64Array.from([1.5, Number.NaN, -2, 3e300, 4, 5e-300, 6]) },
    f32: { type: 'float32', data: Float32Array.from([1.5, Number.NaN, -2, 3, 4, 5, 6]) },
    i32: { type: 'int32', data: Int32Array.from([1, 2, -2147483647, 4, 5, 6, 2147483647]), valid: Uint8Array.from([1, 0, 1, 1, 1, 1, 1]) },
    i16: { type: 'int16', data: Int16Array.from([1, -2, 3, 4, 5, 6, 32767]) },
    u8: { type: 'uint8', data: Uint8Array.from([1, 2, 3, 4, 5, 6, 255]) },
    bool: { type: 'bool', data: Uint8Array.from([1, 0, 1, 0, 1, 0, 1]), valid: Uint8Array.from([1, 1, 0, 1, 1, 1, 1]) },
    fac: { type: 'factor', data: Int32Array.from([0, 1, 2, 0, 1, 2, 0]), levels: ['lo', 'mid', 'hé'], valid: Uint8Array.from([1, 1, 1, 0, 1, 1, 1]) },
    str: { type: 'string', data: ['a', null, 'é,"q"\nx', '', 'x', 'y', 'z'] },
    date: { type: 'date', data: Int32Array.from([18262, 0, -1, 5, 6, 7, 8]), valid: Uint8Array.from([1, 1, 1, 1, 0, 1, 1]) },
    ts: { type: 'timestamp', data: Float64Array.from([1.6e12, Number.NaN, 0, -1, 2, 3, 4]) },
  };
}

/** The values polars should report for a column: null for missing, strings for factors, ms for dates. */
function expected(c: Column): unknown[] {
  const out: unknown[] = [];
  const data = c.data as ArrayLike<unknown>;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    const missing = c.valid ? c.valid[i] === 0 : v === null || (typeof v === 'number' && Number.isNaN(v));
    if (missing) out.push(null);
    else if (c.type === 'factor') out.push(c.levels![v as number]);
    else if (c.type === 'bool') out.push(v === 1);
    else if (c.type === 'date') out.push((v as number) * DAY);
    else out.push(v);
  }
  return out;
}

/** A polars column as plain values (Dates as epoch ms). */
function polarsValues(df: { getColumn(n: string): { toArray(): unknown[] } }, name: string): unknown[] {
  return df.getColumn(name).toArray().map((v) => (v instanceof Date ? v.getTime() : v));
}

describe('RxXdfData <-> polars (Arrow IPC file)', () => {
  it('a file written by rxscale (several record batches, every type, nulls) reads identically in polars', async () => {
    const cols = allTypes();
    const file = join(dir, 'rx.arrow');
    const src = new RxMemoryData(cols, { rowsPerRead: 3 });
    const w = await new RxXdfData(file).open(await src.schema(), {});
    for await (const ch of src.chunks()) await w.write(ch);
    await w.close();

    const df = pl.readIPC(readFileSync(file));
    expect(df.shape).toEqual({ height: 7, width: 10 });
    expect(df.columns).toEqual(Object.keys(cols));
    expect(df.dtypes.map(String)).toEqual([
      'DataType(Float64)',
      'DataType(Float32)',
      'DataType(Int32)',
      'DataType(Int16)',
      'DataType(UInt8)',
      'DataType(Bool)',
      'DataType(Categorical)',
      'DataType(String)',
      'DataType(Date)',
      'DataType(Datetime(ms,UTC))',
    ]);
    for (const [name, c] of Object.entries(cols)) {
      expect(polarsValues(df, name), name).toEqual(expected(c));
    }
  });

  it('the airline sample imported to xdf has the same shape and missing counts in polars', async () => {
    const csv = join(rxOptions().sampleDataDir, 'airline_allyears2k', 'allyears2k_headers.csv');
    const out = new RxXdfData(join(dir, 'airline.arrow'));
    await rxImport({ inData: new RxTextData(csv, { encoding: 'latin1' }), outFile: out, overwrite: true, rowsPerRead: 10_000 });
    const df = pl.readIPC(readFileSync(out.file));
    expect(df.shape).toEqual({ height: 43_978, width: 31 });
    expect(df.getColumn('ArrDelay').nullCount()).toBe(1195);
    expect(polarsValues(df, 'IsArrDelayed').filter((v) => v === 'YES').length).toBe(24_441);
  });

  it('an uncompressed IPC file written by polars reads here with the same values and types', async () => {
    const df = pl
      .DataFrame({ a: [1.5, 2, null], s: ['x', null, 'zé'] })
      .withColumns(
        pl.col('s').cast(pl.Categorical).alias('f'),
        pl.Series('d', [new Date(Date.UTC(2020, 0, 1)), null, new Date(Date.UTC(1969, 11, 31))]).cast(pl.Date),
        pl.Series('t', [new Date(Date.UTC(2020, 0, 1, 5)), null, new Date(0)]),
        pl.Series('i32', [1, null, 3]).cast(pl.Int32),
        pl.Series('i64', [1, null, 2 ** 40]).cast(pl.Int64),
        pl.Series('u8', [1, 2, 255]).cast(pl.UInt8),
        pl.Series('f32', [1.5, null, 3]).cast(pl.Float32),
        pl.Series('b', [true, null, false]),
      );
    const file = join(dir, 'polars.arrow');
    df.writeIPC(file, { compression: 'uncompressed' });
    const mem = (await rxImport({ inData: new RxXdfData(file) })) as RxMemoryData;
    const types = Object.fromEntries(mem.names.map((n) => [n, mem.columns[n]!.type]));
    expect(types).toEqual({ a: 'float64', s: 'string', f: 'factor', d: 'date', t: 'timestamp', i32: 'int32', i64: 'float64', u8: 'uint8', f32: 'float32', b: 'bool' });
    const got = (n: string) => expected(mem.columns[n]!);
    expect(got('a')).toEqual([1.5, 2, null]);
    expect(got('s')).toEqual(['x', null, 'zé']);
    expect(got('f')).toEqual(['x', null, 'zé']);
    expect(got('d')).toEqual([Date.UTC(2020, 0, 1), null, Date.UTC(1969, 11, 31)]);
    expect(got('t')).toEqual([Date.UTC(2020, 0, 1, 5), null, 0]);
    expect(got('i32')).toEqual([1, null, 3]);
    expect(got('i64')).toEqual([1, null, 2 ** 40]);
    expect(got('u8')).toEqual([1, 2, 255]);
    expect(got('f32')).toEqual([1.5, null, 3]);
    expect(got('b')).toEqual([true, null, false]);
  });

  it('a compressed (LZ4/ZSTD) IPC file from polars is refused with a clear RxError naming the file', async () => {
    const file = join(dir, 'polars-zstd.arrow');
    pl.DataFrame({ a: [1, 2, 3] }).writeIPC(file, { compression: 'zstd' });
    await expect(rxImport({ inData: new RxXdfData(file) })).rejects.toMatchObject({ code: 'RX_DATA_SOURCE', message: expect.stringContaining('polars-zstd.arrow') });
  });
});
