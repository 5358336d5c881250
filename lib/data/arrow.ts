/**
 * Chunk <-> Apache Arrow conversion (apache-arrow 21).
 *
 * Type mapping (ours -> Arrow -> ours round-trips exactly):
 *   float64 <-> Float64          float32 <-> Float32        int32 <-> Int32
 *   int16   <-> Int16            uint8   <-> Uint8          bool  <-> Bool (bit-packed)
 *   factor  <-> Dictionary<Int32 -> Utf8> (isOrdered = ordered)
 *   string  <-> Utf8 (LargeUtf8 / Utf8View also read)
 *   date    <-> Date32 (DateDay; DateMillisecond is read as days)
 *   timestamp <-> Timestamp(ms, UTC) (s/us/ns are read and converted to ms)
 * Other Arrow integer types (Int8, Uint16, Uint32, Int64, Uint64) and Float16 are read as
 * float64 (int64 beyond 2^53 loses precision, as in R). Nested types are refused.
 *
 * Zero copy: fixed-width value buffers are shared both ways (subarray views). Missing
 * values follow lib/data/types.ts: Arrow validity bitmaps become `valid` bytes (and NaN in
 * float columns); our `valid` bytes (or NaN when a float column has none) become bitmaps.
 * Reading a float column that has nulls writes NaN into its value buffer, so those
 * values are copied first unless the caller owns the Arrow memory (`ownsMemory`).
 */
import {
  Bool,
  type Data,
  DateDay,
  Dictionary,
  Field,
  Float32,
  Float64,
  Int16,
  Int32,
  RecordBatch,
  Schema as ArrowSchema,
  Struct,
  Table,
  TimestampMillisecond,
  Type,
  Uint8,
  Utf8,
  type Vector,
  makeData,
  makeVector,
} from 'apache-arrow';
import { RxError } from '../errors.js';
import type { Chunk, ChunkOptions, Column, ColumnInfo, ColumnType, DataSource, Schema } from './types.js';

const MS_PER_DAY = 86_400_000;
const TEXT_DECODER = new TextDecoder();

/** Field metadata keys written by rxscale (RevoScaleR variable information). */
export const META = {
  description: 'rxscale.description',
  low: 'rxscale.low',
  high: 'rxscale.high',
  valueLabels: 'rxscale.valueLabels',
} as const;

/* ---------------------------------------------------------------- bitmaps */

/** Bit-packed Arrow validity (LSB first) from our valid bytes; null when nothing is missing. */
export function packValidity(valid: Uint8Array | undefined, n: number, isNaNAt?: (i: number) => boolean): { bitmap: Uint8Array; nullCount: number } | null {
  let nullCount = 0;
  if (valid) {
    for (let i = 0; i < n; i++) if (valid[i] === 0) nullCount++;
  } else if (isNaNAt) {
    for (let i = 0; i < n; i++) if (isNaNAt(i)) nullCount++;
  }
  if (nullCount === 0) return null;
  const bitmap = new Uint8Array(((n + 63) >> 6) << 3);
  for (let i = 0; i < n; i++) {
    const ok = valid ? valid[i] !== 0 : !isNaNAt!(i);
    if (ok) bitmap[i >> 3]! |= 1 << (i & 7);
  }
  return { bitmap, nullCount };
}

/** Our valid bytes from an Arrow bitmap starting at bit `offset`. */
export function unpackBits(bitmap: Uint8Array, offset: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const b = offset + i;
    out[i] = (bitmap[b >> 3]! >> (b & 7)) & 1;
  }
  return out;
}

/* ------------------------------------------------------------ ours -> Arrow */

export function arrowTypeFor(info: { type: ColumnType; ordered?: boolean }, dictId = 0) {
  switch (info.type) {
    case 'float64':
      return new Float64();
    case 'float32':
      return new Float32();
    case 'int32':
      return new Int32();
    case 'int16':
      return new Int16();
    case 'uint8':
      return new Uint8();
    case 'bool':
      return new Bool();
    case 'factor':
      return new Dictionary(new Utf8(), new Int32(), dictId, info.ordered ?? false);
    case 'string':
      return new Utf8();
    case 'date':
      return new DateDay();
    case 'timestamp':
      return new TimestampMillisecond('UTC');
  }
}

/** Arrow Field (with rxscale metadata) for a column description. */
export function arrowFieldFor(info: ColumnInfo, dictId = 0): Field {
  const md = new Map<string, string>();
  if (info.description !== undefined) md.set(META.description, info.description);
  if (info.low !== undefined) md.set(META.low, String(info.low));
  if (info.high !== undefined) md.set(META.high, String(info.high));
  if (info.valueLabels !== undefined) md.set(META.valueLabels, JSON.stringify(info.valueLabels));
  return new Field(info.name, arrowTypeFor(info, dictId), true, md);
}

/** Utf8 Data from strings (null = missing). */
export function utf8Data(values: ArrayLike<string | null>, valid?: Uint8Array): Data<Utf8> {
  const n = values.length;
  const offsets = new Int32Array(n + 1);
  // each value encoded straight into one buffer sized for the worst case (3 bytes per UTF-16
  // unit): no joined string, no per-value byte count, no per-value array
  let units = 0;
  for (let i = 0; i < n; i++) {
    const s = values[i];
    if (s !== null && s !== undefined && valid?.[i] !== 0) units += s.length;
  }
  const buf = Buffer.allocUnsafe(units * 3);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const s = values[i];
    if (s !== null && s !== undefined && valid?.[i] !== 0 && s.length > 0) pos += buf.write(s, pos, 'utf8');
    offsets[i + 1] = pos;
  }
  // an exact-size copy when the worst case overshot by much (the batch stays referenced until written)
  const bytes: Uint8Array = pos * 2 < buf.length ? Uint8Array.prototype.slice.call(buf, 0, pos) : buf.subarray(0, pos);
  const v = packValidity(valid, n, valid ? undefined : (i) => values[i] === null || values[i] === undefined);
  return makeData({ type: new Utf8(), length: n, nullCount: v?.nullCount ?? 0, nullBitmap: v?.bitmap, valueOffsets: offsets, data: bytes });
}

/**
 * Arrow Data for one of our columns. `levels` overrides the factor's level list (a
 * writer's accumulated levels, of which the column's are a prefix); `dictionary` reuses an
 * already-built dictionary vector for those levels.
 */
export function columnToArrowData(col: Column, opts: { dictId?: number; levels?: string[]; dictionary?: Vector } = {}): Data {
  const n = (col.data as ArrayLike<unknown>).length;
  const floatNaN = (arr: ArrayLike<number>) => (i: number) => Number.isNaN(arr[i]!);
  switch (col.type) {
    case 'float64':
    case 'float32': {
      const arr = col.data as Float64Array | Float32Array;
      const v = packValidity(col.valid, n, col.valid ? undefined : floatNaN(arr));
      const type = col.type === 'float64' ? new Float64() : new Float32();
      return makeData({ type: type as Float64, length: n, nullCount: v?.nullCount ?? 0, nullBitmap: v?.bitmap, data: arr as Float64Array });
    }
    case 'int32':
    case 'int16':
    case 'uint8':
    case 'date': {
      const v = packValidity(col.valid, n);
      const type = col.type === 'int32' ? new Int32() : col.type === 'int16' ? new Int16() : col.type === 'uint8' ? new Uint8() : new DateDay();
      return makeData({ type: type as Int32, length: n, nullCount: v?.nullCount ?? 0, nullBitmap: v?.bitmap, data: col.data as Int32Array });
    }
    case 'bool': {
      const src = col.data as Uint8Array;
      const bits = new Uint8Array(((n + 63) >> 6) << 3);
      for (let i = 0; i < n; i++) if (src[i]) bits[i >> 3]! |= 1 << (i & 7);
      const v = packValidity(col.valid, n);
      return makeData({ type: new Bool(), length: n, nullCount: v?.nullCount ?? 0, nullBitmap: v?.bitmap, data: bits });
    }
    case 'timestamp': {
      const src = col.data as Float64Array;
      const v = packValidity(col.valid, n, col.valid ? undefined : floatNaN(src));
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) {
        const x = src[i]!;
        out[i] = Number.isFinite(x) ? BigInt(Math.round(x)) : 0n;
      }
      return makeData({ type: new TimestampMillisecond('UTC'), length: n, nullCount: v?.nullCount ?? 0, nullBitmap: v?.bitmap, data: out as unknown as Int32Array });
    }
    case 'string': {
      return utf8Data(col.data as Array<string | null>, col.valid);
    }
    case 'factor': {
      const levels = opts.levels ?? col.levels ?? [];
      const dictionary = opts.dictionary ?? makeVector(utf8Data(levels));
      const v = packValidity(col.valid, n);
      const type = new Dictionary(new Utf8(), new Int32(), opts.dictId ?? 0, col.ordered ?? false);
      return makeData({ type, length: n, nullCount: v?.nullCount ?? 0, nullBitmap: v?.bitmap, data: col.data as Int32Array, dictionary: dictionary as Vector<Utf8> });
    }
  }
}

/** Arrow schema for our schema (rxscale metadata in field and schema metadata). */
export function schemaToArrow(schema: Schema, extraMeta: Record<string, string> = {}): ArrowSchema {
  let dictId = 0;
  const fields = schema.columns.map((c) => arrowFieldFor(c, c.type === 'factor' ? dictId++ : 0));
  const md = new Map<string, string>(Object.entries({ ...(schema.metadata ?? {}), ...extraMeta }));
  return new ArrowSchema(fields, md);
}

/** RecordBatch for a chunk (zero-copy for fixed-width values). */
export function chunkToRecordBatch(chunk: Chunk, schema?: Schema): RecordBatch {
  const infos: ColumnInfo[] =
    schema?.columns ??
    chunk.names.map((name) => {
      const c = chunk.columns[name]!;
      return { name, type: c.type, ...(c.levels ? { levels: c.levels } : {}), ...(c.ordered !== undefined ? { ordered: c.ordered } : {}) };
    });
  const arrowSchema = schemaToArrow({ columns: infos });
  const children = infos.map((info, j) => {
    const col = chunk.columns[info.name];
    if (!col) throw new RxError('RX_SCHEMA', `Chunk has no column "${info.name}"`, { column: info.name });
    const f = arrowSchema.fields[j]!;
    return columnToArrowData(col, { dictId: f.type instanceof Dictionary ? f.type.id : 0 });
  });
  return new RecordBatch(arrowSchema, makeData({ type: new Struct(arrowSchema.fields), length: chunk.numRows, nullCount: 0, children }));
}


/** Arrow Table from a chunk (one batch). */
export function chunkToTable(chunk: Chunk, schema?: Schema): Table {
  return new Table(chunkToRecordBatch(chunk, schema));
}

/* ------------------------------------------------------------ Arrow -> ours */

/** Column type that an Arrow type is read as; throws RX_SCHEMA for unsupported types. */
export function columnTypeOfArrow(type: { typeId: Type }, name: string): ColumnType {
  switch (type.typeId) {
    case Type.Float: {
      const p = (type as unknown as { precision: number }).precision;
      return p === 2 ? 'float64' : p === 1 ? 'float32' : 'float64';
    }
    case Type.Int: {
      const t = type as unknown as { bitWidth: number; isSigned: boolean };
      if (t.isSigned && t.bitWidth === 32) return 'int32';
      if (t.isSigned && t.bitWidth === 16) return 'int16';
      if (!t.isSigned && t.bitWidth === 8) return 'uint8';
      return 'float64';
    }
    case Type.Bool:
      return 'bool';
    case Type.Dictionary: {
      const vt = (type as unknown as { dictionary: { typeId: Type } }).dictionary.typeId;
      if (vt === Type.Utf8 || vt === Type.LargeUtf8 || vt === Type.Utf8View) return 'factor';
      break;
    }
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Utf8View:
      return 'string';
    case Type.Date:
      return 'date';
    case Type.Timestamp:
      return 'timestamp';
  }
  throw new RxError('RX_SCHEMA', `Column "${name}" has Arrow type ${String(type)}, which rxscale does not read (supported: floats, integers, bool, utf8, dictionary<utf8>, date, timestamp)`, {
    column: name,
  });
}

/** ColumnInfo from an Arrow field (type, levels when the dictionary is known, rxscale metadata). */
export function fieldToColumnInfo(field: Field, levels?: string[]): ColumnInfo {
  const type = columnTypeOfArrow(field.type, field.name);
  const info: ColumnInfo = { name: field.name, type };
  if (type === 'factor') {
    info.ordered = (field.type as Dictionary).isOrdered;
    if (levels) info.levels = levels;
  }
  const md = field.metadata;
  const d = md.get(META.description);
  if (d !== undefined) info.description = d;
  const lo = md.get(META.low);
  if (lo !== undefined) info.low = Number(lo);
  const hi = md.get(META.high);
  if (hi !== undefined) info.high = Number(hi);
  const vl = md.get(META.valueLabels);
  if (vl !== undefined) {
    try {
      info.valueLabels = JSON.parse(vl) as Record<string, string>;
    } catch {
      // malformed label metadata written by another tool: ignore
    }
  }
  return info;
}

/** Strings of a Utf8 / LargeUtf8 Data (null where missing). */
function utf8Strings(data: Data, valid?: Uint8Array): Array<string | null> {
  const n = data.length;
  const out = new Array<string | null>(n);
  const offs = data.valueOffsets as Int32Array | BigInt64Array | undefined;
  const bytes = data.values as Uint8Array;
  if (!offs || data.typeId === Type.Utf8View) {
    const vec = makeVector(data);
    for (let i = 0; i < n; i++) out[i] = valid && valid[i] === 0 ? null : (vec.get(i) as string | null);
    return out;
  }
  for (let i = 0; i < n; i++) {
    if (valid && valid[i] === 0) {
      out[i] = null;
      continue;
    }
    const a = Number(offs[i]!);
    const b = Number(offs[i + 1]!);
    out[i] = TEXT_DECODER.decode(bytes.subarray(a, b));
  }
  return out;
}

/** Levels (strings) of a dictionary vector. */
export function dictionaryLevels(dict: Vector | undefined): string[] {
  if (!dict) return [];
  const out: string[] = [];
  for (const d of dict.data) {
    for (const s of utf8Strings(d)) out.push(s ?? 'NA');
  }
  return out;
}

/**
 * Our Column from Arrow Data. `ownsMemory`: the caller owns the Arrow buffers, so NaN may be
 * written into float values at missing positions and factor codes zeroed there without a copy.
 */
export function arrowDataToColumn(data: Data, name: string, opts: { ownsMemory?: boolean; levels?: string[] } = {}): Column {
  const n = data.length;
  const type = columnTypeOfArrow(data.type, name);
  const valid = data.nullCount > 0 && data.nullBitmap && data.nullBitmap.length > 0 ? unpackBits(data.nullBitmap, data.offset, n) : undefined;
  const withValid = (c: Column): Column => (valid ? { ...c, valid } : c);
  const tid = data.typeId;
  switch (type) {
    case 'float64':
    case 'float32': {
      let arr: Float64Array | Float32Array;
      if (tid === Type.Float && (data.type as Float64).precision !== 0) {
        arr = (data.values as Float64Array | Float32Array).subarray(0, n);
        if (valid && !opts.ownsMemory) arr = arr.slice();
      } else {
        // other integer widths / float16 / int64: convert through numbers
        const vals = data.values as ArrayLike<number | bigint>;
        arr = new Float64Array(n);
        if (tid === Type.Float) {
          const vec = makeVector(data);
          for (let i = 0; i < n; i++) arr[i] = (vec.get(i) as number | null) ?? Number.NaN;
        } else for (let i = 0; i < n; i++) arr[i] = Number(vals[i]!);
      }
      if (valid) for (let i = 0; i < n; i++) if (!valid[i]) arr[i] = Number.NaN;
      return withValid({ type, data: arr });
    }
    case 'int32':
    case 'int16':
    case 'uint8':
      // IPC readers may hand out the padded buffer: cut to the row count
      return withValid({ type, data: (data.values as Int32Array).subarray(0, n) });
    case 'bool': {
      const out = new Uint8Array(n);
      const bits = data.values as Uint8Array;
      for (let i = 0; i < n; i++) {
        const b = data.offset + i;
        out[i] = (bits[b >> 3]! >> (b & 7)) & 1;
      }
      if (valid) for (let i = 0; i < n; i++) if (!valid[i]) out[i] = 0;
      return withValid({ type, data: out });
    }
    case 'date': {
      if ((data.type as DateDay).unit === 0) return withValid({ type, data: (data.values as Int32Array).subarray(0, n) });
      const src = data.values as unknown as BigInt64Array;
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = Math.floor(Number(src[i]!) / MS_PER_DAY);
      return withValid({ type, data: out });
    }
    case 'timestamp': {
      const unit = (data.type as unknown as { unit: number }).unit; // 0 s, 1 ms, 2 us, 3 ns
      const scale = unit === 0 ? 1000 : unit === 1 ? 1 : unit === 2 ? 1e-3 : 1e-6;
      const src = data.values as unknown as BigInt64Array;
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = valid && !valid[i] ? Number.NaN : Number(src[i]!) * scale;
      return withValid({ type, data: out });
    }
    case 'string':
      return withValid({ type, data: utf8Strings(data, valid) });
    case 'factor': {
      const levels = opts.levels ?? dictionaryLevels(data.dictionary);
      let codes: Int32Array;
      const vals = (data.values as Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array | Uint32Array | BigInt64Array).subarray(0, n);
      if (vals instanceof Int32Array) codes = valid && !opts.ownsMemory ? vals.slice() : vals;
      else {
        codes = new Int32Array(n);
        for (let i = 0; i < n; i++) codes[i] = Number(vals[i]!);
      }
      if (valid) for (let i = 0; i < n; i++) if (!valid[i]) codes[i] = 0;
      const col: Column = { type, data: codes, levels, ordered: (data.type as Dictionary).isOrdered };
      return withValid(col);
    }
  }
}

/** Chunk from a RecordBatch (column subset optional). */
export function recordBatchToChunk(batch: RecordBatch, startRow = 0, opts: { columns?: string[]; ownsMemory?: boolean; levels?: Record<string, string[]> } = {}): Chunk {
  const names = opts.columns ?? batch.schema.fields.map((f) => f.name);
  const columns: Record<string, Column> = {};
  for (const name of names) {
    const idx = batch.schema.fields.findIndex((f) => f.name === name);
    if (idx < 0) throw new RxError('RX_SCHEMA', `Unknown column "${name}" in Arrow data`, { column: name });
    const child = batch.data.children[idx]!;
    const lv = opts.levels?.[name];
    columns[name] = arrowDataToColumn(child, name, { ...(opts.ownsMemory ? { ownsMemory: true } : {}), ...(lv ? { levels: lv } : {}) });
  }
  return { numRows: batch.numRows, startRow, names: [...names], columns };
}

/* --------------------------------------------------- Arrow Table as a source */

/**
 * An Arrow Table as a DataSource (kind 'arrow'). Chunks follow the table's batches, split
 * further by rowsPerRead. Factor levels: the union of all batches' dictionaries, in order of
 * first appearance, so codes mean the same level in every chunk.
 */
export class RxArrowTableData implements DataSource {
  readonly kind = 'arrow';
  private levelCache?: Record<string, { levels: string[]; maps: Map<Vector, Int32Array> }>;
  constructor(readonly table: Table) {}

  describe(): string {
    return `Arrow table (${this.table.numRows} rows x ${this.table.numCols} columns)`;
  }

  async numRows(): Promise<number> {
    return this.table.numRows;
  }

  private factorLevels() {
    if (this.levelCache) return this.levelCache;
    const out: Record<string, { levels: string[]; maps: Map<Vector, Int32Array> }> = {};
    this.table.schema.fields.forEach((f, j) => {
      if (columnTypeOfArrow(f.type, f.name) !== 'factor') return;
      const levels: string[] = [];
      const index = new Map<string, number>();
      const maps = new Map<Vector, Int32Array>();
      for (const b of this.table.batches) {
        const dict = b.data.children[j]!.dictionary;
        if (!dict || maps.has(dict)) continue;
        const ls = dictionaryLevels(dict);
        const m = new Int32Array(ls.length);
        ls.forEach((l, k) => {
          let c = index.get(l);
          if (c === undefined) {
            c = levels.length;
            levels.push(l);
            index.set(l, c);
          }
          m[k] = c;
        });
        maps.set(dict, m);
      }
      out[f.name] = { levels, maps };
    });
    this.levelCache = out;
    return out;
  }

  async schema(): Promise<Schema> {
    const fl = this.factorLevels();
    const md: Record<string, string> = {};
    for (const [k, v] of this.table.schema.metadata) md[k] = v;
    return {
      columns: this.table.schema.fields.map((f) => fieldToColumnInfo(f, fl[f.name]?.levels)),
      numRows: this.table.numRows,
      ...(Object.keys(md).length ? { metadata: md } : {}),
    };
  }

  async *chunks(opts: ChunkOptions = {}): AsyncIterable<Chunk> {
    const fields = this.table.schema.fields;
    const names = opts.columns ?? fields.map((f) => f.name);
    for (const n of names) if (!fields.some((f) => f.name === n)) throw new RxError('RX_SCHEMA', `Unknown column "${n}" in ${this.describe()}`, { column: n });
    const fl = this.factorLevels();
    const start = Math.max(0, opts.startRow ?? 0);
    const end = Math.min(this.table.numRows, opts.numRows !== undefined ? start + opts.numRows : this.table.numRows);
    const step = Math.max(1, opts.rowsPerRead ?? Number.POSITIVE_INFINITY);
    let base = 0;
    for (const batch of this.table.batches) {
      const bEnd = base + batch.numRows;
      const lo = Math.max(start, base);
      const hi = Math.min(end, bEnd);
      for (let b = lo; b < hi; b += Math.min(step, hi - b)) {
        if (opts.signal?.aborted) throw new RxError('RX_CANCELLED', 'reading the Arrow table was cancelled');
        const e = Math.min(hi, b + step);
        const part = batch.slice(b - base, e - base);
        const chunk = recordBatchToChunk(part, b, { columns: names });
        for (const n of names) {
          const c = chunk.columns[n]!;
          const f = fl[n];
          if (c.type !== 'factor' || !f) continue;
          const j = fields.findIndex((x) => x.name === n);
          const map = f.maps.get(part.data.children[j]!.dictionary!);
          if (map) {
            const codes = new Int32Array(c.data as Int32Array);
            for (let i = 0; i < codes.length; i++) codes[i] = map[codes[i]!] ?? 0;
            c.data = codes;
          }
          c.levels = f.levels;
        }
        yield chunk;
      }
      base = bEnd;
      if (base >= end) break;
    }
  }
}
