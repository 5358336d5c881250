import { describe, expect, it } from 'vitest';
import { RxMemoryData } from '../../lib/data/memory.js';
import type { Chunk, Column, DataSource } from '../../lib/data/types.js';
import { RxError } from '../../lib/errors.js';
import { withTransforms } from '../../lib/expr/index.js';

async function collect(src: DataSource, opts: { rowsPerRead?: number; columns?: string[] } = {}): Promise<{ chunks: Chunk[]; rows: Record<string, unknown>[] }> {
  const chunks: Chunk[] = [];
  const rows: Record<string, unknown>[] = [];
  for await (const ch of src.chunks(opts)) {
    chunks.push(ch);
    for (let i = 0; i < ch.numRows; i++) {
      const r: Record<string, unknown> = {};
      for (const n of ch.names) r[n] = cell(ch.columns[n]!, i);
      rows.push(r);
    }
  }
  return { chunks, rows };
}

function cell(c: Column, i: number): unknown {
  if (c.valid && c.valid[i] === 0) return null;
  if (c.type === 'factor') return c.levels![(c.data as Int32Array)[i]!];
  if (c.type === 'bool') return (c.data as Uint8Array)[i] === 1;
  const v = (c.data as ArrayLike<unknown>)[i];
  return typeof v === 'number' && Number.isNaN(v) ? null : v;
}

const N = 23;
function table() {
  const x: (number | null)[] = [];
  const g: (string | null)[] = [];
  for (let i = 0; i < N; i++) {
    x.push(i % 7 === 3 ? null : i * 1.5 - 4);
    g.push(i % 5 === 0 ? null : ['b', 'a', 'c'][i % 3]!);
  }
  return { x, g, id: Array.from({ length: N }, (_, i) => i) };
}

describe('withTransforms', () => {
  it('adds columns, filters rows and gives the same rows for any rowsPerRead', async () => {
    const src = withTransforms(new RxMemoryData(table()), {
      transforms: { x2: 'x * 2', big: 'x2 > limit', grp: 'factor(g, levels = c("a", "b", "c"))' },
      rowSelection: '!is.na(x) & id %% 2 == 0',
      transformObjects: { limit: 10 },
    });
    const schema = await src.schema();
    expect(schema.columns.map((c) => [c.name, c.type])).toEqual([
      ['x', 'float64'],
      ['g', 'factor'],
      ['id', 'float64'],
      ['x2', 'float64'],
      ['big', 'bool'],
      ['grp', 'factor'],
    ]);
    expect(schema.columns[5]!.levels).toEqual(['a', 'b', 'c']);
    // expected rows computed by hand from the definition
    const t = table();
    const expected: Record<string, unknown>[] = [];
    for (let i = 0; i < N; i++) {
      const x = t.x[i]!;
      if (x === null || i % 2 !== 0) continue;
      expected.push({ x, g: t.g[i], id: i, x2: x * 2, big: x * 2 > 10, grp: t.g[i] });
    }
    for (const rowsPerRead of [1, 4, 7, 100]) {
      const { rows, chunks } = await collect(src, { rowsPerRead });
      expect(rows).toEqual(expected);
      // startRow counts rows of the filtered source
      let at = 0;
      for (const c of chunks) {
        expect(c.startRow).toBe(at);
        expect(c.numRows).toBeGreaterThan(0);
        at += c.numRows;
      }
    }
  });

  it('reads only the requested columns and what the expressions need', async () => {
    const seen: string[][] = [];
    const base = new RxMemoryData({ a: [1, 2, 3], b: [4, 5, 6], c: [7, 8, 9] });
    const spy: DataSource = {
      kind: 'memory',
      schema: () => base.schema(),
      chunks: (o) => {
        seen.push(o?.columns ?? []);
        return base.chunks(o);
      },
    };
    const src = withTransforms(spy, { transforms: { s: 'a + b' }, rowSelection: 'c > 7' });
    const { rows } = await collect(src, { columns: ['s'] });
    expect(rows).toEqual([{ s: 7 }, { s: 9 }]);
    expect(seen[0]!.sort()).toEqual(['a', 'b', 'c']);
  });

  it('overwrites a column in place and keeps/drops variables', async () => {
    const base = new RxMemoryData({ a: [1, 4, 9], b: [1, 2, 3], c: ['x', 'y', 'z'] });
    const src = withTransforms(base, { transforms: { a: 'sqrt(a)', d: 'a + b' }, varsToDrop: ['b'] });
    expect((await src.schema()).columns.map((c) => c.name)).toEqual(['a', 'c', 'd']);
    const { rows } = await collect(src);
    // d uses the already transformed a
    expect(rows).toEqual([
      { a: 1, c: 'x', d: 2 },
      { a: 2, c: 'y', d: 4 },
      { a: 3, c: 'z', d: 6 },
    ]);
    const kept = withTransforms(base, { transforms: { d: 'b * 10' }, varsToKeep: ['c'] });
    expect((await collect(kept)).rows).toEqual([
      { c: 'x', d: 10 },
      { c: 'y', d: 20 },
      { c: 'z', d: 30 },
    ]);
  });

  it('keeps data-dependent factor levels consistent across chunks', async () => {
    const base = new RxMemoryData({ v: [3, 1, 2, 3, 5, 1, 4] }, { rowsPerRead: 2 });
    const src = withTransforms(base, { transforms: { f: 'factor(v)' } });
    expect((await src.schema()).columns[1]).toEqual({ name: 'f', type: 'factor' });
    const { chunks, rows } = await collect(src);
    expect(rows.map((r) => r['f'])).toEqual(['3', '1', '2', '3', '5', '1', '4']);
    // later chunks only append levels
    for (let k = 1; k < chunks.length; k++) {
      const prev = chunks[k - 1]!.columns['f']!.levels!;
      const cur = chunks[k]!.columns['f']!.levels!;
      expect(cur.slice(0, prev.length)).toEqual(prev);
    }
  });

  it('runs transformFunc after transforms and before rowSelection', async () => {
    const base = new RxMemoryData({ a: [1, 2, 3, 4] });
    const src = withTransforms(base, {
      transforms: { b: 'a * 10' },
      transformFunc: (ch, objects) => {
        const b = ch.columns['b']!.data as Float64Array;
        const c = new Float64Array(ch.numRows);
        for (let i = 0; i < ch.numRows; i++) c[i] = b[i]! + (objects!['add'] as number);
        return { ...ch, names: [...ch.names, 'c'], columns: { ...ch.columns, c: { type: 'float64', data: c } } };
      },
      transformObjects: { add: 1 },
      rowSelection: 'c > 15',
    });
    expect((await src.schema()).columns.map((c) => c.name)).toEqual(['a', 'b', 'c']);
    expect((await collect(src)).rows).toEqual([
      { a: 2, b: 20, c: 21 },
      { a: 3, b: 30, c: 31 },
      { a: 4, b: 40, c: 41 },
    ]);
  });

  it('refuses unknown columns and syntax errors with RxError', async () => {
    const base = new RxMemoryData({ a: [1, 2] });
    await expect(collect(withTransforms(base, { rowSelection: 'nope > 1' }))).rejects.toMatchObject({ code: 'RX_EXPR', column: 'nope' });
    await expect(withTransforms(base, { transforms: { b: 'nope + 1' } }).schema()).rejects.toMatchObject({ code: 'RX_EXPR', column: 'nope' });
    expect(() => withTransforms(base, { rowSelection: 'a >' })).toThrow(RxError);
    expect(() => withTransforms(base, { rowSelection: 'a >' })).toThrow(/position 4/);
    await expect(withTransforms(base, { rowSelection: 'paste(a)' }).schema()).rejects.toMatchObject({ code: 'RX_EXPR' });
  });
});
