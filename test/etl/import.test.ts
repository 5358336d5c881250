import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tableFromArrays } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RxMemoryData } from '../../lib/data/memory.js';
import { RxParquetData } from '../../lib/data/parquet.js';
import { RxTextData } from '../../lib/data/text.js';
import { RxXdfData } from '../../lib/data/xdf.js';
import { rxDataStep, rxImport } from '../../lib/etl/import.js';
import { readAll, vals } from './helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const airline = join(root, 'data', 'revoscaler_samples', 'AirlineDemo1kNoMissing.csv');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rx-imp-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rxImport', () => {
  it('imports the AirlineDemo1kNoMissing CSV into xdf with a factor, 1010 rows', async () => {
    const out = join(dir, 'airline.xdf.arrow');
    const res = await rxImport({ inData: airline, outFile: out, colClasses: { DayOfWeek: 'factor' }, rowsPerRead: 400 });
    expect(res).toBeInstanceOf(RxXdfData);
    const x = new RxXdfData(out);
    const s = await x.schema();
    expect(s.numRows).toBe(1010);
    expect(s.columns.map((c) => c.name)).toEqual(['ArrDelay', 'CRSDepTime', 'DayOfWeek']);
    expect(s.columns[2]!.type).toBe('factor');
    expect([...s.columns[2]!.levels!].sort()).toEqual(['Monday', 'Tuesday']);
    expect(await x.blockSizes()).toEqual([400, 400, 210]);
    const cols = await readAll(x);
    expect(cols.DayOfWeek!.filter((d) => d === 'Monday').length).toBe(300);
    expect(cols.ArrDelay!.slice(0, 2)).toEqual([-4, -3]);
    expect(cols.CRSDepTime![1]).toBeCloseTo(18.583334, 6);
  });

  it('applies rowSelection, transforms, varsToKeep and returns RxMemoryData without outFile', async () => {
    const res = (await rxImport({
      inData: airline,
      rowSelection: 'ArrDelay > 100',
      transforms: { late: 'ArrDelay / 60' },
      varsToKeep: ['ArrDelay'],
      colClasses: { DayOfWeek: 'factor' },
    })) as RxMemoryData;
    expect(res).toBeInstanceOf(RxMemoryData);
    expect(res.names).toEqual(['ArrDelay', 'late']);
    const d = vals(res.columns.ArrDelay!) as number[];
    expect(d.length).toBeGreaterThan(0);
    expect(d.every((x) => x > 100)).toBe(true);
    expect(vals(res.columns.late!)).toEqual(d.map((x) => x / 60));
  });

  it('converts with colClasses / colInfo on in-memory input (factor levels, newLevels, newName)', async () => {
    const res = (await rxImport({
      inData: { code: ['a', 'b', 'c', 'a', 'z'], n: [1.7, 2.2, -3.9, 4, Number.NaN] },
      colClasses: { n: 'integer' },
      colInfo: { code: { type: 'factor', levels: ['a', 'b', 'c'], newLevels: ['A', 'B', 'C'], newName: 'Code', description: 'a code' } },
    })) as RxMemoryData;
    expect(res.names).toEqual(['Code', 'n']);
    expect(vals(res.columns.Code!)).toEqual(['A', 'B', 'C', 'A', null]);
    expect(res.columns.Code!.levels).toEqual(['A', 'B', 'C']);
    expect(res.columns.n!.type).toBe('int32');
    expect(vals(res.columns.n!)).toEqual([1, 2, -3, 4, null]);
  });

  it('imports an Arrow Table to Parquet and appends rows', async () => {
    const out = join(dir, 'tbl.parquet');
    await rxImport({ inData: tableFromArrays({ a: new Float64Array([1, 2]), s: ['x', 'y'] }), outFile: out });
    await rxImport({ inData: tableFromArrays({ a: new Float64Array([3]), s: ['z'] }), outFile: out, append: 'rows' });
    expect(await readAll(new RxParquetData(out))).toEqual({ a: [1, 2, 3], s: ['x', 'y', 'z'] });
    await expect(rxImport({ inData: { a: [1] }, outFile: out })).rejects.toMatchObject({ code: 'RX_IO' });
  });

  it('errors: unknown varsToKeep, bad rowSelection, missing column in rowSelection; no output left', async () => {
    const out = join(dir, 'bad.xdf');
    await expect(rxImport({ inData: airline, outFile: out, varsToKeep: ['nope'] })).rejects.toMatchObject({ code: 'RX_SCHEMA', column: 'nope' });
    await expect(rxImport({ inData: airline, outFile: out, rowSelection: 'ArrDelay > ' })).rejects.toMatchObject({ code: 'RX_EXPR' });
    await expect(rxImport({ inData: airline, outFile: out, rowSelection: 'Nope > 1' })).rejects.toHaveProperty('code');
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});

describe('rxDataStep', () => {
  it('xdf -> xdf with startRow (1-based), numRows, removeMissings and transforms; in place overwrite works', async () => {
    const src = join(dir, 'ds.arrow');
    await rxImport({ inData: { x: [1, Number.NaN, 3, 4, 5, 6], g: ['a', 'b', null, 'a', 'b', 'a'] }, outFile: src });
    const out = join(dir, 'ds2.arrow');
    await rxDataStep({ inData: src, outFile: out, startRow: 2, numRows: 4, removeMissings: true, transforms: { y: 'x * 2' } });
    expect(await readAll(new RxXdfData(out))).toEqual({ x: [4, 5], g: ['a', 'b'], y: [8, 10] });
    await rxDataStep({ inData: out, outFile: out, overwrite: true, rowSelection: 'g == "a"' });
    expect(await readAll(new RxXdfData(out))).toEqual({ x: [4], g: ['a'], y: [8] });
  });

  it('transformFunc with transformObjects, to memory', async () => {
    const res = (await rxDataStep({
      inData: new RxMemoryData({ x: [1, 2, 3] }),
      transformFunc: (ch, objs) => ({ ...ch, names: [...ch.names, 'z'], columns: { ...ch.columns, z: { type: 'float64', data: (ch.columns.x!.data as Float64Array).map((v) => v + (objs!.k as number)) } } }),
      transformObjects: { k: 10 },
    })) as RxMemoryData;
    expect(vals(res.columns.z!)).toEqual([11, 12, 13]);
  });

  it('reads a CSV through RxTextData objects too', async () => {
    const csv = join(dir, 'small.csv');
    writeFileSync(csv, 'a,b\n1,x\n2,\n3,y\n');
    const res = (await rxDataStep({ inData: new RxTextData(csv) })) as RxMemoryData;
    expect(vals(res.columns.a!)).toEqual([1, 2, 3]);
  });
});
