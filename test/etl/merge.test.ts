import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RxMemoryData } from '../../lib/data/memory.js';
import { RxXdfData } from '../../lib/data/xdf.js';
import { rxMerge } from '../../lib/etl/merge.js';
import { readAll } from './helpers.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rx-merge-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Row = Record<string, unknown>;
function rows(cols: Record<string, unknown[]>): Row[] {
  const names = Object.keys(cols);
  const n = cols[names[0]!]!.length;
  return Array.from({ length: n }, (_, i) => Object.fromEntries(names.map((k) => [k, cols[k]![i]])));
}
const byKey = (a: Row, b: Row) => JSON.stringify(a) < JSON.stringify(b) ? -1 : 1;

// Reference: a naive nested-loop join (keys k; missing keys never match)
function naive(left: Row[], right: Row[], type: string): Row[] {
  const out: Row[] = [];
  const usedR = new Set<number>();
  for (const l of left) {
    let hit = false;
    right.forEach((r, j) => {
      if (l.k !== null && l.k === r.k) {
        out.push({ k: l.k, v: l.v, w: r.w, x1: l.x, x2: r.x });
        usedR.add(j);
        hit = true;
      }
    });
    if (!hit && (type === 'left' || type === 'full')) out.push({ k: l.k, v: l.v, w: null, x1: l.x, x2: null });
  }
  if (type === 'right' || type === 'full') {
    right.forEach((r, j) => {
      if (!usedR.has(j)) out.push({ k: r.k, v: null, w: r.w, x1: null, x2: r.x });
    });
  }
  return out.sort(byKey);
}

describe('rxMerge', () => {
  const left = { k: ['b', 'a', 'c', 'a', null, 'e'], v: [1, 2, 3, 4, 5, 6], x: [10, 20, 30, 40, 50, 60] };
  const right = { k: ['a', 'c', 'c', 'd', null], w: [100, 300, 301, 400, 500], x: [-1, -3, -33, -4, -5] };
  for (const type of ['inner', 'left', 'right', 'full'] as const) {
    it(`${type} join equals a nested-loop reference (duplicate keys, missing keys, .1/.2 suffixes, several runs)`, async () => {
      // factor keys with different level orders in the two inputs: matched by label
      const res = (await rxMerge({ inData1: left, inData2: new RxMemoryData(right), matchVars: ['k'], type, rowsPerRead: 2 })) as RxMemoryData;
      expect(res.names).toEqual(['k', 'v', 'x.1', 'w', 'x.2']);
      const got = rows(await readAll(res)).map((r) => ({ k: r.k, v: r.v, w: r.w, x1: r['x.1'], x2: r['x.2'] }));
      expect(got.sort(byKey)).toEqual(naive(rows(left), rows(right), type));
    });
  }

  it('output is sorted by key and written to xdf; temp files are removed', async () => {
    const out = join(dir, 'm.xdf');
    await rxMerge({ inData1: { id: [3, 1, 2, 2], a: [30, 10, 20, 21] }, inData2: { id: new Int32Array([2, 3, 4]), b: ['x', 'y', 'z'] }, matchVars: ['id'], outFile: out, type: 'outer' });
    const got = await readAll(new RxXdfData(out));
    expect(got).toEqual({ id: [1, 2, 2, 3, 4], a: [10, 20, 21, 30, null], b: [null, 'x', 'x', 'y', 'z'] });
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('rxmerge-'))).toEqual([]);
  });

  it('oneToOne pairs rows by position and needs equal lengths', async () => {
    const res = (await rxMerge({ inData1: { a: [1, 2, 3] }, inData2: { b: [4, 5, 6] }, type: 'oneToOne', rowsPerRead: 2 })) as RxMemoryData;
    expect(await readAll(res)).toEqual({ a: [1, 2, 3], b: [4, 5, 6] });
    await expect(rxMerge({ inData1: { a: [1, 2] }, inData2: { b: [4] }, type: 'oneToOne' })).rejects.toMatchObject({ code: 'RX_SCHEMA' });
  });

  it('multi-key merge and argument errors', async () => {
    const res = (await rxMerge({
      inData1: { g: ['x', 'x', 'y'], n: [1, 2, 1], v: [1, 2, 3] },
      inData2: { g: ['x', 'y', 'y'], n: [2, 1, 2], w: [7, 8, 9] },
      matchVars: ['g', 'n'],
    })) as RxMemoryData;
    expect(await readAll(res)).toEqual({ g: ['x', 'y'], n: [2, 1], v: [2, 3], w: [7, 8] });
    await expect(rxMerge({ inData1: { a: [1] }, inData2: { a: [1] }, matchVars: ['zz'] })).rejects.toMatchObject({ code: 'RX_SCHEMA' });
    await expect(rxMerge({ inData1: { a: [1] }, inData2: { a: [1] } })).rejects.toMatchObject({ code: 'RX_ARG' });
    await expect(rxMerge({ inData1: { a: [1] }, inData2: { a: ['x'] }, matchVars: ['a'] })).rejects.toMatchObject({ code: 'RX_SCHEMA' });
  });
});
