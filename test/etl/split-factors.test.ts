import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RxMemoryData } from '../../lib/data/memory.js';
import { RxXdfData } from '../../lib/data/xdf.js';
import { rxFactors } from '../../lib/etl/factors.js';
import { rxSplit } from '../../lib/etl/split.js';
import { readAll, vals } from './helpers.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rx-split-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const data = { id: Array.from({ length: 23 }, (_, i) => i), g: Array.from({ length: 23 }, (_, i) => (i % 5 === 4 ? null : ['a', 'b/c', 'a', 'd'][i % 4]!)) };

describe('rxSplit', () => {
  it('by rows: contiguous ranges differing by at most one row, into xdf files', async () => {
    const base = join(dir, 'part');
    const outs = await rxSplit({ inData: data, outFilesBase: base, numOut: 3, rowsPerRead: 5 });
    expect(outs.map((o) => (o as RxXdfData).file)).toEqual([`${base}.1.xdf`, `${base}.2.xdf`, `${base}.3.xdf`]);
    const parts = await Promise.all(outs.map(async (o) => (await readAll(o)).id));
    expect(parts.map((p) => p!.length)).toEqual([8, 8, 7]);
    expect(parts.flat()).toEqual(data.id);
  });

  it('by blocks: chunks dealt round-robin (in memory without outFilesBase)', async () => {
    const outs = (await rxSplit({ inData: data, numOut: 2, splitBy: 'blocks', rowsPerRead: 5 })) as RxMemoryData[];
    expect(outs.map((o) => vals(o.columns.id!))).toEqual([
      [0, 1, 2, 3, 4, 10, 11, 12, 13, 14, 20, 21, 22],
      [5, 6, 7, 8, 9, 15, 16, 17, 18, 19],
    ]);
  });

  it('by factor: one file per level incl. unused, rows with missing level dropped, safe file names', async () => {
    const base = join(dir, 'byg');
    const outs = await rxSplit({ inData: { ...data, g: { type: 'factor', data: new Int32Array(data.g.map((x) => ['a', 'b/c', 'd', 'unused'].indexOf(x ?? 'a'))), levels: ['a', 'b/c', 'd', 'unused'], valid: Uint8Array.from(data.g, (x) => (x === null ? 0 : 1)) } }, outFilesBase: base, splitByFactor: 'g', rowsPerRead: 4 });
    expect(outs.map((o) => (o as RxXdfData).file)).toEqual([`${base}.a.xdf`, `${base}.b_c.xdf`, `${base}.d.xdf`, `${base}.unused.xdf`]);
    const got = await Promise.all(outs.map(async (o) => (await readAll(o)).id ?? []));
    for (const [k, lv] of ['a', 'b/c', 'd'].entries()) expect(got[k]).toEqual(data.id.filter((i) => data.g[i] === lv));
    expect(got[3]).toEqual([]);
    expect(existsSync(`${base}.unused.xdf`)).toBe(true);
  });
});

describe('rxFactors', () => {
  it('merges levels with newLevels (object), keeps others, sorts levels', async () => {
    const res = (await rxFactors({ inData: { g: ['x', 'y', 'z', 'w', null] }, factorInfo: { g: { newLevels: { xy: ['x', 'y'] }, sortLevels: true } } })) as RxMemoryData;
    expect(res.columns.g!.levels).toEqual(['w', 'xy', 'z']);
    expect(vals(res.columns.g!)).toEqual(['xy', 'xy', 'z', 'w', null]);
  });

  it('numeric -> factor with sorted numeric levels; fixed levels with otherLevel; varName creates a new column', async () => {
    const res = (await rxFactors({
      inData: { n: [10, 9, 100, 9], s: ['a', 'b', 'c', 'a'] },
      factorInfo: { n: { sortLevels: true }, s2: { varName: 's', levels: ['a', 'b'], otherLevel: 'other' } },
      rowsPerRead: 2,
    })) as RxMemoryData;
    expect(res.names).toEqual(['n', 's', 's2']);
    expect(res.columns.n!.levels).toEqual(['9', '10', '100']);
    expect(vals(res.columns.n!)).toEqual(['10', '9', '100', '9']);
    expect(res.columns.s2!.levels).toEqual(['a', 'b', 'other']);
    expect(vals(res.columns.s2!)).toEqual(['a', 'b', 'other', 'a']);
  });

  it('renames levels with newLevels (array) and writes xdf', async () => {
    const out = join(dir, 'fac.xdf');
    await rxFactors({ inData: { g: ['lo', 'hi', 'lo'] }, factorInfo: { g: { levels: ['lo', 'hi'], newLevels: ['Low', 'High'] } }, outFile: out });
    const s = await new RxXdfData(out).schema();
    expect(s.columns[0]!.levels).toEqual(['Low', 'High']);
    expect((await readAll(new RxXdfData(out))).g).toEqual(['Low', 'High', 'Low']);
    await expect(rxFactors({ inData: { g: ['a'] }, factorInfo: ['nope'] })).rejects.toMatchObject({ code: 'RX_SCHEMA' });
  });
});
