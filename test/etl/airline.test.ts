import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RxParquetData } from '../../lib/data/parquet.js';
import { RxTextData } from '../../lib/data/text.js';
import { RxXdfData } from '../../lib/data/xdf.js';
import { rxImport } from '../../lib/etl/import.js';
import { rxGetInfo } from '../../lib/etl/info.js';

// Expected numbers come from data/airline_allyears2k/SOURCE.md.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const csv = join(root, 'data', 'airline_allyears2k', 'allyears2k_headers.csv');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rx-air-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('airline allyears2k sample', () => {
  it('imports to xdf: 43,978 rows x 31 columns, ArrDelay NA in 1,195 rows, IsArrDelayed YES in 24,441; Parquet copy agrees', async () => {
    const out = join(dir, 'air.xdf');
    await rxImport({ inData: new RxTextData(csv, { encoding: 'latin1' }), outFile: out, colClasses: { UniqueCarrier: 'factor', IsArrDelayed: 'factor', DayOfWeek: 'integer' }, rowsPerRead: 10_000 });
    const info = await rxGetInfo(out);
    expect(info.numRows).toBe(43_978);
    expect(info.numVars).toBe(31);
    expect(info.numBlocks).toBe(5);
    const xdf = new RxXdfData(out);
    const arr = await xdf.readColumn('ArrDelay');
    let na = 0;
    for (let i = 0; i < arr.valid!.length; i++) if (arr.valid![i] === 0) na++;
    expect(na).toBe(1_195);
    const isDelayed = await xdf.readColumn('IsArrDelayed');
    const yes = isDelayed.levels!.indexOf('YES');
    expect((isDelayed.data as Int32Array).filter((c) => c === yes).length).toBe(24_441);
    // the same data through Parquet
    const pq = join(dir, 'air.parquet');
    await rxImport({ inData: out, outFile: pq });
    expect(await new RxParquetData(pq).numRows()).toBe(43_978);
    let pqNa = 0;
    for await (const ch of new RxParquetData(pq).chunks({ columns: ['ArrDelay'] })) for (let i = 0; i < ch.numRows; i++) if (ch.columns.ArrDelay!.valid?.[i] === 0) pqNa++;
    expect(pqNa).toBe(1_195);
  });
});
