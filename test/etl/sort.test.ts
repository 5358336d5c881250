import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RxMemoryData } from '../../lib/data/memory.js';
import type { Column } from '../../lib/data/types.js';
import { RxXdfData } from '../../lib/data/xdf.js';
import { rxSort } from '../../lib/etl/sort.js';
import { readAll, vals } from './helpers.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rx-sort-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Seeded LCG so the test data are fixed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function makeData(n: number) {
  const r = rng(42);
  const g: Array<string | null> = [];
  const x: number[] = [];
  const id: number[] = [];
  for (let i = 0; i < n; i++) {
    g.push(r() < 0.05 ? null : ['b', 'a', 'c'][Math.floor(r() * 3)]!);
    x.push(r() < 0.05 ? Number.NaN : Math.round(r() * 50));
    id.push(i);
  }
  return { g, x, id };
}

/** Reference: JS sort of row objects with R's rules (missing low, factor level order). */
function reference(d: ReturnType<typeof makeData>, levels: string[], decX: boolean) {
  const rows = d.id.map((i) => ({ g: d.g[i]!, x: d.x[i]!, id: i }));
  const key = (v: number | null) => (v === null || Number.isNaN(v) ? Number.NEGATIVE_INFINITY : v);
  rows.sort((a, b) => {
    const ga = a.g === null ? -1 : levels.indexOf(a.g);
    const gb = b.g === null ? -1 : levels.indexOf(b.g);
    if (ga !== gb) return ga - gb;
    const xa = key(a.x);
    const xb = key(b.x);
    if (xa !== xb) return decX ? xb - xa : xa - xb;
    return a.id - b.id;
  });
  return rows;
}

describe('rxSort', () => {
  it('external merge sort over many runs equals an in-memory stable sort (keys asc/desc, missing low)', async () => {
    const d = makeData(5000);
    const src = new RxMemoryData(d);
    const levels = (src.columns.g as Column).levels!;
    const out = join(dir, 'sorted.xdf');
    await rxSort({ inData: src, outFile: out, sortByVars: ['g', 'x'], decreasing: [false, true], rowsPerRead: 700 });
    const got = await readAll(new RxXdfData(out));
    const ref = reference(d, levels, true);
    expect(got.id).toEqual(ref.map((r) => r.id));
    expect(got.g).toEqual(ref.map((r) => r.g));
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('rxsort-'))).toEqual([]);
    // output blocks have at most rowsPerRead rows
    expect(Math.max(...(await new RxXdfData(out).blockSizes()))).toBeLessThanOrEqual(700);
  });

  it('removeDupKeys keeps the first row of each key, across runs', async () => {
    const d = makeData(3000);
    const res = (await rxSort({ inData: d, sortByVars: 'x', removeDupKeys: true, rowsPerRead: 400 })) as RxMemoryData;
    const xs = vals(res.columns.x!);
    const distinct = [...new Set(d.x.map((v) => (Number.isNaN(v) ? null : v)))];
    expect(xs.length).toBe(distinct.length);
    expect(xs[0]).toBeNull();
    const nums = xs.slice(1) as number[];
    expect(nums).toEqual([...nums].sort((a, b) => a - b));
    // first occurrence in input order is kept for each key
    const ids = vals(res.columns.id!) as number[];
    for (let k = 0; k < nums.length; k++) expect(ids[k + 1]).toBe(d.x.indexOf(nums[k]!));
  });

  it('sorts strings by code point with missing high when missingsLow is false; single run path', async () => {
    const res = (await rxSort({ inData: new RxMemoryData({ s: ['b', null, 'B', 'a'] }, { stringsAsFactors: false }), sortByVars: 's', missingsLow: false })) as RxMemoryData;
    expect(vals(res.columns.s!)).toEqual(['B', 'a', 'b', null]);
  });

  it('bad keys are errors', async () => {
    await expect(rxSort({ inData: { a: [1] }, sortByVars: 'zz' })).rejects.toMatchObject({ code: 'RX_SCHEMA' });
    await expect(rxSort({ inData: { a: [1] }, sortByVars: [] })).rejects.toMatchObject({ code: 'RX_ARG' });
  });
});
