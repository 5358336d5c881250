import { Dictionary, Int32, Table, Utf8, makeTable, tableFromArrays, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { RxArrowTableData, arrowDataToColumn, chunkToRecordBatch, columnToArrowData, recordBatchToChunk } from '../../lib/data/arrow.js';
import { resolveSource } from '../../lib/data/resolve.js';
import type { Chunk } from '../../lib/data/types.js';

describe('Chunk <-> Arrow', () => {
  it('shares fixed-width buffers (zero copy) both ways when nothing is missing', () => {
    const x = new Float64Array([1, 2, 3]);
    const d = columnToArrowData({ type: 'float64', data: x });
    expect(d.values.buffer).toBe(x.buffer);
    expect(d.nullCount).toBe(0);
    const back = arrowDataToColumn(d, 'x');
    expect(back.data.buffer).toBe(x.buffer);
    expect(back.valid).toBeUndefined();
  });

  it('NaN in a float column without valid becomes an Arrow null; nulls come back as NaN + valid 0 without touching the source', () => {
    const x = new Float64Array([1, Number.NaN, 3]);
    const d = columnToArrowData({ type: 'float64', data: x });
    expect(d.nullCount).toBe(1);
    const back = arrowDataToColumn(d, 'x');
    expect(Array.from(back.valid!)).toEqual([1, 0, 1]);
    expect(Number.isNaN((back.data as Float64Array)[1])).toBe(true);
  });

  it('int32 with valid bytes: the Arrow null bitmap mirrors them; values are not copied', () => {
    const v = new Int32Array([5, 99, 7]);
    const d = columnToArrowData({ type: 'int32', data: v, valid: new Uint8Array([1, 0, 1]) });
    expect(d.nullCount).toBe(1);
    expect(d.values.buffer).toBe(v.buffer);
    const back = arrowDataToColumn(d, 'v');
    expect(Array.from(back.valid!)).toEqual([1, 0, 1]);
  });

  it('chunk -> RecordBatch -> chunk keeps factors, strings, dates, timestamps and bools', () => {
    const chunk: Chunk = {
      numRows: 3,
      startRow: 0,
      names: ['f', 's', 'd', 't', 'b'],
      columns: {
        f: { type: 'factor', data: new Int32Array([1, 0, 1]), levels: ['a', 'b'], ordered: true },
        s: { type: 'string', data: ['x', null, 'ü'] },
        d: { type: 'date', data: new Int32Array([0, 19000, -1]) },
        t: { type: 'timestamp', data: new Float64Array([0, Number.NaN, 1.7e12]) },
        b: { type: 'bool', data: new Uint8Array([1, 0, 1]), valid: new Uint8Array([1, 1, 0]) },
      },
    };
    const rb = chunkToRecordBatch(chunk);
    expect(rb.getChild('f')!.toArray()).toEqual(['b', 'a', 'b']);
    expect((rb.schema.fields[0]!.type as Dictionary).isOrdered).toBe(true);
    expect(rb.getChild('s')!.get(1)).toBeNull();
    expect(rb.getChild('b')!.get(2)).toBeNull();
    const back = recordBatchToChunk(rb);
    expect(back.columns.f!.levels).toEqual(['a', 'b']);
    expect(back.columns.f!.ordered).toBe(true);
    expect(Array.from(back.columns.f!.data as Int32Array)).toEqual([1, 0, 1]);
    expect(back.columns.s!.data).toEqual(['x', null, 'ü']);
    expect(Array.from(back.columns.d!.data as Int32Array)).toEqual([0, 19000, -1]);
    expect(Array.from(back.columns.t!.valid!)).toEqual([1, 0, 1]);
    expect((back.columns.t!.data as Float64Array)[2]).toBe(1.7e12);
    expect(Array.from(back.columns.b!.data as Uint8Array)).toEqual([1, 0, 0]);
    expect(Array.from(back.columns.b!.valid!)).toEqual([1, 1, 0]);
  });
});

describe('Arrow Table as a data source', () => {
  it('is accepted by resolveSource; chunks follow batches and rowsPerRead; sliced batches read correctly', async () => {
    const t1 = tableFromArrays({ x: new Float64Array([1, 2, 3, 4, 5]), n: new Int32Array([5, 4, 3, 2, 1]) });
    const t = t1.concat(tableFromArrays({ x: new Float64Array([6, 7]), n: new Int32Array([0, -1]) }));
    const src = resolveSource(t);
    expect(src.kind).toBe('arrow');
    const got: number[][] = [];
    const xs: number[] = [];
    for await (const ch of src.chunks({ rowsPerRead: 2, startRow: 1, numRows: 5 })) {
      got.push([ch.startRow, ch.numRows]);
      xs.push(...(ch.columns.x!.data as Float64Array));
    }
    expect(got).toEqual([
      [1, 2],
      [3, 2],
      [5, 1],
    ]);
    expect(xs).toEqual([2, 3, 4, 5, 6]);
  });

  it('unifies different dictionaries across batches into one level list', async () => {
    const type = new Dictionary(new Utf8(), new Int32());
    const a = makeTable({ g: vectorFromArray(['p', 'q', 'p'], type) as never });
    const b = makeTable({ g: vectorFromArray(['r', 'p'], type) as never });
    const src = new RxArrowTableData(new Table([...a.batches, ...b.batches]));
    const s = await src.schema();
    expect(s.columns[0]!.levels).toEqual(['p', 'q', 'r']);
    const vals: string[] = [];
    for await (const ch of src.chunks()) {
      const c = ch.columns.g!;
      for (const code of c.data as Int32Array) vals.push(c.levels![code]!);
    }
    expect(vals).toEqual(['p', 'q', 'p', 'r', 'p']);
  });
});
