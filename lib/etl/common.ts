/**
 * Shared ETL plumbing: turning `inData` / `outFile` arguments into sources and sinks, a
 * streaming copy loop with progress and atomic output, an in-memory sink, row builders
 * used by sort / merge / split, and column type conversion (colClasses / colInfo).
 */
import { Table } from 'apache-arrow';
import { ProgressReporter, noProgress, type ProgressSink, type ProgressLevel } from '../compute/progress.js';
import { RxArrowTableData } from '../data/arrow.js';
import { RxMemoryData, sliceColumn } from '../data/memory.js';
import { RxParquetData } from '../data/parquet.js';
import { resolveSource } from '../data/resolve.js';
import { RxTextData, type RxTextDataOptions } from '../data/text.js';
import type { Chunk, ChunkWriter, Column, ColumnInfo, ColumnType, DataSink, DataSource, Schema } from '../data/types.js';
import { RxXdfData } from '../data/xdf.js';
import { RxError } from '../errors.js';
import { rxOptions } from '../options.js';
import { describe as describeValue } from '../validate.js';

/* ------------------------------------------------------------ sources/sinks */

const TEXT_EXT = /\.(csv|tsv|txt|dat)(\.gz)?$/i;
const XDF_EXT = /\.(xdf|arrow|feather|ipc)$/i;

/** A path (by extension), a DataSource, an object of columns or an Arrow Table -> DataSource. */
export function resolveInput(inData: unknown, what = 'inData', textOptions: RxTextDataOptions = {}): DataSource {
  if (typeof inData === 'string') {
    if (TEXT_EXT.test(inData)) return new RxTextData(inData, textOptions);
    if (/\.parquet$/i.test(inData)) return new RxParquetData(inData);
    if (XDF_EXT.test(inData)) return new RxXdfData(inData);
    throw new RxError('RX_ARG', `Cannot tell the format of "${inData}" for ${what} from its extension (.csv/.tsv/.txt[.gz], .xdf/.arrow/.feather, .parquet); pass RxTextData / RxXdfData / RxParquetData`, {
      file: inData,
    });
  }
  if (inData instanceof Table) return new RxArrowTableData(inData);
  return resolveSource(inData, what);
}

/** Sink for an `outFile` argument: a path (.parquet -> Parquet, otherwise xdf) or a sink object. */
export function resolveOutput(outFile: unknown, what = 'outFile'): (DataSink & DataSource) | undefined {
  if (outFile === undefined || outFile === null) return undefined;
  if (typeof outFile === 'string') {
    if (/\.parquet$/i.test(outFile)) return new RxParquetData(outFile);
    if (TEXT_EXT.test(outFile)) return new RxTextData(outFile);
    return new RxXdfData(outFile);
  }
  const o = outFile as Partial<DataSink & DataSource>;
  if (typeof o === 'object' && typeof o.open === 'function' && typeof o.chunks === 'function') return o as DataSink & DataSource;
  throw new RxError('RX_ARG', `Expected a file path, RxXdfData or RxParquetData for ${what} but received ${describeValue(outFile)}`);
}

/* ------------------------------------------------------------ builders */

function arrayFor(type: ColumnType, n: number): Column['data'] {
  switch (type) {
    case 'float64':
    case 'timestamp':
      return new Float64Array(n);
    case 'float32':
      return new Float32Array(n);
    case 'int32':
    case 'date':
    case 'factor':
      return new Int32Array(n);
    case 'int16':
      return new Int16Array(n);
    case 'uint8':
    case 'bool':
      return new Uint8Array(n);
    case 'string':
      return new Array<string | null>(n).fill(null);
  }
}

/** Maps a column's factor codes onto a fixed, growing level list (by label). */
export class LevelMap {
  readonly levels: string[];
  private readonly index: Map<string, number>;
  private readonly cache = new Map<string[], Int32Array>();
  constructor(levels: string[] = []) {
    this.levels = [...levels];
    this.index = new Map(this.levels.map((l, i) => [l, i]));
  }
  /** Code of a label, undefined when it is not a level. */
  find(label: string): number | undefined {
    return this.index.get(label);
  }
  code(label: string): number {
    let c = this.index.get(label);
    if (c === undefined) {
      c = this.levels.length;
      this.levels.push(label);
      this.index.set(label, c);
    }
    return c;
  }
  mapFor(levels: string[]): Int32Array {
    let m = this.cache.get(levels);
    if (!m || m.length !== levels.length) {
      m = Int32Array.from(levels, (l) => this.code(l));
      this.cache.set(levels, m);
    }
    return m;
  }
}

/** Builds chunks row by row (sort/merge/split output). */
export class ChunkBuilder {
  private data: Column['data'][] = [];
  private valid: Uint8Array[] = [];
  private anyMissing: boolean[] = [];
  n = 0;
  readonly levelMaps: Array<LevelMap | undefined>;
  private startRow = 0;

  constructor(
    readonly columns: ColumnInfo[],
    readonly capacity: number,
  ) {
    this.levelMaps = columns.map((c) => (c.type === 'factor' ? new LevelMap(c.levels ?? []) : undefined));
    this.reset();
  }

  /** Arrays start small and double up to `capacity` (small outputs stay small). */
  private size = 0;

  private reset(): void {
    this.size = Math.min(this.capacity, 1024);
    this.data = this.columns.map((c) => arrayFor(c.type, this.size));
    this.valid = this.columns.map(() => new Uint8Array(this.size).fill(1));
    this.anyMissing = this.columns.map(() => false);
    this.n = 0;
  }

  private grow(): void {
    const size = Math.min(this.capacity, this.size * 2);
    this.data = this.data.map((d, j) => {
      const nd = arrayFor(this.columns[j]!.type, size);
      if (Array.isArray(nd)) for (let i = 0; i < this.n; i++) nd[i] = (d as Array<string | null>)[i]!;
      else (nd as Float64Array).set(d as Float64Array);
      return nd;
    });
    this.valid = this.valid.map((v) => {
      const nv = new Uint8Array(size).fill(1);
      nv.set(v);
      return nv;
    });
    this.size = size;
  }

  get full(): boolean {
    return this.n >= this.capacity;
  }

  /** Copies row i of `src` (a column per output column, undefined -> missing). */
  push(src: Array<Column | undefined>, rows: number | number[]): void {
    if (this.n >= this.size) this.grow();
    const k = this.n;
    for (let j = 0; j < this.columns.length; j++) {
      const c = src[j];
      const i = typeof rows === 'number' ? rows : rows[j]!;
      const out = this.data[j]!;
      if (!c || (c.valid && c.valid[i] === 0) || (c.type === 'string' && (c.data as Array<string | null>)[i] == null)) {
        this.valid[j]![k] = 0;
        this.anyMissing[j] = true;
        const t = this.columns[j]!.type;
        if (t === 'float64' || t === 'float32' || t === 'timestamp') (out as Float64Array)[k] = Number.NaN;
        continue;
      }
      const v = (c.data as ArrayLike<unknown>)[i];
      const outType = this.columns[j]!.type;
      if (c.type === 'factor' && outType === 'string') (out as Array<string | null>)[k] = c.levels![v as number] ?? null;
      else if (c.type === 'string' && outType === 'factor') (out as Int32Array)[k] = this.levelMaps[j]!.code(v as string);
      else if (c.type === 'factor') {
        const lm = this.levelMaps[j]!;
        (out as Int32Array)[k] = lm.mapFor(c.levels ?? [])[v as number]!;
      } else if (Array.isArray(out)) out[k] = v as string;
      else {
        (out as Float64Array)[k] = v as number;
        if (Number.isNaN(v)) {
          this.valid[j]![k] = 0;
          this.anyMissing[j] = true;
        }
      }
    }
    this.n++;
  }

  /** The rows built so far as a chunk; the builder starts over. */
  take(): Chunk {
    const n = this.n;
    const columns: Record<string, Column> = {};
    this.columns.forEach((info, j) => {
      let col: Column = { type: info.type, data: this.data[j]! };
      if (this.anyMissing[j]) col.valid = this.valid[j]!;
      if (info.type === 'factor') {
        col.levels = this.levelMaps[j]!.levels;
        if (info.ordered !== undefined) col.ordered = info.ordered;
      }
      if (n < this.size) col = sliceColumn(col, 0, n);
      columns[info.name] = col;
    });
    const chunk: Chunk = { numRows: n, startRow: this.startRow, names: this.columns.map((c) => c.name), columns };
    this.startRow += n;
    this.reset();
    return chunk;
  }
}

/** Concatenates chunks into one column set (factor levels unified by label). */
export function concatChunks(columns: ColumnInfo[], chunks: Chunk[]): Record<string, Column> {
  const total = chunks.reduce((s, c) => s + c.numRows, 0);
  const out: Record<string, Column> = {};
  for (const info of columns) {
    const data = arrayFor(info.type, total);
    const valid = new Uint8Array(total).fill(1);
    let anyMissing = false;
    const lm = info.type === 'factor' ? new LevelMap(info.levels ?? []) : undefined;
    let at = 0;
    for (const ch of chunks) {
      const c = ch.columns[info.name];
      if (!c) throw new RxError('RX_INTERNAL', `chunk lacks column "${info.name}"`);
      const n = ch.numRows;
      if (c.valid) {
        valid.set(c.valid.subarray(0, n), at);
        for (let i = 0; i < n; i++)
          if (c.valid[i] === 0) {
            anyMissing = true;
            break;
          }
      }
      if (lm) {
        const m = lm.mapFor(c.levels ?? []);
        const src = c.data as Int32Array;
        const dst = data as Int32Array;
        for (let i = 0; i < n; i++) dst[at + i] = c.valid && c.valid[i] === 0 ? 0 : m[src[i]!]!;
      } else if (Array.isArray(data)) {
        const src = c.data as Array<string | null>;
        for (let i = 0; i < n; i++) {
          data[at + i] = src[i] ?? null;
          if (src[i] == null) {
            valid[at + i] = 0;
            anyMissing = true;
          }
        }
      } else {
        (data as Float64Array).set(c.data as Float64Array, at);
        if (!c.valid && (info.type === 'float64' || info.type === 'float32' || info.type === 'timestamp')) {
          const src = c.data as Float64Array;
          for (let i = 0; i < n; i++)
            if (Number.isNaN(src[i]!)) {
              valid[at + i] = 0;
              anyMissing = true;
            }
        }
      }
      at += n;
    }
    const col: Column = { type: info.type, data };
    if (anyMissing) col.valid = valid;
    if (lm) {
      col.levels = lm.levels;
      if (info.ordered !== undefined) col.ordered = info.ordered;
    }
    out[info.name] = col;
  }
  return out;
}

/** Collects chunks in memory; `result()` gives an RxMemoryData. */
export class MemorySink implements DataSink {
  readonly kind = 'memory';
  private chunks: Chunk[] = [];
  private schemaCols: ColumnInfo[] = [];
  private done?: RxMemoryData;

  async open(schema: Schema): Promise<ChunkWriter> {
    this.schemaCols = schema.columns;
    this.chunks = [];
    return {
      write: async (chunk) => {
        this.chunks.push(chunk);
      },
      close: async () => {
        const cols = concatChunks(this.schemaCols, this.chunks);
        this.chunks = [];
        this.done = new RxMemoryData(cols);
      },
      abort: async () => {
        this.chunks = [];
      },
    };
  }

  result(): RxMemoryData {
    if (!this.done) throw new RxError('RX_INTERNAL', 'memory sink read before it was closed');
    return this.done;
  }
}

/* ------------------------------------------------------------ copy loop */

export function progressFor(level: unknown, label: string): ProgressSink {
  const lv = (level ?? rxOptions().reportProgress) as ProgressLevel;
  if (lv === 0) return noProgress;
  return new ProgressReporter({ level: lv, label });
}

/** Rows with a missing value in any column are dropped (removeMissings). */
export function dropMissingRows(chunk: Chunk): Chunk {
  const n = chunk.numRows;
  const keep = new Uint8Array(n).fill(1);
  let m = n;
  for (const name of chunk.names) {
    const c = chunk.columns[name]!;
    const d = c.data as ArrayLike<unknown>;
    for (let i = 0; i < n; i++) {
      if (!keep[i]) continue;
      const miss = c.valid ? c.valid[i] === 0 : d[i] === null || (typeof d[i] === 'number' && Number.isNaN(d[i]));
      if (miss) {
        keep[i] = 0;
        m--;
      }
    }
  }
  if (m === n) return chunk;
  return filterChunk(chunk, keep, m);
}

export function filterChunk(chunk: Chunk, keep: Uint8Array, m: number): Chunk {
  const idx = new Int32Array(m);
  let k = 0;
  for (let i = 0; i < keep.length; i++) if (keep[i]) idx[k++] = i;
  return takeRows(chunk, idx);
}

/** Rows `idx` of a chunk (in that order). */
export function takeRows(chunk: Chunk, idx: ArrayLike<number>): Chunk {
  const m = idx.length;
  const columns: Record<string, Column> = {};
  for (const name of chunk.names) {
    const c = chunk.columns[name]!;
    let data: Column['data'];
    if (Array.isArray(c.data)) {
      const src = c.data;
      data = Array.from({ length: m }, (_, k) => src[idx[k]!] ?? null);
    } else {
      const src = c.data as Float64Array;
      const out = new (src.constructor as Float64ArrayConstructor)(m);
      for (let k = 0; k < m; k++) out[k] = src[idx[k]!]!;
      data = out;
    }
    const col: Column = { type: c.type, data };
    if (c.valid) {
      const v = new Uint8Array(m);
      for (let k = 0; k < m; k++) v[k] = c.valid[idx[k]!]!;
      col.valid = v;
    }
    if (c.levels) col.levels = c.levels;
    if (c.ordered !== undefined) col.ordered = c.ordered;
    columns[name] = col;
  }
  return { numRows: m, startRow: chunk.startRow, names: [...chunk.names], columns };
}

export interface CopyOptions {
  overwrite?: boolean;
  append?: 'none' | 'rows';
  /** 0-based */
  startRow?: number;
  numRows?: number;
  rowsPerRead?: number;
  removeMissings?: boolean;
  reportProgress?: number;
  label?: string;
  /** Schema override for the sink (e.g. declared metadata). */
  schema?: Schema;
}

/**
 * Streams `source` into `sink` (or memory when sink is undefined). The sink's output
 * appears only when everything succeeded (writers rename a temp file on close).
 */
export async function copyData(source: DataSource, sink: DataSink | undefined, opts: CopyOptions = {}): Promise<{ rows: number; memory?: RxMemoryData }> {
  const schema = opts.schema ?? (await source.schema());
  const dupe = schema.columns.map((c) => c.name).find((n, i, a) => a.indexOf(n) !== i);
  if (dupe !== undefined) throw new RxError('RX_SCHEMA', `Duplicate column name "${dupe}" in ${source.describe?.() ?? 'the data'}`, { column: dupe });
  const mem = sink ? undefined : new MemorySink();
  const writer = await (sink ?? mem!).open({ columns: schema.columns, ...(schema.metadata ? { metadata: schema.metadata } : {}) }, {
    ...(opts.overwrite !== undefined ? { overwrite: opts.overwrite } : {}),
    ...(opts.append !== undefined ? { append: opts.append } : {}),
  });
  const progress = progressFor(opts.reportProgress, opts.label ?? 'rxDataStep');
  let rows = 0;
  try {
    progress.startPass(1, schema.numRows);
    for await (let chunk of source.chunks({
      ...(opts.startRow !== undefined ? { startRow: opts.startRow } : {}),
      ...(opts.numRows !== undefined ? { numRows: opts.numRows } : {}),
      rowsPerRead: opts.rowsPerRead ?? rxOptions().rowsPerRead,
    })) {
      const t0 = performance.now();
      if (opts.removeMissings) chunk = dropMissingRows(chunk);
      if (chunk.numRows > 0 || rows === 0) await writer.write(chunk);
      rows += chunk.numRows;
      progress.chunk(chunk.numRows, performance.now() - t0);
    }
    await writer.close();
    progress.endPass();
  } catch (e) {
    await writer.abort(e);
    throw e;
  }
  return mem ? { rows, memory: mem.result() } : { rows };
}

/** Checks varsToKeep / varsToDrop names against a schema. */
export function checkVars(schema: Schema, names: string[] | undefined, what: string, where: string): void {
  if (!names) return;
  if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) throw new RxError('RX_ARG', `Expected an array of column names for ${what}`);
  for (const n of names)
    if (!schema.columns.some((c) => c.name === n)) throw new RxError('RX_SCHEMA', `${what} names column "${n}", which is not in ${where}`, { column: n });
}

/** A source limited to some columns (no transforms needed). */
export function selectColumns(source: DataSource, keep: string[]): DataSource {
  return {
    kind: source.kind,
    describe: () => source.describe?.() ?? source.kind,
    async schema() {
      const s = await source.schema();
      return { ...s, columns: keep.map((n) => s.columns.find((c) => c.name === n)!) };
    },
    chunks(opts = {}) {
      return source.chunks({ ...opts, columns: opts.columns ?? keep });
    },
    ...(source.numRows ? { numRows: () => source.numRows!() } : {}),
  };
}
