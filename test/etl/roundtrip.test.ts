import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RxMemoryData } from '../../lib/data/memory.js';
import { RxParquetData } from '../../lib/data/parquet.js';
import { RxTextData } from '../../lib/data/text.js';
import { RxXdfData } from '../../lib/data/xdf.js';
import { rxDataStep, rxImport } from '../../lib/etl/import.js';
import { readAll } from './helpers.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rx-rt-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// every column type, missing values in each, a factor with a level that only appears late
const header = 'num,int,fac,chr,lgl,day,ts,f32,i16,u8';
const lines = [
  '1.5,10,a,"x, with comma",TRUE,2020-01-02,2020-01-02 03:04:05,0.25,-7,200',
  'NA,NA,NA,NA,NA,NA,NA,NA,NA,NA',
  '-2.25e3,-5,b,"quote ""q""",FALSE,1969-12-31,1970-01-01 00:00:00,1.5,32000,0',
  ',7,,,,,,,,',
];
for (let i = 0; i < 40; i++) lines.push(`${i / 8},${i},${i === 39 ? 'zz' : i % 2 ? 'a' : 'b'},s${i},${i % 3 === 0 ? 'TRUE' : 'FALSE'},2021-03-${String((i % 28) + 1).padStart(2, '0')},2021-03-01 00:00:${String(i % 60).padStart(2, '0')},${i / 4},${i - 20},${i}`);
const colClasses = { num: 'numeric', int: 'integer', fac: 'factor', chr: 'character', lgl: 'logical', day: 'Date', ts: 'POSIXct', f32: 'float32', i16: 'int16', u8: 'uint8' } as const;

describe('round trip CSV -> xdf -> Parquet -> memory', () => {
  it('is lossless for every type, missing values and factor levels (several chunks)', async () => {
    const csv = join(dir, 'all.csv');
    writeFileSync(csv, `${header}\n${lines.join('\n')}\n`);
    const text = new RxTextData(csv, { colClasses, rowsPerRead: 10, dateFormat: '%Y-%m-%d' });
    const direct = await readAll(text);
    const xdf = join(dir, 'all.xdf');
    await rxImport({ inData: text, outFile: xdf, rowsPerRead: 10 });
    const xs = await new RxXdfData(xdf).schema();
    expect(xs.columns.map((c) => c.type)).toEqual(['float64', 'int32', 'factor', 'string', 'bool', 'date', 'timestamp', 'float32', 'int16', 'uint8']);
    const pq = join(dir, 'all.parquet');
    await rxDataStep({ inData: xdf, outFile: pq, rowsPerRead: 7 });
    const mem = (await rxDataStep({ inData: new RxParquetData(pq), rowsPerRead: 5 })) as RxMemoryData;
    const back = await readAll(mem);
    expect(back).toEqual(direct);
    expect(mem.columns.fac!.levels).toEqual(xs.columns[2]!.levels);
    expect(xs.columns[2]!.levels).toContain('zz');
    // spot checks against the text itself
    expect(direct.num!.slice(0, 4)).toEqual([1.5, null, -2250, null]);
    expect(direct.chr!.slice(0, 3)).toEqual(['x, with comma', null, 'quote "q"']);
    expect(direct.lgl!.slice(0, 3)).toEqual([1, null, 0]);
    expect(direct.day![0]).toBe(18263);
    expect(direct.ts![0]).toBe(Date.UTC(2020, 0, 2, 3, 4, 5));
    expect(direct.u8![0]).toBe(200);
    expect(Object.values(direct).every((col) => col[1] === null)).toBe(true);
  });
});
