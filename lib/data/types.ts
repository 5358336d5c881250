/**
 * Core data contract: schema, columns, chunks and data sources.
 *
 * Missing values — ONE rule:
 *   a value is missing  <=>  column.valid?.[i] === 0.
 *   `valid` is a Uint8Array with one byte per row (1 = present); when absent, nothing
 *   is missing. Float columns (float64, float32, timestamp) ALSO hold NaN at every
 *   missing position, so numeric kernels may test NaN alone; float columns may omit
 *   `valid` entirely (then missing <=> NaN). Other types never rely on a sentinel.
 *
 * Storage per type:
 *   float64   Float64Array             float32  Float32Array
 *   int32     Int32Array               int16    Int16Array
 *   uint8     Uint8Array               bool     Uint8Array (0/1)
 *   factor    Int32Array codes 0..levels.length-1 into `levels` (Arrow dictionary semantics)
 *   string    Array<string | null>  (null where missing)
 *   date      Int32Array days since 1970-01-01
 *   timestamp Float64Array milliseconds since epoch (UTC)
 *
 * Factor codes mean the same level in every chunk of one source: a later chunk may only
 * APPEND levels (chunk k's levels are a prefix of chunk k+1's). Schema levels, when known,
 * are the full list.
 */

export type ColumnType =
  | 'float64'
  | 'float32'
  | 'int32'
  | 'int16'
  | 'uint8'
  | 'bool'
  | 'factor'
  | 'string'
  | 'date'
  | 'timestamp';

export const NUMERIC_TYPES: readonly ColumnType[] = ['float64', 'float32', 'int32', 'int16', 'uint8', 'bool'];

export interface ColumnInfo {
  name: string;
  type: ColumnType;
  /** Factor levels (type 'factor'). */
  levels?: string[];
  ordered?: boolean;
  description?: string;
  /** Declared range (RevoScaleR low/high), used e.g. by F(x). */
  low?: number;
  high?: number;
  /** Value labels for numeric codes. */
  valueLabels?: Record<string, string>;
}

export interface Schema {
  columns: ColumnInfo[];
  /** Total rows when the source knows it cheaply. */
  numRows?: number;
  /** Free-form metadata (file format, writer version, ...). */
  metadata?: Record<string, string>;
}

export type ColumnData =
  | Float64Array
  | Float32Array
  | Int32Array
  | Int16Array
  | Uint8Array
  | Array<string | null>;

export interface Column {
  type: ColumnType;
  data: ColumnData;
  /** 1 = present, 0 = missing; absent means no missing values (see the rule above). */
  valid?: Uint8Array;
  /** Factor levels (type 'factor'); shared by reference across chunks of one source. */
  levels?: string[];
  ordered?: boolean;
}

export interface Chunk {
  /** Rows in this chunk. */
  numRows: number;
  /** 0-based index of this chunk's first row within the source. */
  startRow: number;
  /** Column order follows the schema (or the requested `columns`). */
  names: string[];
  columns: Record<string, Column>;
  /**
   * True when every typed array of this chunk exclusively owns its ArrayBuffer (freshly
   * decoded data nobody else holds), so a consumer may transfer (detach) it, e.g. to a
   * worker thread. Absent/false: consumers copy what they send (views into shared data).
   */
  owned?: boolean;
}

export interface ChunkOptions {
  /** Only these columns (in this order). Default: all. */
  columns?: string[];
  /** Rows per chunk (default rxOptions().rowsPerRead or the source's own). */
  rowsPerRead?: number;
  /** 0-based first row to read. */
  startRow?: number;
  /** Maximum rows to read. */
  numRows?: number;
  /** Abort reading. */
  signal?: AbortSignal;
  /**
   * Hint from a consumer that is done with a chunk's arrays when it asks for the next
   * chunk (it neither keeps nor transfers them): the source may then read the next chunk
   * into the same buffers, which saves allocating and page-faulting fresh memory for every
   * chunk. Once it has read to the end it is done with the last chunk too (the buffers may
   * serve a later reuseBuffers read); a consumer that stops early may keep the last chunk.
   * Sources may ignore it (RxXdfData honours it).
   */
  reuseBuffers?: boolean;
}

/** What a source can do inside its own engine (used by in-database compute contexts). */
export interface PushdownCapabilities {
  sqlAggregates?: boolean;
  filters?: boolean;
  dialect?: string;
}

export interface DataSource {
  /** 'text' | 'xdf' | 'parquet' | 'memory' | 'duckdb' | 'postgres' | 'sqlserver' | 'odbc' ... */
  readonly kind: string;
  /** Schema without reading all data (sources sniff or read metadata). */
  schema(): Promise<Schema>;
  /** Streams the data as columnar chunks. */
  chunks(opts?: ChunkOptions): AsyncIterable<Chunk>;
  /** Row count when cheap to know; undefined otherwise. */
  numRows?(): Promise<number | undefined>;
  readonly pushdown?: PushdownCapabilities;
  /** Human-readable description (file path, table name). */
  describe?(): string;
}

/** A destination that accepts chunks (xdf, parquet, SQL tables, memory). */
export interface DataSink {
  readonly kind: string;
  /** Open for writing with the given schema; `append` adds rows to existing data. */
  open(schema: Schema, opts: { overwrite?: boolean; append?: 'none' | 'rows' }): Promise<ChunkWriter>;
}

export interface ChunkWriter {
  write(chunk: Chunk): Promise<void>;
  /** Finish: make the output visible under its final name (atomic rename). */
  close(): Promise<void>;
  /** Discard partial output. */
  abort(err?: unknown): Promise<void>;
}

export function isDataSource(x: unknown): x is DataSource {
  return typeof x === 'object' && x !== null && typeof (x as DataSource).schema === 'function' &&
    typeof (x as DataSource).chunks === 'function';
}

/** True when row i of the column is missing (the one rule). */
export function isMissing(col: Column, i: number): boolean {
  if (col.valid) return col.valid[i] === 0;
  if (col.type === 'float64' || col.type === 'float32' || col.type === 'timestamp') return Number.isNaN((col.data as Float64Array)[i]);
  if (col.type === 'string') return (col.data as Array<string | null>)[i] === null;
  return false;
}
