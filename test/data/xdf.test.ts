import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromArrays, tableFromIPC, tableToIPC, Dictionary, Utf8, Int32, vectorFromArray, makeTable } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RxMemoryData } from '../../lib/data/memory.js';
import { ArrowIpcFile, RxXdfData } from '../../lib/data/xdf.js';
import type { Chunk, Column } from '../../lib/data/types.js';
import { isRxError } from '../../lib/errors.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rx-xdf-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function mixed(n: number) {
  const f64 = new Float64Array(n);
  const f32 = new Float32Array(n);
  const i32 = new Int32Array(n);
  const i16 = new Int16Array(n);
  const u8 = new Uint8Array(n);
  const bool = new Uint8Array(n);
  const boolValid = new Uint8Array(n).fill(1);
  const fac = new Int32Array(n);
  const facValid = new Uint8Array(n).fill(1);
  const str: Array<string | null> = [];
  const date = new Int32Array(n);
  const dateValid = new Uint8Array(n).fill(1);
  const ts = new Float64Array(n);
  const i32Valid = new Uint8Array(n).fill(1);
  for (let i = 0; i < n; i++) {
    f64[i] = i % 7 === 3 ? Number.NaN : i * 1.5 - 3;
    f32[i] = i % 5 === 1 ? Number.NaN : i / 4;
    i32[i] = i * 1000 - 7;
    if (i % 9 === 2) i32Valid[i] = 0;
    i16[i] = (i % 300) - 150;
    u8[i] = i % 256;
    bool[i] = i % 3 === 0 ? 1 : 0;
    if (i % 11 === 4) boolValid[i] = 0;
    fac[i] = i % 3;
    if (i % 13 === 6) facValid[i] = 0;
    str.push(i % 8 === 5 ? null : `s${i}é,"q"`);
    date[i] = 18000 + i;
    if (i % 17 === 1) dateValid[i] = 0;
    ts[i] = i % 19 === 7 ? Number.NaN : 1.6e12 + i * 1000;
  }
  const cols: Record<string, Column> = {
    f64: { type: 'float64', data: f64 },
    f32: { type: 'float32', data: f32 },
    i32: { type: 'int32', data: i32, valid: i32Valid },
    i16: { type: 'int16', data: i16 },
    u8: { type: 'uint8', data: u8 },
    bool: { type: 'bool', data: bool, valid: boolValid },
    fac: { type: 'factor', data: fac, levels: ['lo', 'mid', 'hi'], valid: facValid },
    str: { type: 'string', data: str },
    date: { type: 'date', data: date, valid: dateValid },
    ts: { type: 'timestamp', data: ts },
  };
  return cols;
}

/** Plain values per column (null for missing) for comparisons. */
function values(c: Column, levels?: string[]): unknown[] {
  const n = (c.data as ArrayLike<unknown>).length;
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const v = (c.data as ArrayLike<unknown>)[i];
    const missing = c.valid ? c.valid[i] === 0 : v === null || (typeof v === 'number' && Number.isNaN(v));
    if (missing) out.push(null);
    else if (c.type === 'factor') out.push((levels ?? c.levels)![v as number]);
    else out.push(v);
  }
  return out;
}

async function readAll(src: { chunks(o?: object): AsyncIterable<Chunk> }, opts = {}): Promise<{ chunks: Chunk[]; cols: Record<string, unknown[]> }> {
  const chunks: Chunk[] = [];
  const cols: Record<string, unknown[]> = {};
  for await (const ch of src.chunks(opts)) {
    chunks.push(ch);
    for (const n of ch.names) (cols[n] ??= []).push(...values(ch.columns[n]!));
  }
  return { chunks, cols };
}

describe('RxXdfData', () => {
  it('round-trips every column type with missing values, one batch per chunk', async () => {
    const cols = mixed(1000);
    const file = join(dir, 'mixed.arrow');
    const src = new RxMemoryData(cols, { rowsPerRead: 300 });
    const sink = new RxXdfData(file);
    const w = await sink.open(await src.schema(), {});
    for await (const ch of src.chunks()) await w.write(ch);
    await w.close();
    const xdf = new RxXdfData(file);
    expect(await xdf.blockSizes()).toEqual([300, 300, 300, 100]);
    const schema = await xdf.schema();
    expect(schema.numRows).toBe(1000);
    expect(schema.columns.map((c) => [c.name, c.type])).toEqual(Object.entries(cols).map(([k, c]) => [k, c.type]));
    expect(schema.columns.find((c) => c.name === 'fac')!.levels).toEqual(['lo', 'mid', 'hi']);
    expect(schema.metadata!['rxscale.format']).toBe('xdf');
    const { cols: got } = await readAll(xdf);
    for (const [k, c] of Object.entries(cols)) expect(got[k], k).toEqual(values(c));
    // float columns carry NaN at missing positions (the file's validity bitmap becomes NaN,
    // and float columns omit `valid`); other types keep a valid vector
    const first = (await readAll(xdf, { columns: ['i32', 'f64'], numRows: 10 })).chunks[0]!;
    expect(first.names).toEqual(['i32', 'f64']);
    expect(Number.isNaN((first.columns.f64!.data as Float64Array)[3])).toBe(true);
    expect(first.columns.f64!.valid).toBeUndefined();
    expect(first.columns.i32!.valid).toBeDefined();
  });

  it('reads shared chunk by chunk (chunksWhere), into reused buffers, and marks whole batches owned', async () => {
    const file = join(dir, 'mixed.arrow');
    const xdf = new RxXdfData(file);
    const all = await readAll(xdf, { rowsPerRead: 128 });
    // two readers taking alternate chunks see exactly the chunks of one reader
    const parts: Chunk[] = [];
    for (const slot of [0, 1]) {
      let k = 0;
      for await (const ch of xdf.chunksWhere({ rowsPerRead: 128 }, (i) => i % 2 === slot)) {
        expect(ch.startRow).toBe(all.chunks[2 * k + slot]!.startRow);
        parts.push(ch);
        k++;
      }
    }
    expect(parts.length).toBe(all.chunks.length);
    // whole record batches (no rowsPerRead): worker 1 of 2 reads batches 1 and 3
    const odd: number[] = [];
    for await (const ch of xdf.chunksWhere({}, (i) => i % 2 === 1)) odd.push(ch.startRow);
    expect(odd).toEqual([300, 900]);
    parts.sort((a, b) => a.startRow - b.startRow);
    parts.forEach((ch, i) => {
      for (const name of ch.names) expect(values(ch.columns[name]!), name).toEqual(values(all.chunks[i]!.columns[name]!));
    });
    // reuseBuffers: the same values (each chunk looked at before the next is read)
    const fixedCols = ['f64', 'f32', 'i32', 'fac', 'date'];
    const want = await readAll(xdf, { columns: fixedCols });
    let i = 0;
    for await (const ch of xdf.chunks({ columns: fixedCols, reuseBuffers: true })) {
      expect(ch.owned).not.toBe(true);
      for (const name of fixedCols) expect(values(ch.columns[name]!), name).toEqual(values(want.chunks[i]!.columns[name]!));
      i++;
    }
    expect(i).toBe(want.chunks.length);
    // whole record batches of fixed-width columns own their buffers; slices do not
    for (const ch of want.chunks) {
      expect(ch.owned).toBe(true);
      for (const name of fixedCols) {
        const d = ch.columns[name]!.data as Float64Array;
        expect(d.byteOffset === 0 && d.byteLength === d.buffer.byteLength, name).toBe(true);
      }
    }
    // batches of [300, 300, 300, 100] rows in chunks of 128: only the last batch is read whole
    for (const ch of (await readAll(xdf, { columns: fixedCols, rowsPerRead: 128 })).chunks) expect(ch.owned === true, `chunk at ${ch.startRow}`).toBe(ch.startRow === 900);
  });

  it('reads a row range and a column subset across batch boundaries', async () => {
    const file = join(dir, 'mixed.arrow');
    const xdf = new RxXdfData(file);
    const all = mixed(1000);
    const { chunks, cols } = await readAll(xdf, { startRow: 250, numRows: 400, columns: ['str', 'fac', 'ts'] });
    expect(chunks.map((c) => [c.startRow, c.numRows])).toEqual([
      [250, 50],
      [300, 300],
      [600, 50],
    ]);
    expect(cols.str).toEqual(values(all.str!).slice(250, 650));
    expect(cols.fac).toEqual(values(all.fac!).slice(250, 650));
    expect(cols.ts).toEqual(values(all.ts!).slice(250, 650));
    const small = await readAll(xdf, { rowsPerRead: 128, numRows: 300 });
    expect(small.chunks.map((c) => c.numRows)).toEqual([128, 128, 44]);
  });

  it('readColumn reads a whole column or a row range straight into one array (all types, nulls)', async () => {
    const xdf = new RxXdfData(join(dir, 'mixed.arrow'));
    const all = mixed(1000);
    for (const [k, c] of Object.entries(all)) {
      const whole = await xdf.readColumn(k);
      expect(whole.type, k).toBe(c.type);
      expect(values(whole), k).toEqual(values(c));
      const part = await xdf.readColumn(k, { startRow: 299, numRows: 302 });
      expect(values(part), k).toEqual(values(c).slice(299, 601));
    }
    expect((await xdf.readColumn('fac')).levels).toEqual(['lo', 'mid', 'hi']);
    await expect(xdf.readColumn('nope')).rejects.toMatchObject({ code: 'RX_SCHEMA' });
  });

  it('reads a chunk range and a column without touching other bytes (garbage elsewhere does not matter)', async () => {
    const file = join(dir, 'partial.arrow');
    const src = new RxMemoryData({ a: Float64Array.from({ length: 300 }, (_, i) => i), b: Float64Array.from({ length: 300 }, (_, i) => -i) }, { rowsPerRead: 100 });
    const w = await new RxXdfData(file).open(await src.schema(), {});
    for await (const ch of src.chunks()) await w.write(ch);
    await w.close();
    const f = await ArrowIpcFile.open(file);
    const blocks = f.batches.map((b) => b.block);
    const bBuf = f.batches[2]!.header.buffers[3]!; // column b's data in batch 2
    await f.close();
    const bytes = Buffer.from(readFileSync(file));
    // scribble over the whole body of batch 0 and over column b's values in batch 2
    const b0 = blocks[0]!;
    bytes.fill(0xab, b0.offset + b0.metaDataLength, b0.offset + b0.metaDataLength + b0.bodyLength);
    const b2 = blocks[2]!;
    bytes.fill(0xcd, b2.offset + b2.metaDataLength + bBuf.offset, b2.offset + b2.metaDataLength + bBuf.offset + bBuf.length);
    writeFileSync(file, bytes);
    const xdf = new RxXdfData(file);
    expect((await readAll(xdf, { startRow: 100, numRows: 100 })).cols).toEqual({ a: Array.from({ length: 100 }, (_, i) => i + 100), b: Array.from({ length: 100 }, (_, i) => -(i + 100)) });
    expect((await readAll(xdf, { startRow: 200, columns: ['a'] })).cols.a).toEqual(Array.from({ length: 100 }, (_, i) => i + 200));
    expect(Array.from((await xdf.readColumn('a', { startRow: 150, numRows: 100 })).data as Float64Array)).toEqual(Array.from({ length: 100 }, (_, i) => i + 150));
    // the scribbles are real: reading those bytes gives different values
    expect((await readAll(xdf, { startRow: 200, columns: ['b'] })).cols.b).not.toEqual(Array.from({ length: 100 }, (_, i) => -(i + 200)));
  });

  it('opens in Arrow JS (an independent IPC reader) with dictionaries, nulls and metadata', async () => {
    const file = join(dir, 'mixed.arrow');
    const t = tableFromIPC(readFileSync(file));
    expect(t.numRows).toBe(1000);
    expect(t.batches.length).toBe(4);
    expect(t.getChild('fac')!.get(1)).toBe('mid');
    expect(t.getChild('fac')!.get(6)).toBeNull();
    expect(t.getChild('f64')!.get(3)).toBeNull();
    expect(t.getChild('str')!.get(0)).toBe('s0é,"q"');
    expect(t.getChild('bool')!.get(0)).toBe(true);
    expect(t.getChild('i32')!.get(2)).toBeNull();
    expect(t.schema.metadata.get('rxscale.format')).toBe('xdf');
  });

  it('reads Arrow IPC files written by Arrow JS (dictionaries first, int64, nulls)', async () => {
    const fac = vectorFromArray(['a', 'b', null, 'a'], new Dictionary(new Utf8(), new Int32()));
    const t = makeTable({ x: new Float64Array([1, 2, 3, 4]), k: new BigInt64Array([1n, 2n, 3n, 4n]) }).assign(tableFromArrays({ f: fac as never }));
    const file = join(dir, 'js.arrow');
    writeFileSync(file, tableToIPC(t, 'file'));
    const xdf = new RxXdfData(file);
    const s = await xdf.schema();
    expect(s.columns.map((c) => c.type)).toEqual(['float64', 'float64', 'factor']);
    const { cols } = await readAll(xdf);
    expect(cols).toEqual({ x: [1, 2, 3, 4], k: [1, 2, 3, 4], f: ['a', 'b', null, 'a'] });
  });

  it('appends rows (append: "rows") with new factor levels, keeping old codes', async () => {
    const file = join(dir, 'app.arrow');
    const a = new RxMemoryData({ g: ['x', 'y', 'x'], v: [1, 2, 3] });
    let w = await new RxXdfData(file).open(await a.schema(), {});
    for await (const ch of a.chunks()) await w.write(ch);
    await w.close();
    const b = new RxMemoryData({ g: ['z', 'x'], v: [4, 5] });
    w = await new RxXdfData(file).open(await b.schema(), { append: 'rows' });
    for await (const ch of b.chunks()) await w.write(ch);
    await w.close();
    const xdf = new RxXdfData(file);
    expect((await xdf.schema()).columns[0]!.levels).toEqual(['x', 'y', 'z']);
    expect((await readAll(xdf)).cols).toEqual({ g: ['x', 'y', 'x', 'z', 'x'], v: [1, 2, 3, 4, 5] });
    expect(tableFromIPC(readFileSync(file)).getChild('g')!.toArray()).toEqual(['x', 'y', 'x', 'z', 'x']);
    expect(readdirSync(dir).some((f) => f.includes('.tmp-'))).toBe(false);
  });

  it('refuses to append to a file whose Arrow storage differs from what rxscale writes (int64)', async () => {
    const file = join(dir, 'js64.arrow');
    writeFileSync(file, tableToIPC(makeTable({ k: new BigInt64Array([1n, 2n]) }), 'file'));
    const a = new RxMemoryData({ k: [3] });
    await expect(new RxXdfData(file).open(await a.schema(), { append: 'rows' })).rejects.toMatchObject({ code: 'RX_SCHEMA', column: 'k' });
    expect((await readAll(new RxXdfData(file))).cols.k).toEqual([1, 2]);
  });

  it('refuses overwrite: false onto an existing file and keeps it intact', async () => {
    const file = join(dir, 'app.arrow');
    const before = readFileSync(file);
    const a = new RxMemoryData({ v: [1] });
    await expect(new RxXdfData(file).open(await a.schema(), { overwrite: false })).rejects.toMatchObject({ code: 'RX_IO', file });
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it('abort discards the temp file and leaves no output', async () => {
    const file = join(dir, 'aborted.arrow');
    const a = new RxMemoryData({ v: [1, 2] });
    const w = await new RxXdfData(file).open(await a.schema(), {});
    for await (const ch of a.chunks()) await w.write(ch);
    await w.abort();
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(dir).some((f) => f.includes('aborted'))).toBe(false);
  });

  it('bad files: truncated, not Arrow, Microsoft xdf, stream format, missing', async () => {
    const good = join(dir, 'mixed.arrow');
    const trunc = join(dir, 'trunc.arrow');
    writeFileSync(trunc, readFileSync(good).subarray(0, Math.floor(statSync(good).size * 0.6)));
    await expect(new RxXdfData(trunc).schema()).rejects.toMatchObject({ code: 'RX_IO', file: trunc });
    const cut = join(dir, 'cut.arrow');
    writeFileSync(cut, readFileSync(good).subarray(0, 4));
    await expect(new RxXdfData(cut).schema()).rejects.toMatchObject({ file: cut });
    const csv = join(dir, 'notarrow.arrow');
    writeFileSync(csv, 'a,b\n1,2\n');
    const e = await new RxXdfData(csv).schema().catch((x) => x);
    expect(isRxError(e, 'RX_DATA_SOURCE')).toBe(true);
    expect(e.message).toContain('notarrow.arrow');
    const ms = join(dir, 'old.xdf');
    writeFileSync(ms, Buffer.from([0x01, 0x00, 0x58, 0x44, 0x46, 0x00, 0x02, 0x00, 0x00, 0x00, 0x10]));
    const e2 = await new RxXdfData(ms).schema().catch((x) => x);
    expect(isRxError(e2, 'RX_DATA_SOURCE')).toBe(true);
    expect(e2.message).toMatch(/Microsoft RevoScaleR/);
    const stream = join(dir, 'stream.arrow');
    writeFileSync(stream, tableToIPC(tableFromArrays({ a: [1, 2] }), 'stream'));
    await expect(new RxXdfData(stream).schema()).rejects.toMatchObject({ code: 'RX_DATA_SOURCE' });
    await expect(new RxXdfData(join(dir, 'nope.arrow')).schema()).rejects.toMatchObject({ code: 'RX_IO' });
    // a corrupted footer length
    const bad = join(dir, 'badfooter.arrow');
    const bytes = Buffer.from(readFileSync(good));
    bytes.writeInt32LE(0x7fffffff, bytes.length - 10);
    writeFileSync(bad, bytes);
    await expect(new RxXdfData(bad).schema()).rejects.toMatchObject({ code: 'RX_IO', file: bad });
    expect(truncateSync).toBeTypeOf('function');
  });

  it('unknown column and duplicate names are schema errors', async () => {
    const xdf = new RxXdfData(join(dir, 'mixed.arrow'));
    await expect(readAll(xdf, { columns: ['nope'] })).rejects.toMatchObject({ code: 'RX_SCHEMA', column: 'nope' });
    await expect(
      new RxXdfData(join(dir, 'dupe.arrow')).open({ columns: [{ name: 'a', type: 'float64' }, { name: 'a', type: 'int32' }] }, {}),
    ).rejects.toMatchObject({ code: 'RX_SCHEMA' });
  });
});
