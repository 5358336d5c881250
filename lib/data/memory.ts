/**
 * In-memory data: a plain object of columns (arrays or typed arrays) or pre-built
 * Columns, exposed as a DataSource. Conversions:
 *   Float64Array -> float64, Float32Array -> float32, Int32Array -> int32, Int16Array -> int16,
 *   Uint8Array -> uint8, number[] -> float64 (null/undefined -> NaN), boolean[] -> bool,
 *   string[] -> factor with sorted unique levels (R's factor()), or 'string' with
 *   { stringsAsFactors: false }; Date[] -> timestamp; a Column object is used as is.
 * Typed arrays are not copied: chunks are subarray views.
 */
import { RxError } from '../errors.js';
import { describe as describeValue } from '../validate.js';
import type { Chunk, ChunkOptions, Column, ColumnInfo, DataSource, Schema } from './types.js';

export type MemoryColumnInput =
  | Float64Array
  | Float32Array
  | Int32Array
  | Int16Array
  | Uint8Array
  | ArrayLike<number | null | undefined>
  | Array<string | null | undefined>
  | Array<boolean | null | undefined>
  | Array<Date | null | undefined>
  | Column;

export type MemoryTableInput = Record<string, MemoryColumnInput>;

export interface RxMemoryDataOptions {
  stringsAsFactors?: boolean;
  rowsPerRead?: number;
}

function isColumn(x: unknown): x is Column {
  return typeof x === 'object' && x !== null && !ArrayBuffer.isView(x) && !Array.isArray(x) && 'type' in x && 'data' in x;
}

function columnLength(c: Column): number {
  return (c.data as ArrayLike<unknown>).length;
}

export function toColumn(name: string, v: MemoryColumnInput, stringsAsFactors = true): Column {
  if (isColumn(v)) return v;
  if (v instanceof Float64Array) return { type: 'float64', data: v };
  if (v instanceof Float32Array) return { type: 'float32', data: v };
  if (v instanceof Int32Array) return { type: 'int32', data: v };
  if (v instanceof Int16Array) return { type: 'int16', data: v };
  if (v instanceof Uint8Array) return { type: 'uint8', data: v };
  if (!Array.isArray(v)) throw new RxError('RX_ARG', `Expected an array or typed array for column "${name}" but received ${describeValue(v)}`, { column: name });
  const arr = v as unknown[];
  const first = arr.find((x) => x !== null && x !== undefined);
  const n = arr.length;
  if (first === undefined || typeof first === 'number') {
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const x = arr[i];
      if (x === null || x === undefined) data[i] = Number.NaN;
      else if (typeof x === 'number') data[i] = x;
      else throw new RxError('RX_SCHEMA', `Column "${name}" mixes numbers and ${typeof x} (row ${i + 1})`, { column: name, row: i + 1 });
    }
    return { type: 'float64', data };
  }
  const valid = new Uint8Array(n);
  let anyMissing = false;
  if (typeof first === 'boolean') {
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const x = arr[i];
      if (x === null || x === undefined) anyMissing = true;
      else if (typeof x === 'boolean') {
        data[i] = x ? 1 : 0;
        valid[i] = 1;
      } else throw new RxError('RX_SCHEMA', `Column "${name}" mixes booleans and ${typeof x} (row ${i + 1})`, { column: name, row: i + 1 });
    }
    return anyMissing ? { type: 'bool', data, valid } : { type: 'bool', data };
  }
  if (first instanceof Date) {
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const x = arr[i];
      if (x instanceof Date) data[i] = x.getTime();
      else if (x === null || x === undefined) data[i] = Number.NaN;
      else throw new RxError('RX_SCHEMA', `Column "${name}" mixes Dates and ${typeof x} (row ${i + 1})`, { column: name, row: i + 1 });
    }
    return { type: 'timestamp', data };
  }
  if (typeof first === 'string') {
    for (let i = 0; i < n; i++) {
      const x = arr[i];
      if (x === null || x === undefined) anyMissing = true;
      else if (typeof x !== 'string') throw new RxError('RX_SCHEMA', `Column "${name}" mixes strings and ${typeof x} (row ${i + 1})`, { column: name, row: i + 1 });
      else valid[i] = 1;
    }
    if (!stringsAsFactors) {
      const data = arr.map((x) => (typeof x === 'string' ? x : null));
      return anyMissing ? { type: 'string', data, valid } : { type: 'string', data };
    }
    const levels = [...new Set(arr.filter((x): x is string => typeof x === 'string'))].sort();
    const index = new Map(levels.map((l, i) => [l, i]));
    const codes = new Int32Array(n);
    for (let i = 0; i < n; i++) codes[i] = valid[i] ? index.get(arr[i] as string)! : 0;
    return anyMissing ? { type: 'factor', data: codes, levels, valid } : { type: 'factor', data: codes, levels };
  }
  throw new RxError('RX_SCHEMA', `Unsupported value type ${typeof first} in column "${name}"`, { column: name });
}

/** Slice a column to rows [b, e) without copying typed arrays. */
export function sliceColumn(c: Column, b: number, e: number): Column {
  const out: Column = {
    type: c.type,
    data: Array.isArray(c.data) ? c.data.slice(b, e) : (c.data as Float64Array).subarray(b, e),
  };
  if (c.valid) out.valid = c.valid.subarray(b, e);
  if (c.levels) out.levels = c.levels;
  if (c.ordered !== undefined) out.ordered = c.ordered;
  return out;
}

export class RxMemoryData implements DataSource {
  readonly kind = 'memory';
  readonly columns: Record<string, Column>;
  readonly names: string[];
  readonly length: number;
  private readonly rowsPerRead?: number;

  constructor(table: MemoryTableInput, opts: RxMemoryDataOptions = {}) {
    if (typeof table !== 'object' || table === null) throw new RxError('RX_ARG', `Expected an object of columns for data but received ${describeValue(table)}`);
    this.names = Object.keys(table);
    this.columns = {};
    let len = -1;
    for (const name of this.names) {
      const col = toColumn(name, table[name]!, opts.stringsAsFactors ?? true);
      const n = columnLength(col);
      if (len >= 0 && n !== len)
        throw new RxError('RX_SCHEMA', `Column "${name}" has ${n} rows but column "${this.names[0]}" has ${len}`, { column: name });
      len = n;
      this.columns[name] = col;
    }
    this.length = Math.max(0, len);
    if (opts.rowsPerRead !== undefined) this.rowsPerRead = opts.rowsPerRead;
  }

  async schema(): Promise<Schema> {
    const columns: ColumnInfo[] = this.names.map((name) => {
      const c = this.columns[name]!;
      const info: ColumnInfo = { name, type: c.type };
      if (c.levels) info.levels = c.levels;
      if (c.ordered !== undefined) info.ordered = c.ordered;
      return info;
    });
    return { columns, numRows: this.length };
  }

  async numRows(): Promise<number> {
    return this.length;
  }

  describe(): string {
    return `in-memory data (${this.length} rows x ${this.names.length} columns)`;
  }

  async *chunks(opts: ChunkOptions = {}): AsyncIterable<Chunk> {
    const names = opts.columns ?? this.names;
    for (const n of names) {
      if (!(n in this.columns)) throw new RxError('RX_SCHEMA', `Unknown column "${n}" in ${this.describe()}`, { column: n });
    }
    const start = Math.max(0, opts.startRow ?? 0);
    const end = Math.min(this.length, opts.numRows !== undefined ? start + opts.numRows : this.length);
    const step = Math.max(1, opts.rowsPerRead ?? this.rowsPerRead ?? 500_000);
    for (let b = start; b < end; b += step) {
      if (opts.signal?.aborted) throw new RxError('RX_CANCELLED', 'reading in-memory data was cancelled');
      const e = Math.min(end, b + step);
      const columns: Record<string, Column> = {};
      for (const n of names) columns[n] = sliceColumn(this.columns[n]!, b, e);
      yield { numRows: e - b, startRow: b, names: [...names], columns };
    }
  }
}
