/**
 * Information functions: rxGetInfo, rxGetVarInfo, rxGetVarNames, rxSetVarInfo,
 * rxReadXdf, rxCreateColInfo.
 *
 * Variable types are reported with RevoScaleR's names: numeric (storage float64 or
 * float32), integer (storage int32, int16 or uint8), logical, factor, character, Date,
 * POSIXct. Low/High are the declared values when a file carries them, otherwise (with
 * `computeInfo`, the default) the observed min/max from one pass over the numeric columns.
 */
import { RxMemoryData } from '../data/memory.js';
import type { Column, ColumnInfo, ColumnType, DataSource, Schema } from '../data/types.js';
import { RxXdfData, rewriteXdfMetadata } from '../data/xdf.js';
import { RxError } from '../errors.js';
import { argError, expectNumber } from '../validate.js';
import { checkVars, concatChunks, resolveInput } from './common.js';
import type { InData } from './import.js';

export type RxVarType = 'numeric' | 'integer' | 'logical' | 'factor' | 'character' | 'Date' | 'POSIXct';

export interface RxVarInfoEntry {
  varType: RxVarType;
  /** Storage type in rxscale terms (float64, float32, int32, int16, uint8, bool, factor, string, date, timestamp). */
  storage: ColumnType;
  levels?: string[];
  ordered?: boolean;
  low?: number;
  high?: number;
  description?: string;
  valueLabels?: Record<string, string>;
}

export type RxVarInfo = Record<string, RxVarInfoEntry> & { toString(): string };

export function varTypeOf(t: ColumnType): RxVarType {
  switch (t) {
    case 'float64':
    case 'float32':
      return 'numeric';
    case 'int32':
    case 'int16':
    case 'uint8':
      return 'integer';
    case 'bool':
      return 'logical';
    case 'factor':
      return 'factor';
    case 'string':
      return 'character';
    case 'date':
      return 'Date';
    case 'timestamp':
      return 'POSIXct';
  }
}

const NUMERIC_LIKE: ColumnType[] = ['float64', 'float32', 'int32', 'int16', 'uint8', 'bool', 'date', 'timestamp'];

/** One pass: min/max of numeric-like columns, levels seen in factor/string columns. */
export async function scanColumns(
  source: DataSource,
  columns: ColumnInfo[],
  want: { lowHigh?: boolean; levels?: boolean },
): Promise<{ low: Record<string, number>; high: Record<string, number>; levels: Record<string, string[]> }> {
  const low: Record<string, number> = {};
  const high: Record<string, number> = {};
  const levels: Record<string, string[]> = {};
  const numCols = want.lowHigh ? columns.filter((c) => NUMERIC_LIKE.includes(c.type)).map((c) => c.name) : [];
  const lvCols = want.levels ? columns.filter((c) => c.type === 'factor' || c.type === 'string').map((c) => c.name) : [];
  const read = [...numCols, ...lvCols];
  if (read.length === 0) return { low, high, levels };
  const seen = new Map<string, Set<string>>(lvCols.map((n) => [n, new Set()]));
  for await (const ch of source.chunks({ columns: read })) {
    for (const n of numCols) {
      const c = ch.columns[n]!;
      const d = c.data as Float64Array;
      let lo = low[n] ?? Number.POSITIVE_INFINITY;
      let hi = high[n] ?? Number.NEGATIVE_INFINITY;
      for (let i = 0; i < ch.numRows; i++) {
        if (c.valid && c.valid[i] === 0) continue;
        const x = d[i]!;
        if (x < lo) lo = x;
        if (x > hi) hi = x;
      }
      if (lo <= hi) {
        low[n] = lo;
        high[n] = hi;
      }
    }
    for (const n of lvCols) {
      const c = ch.columns[n]!;
      const s = seen.get(n)!;
      if (c.type === 'factor') {
        const d = c.data as Int32Array;
        for (let i = 0; i < ch.numRows; i++) if (!c.valid || c.valid[i]) s.add(c.levels![d[i]!]!);
      } else for (const x of c.data as Array<string | null>) if (x !== null) s.add(x);
    }
  }
  for (const [n, s] of seen) levels[n] = [...s];
  return { low, high, levels };
}

function fmtNum(x: number): string {
  if (Number.isInteger(x)) return String(x);
  return String(Number(x.toPrecision(6)));
}

function varInfoLines(info: Record<string, RxVarInfoEntry>): string[] {
  const lines: string[] = [];
  Object.entries(info).forEach(([name, v], j) => {
    let line = `Var ${j + 1}: ${name}`;
    if (v.description) line += `, ${v.description}`;
    if (v.varType === 'factor') {
      lines.push(line);
      const lv = v.levels ?? [];
      lines.push(`       ${lv.length} factor levels: ${lv.join(' ')}`);
      return;
    }
    line += `, Type: ${v.varType}`;
    const defaultStorage = v.varType === 'numeric' ? 'float64' : v.varType === 'integer' ? 'int32' : undefined;
    if (defaultStorage && v.storage !== defaultStorage) line += `, Storage: ${v.storage}`;
    if (v.low !== undefined && v.high !== undefined) {
      if (v.varType === 'Date') line += `, Low/High: (${new Date(v.low * 86_400_000).toISOString().slice(0, 10)}, ${new Date(v.high * 86_400_000).toISOString().slice(0, 10)})`;
      else if (v.varType === 'POSIXct') line += `, Low/High: (${new Date(v.low).toISOString()}, ${new Date(v.high).toISOString()})`;
      else line += `, Low/High: (${fmtNum(v.low)}, ${fmtNum(v.high)})`;
    }
    lines.push(line);
  });
  return lines;
}

function withToString<T extends object>(o: T, f: () => string): T & { toString(): string } {
  Object.defineProperty(o, 'toString', { value: f, enumerable: false });
  return o as T & { toString(): string };
}

export interface RxGetVarInfoOptions {
  /** Compute Low/High of numeric columns when the file does not declare them (default true). */
  computeInfo?: boolean;
  varsToKeep?: string[];
}

export async function rxGetVarInfo(data: InData, opts: RxGetVarInfoOptions = {}): Promise<RxVarInfo> {
  const source = resolveInput(data, 'data');
  const schema = await source.schema();
  checkVars(schema, opts.varsToKeep, 'varsToKeep', source.describe?.() ?? 'the data');
  const cols = opts.varsToKeep ? schema.columns.filter((c) => opts.varsToKeep!.includes(c.name)) : schema.columns;
  const needLevels = cols.filter((c) => c.type === 'factor' && !c.levels);
  const needLowHigh = opts.computeInfo === false ? [] : cols.filter((c) => NUMERIC_LIKE.includes(c.type) && (c.low === undefined || c.high === undefined));
  const scanned = await scanColumns(source, [...needLowHigh, ...needLevels], { lowHigh: needLowHigh.length > 0, levels: needLevels.length > 0 });
  const out: Record<string, RxVarInfoEntry> = {};
  for (const c of cols) {
    const e: RxVarInfoEntry = { varType: varTypeOf(c.type), storage: c.type };
    if (c.type === 'factor') {
      e.levels = c.levels ?? scanned.levels[c.name] ?? [];
      if (c.ordered) e.ordered = true;
    }
    const lo = c.low ?? scanned.low[c.name];
    const hi = c.high ?? scanned.high[c.name];
    if (lo !== undefined) e.low = lo;
    if (hi !== undefined) e.high = hi;
    if (c.description !== undefined) e.description = c.description;
    if (c.valueLabels !== undefined) e.valueLabels = c.valueLabels;
    out[c.name] = e;
  }
  return withToString(out, () => varInfoLines(out).join('\n')) as RxVarInfo;
}

export async function rxGetVarNames(data: InData): Promise<string[]> {
  return (await resolveInput(data, 'data').schema()).columns.map((c) => c.name);
}

export interface RxGetInfoOptions {
  getVarInfo?: boolean;
  /** Rows of data to include (default 0). */
  numRows?: number;
  /** 1-based first row of the included data (default 1). */
  startRow?: number;
  getBlockSizes?: boolean;
  computeInfo?: boolean;
}

export interface RxGetInfoResult {
  fileName?: string;
  source: string;
  kind: string;
  numRows: number;
  numVars: number;
  numBlocks?: number;
  rowsPerBlock?: number[];
  varInfo?: RxVarInfo;
  data?: RxMemoryData;
  dataStartRow?: number;
  toString(): string;
}

function formatRows(m: RxMemoryData, firstRow: number): string {
  const header = ['', ...m.names];
  const rows: string[][] = [];
  for (let i = 0; i < m.length; i++) {
    rows.push([
      String(firstRow + i),
      ...m.names.map((n) => {
        const c = m.columns[n]!;
        if (c.valid && c.valid[i] === 0) return c.type === 'factor' || c.type === 'string' ? '<NA>' : 'NA';
        const v = (c.data as ArrayLike<unknown>)[i];
        if (c.type === 'factor') return c.levels![v as number]!;
        if (c.type === 'string') return (v as string | null) ?? '<NA>';
        if (c.type === 'bool') return v ? 'TRUE' : 'FALSE';
        if (c.type === 'date') return new Date((v as number) * 86_400_000).toISOString().slice(0, 10);
        if (c.type === 'timestamp') return Number.isNaN(v) ? 'NA' : new Date(v as number).toISOString().replace('T', ' ').replace('.000Z', '');
        return Number.isNaN(v) ? 'NA' : fmtNum(v as number);
      }),
    ]);
  }
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j]!.length)));
  const pad = (r: string[]) => r.map((s, j) => s.padStart(widths[j]!)).join(' ');
  return [pad(header), ...rows.map(pad)].join('\n');
}

export async function rxGetInfo(data: InData, opts: RxGetInfoOptions = {}): Promise<RxGetInfoResult> {
  if (typeof opts !== 'object' || opts === null) throw argError('an options object', 'rxGetInfo options', opts);
  const source = resolveInput(data, 'data');
  const schema = await source.schema();
  const numRows = schema.numRows ?? (await source.numRows?.()) ?? (await countRows(source));
  const file = (source as { file?: string }).file;
  const res: RxGetInfoResult = {
    ...(file ? { fileName: file } : {}),
    source: source.describe?.() ?? source.kind,
    kind: source.kind,
    numRows,
    numVars: schema.columns.length,
    toString: () => '',
  };
  if (source instanceof RxXdfData) {
    const sizes = await source.blockSizes();
    res.numBlocks = sizes.length;
    if (opts.getBlockSizes) res.rowsPerBlock = sizes;
  }
  if (opts.getVarInfo) res.varInfo = await rxGetVarInfo(source, { ...(opts.computeInfo !== undefined ? { computeInfo: opts.computeInfo } : {}) });
  const want = opts.numRows === undefined ? 0 : expectNumber(opts.numRows, 'numRows', { min: 0, integer: true });
  const start = opts.startRow === undefined ? 1 : expectNumber(opts.startRow, 'startRow', { min: 1, integer: true });
  if (want > 0) {
    const chunks = [];
    for await (const ch of source.chunks({ startRow: start - 1, numRows: want })) chunks.push(ch);
    res.data = new RxMemoryData(concatChunks(schema.columns, chunks));
    res.dataStartRow = start;
  }
  Object.defineProperty(res, 'toString', {
    enumerable: false,
    value: () => {
      const lines: string[] = [];
      lines.push(res.fileName ? `File name: ${res.fileName}` : `Data source: ${res.source}`);
      lines.push(`Number of observations: ${res.numRows}`);
      lines.push(`Number of variables: ${res.numVars}`);
      if (res.numBlocks !== undefined) lines.push(`Number of blocks: ${res.numBlocks}`);
      if (res.rowsPerBlock) lines.push(`Rows per block: ${res.rowsPerBlock.join(' ')}`);
      if (res.varInfo) {
        lines.push('Variable information: ');
        lines.push(...varInfoLines(res.varInfo));
      }
      if (res.data) {
        lines.push(`Data (${res.data.length} rows starting with row ${res.dataStartRow}):`);
        lines.push(formatRows(res.data, res.dataStartRow!));
      }
      return lines.join('\n');
    },
  });
  return res;
}

async function countRows(source: DataSource): Promise<number> {
  const s = await source.schema();
  let n = 0;
  for await (const ch of source.chunks({ columns: s.columns.slice(0, 1).map((c) => c.name) })) n += ch.numRows;
  return n;
}

export interface RxSetVarInfoEntry {
  newName?: string;
  description?: string;
  low?: number;
  high?: number;
  /** New labels for a factor's levels (same order; more labels append unused levels). */
  levels?: string[];
  valueLabels?: Record<string, string>;
}

function applyVarInfo(info: ColumnInfo, v: RxSetVarInfoEntry | undefined): ColumnInfo {
  if (!v) return info;
  const out: ColumnInfo = { ...info };
  if (v.newName !== undefined) out.name = v.newName;
  if (v.description !== undefined) out.description = v.description;
  if (v.low !== undefined) out.low = v.low;
  if (v.high !== undefined) out.high = v.high;
  if (v.valueLabels !== undefined) out.valueLabels = v.valueLabels;
  if (v.levels !== undefined) {
    if (info.type !== 'factor') throw new RxError('RX_ARG', `rxSetVarInfo: levels given for "${info.name}", which is not a factor`, { column: info.name });
    out.levels = [...v.levels];
  }
  return out;
}

/**
 * Changes variable information. An xdf file is rewritten in place atomically (data bytes
 * are copied unchanged); an RxMemoryData gives a new RxMemoryData. Returns the data.
 */
export async function rxSetVarInfo(varInfo: Record<string, RxSetVarInfoEntry>, data: InData): Promise<DataSource> {
  if (typeof varInfo !== 'object' || varInfo === null) throw argError('an object of variable information', 'varInfo', varInfo);
  const source = resolveInput(data, 'data');
  const schema: Schema = await source.schema();
  checkVars(schema, Object.keys(varInfo), 'varInfo', source.describe?.() ?? 'the data');
  if (source instanceof RxXdfData) {
    await rewriteXdfMetadata(source.file, (info) => applyVarInfo(info, varInfo[info.name]));
    return source;
  }
  if (source instanceof RxMemoryData) {
    const cols: Record<string, Column> = {};
    for (const n of source.names) {
      const c = source.columns[n]!;
      const v = varInfo[n];
      const name = v?.newName ?? n;
      if (name in cols) throw new RxError('RX_SCHEMA', `rxSetVarInfo would give two columns the name "${name}"`, { column: name });
      if (v?.levels) {
        if (c.type !== 'factor') throw new RxError('RX_ARG', `rxSetVarInfo: levels given for "${n}", which is not a factor`, { column: n });
        if (v.levels.length < (c.levels ?? []).length) throw new RxError('RX_ARG', `rxSetVarInfo: factor "${n}" needs at least ${(c.levels ?? []).length} levels`, { column: n });
        cols[name] = { ...c, levels: [...v.levels] };
      } else cols[name] = c;
    }
    return new RxMemoryData(cols);
  }
  throw new RxError('RX_ARG', `rxSetVarInfo changes xdf files and in-memory data; ${source.describe?.() ?? source.kind} is neither (use rxDataStep to write a copy)`);
}

export interface RxReadXdfOptions {
  varsToKeep?: string[];
  varsToDrop?: string[];
  /** 1-based first row. */
  startRow?: number;
  numRows?: number;
}

/** Reads (part of) an xdf file into memory. */
export async function rxReadXdf(file: string | RxXdfData, opts: RxReadXdfOptions = {}): Promise<RxMemoryData> {
  const src = typeof file === 'string' ? new RxXdfData(file) : file;
  if (!(src instanceof RxXdfData)) throw argError('a file path or RxXdfData', 'file', file);
  const schema = await src.schema();
  const where = src.describe();
  checkVars(schema, opts.varsToKeep, 'varsToKeep', where);
  checkVars(schema, opts.varsToDrop, 'varsToDrop', where);
  let cols = schema.columns;
  if (opts.varsToKeep) cols = cols.filter((c) => opts.varsToKeep!.includes(c.name));
  if (opts.varsToDrop) cols = cols.filter((c) => !opts.varsToDrop!.includes(c.name));
  const start = opts.startRow === undefined ? 1 : expectNumber(opts.startRow, 'startRow', { min: 1, integer: true });
  const range = {
    startRow: start - 1,
    ...(opts.numRows !== undefined && opts.numRows >= 0 ? { numRows: expectNumber(opts.numRows, 'numRows', { min: 0, integer: true }) } : {}),
  };
  // whole columns with positioned reads straight into their arrays
  const out: Record<string, Column> = {};
  for (const c of cols) out[c.name] = await src.readColumn(c.name, range);
  return new RxMemoryData(out);
}

export interface RxCreateColInfoOptions {
  /** Include Low/High of numeric columns (computed in one pass; default false). */
  includeLowHigh?: boolean;
  /** Only factor columns (default false). */
  factorsOnly?: boolean;
  /** Sort factor levels (default false: keep the data's order). */
  sortLevels?: boolean;
  /** Turn character columns into factors with the levels found (default false). */
  stringsAsFactors?: boolean;
}

export interface CreatedColInfo {
  type: 'numeric' | 'integer' | 'logical' | 'factor' | 'character' | 'Date' | 'POSIXct' | 'float32' | 'int16' | 'uint8';
  levels?: string[];
  low?: number;
  high?: number;
  description?: string;
}

/**
 * colInfo (for RxTextData / rxImport) describing existing data: factor levels as found
 * (so several files can be imported with identical level coding), optional low/high.
 */
export async function rxCreateColInfo(data: InData, opts: RxCreateColInfoOptions = {}): Promise<Record<string, CreatedColInfo>> {
  const source = resolveInput(data, 'data');
  const schema = await source.schema();
  const levelCols = schema.columns.filter((c) => (c.type === 'factor' && !c.levels) || (c.type === 'string' && opts.stringsAsFactors));
  const numCols = opts.includeLowHigh ? schema.columns.filter((c) => NUMERIC_LIKE.includes(c.type)) : [];
  const scanned = await scanColumns(source, [...levelCols, ...numCols], { levels: levelCols.length > 0, lowHigh: numCols.length > 0 });
  const out: Record<string, CreatedColInfo> = {};
  for (const c of schema.columns) {
    const asFactor = c.type === 'factor' || (c.type === 'string' && opts.stringsAsFactors);
    if (opts.factorsOnly && !asFactor) continue;
    const vt = varTypeOf(c.type);
    const type: CreatedColInfo['type'] = asFactor ? 'factor' : c.type === 'float32' || c.type === 'int16' || c.type === 'uint8' ? c.type : vt;
    const e: CreatedColInfo = { type };
    if (asFactor) {
      let lv = [...(c.levels ?? scanned.levels[c.name] ?? [])];
      if (opts.sortLevels) lv = sortLevels(lv);
      e.levels = lv;
    }
    if (opts.includeLowHigh && scanned.low[c.name] !== undefined) {
      e.low = c.low ?? scanned.low[c.name]!;
      e.high = c.high ?? scanned.high[c.name]!;
    }
    if (c.description !== undefined) e.description = c.description;
    out[c.name] = e;
  }
  return out;
}

/** Sorts level labels: numerically when all are numbers, otherwise by code point. */
export function sortLevels(levels: string[]): string[] {
  const allNum = levels.length > 0 && levels.every((l) => l.trim() !== '' && !Number.isNaN(Number(l)));
  return [...levels].sort(allNum ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
