/**
 * RxParquetData: Parquet files, read and written through DuckDB's node API
 * (@duckdb/node-api). Why DuckDB: it is actively maintained, already a dependency (the
 * embedded-database source and in-database compute use it), its Parquet reader/writer is
 * complete (all encodings, compression codecs, statistics) and fast, and it streams:
 * `read_parquet` yields 2048-row vectors we gather into chunks, so memory stays bounded.
 *
 * Reading: `SELECT ... FROM read_parquet(file)` streamed with connection.stream +
 * fetchChunk, converted column-wise into our Columns. Integer widths we do not store
 * (BIGINT, UINTEGER, DECIMAL, ...) are cast to DOUBLE in SQL; timestamps to epoch ms;
 * dates to days. Writing: rows go through a DuckDB appender into a table in a temporary
 * DuckDB database file (so memory stays bounded), then `COPY ... TO '<tmp>' (FORMAT
 * parquet, KV_METADATA {...})` and a rename to the final name. Parquet has no factor type
 * our readers agree on, so factor columns are written as strings and the rxscale schema
 * (types, levels, ordered, descriptions, low/high) goes into the Parquet key/value
 * metadata under `rxscale.schema`; reading it back restores factors with their levels.
 */
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import {
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBDataChunk,
  DuckDBDateValue,
  DuckDBInstance,
  type DuckDBResult,
  DuckDBTimestampValue,
  type DuckDBValue,
} from '@duckdb/node-api';
import { RxError } from '../errors.js';
import { rxOptions } from '../options.js';
import { sliceColumn } from './memory.js';
import type { Chunk, ChunkOptions, ChunkWriter, Column, ColumnInfo, ColumnType, DataSink, DataSource, Schema } from './types.js';
import { tempNameFor } from './xdf.js';

const SCHEMA_KEY = 'rxscale.schema';

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}
function sqlIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

async function withConnection<T>(fn: (c: DuckDBConnection) => Promise<T>, dbPath?: string): Promise<T> {
  const inst = await DuckDBInstance.create(dbPath ?? ':memory:', { threads: String(Math.max(1, rxOptions().numThreads)) });
  const con = await inst.connect();
  try {
    return await fn(con);
  } finally {
    con.closeSync();
    inst.closeSync();
  }
}

interface ParquetColumn {
  info: ColumnInfo;
  /** SQL expression producing the value in the form we read. */
  expr: string;
  /** How the DuckDB vector is read. */
  read: 'double' | 'float' | 'int' | 'bool' | 'varchar';
}

function mapDuckType(name: string, duckType: string): { type: ColumnType; expr: string; read: ParquetColumn['read'] } {
  const id = sqlIdent(name);
  const t = duckType.toUpperCase();
  if (t === 'DOUBLE') return { type: 'float64', expr: id, read: 'double' };
  if (t === 'FLOAT') return { type: 'float32', expr: id, read: 'float' };
  if (t === 'INTEGER') return { type: 'int32', expr: id, read: 'int' };
  if (t === 'SMALLINT' || t === 'TINYINT') return { type: 'int16', expr: `CAST(${id} AS SMALLINT)`, read: 'int' };
  if (t === 'UTINYINT') return { type: 'uint8', expr: id, read: 'int' };
  if (t === 'BOOLEAN') return { type: 'bool', expr: id, read: 'bool' };
  if (t === 'VARCHAR' || t.startsWith('ENUM')) return { type: 'string', expr: `CAST(${id} AS VARCHAR)`, read: 'varchar' };
  if (t === 'DATE') return { type: 'date', expr: `CAST(date_diff('day', DATE '1970-01-01', ${id}) AS INTEGER)`, read: 'int' };
  if (t.startsWith('TIMESTAMP')) return { type: 'timestamp', expr: `CAST(epoch_ms(${id}) AS DOUBLE)`, read: 'double' };
  if (/^(BIGINT|HUGEINT|UBIGINT|UHUGEINT|UINTEGER|USMALLINT|DECIMAL)/.test(t)) return { type: 'float64', expr: `CAST(${id} AS DOUBLE)`, read: 'double' };
  throw new RxError('RX_SCHEMA', `Parquet column "${name}" has type ${duckType}, which rxscale does not read`, { column: name });
}

export class RxParquetData implements DataSource, DataSink {
  readonly kind = 'parquet';
  readonly file: string;
  readonly rowsPerRead?: number;

  constructor(file: string, opts: { rowsPerRead?: number } = {}) {
    if (typeof file !== 'string' || file.length === 0) throw new RxError('RX_ARG', `Expected a file path (string) for RxParquetData but received ${typeof file}`);
    this.file = file;
    if (opts.rowsPerRead !== undefined) this.rowsPerRead = opts.rowsPerRead;
  }

  describe(): string {
    return `Parquet file "${this.file}"`;
  }

  private wrap(e: unknown): RxError {
    if (e instanceof RxError) return e;
    const msg = (e as Error).message ?? String(e);
    if (!existsSync(this.file)) return new RxError('RX_IO', `File "${this.file}" does not exist`, { file: this.file, cause: e });
    return new RxError('RX_DATA_SOURCE', `Cannot read ${this.describe()}: ${msg}`, { file: this.file, cause: e });
  }

  /** Columns, row count and key/value metadata (read fresh each call: the file may have been rewritten). */
  private async inspect(con: DuckDBConnection): Promise<{ columns: ParquetColumn[]; numRows: number; metadata: Record<string, string> }> {
    if (!existsSync(this.file)) throw new RxError('RX_IO', `File "${this.file}" does not exist`, { file: this.file });
    const src = `read_parquet(${sqlString(this.file)})`;
    const desc = (await (await con.run(`DESCRIBE SELECT * FROM ${src}`)).getRowObjects()) as Array<{ column_name: string; column_type: string }>;
    const countRows = await (await con.run(`SELECT count(*)::DOUBLE AS n FROM ${src}`)).getRowObjects();
    const numRows = Number((countRows[0] as { n: number }).n);
    const metadata: Record<string, string> = {};
    const kv = await (await con.run(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata(${sqlString(this.file)})`)).getRowObjects();
    for (const r of kv as Array<{ k: string; v: string }>) metadata[r.k] = r.v;
    let saved: ColumnInfo[] | undefined;
    if (metadata[SCHEMA_KEY]) {
      try {
        saved = JSON.parse(metadata[SCHEMA_KEY]) as ColumnInfo[];
      } catch {
        saved = undefined;
      }
    }
    const columns = desc.map((d): ParquetColumn => {
      const m = mapDuckType(d.column_name, d.column_type);
      const info: ColumnInfo = { name: d.column_name, type: m.type };
      const s = saved?.find((c) => c.name === d.column_name);
      if (s) {
        // restore what Parquet cannot say (factor levels, descriptions, the exact narrow type)
        if (s.type === 'factor' && m.type === 'string') info.type = 'factor';
        for (const k of ['levels', 'ordered', 'description', 'low', 'high', 'valueLabels'] as const) if (s[k] !== undefined) (info as unknown as Record<string, unknown>)[k] = s[k];
      }
      if (info.type !== 'factor') {
        delete info.levels;
        delete info.ordered;
      }
      return { info, expr: m.expr, read: m.read };
    });
    return { columns, numRows, metadata };
  }

  async schema(): Promise<Schema> {
    try {
      return await withConnection(async (con) => {
        const s = await this.inspect(con);
        const md = { ...s.metadata };
        delete md[SCHEMA_KEY];
        return { columns: s.columns.map((c) => c.info), numRows: s.numRows, ...(Object.keys(md).length ? { metadata: md } : {}) };
      });
    } catch (e) {
      throw this.wrap(e);
    }
  }

  async numRows(): Promise<number> {
    return (await this.schema()).numRows!;
  }

  async *chunks(opts: ChunkOptions = {}): AsyncIterable<Chunk> {
    const inst = await DuckDBInstance.create(':memory:', { threads: String(Math.max(1, rxOptions().numThreads)) });
    const con = await inst.connect();
    try {
      let s: Awaited<ReturnType<RxParquetData['inspect']>>;
      try {
        s = await this.inspect(con);
      } catch (e) {
        throw this.wrap(e);
      }
      const names = opts.columns ?? s.columns.map((c) => c.info.name);
      const cols = names.map((n) => {
        const c = s.columns.find((x) => x.info.name === n);
        if (!c) throw new RxError('RX_SCHEMA', `Unknown column "${n}" in ${this.describe()}`, { column: n, file: this.file });
        return c;
      });
      const start = Math.max(0, opts.startRow ?? 0);
      const limit = opts.numRows !== undefined ? ` LIMIT ${Math.max(0, Math.floor(opts.numRows))}` : '';
      const offset = start > 0 ? ` OFFSET ${start}` : '';
      const select = cols.length ? cols.map((c) => `${c.expr} AS ${sqlIdent(c.info.name)}`).join(', ') : '1 AS __rx_dummy';
      const step = Math.max(1, opts.rowsPerRead ?? this.rowsPerRead ?? rxOptions().rowsPerRead);
      let res: DuckDBResult;
      try {
        res = await con.stream(`SELECT ${select} FROM read_parquet(${sqlString(this.file)})${limit}${offset}`);
      } catch (e) {
        throw this.wrap(e);
      }
      const levelIndex = cols.map((c) => (c.info.type === 'factor' ? new Map((c.info.levels ?? []).map((l, i) => [l, i])) : undefined));
      // buffers hold at most the rows still to come (a small file does not get rowsPerRead-sized arrays)
      let remaining = Math.max(0, Math.min(s.numRows - start, opts.numRows ?? Number.POSITIVE_INFINITY));
      let cap = Math.max(1, Math.min(step, remaining));
      let buf = newBuffers(cols, cap);
      let filled = 0;
      let row = start;
      const flush = (): Chunk => {
        const columns: Record<string, Column> = {};
        cols.forEach((c, j) => {
          columns[c.info.name] = finishColumn(c.info, buf[j]!, filled);
        });
        const chunk: Chunk = { numRows: filled, startRow: row, names: [...names], columns };
        row += filled;
        remaining -= filled;
        cap = Math.max(1, Math.min(step, remaining));
        buf = newBuffers(cols, cap);
        filled = 0;
        return chunk;
      };
      for (;;) {
        if (opts.signal?.aborted) throw new RxError('RX_CANCELLED', `reading ${this.describe()} was cancelled`);
        let dc: Awaited<ReturnType<DuckDBResult['fetchChunk']>>;
        try {
          dc = await res.fetchChunk();
        } catch (e) {
          throw this.wrap(e);
        }
        if (!dc || dc.rowCount === 0) break;
        const n = dc.rowCount;
        let off = 0;
        while (off < n) {
          const take = Math.min(n - off, cap - filled);
          cols.forEach((c, j) => {
            const v = dc!.getColumnVector(j) as unknown as { getItem(i: number): unknown };
            const b = buf[j]!;
            if (b.num && c.info.type !== 'factor' && bulkCopy(v, b, off, take, filled)) return;
            for (let i = 0; i < take; i++) {
              const x = v.getItem(off + i);
              const k = filled + i;
              if (x === null || x === undefined) {
                b.valid[k] = 0;
                b.anyMissing = true;
                if (b.num) b.num[k] = c.read === 'double' || c.read === 'float' ? Number.NaN : 0;
                continue;
              }
              b.valid[k] = 1;
              if (c.info.type === 'factor') {
                const code = levelIndex[j]!.get(x as string);
                if (code === undefined) {
                  // a value outside the recorded levels (file edited by another tool): extend
                  const lv = c.info.levels ?? (c.info.levels = []);
                  levelIndex[j]!.set(x as string, lv.length);
                  (b.num as Int32Array)[k] = lv.length;
                  lv.push(x as string);
                } else (b.num as Int32Array)[k] = code;
              } else if (b.str) b.str[k] = x as string;
              else if (c.read === 'bool') b.num![k] = x ? 1 : 0;
              else b.num![k] = x as number;
            }
          });
          filled += take;
          off += take;
          if (filled === cap) yield flush();
        }
      }
      if (filled > 0) yield flush();
    } finally {
      con.closeSync();
      inst.closeSync();
    }
  }

  async open(schema: Schema, opts: { overwrite?: boolean; append?: 'none' | 'rows' } = {}): Promise<ChunkWriter> {
    return ParquetWriter.open(this.file, schema, opts);
  }
}

interface ColBuffer {
  num?: Float64Array | Float32Array | Int32Array | Int16Array | Uint8Array;
  str?: Array<string | null>;
  valid: Uint8Array;
  anyMissing: boolean;
}

/**
 * Fast path for fixed-width DuckDB vectors: node-api's numeric vectors keep their values
 * in a typed array (`items`) and validity as a 64-bit mask (`validity.data`, null when all
 * valid). When both are there and the array type matches ours, copy in bulk; otherwise
 * (other versions, booleans) the caller falls back to getItem per value.
 */
function bulkCopy(v: unknown, b: ColBuffer, off: number, take: number, at: number): boolean {
  const items = (v as { items?: unknown }).items;
  const validity = (v as { validity?: { data: BigUint64Array | null; offset: number } }).validity;
  if (!b.num || !ArrayBuffer.isView(items) || items.constructor !== b.num.constructor || !validity || typeof validity.offset !== 'number') return false;
  const src = items as unknown as Float64Array;
  (b.num as Float64Array).set(src.subarray(off, off + take), at);
  if (!validity.data) {
    b.valid.fill(1, at, at + take);
    return true;
  }
  const bits = new Uint8Array(validity.data.buffer, validity.data.byteOffset, validity.data.byteLength);
  const isFloat = b.num instanceof Float64Array || b.num instanceof Float32Array;
  for (let i = 0; i < take; i++) {
    const bit = validity.offset + off + i;
    if ((bits[bit >> 3]! >> (bit & 7)) & 1) b.valid[at + i] = 1;
    else {
      b.valid[at + i] = 0;
      b.anyMissing = true;
      b.num[at + i] = isFloat ? Number.NaN : 0;
    }
  }
  return true;
}

function newBuffers(cols: ParquetColumn[], n: number): ColBuffer[] {
  return cols.map((c) => {
    const valid = new Uint8Array(n);
    switch (c.info.type) {
      case 'float64':
      case 'timestamp':
        return { num: new Float64Array(n), valid, anyMissing: false };
      case 'float32':
        return { num: new Float32Array(n), valid, anyMissing: false };
      case 'int32':
      case 'date':
      case 'factor':
        return { num: new Int32Array(n), valid, anyMissing: false };
      case 'int16':
        return { num: new Int16Array(n), valid, anyMissing: false };
      case 'uint8':
      case 'bool':
        return { num: new Uint8Array(n), valid, anyMissing: false };
      default:
        return { str: new Array<string | null>(n).fill(null), valid, anyMissing: false };
    }
  });
}

function finishColumn(info: ColumnInfo, b: ColBuffer, n: number): Column {
  const full: Column = { type: info.type, data: (b.num ?? b.str)! };
  if (b.anyMissing) full.valid = b.valid;
  if (info.type === 'factor') {
    full.levels = info.levels ?? [];
    if (info.ordered !== undefined) full.ordered = info.ordered;
  }
  return (full.data as ArrayLike<unknown>).length === n ? full : sliceColumn(full, 0, n);
}

/* ---------------------------------------------------------------- writer */

function duckTypeFor(t: ColumnType): string {
  switch (t) {
    case 'float64':
      return 'DOUBLE';
    case 'float32':
      return 'FLOAT';
    case 'int32':
      return 'INTEGER';
    case 'int16':
      return 'SMALLINT';
    case 'uint8':
      return 'UTINYINT';
    case 'bool':
      return 'BOOLEAN';
    case 'factor':
    case 'string':
      return 'VARCHAR';
    case 'date':
      return 'DATE';
    case 'timestamp':
      return 'TIMESTAMP';
  }
}

const DUCK_VECTOR = 2048;

/** Values of rows [s, s + m) of a column as DuckDB values (null = missing). */
function duckValues(c: Column, s: number, m: number): DuckDBValue[] {
  const out = new Array<DuckDBValue>(m);
  const d = c.data as ArrayLike<unknown>;
  for (let k = 0; k < m; k++) {
    const i = s + k;
    const v = d[i];
    if ((c.valid && c.valid[i] === 0) || v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) {
      out[k] = null;
      continue;
    }
    switch (c.type) {
      case 'bool':
        out[k] = v !== 0;
        break;
      case 'factor':
        out[k] = c.levels![v as number]!;
        break;
      case 'date':
        out[k] = new DuckDBDateValue(v as number);
        break;
      case 'timestamp':
        out[k] = new DuckDBTimestampValue(BigInt(Math.round(v as number)) * 1000n);
        break;
      default:
        out[k] = v as number | string;
    }
  }
  return out;
}

class ParquetWriter implements ChunkWriter {
  private closed = false;
  private readonly levels = new Map<string, { list: string[]; index: Map<string, number> }>();

  private constructor(
    readonly file: string,
    private readonly tmp: string,
    private readonly dbFile: string,
    private readonly inst: DuckDBInstance,
    private readonly con: DuckDBConnection,
    private readonly appender: DuckDBAppender,
    private readonly columns: ColumnInfo[],
    private readonly metadata: Record<string, string>,
  ) {
    for (const c of columns) if (c.type === 'factor') this.levels.set(c.name, { list: [...(c.levels ?? [])], index: new Map((c.levels ?? []).map((l, i) => [l, i])) });
  }

  static async open(file: string, schema: Schema, opts: { overwrite?: boolean; append?: 'none' | 'rows' }): Promise<ParquetWriter> {
    const exists = existsSync(file);
    if (exists && !opts.overwrite && opts.append !== 'rows')
      throw new RxError('RX_IO', `Output file "${file}" already exists; pass overwrite: true to replace it or append: 'rows' to add rows`, { file });
    const tmp = tempNameFor(file);
    const dbFile = `${tmp}.duckdb`;
    const inst = await DuckDBInstance.create(dbFile, { threads: String(Math.max(1, rxOptions().numThreads)) });
    const con = await inst.connect();
    try {
      const defs = schema.columns.map((c) => `${sqlIdent(c.name)} ${duckTypeFor(c.type)}`).join(', ');
      await con.run(`CREATE TABLE rx_out (${defs})`);
      let columns = schema.columns;
      if (exists && opts.append === 'rows') {
        // Parquet files cannot be appended in place: copy the existing rows in first
        const old = await new RxParquetData(file).schema();
        const have = old.columns.map((c) => `${c.name}:${c.type}`).join(',');
        const want = schema.columns.map((c) => `${c.name}:${c.type}`).join(',');
        if (have !== want) throw new RxError('RX_SCHEMA', `Cannot append to "${file}": its columns (${have}) differ from the data's (${want})`, { file });
        await con.run(`INSERT INTO rx_out SELECT * FROM read_parquet(${sqlString(file)})`);
        columns = schema.columns.map((c, i) => (c.type === 'factor' ? { ...c, levels: mergeLevels(old.columns[i]!.levels ?? [], c.levels ?? []) } : c));
      }
      const appender = await con.createAppender('rx_out');
      return new ParquetWriter(file, tmp, dbFile, inst, con, appender, columns, schema.metadata ?? {});
    } catch (e) {
      con.closeSync();
      inst.closeSync();
      await rm(dbFile, { force: true });
      await rm(`${dbFile}.wal`, { force: true });
      throw e instanceof RxError ? e : new RxError('RX_IO', `Cannot write "${file}": ${(e as Error).message}`, { file, cause: e });
    }
  }

  async write(chunk: Chunk): Promise<void> {
    const a = this.appender;
    const cols = this.columns.map((info) => {
      const c = chunk.columns[info.name];
      if (!c) throw new RxError('RX_SCHEMA', `Chunk written to "${this.file}" lacks column "${info.name}"`, { file: this.file, column: info.name });
      if (c.type !== info.type) throw new RxError('RX_SCHEMA', `Column "${info.name}" is ${c.type} in a chunk but ${info.type} in the schema`, { file: this.file, column: info.name });
      if (c.type === 'factor') {
        const st = this.levels.get(info.name)!;
        for (const l of c.levels ?? [])
          if (!st.index.has(l)) {
            st.index.set(l, st.list.length);
            st.list.push(l);
          }
      }
      return c;
    });
    try {
      // Filled column-wise into DuckDB data chunks (one native copy per vector) instead
      // of one appender call per value.
      const types = cols.map((_, j) => a.columnType(j));
      for (let s = 0; s < chunk.numRows; s += DUCK_VECTOR) {
        const m = Math.min(DUCK_VECTOR, chunk.numRows - s);
        const dc = DuckDBDataChunk.create(types, m);
        for (let j = 0; j < cols.length; j++) dc.setColumnValues(j, duckValues(cols[j]!, s, m));
        a.appendDataChunk(dc);
      }
    } catch (e) {
      throw new RxError('RX_IO', `Writing "${this.file}" failed: ${(e as Error).message}`, { file: this.file, cause: e });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.appender.flushSync();
      this.appender.closeSync();
      const saved = this.columns.map((c) => (c.type === 'factor' ? { ...c, levels: this.levels.get(c.name)!.list } : c));
      const kv: Record<string, string> = { ...this.metadata, [SCHEMA_KEY]: JSON.stringify(saved), 'rxscale.format': 'parquet' };
      const kvSql = `{${Object.entries(kv)
        .map(([k, v]) => `${sqlString(k)}: ${sqlString(v)}`)
        .join(', ')}}`;
      await this.con.run(`COPY rx_out TO ${sqlString(this.tmp)} (FORMAT parquet, KV_METADATA ${kvSql})`);
      await rename(this.tmp, this.file);
    } catch (e) {
      await rm(this.tmp, { force: true });
      throw e instanceof RxError ? e : new RxError('RX_IO', `Writing "${this.file}" failed: ${(e as Error).message}`, { file: this.file, cause: e });
    } finally {
      await this.cleanup();
    }
  }

  private async cleanup(): Promise<void> {
    try {
      this.con.closeSync();
      this.inst.closeSync();
    } catch {
      // already closed
    }
    await rm(this.dbFile, { force: true });
    await rm(`${this.dbFile}.wal`, { force: true });
  }

  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.appender.closeSync();
    } catch {
      // appender may already be invalid
    }
    await this.cleanup();
    await rm(this.tmp, { force: true });
  }
}

function mergeLevels(a: string[], b: string[]): string[] {
  const out = [...a];
  const seen = new Set(a);
  for (const l of b) if (!seen.has(l)) {
    seen.add(l);
    out.push(l);
  }
  return out;
}
