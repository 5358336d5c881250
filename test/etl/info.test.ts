import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tableFromIPC } from 'apache-arrow';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RxMemoryData } from '../../lib/data/memory.js';
import { RxXdfData } from '../../lib/data/xdf.js';
import { rxImport } from '../../lib/etl/import.js';
import { rxCreateColInfo, rxGetInfo, rxGetVarInfo, rxGetVarNames, rxReadXdf, rxSetVarInfo } from '../../lib/etl/info.js';
import { readAll, vals } from './helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const airline = join(root, 'data', 'revoscaler_samples', 'AirlineDemo1kNoMissing.csv');
let dir: string;
let xdf: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rx-info-'));
  xdf = join(dir, 'airline.xdf');
  await rxImport({ inData: airline, outFile: xdf, colInfo: { DayOfWeek: { type: 'factor', levels: ['Monday', 'Tuesday'] } }, rowsPerRead: 500 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('info functions', () => {
  it('rxGetInfo prints like RevoScaleR with var info, blocks and the first rows', async () => {
    const info = await rxGetInfo(xdf, { getVarInfo: true, numRows: 3, getBlockSizes: true });
    expect(info.numRows).toBe(1010);
    expect(info.numVars).toBe(3);
    expect(info.numBlocks).toBe(3);
    expect(info.rowsPerBlock).toEqual([500, 500, 10]);
    const text = info.toString();
    expect(text).toContain(`File name: ${xdf}`);
    expect(text).toContain('Number of observations: 1010');
    expect(text).toContain('Number of blocks: 3');
    expect(text).toMatch(/Var 1: ArrDelay, Type: integer, Low\/High: \(-\d+, \d+\)/);
    expect(text).toContain('Var 3: DayOfWeek\n       2 factor levels: Monday Tuesday');
    expect(text).toContain('Data (3 rows starting with row 1):');
    expect(text).toMatch(/1\s+-4\s+6\s+Monday/);
  });

  it('rxGetVarInfo computes low/high by one pass; matches the data', async () => {
    const vi = await rxGetVarInfo(xdf);
    const cols = await readAll(new RxXdfData(xdf));
    const d = cols.ArrDelay as number[];
    expect(vi.ArrDelay).toMatchObject({ varType: 'integer', storage: 'int32', low: Math.min(...d), high: Math.max(...d) });
    expect(vi.CRSDepTime!.varType).toBe('numeric');
    expect(vi.DayOfWeek).toMatchObject({ varType: 'factor', levels: ['Monday', 'Tuesday'] });
    expect(await rxGetVarNames(xdf)).toEqual(['ArrDelay', 'CRSDepTime', 'DayOfWeek']);
    expect(await rxGetVarNames({ a: [1], b: ['x'] })).toEqual(['a', 'b']);
  });

  it('rxSetVarInfo rewrites names, descriptions, level labels atomically; data bytes unchanged', async () => {
    const f = join(dir, 'set.xdf');
    await rxImport({ inData: xdf, outFile: f });
    const before = await readAll(new RxXdfData(f));
    await rxSetVarInfo({ DayOfWeek: { newName: 'Day', levels: ['Mon', 'Tue'], description: 'day of week' }, ArrDelay: { low: -100, high: 2000 } }, f);
    const vi = await rxGetVarInfo(f);
    expect(Object.keys(vi)).toEqual(['ArrDelay', 'CRSDepTime', 'Day']);
    expect(vi.Day).toMatchObject({ levels: ['Mon', 'Tue'], description: 'day of week' });
    expect(vi.ArrDelay).toMatchObject({ low: -100, high: 2000 });
    const after = await readAll(new RxXdfData(f));
    expect(after.ArrDelay).toEqual(before.ArrDelay);
    expect(after.Day).toEqual((before.DayOfWeek as string[]).map((d) => d.slice(0, 3)));
    // still a valid Arrow file for an independent reader
    const t = tableFromIPC(readFileSync(f));
    expect(t.getChild('Day')!.get(0)).toBe('Mon');
    expect(readdirSync(dir).filter((x) => x.includes('.tmp-'))).toEqual([]);
    await expect(rxSetVarInfo({ Nope: { description: 'x' } }, f)).rejects.toMatchObject({ code: 'RX_SCHEMA' });
    await expect(rxSetVarInfo({ Day: { levels: ['only one'] } }, f)).rejects.toMatchObject({ code: 'RX_ARG' });
    const m = (await rxSetVarInfo({ g: { newName: 'h', levels: ['A', 'B'] } }, new RxMemoryData({ g: ['a', 'b', 'a'] }))) as RxMemoryData;
    expect(vals(m.columns.h!)).toEqual(['A', 'B', 'A']);
  });

  it('rxReadXdf reads a row range and columns into memory (1-based startRow)', async () => {
    const m = await rxReadXdf(xdf, { varsToKeep: ['DayOfWeek', 'ArrDelay'], startRow: 499, numRows: 4 });
    expect(m.names).toEqual(['ArrDelay', 'DayOfWeek']);
    const all = await readAll(new RxXdfData(xdf));
    expect(vals(m.columns.ArrDelay!)).toEqual(all.ArrDelay!.slice(498, 502));
    const d = await rxReadXdf(xdf, { varsToDrop: ['ArrDelay'] });
    expect(d.names).toEqual(['CRSDepTime', 'DayOfWeek']);
    expect(d.length).toBe(1010);
  });

  it('rxCreateColInfo gives colInfo that re-imports with identical factor coding', async () => {
    const ci = await rxCreateColInfo({ g: ['b', 'a', 'c', 'a'], x: [3, 1, 2, 9] }, { includeLowHigh: true, sortLevels: true });
    expect(ci).toEqual({ g: { type: 'factor', levels: ['a', 'b', 'c'] }, x: { type: 'numeric', low: 1, high: 9 } });
    const ci2 = await rxCreateColInfo({ s: ['10', '9', '10'] }, { stringsAsFactors: true, sortLevels: true, factorsOnly: true });
    expect(ci2.s!.levels).toEqual(['9', '10']);
    const again = (await rxImport({ inData: { g: ['c', 'c'] }, colInfo: { g: ci.g! } })) as RxMemoryData;
    expect(again.columns.g!.levels).toEqual(['a', 'b', 'c']);
    expect(Array.from(again.columns.g!.data as Int32Array)).toEqual([2, 2]);
  });
});
