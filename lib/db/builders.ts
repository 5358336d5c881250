/**
 * Column builders for database sources: values arrive row by row (or field by field from
 * a binary decoder) and are written straight into typed arrays of one chunk's capacity.
 * One rule for 64-bit integers from every driver (strings from pg/tedious, BigInt from
 * odbc/DuckDB): they become float64, exact up to 2^53 (as in R); larger magnitudes are
 * still stored (rounded) and counted in `precisionLost`.
 */
import type { Chunk, Column, ColumnInfo, ColumnType, Schema } from '../data/types.js';
import { RxError } from '../errors.js';

const MS_PER_DAY = 86_400_000;

export class ColumnBuilder {
  readonly type: ColumnType;
  private data: Float64Array | Float32Array | Int32Array | Int16Array | Uint8Array | Array<string | null>;
  private valid: Uint8Array;
  private anyMissing = false;
  levels: string[] | undefined;
  private levelIndex: Map<string, number> | undefined;
  private readonly fixedLevels: boolean;
  /** Values outside declared factor levels (set to missing). */
  outOfLevels = 0;
  precisionLost = 0;
  n = 0;

  constructor(
    readonly info: ColumnInfo,
    readonly capacity: number,
  ) {
    this.type = info.type;
    this.fixedLevels = info.type === 'factor' && Array.isArray(info.levels) && info.levels.length > 0;
    if (info.type === 'factor') {
      this.levels = [...(info.levels ?? [])];
      this.levelIndex = new Map(this.levels.map((l, i) => [l, i]));
    }
    this.data = this.alloc();
    this.valid = new Uint8Array(capacity);
  }

  private alloc(): ColumnBuilder['data'] {
    const c = this.capacity;
    switch (this.type) {
      case 'float64':
      case 'timestamp':
        return new Float64Array(c);
      case 'float32':
        return new Float32Array(c);
      case 'int32':
      case 'factor':
      case 'date':
        return new Int32Array(c);
      case 'int16':
        return new Int16Array(c);
      case 'uint8':
      case 'bool':
        return new Uint8Array(c);
      case 'string':
        return new Array<string | null>(c).fill(null);
    }
  }

  pushNull(): void {
    const i = this.n++;
    this.anyMissing = true;
    if (this.type === 'float64' || this.type === 'float32' || this.type === 'timestamp') (this.data as Float64Array)[i] = Number.NaN;
  }

  pushNumber(v: number): void {
    const i = this.n++;
    (this.data as Float64Array)[i] = v;
    this.valid[i] = 1;
  }

  pushString(s: string): void {
    if (this.type === 'factor') {
      let code = this.levelIndex!.get(s);
      if (code === undefined) {
        if (this.fixedLevels) {
          this.outOfLevels++;
          this.pushNull();
          return;
        }
        code = this.levels!.length;
        this.levels!.push(s);
        this.levelIndex!.set(s, code);
      }
      this.pushNumber(code);
      return;
    }
    if (this.type === 'string') {
      const i = this.n++;
      (this.data as Array<string | null>)[i] = s;
      this.valid[i] = 1;
      return;
    }
    const v = Number(s);
    if (s.trim() === '' || Number.isNaN(v)) this.pushNull();
    else this.pushNumber(v);
  }

  /** Generic JS value from a driver row (number, bigint, string, boolean, Date, Buffer, null). */
  pushValue(v: unknown): void {
    if (v === null || v === undefined) return this.pushNull();
    switch (typeof v) {
      case 'number':
        if (this.type === 'factor' || this.type === 'string') return this.pushString(String(v));
        return this.pushNumber(v);
      case 'bigint': {
        const d = Number(v);
        if (!Number.isSafeInteger(d)) this.precisionLost++;
        if (this.type === 'factor' || this.type === 'string') return this.pushString(v.toString());
        return this.pushNumber(d);
      }
      case 'boolean':
        if (this.type === 'factor' || this.type === 'string') return this.pushString(v ? 'TRUE' : 'FALSE');
        return this.pushNumber(v ? 1 : 0);
      case 'string':
        if (this.type === 'factor' || this.type === 'string') return this.pushString(v);
        if ((this.type === 'float64' || this.type === 'int32') && /^-?\d{16,}$/.test(v) && !Number.isSafeInteger(Number(v))) this.precisionLost++;
        if (this.type === 'date') return this.pushDate(new Date(`${v.slice(0, 10)}T00:00:00Z`));
        if (this.type === 'timestamp') return this.pushDate(parseSqlTimestamp(v));
        return this.pushString(v);
      default:
        if (v instanceof Date) return this.pushDate(v);
        throw new RxError('RX_SCHEMA', `Column "${this.info.name}": cannot store a ${Object.prototype.toString.call(v)} value as ${this.type}`, { column: this.info.name });
    }
  }

  pushDate(d: Date): void {
    const ms = d.getTime();
    if (Number.isNaN(ms)) return this.pushNull();
    if (this.type === 'date') this.pushNumber(Math.floor(ms / MS_PER_DAY));
    else this.pushNumber(ms);
  }

  /** Returns the built column (trimmed to n rows) and resets for the next chunk. */
  finish(): Column {
    const n = this.n;
    const full = n === this.capacity;
    // A full chunk hands its arrays over (no copy) and starts fresh ones.
    const data = full ? this.data : Array.isArray(this.data) ? this.data.slice(0, n) : (this.data as Float64Array).slice(0, n);
    const col: Column = { type: this.type, data };
    if (this.anyMissing) col.valid = full ? this.valid : this.valid.slice(0, n);
    if (this.type === 'factor') col.levels = [...this.levels!];
    this.n = 0;
    this.anyMissing = false;
    if (full) {
      this.data = this.alloc();
      this.valid = new Uint8Array(this.capacity);
    } else {
      this.valid.fill(0);
      if (Array.isArray(this.data)) this.data.fill(null);
    }
    return col;
  }
}

/** 'YYYY-MM-DD HH:MM:SS[.fff][+hh:mm|Z]' from a driver; no zone means UTC (as stored). */
export function parseSqlTimestamp(v: string): Date {
  let t = v.trim().replace(' ', 'T');
  if (!/(Z|[+-]\d\d(:?\d\d)?)$/.test(t)) t += 'Z';
  return new Date(t);
}

/**
 * ColumnInfo for one database column: the driver type mapped to ours, unless colInfo gives a
 * type; RX_SCHEMA naming the column and its database type when neither works.
 */
export function dbColumnInfo(name: string, mapped: ColumnType | null, override: Partial<ColumnInfo> | undefined, source: string, dbType: string): ColumnInfo {
  if (!mapped && !override?.type)
    throw new RxError('RX_SCHEMA', `Column "${name}" of ${source} has type ${dbType}, which rxscale cannot map; cast it in sqlQuery or give colInfo`, { column: name });
  const info: ColumnInfo = { name, type: (override?.type ?? mapped)! };
  if (override?.levels) info.levels = [...override.levels];
  if (override?.description) info.description = override.description;
  if (override?.low !== undefined) info.low = override.low;
  if (override?.high !== undefined) info.high = override.high;
  return info;
}

/** The requested columns (default: all) with their schema positions; RX_SCHEMA for an unknown one. */
export function pickColumns(schema: Schema, requested: string[] | undefined, source: string): { names: string[]; infos: ColumnInfo[]; index: number[] } {
  const names = requested ?? schema.columns.map((c) => c.name);
  const index = names.map((n) => {
    const i = schema.columns.findIndex((c) => c.name === n);
    if (i < 0) throw new RxError('RX_SCHEMA', `Unknown column "${n}" in ${source}`, { column: n });
    return i;
  });
  return { names, infos: index.map((i) => schema.columns[i]!), index };
}

/** Rows go into one ColumnBuilder per column; take() hands out the rows so far as a Chunk. */
export class ChunkAssembler {
  readonly builders: ColumnBuilder[];
  private nextStart: number;
  constructor(
    private readonly names: string[],
    infos: ColumnInfo[],
    readonly rowsPerRead: number,
    startRow = 0,
  ) {
    this.builders = infos.map((i) => new ColumnBuilder(i, rowsPerRead));
    this.nextStart = startRow;
  }
  /** Rows collected since the last take(). */
  get rows(): number {
    return this.builders[0]?.n ?? 0;
  }
  get full(): boolean {
    return this.rows >= this.rowsPerRead;
  }
  take(): Chunk {
    const n = this.rows;
    const columns: Chunk['columns'] = {};
    this.names.forEach((name, j) => {
      columns[name] = this.builders[j]!.finish();
    });
    const c: Chunk = { numRows: n, startRow: this.nextStart, names: [...this.names], columns };
    this.nextStart += n;
    return c;
  }
}
