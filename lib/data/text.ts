/**
 * RxTextData: delimited text files (CSV/TSV, optionally gzip-compressed) as a DataSource.
 *
 * The hot loop is native (native/src/csv): the file is read in large blocks with positioned
 * reads (or a streamed gunzip), each block is parsed by several threads into per-thread
 * buffers that live as long as the parser (no allocation per block), and the rows are then
 * copied once, straight into the chunk's own typed arrays (allocated once per chunk; the
 * partial last row is carried into the next block). Strings come back as bytes + offsets,
 * dictionary-encoded while a column repeats few values, so JS makes one string per distinct
 * value (or per row, as substrings of one decode when ASCII). Peak memory ~ block size +
 * chunk size. Line breaks: LF, CRLF or a lone CR; blank (whitespace-only) lines are skipped;
 * a row longer than `maxRowBytes` (default 64 MiB) is an RX_PARSE error.
 *
 * Types come from sniffing `rowsToSniff` rows at the start (plus a few rows sampled at ten
 * points through plain files): int -> float -> string widening; all-missing columns are
 * numeric. Values met later that do not fit a column's type (or a factor's declared levels)
 * become missing and are counted per column (`warnings()`), or with `strict: true` raise
 * RxError('RX_PARSE') naming the file, line, column and text.
 *
 * Missing: empty fields and `missingValueString` (default "NA"), after undoing quotes.
 * Encoding: UTF-8 by default; invalid UTF-8 in character/factor values is an RX_PARSE error
 * naming file, line and column (as pandas' encoding_errors='strict'), or with
 * `encodingErrors: 'replace'` the bytes become U+FFFD and are counted (kind 'encoding').
 * `encoding: 'latin1' | 'windows-1252'` reads single-byte files losslessly. Invalid UTF-8 in
 * the header is always an error.
 */
import { RxError } from '../errors.js';
import { CsvBits, CsvKind, type CsvBlockResult, type CsvNativeError, type CsvNativeOptions, type CsvOutColumn, csvNative } from '../native/csv.js';
import { rxOptions } from '../options.js';
import { argError } from '../validate.js';
import { type ByteReader, openBytes, readFully } from './text-io.js';
import { TextWriter } from './text-writer.js';
import type { Chunk, ChunkOptions, ChunkWriter, Column, ColumnInfo, ColumnType, DataSink, DataSource, Schema } from './types.js';

/** RevoScaleR colClasses / colInfo type names (plus rxscale's own ColumnType names). */
export type TextColClass =
  | 'numeric'
  | 'integer'
  | 'character'
  | 'factor'
  | 'logical'
  | 'Date'
  | 'POSIXct'
  | 'float32'
  | 'int16'
  | 'uint8'
  | ColumnType;

export interface TextColInfo {
  type?: TextColClass;
  /** Factor levels as they appear in the file; other values become missing (counted). */
  levels?: string[];
  /** Replacement names for `levels` (same length). */
  newLevels?: string[];
  newName?: string;
  description?: string;
  low?: number;
  high?: number;
}

export interface RxTextDataOptions {
  /** Field delimiter; auto-detected among `,` tab `;` `|` when omitted. */
  delimiter?: string;
  /** Quote character (default '"'); '' disables quoting. */
  quoteMark?: string;
  /** First row holds column names; auto-detected when undefined. */
  firstRowIsColumnNames?: boolean;
  colClasses?: Record<string, TextColClass>;
  colInfo?: Record<string, TextColInfo>;
  /** Missing-value marker(s) besides the empty field (default "NA"). */
  missingValueString?: string | string[];
  /** Sniffed string columns become factors (default false: strings). */
  stringsAsFactors?: boolean;
  rowsPerRead?: number;
  /** Rows used for type sniffing (default 10000). */
  rowsToSniff?: number;
  /** Lines skipped at the start of the file, before any header. */
  rowsToSkip?: number;
  decimalPoint?: string;
  thousandsSeparator?: string;
  /** strptime-like format for Date (and POSIXct when it has %H), e.g. '%Y-%m-%d', '%m/%d/%Y'. */
  dateFormat?: string;
  /** Values that do not fit their column raise RX_PARSE instead of becoming missing. */
  strict?: boolean;
  /**
   * Text encoding of the file: 'utf8' (default), 'latin1' (ISO-8859-1) or 'windows-1252'; the
   * aliases 'utf-8', 'iso-8859-1', 'latin-1' and 'cp1252' are accepted. Strings are UTF-8 once
   * read. Files rxscale writes are always UTF-8.
   */
  encoding?: string;
  /**
   * Invalid UTF-8 in a value (encoding 'utf8'): 'strict' (default) raises RX_PARSE with file,
   * line and column; 'replace' substitutes U+FFFD per bad byte and counts the values in
   * `warnings()` (kind 'encoding').
   */
  encodingErrors?: 'strict' | 'replace';
  /** Bytes read per block (default 16 MiB). */
  blockSize?: number;
  /** Smallest byte range given to one parser thread (default 1 MiB; tests lower it). */
  minBytesPerThread?: number;
  /** Longest row accepted, in bytes (default 64 MiB); a longer one raises RX_PARSE. */
  maxRowBytes?: number;
}

/** A count of values that did not fit their column in the last pass over the file. */
export interface TextReadWarning {
  column: string;
  /** conversion: did not parse as the column type (now missing); level: not a declared
   *  factor level (now missing); encoding: invalid UTF-8 (bytes replaced by U+FFFD). */
  kind: 'conversion' | 'level' | 'encoding';
  count: number;
  /** 1-based line of the first such value. */
  line: number;
  text: string;
}

interface FieldPlan {
  /** Name in the file (header or V1..Vn). */
  fileName: string;
  /** Output name (colInfo newName). */
  name: string;
  type: ColumnType;
  /** Declared file levels (factor); frozen dictionary. */
  fileLevels?: string[];
  /** Output levels for declared factors. */
  levels?: string[];
  description?: string;
  low?: number;
  high?: number;
}

interface Plan {
  fields: FieldPlan[];
  delimiter: string;
  header: boolean;
  /** Decompressed byte offset where data rows begin. */
  dataStart: number;
  /** 1-based line number of the first data byte. */
  dataLine: number;
  gzip: boolean;
  /** True when the whole file fit in the sniff window (row count known). */
  sniffedAll: boolean;
  sniffedRows: number;
}

const SNIFF_BYTES = 8 << 20;
const JUMP_BYTES = 256 << 10;
/** Default cap on one row's size (maxRowBytes). */
const DEFAULT_MAX_ROW_BYTES = 64 << 20;

const CLASS_TO_TYPE: Record<string, ColumnType> = {
  numeric: 'float64',
  double: 'float64',
  integer: 'int32',
  character: 'string',
  factor: 'factor',
  logical: 'bool',
  Date: 'date',
  POSIXct: 'timestamp',
  float32: 'float32',
  int16: 'int16',
  uint8: 'uint8',
  float64: 'float64',
  int32: 'int32',
  bool: 'bool',
  string: 'string',
  date: 'date',
  timestamp: 'timestamp',
};

function classType(c: unknown, what: string): ColumnType {
  const t = typeof c === 'string' ? CLASS_TO_TYPE[c] : undefined;
  if (!t) throw argError(`one of ${Object.keys(CLASS_TO_TYPE).map((k) => `'${k}'`).join(', ')}`, what, c);
  return t;
}

function oneChar(v: unknown, what: string, allowEmpty = false): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length > 1 || (!allowEmpty && v.length === 0) || (v.length === 1 && v.charCodeAt(0) > 127))
    throw argError(allowEmpty ? 'a single ASCII character or empty string' : 'a single ASCII character', what, v);
  return v;
}

function posInt(v: unknown, what: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw argError(`integer >= ${min}`, what, v);
  return v;
}

function nativeError(file: string, e: CsvNativeError, names: string[] | undefined, line?: number): RxError {
  const col = e.column >= 0 && names ? names[e.column] : undefined;
  const where = `${file}:${line ?? e.line}${col !== undefined ? `, column "${col}"` : ''}`;
  const text = e.text ? ` (text: ${JSON.stringify(e.text)})` : '';
  return new RxError(e.code, `${where}: ${e.message}${text}`, {
    file,
    row: line ?? e.line,
    ...(col !== undefined ? { column: col } : {}),
    text: e.text,
  });
}

/** Offset of the last byte of the line break ending the line at `from` ('\n', '\r\n' or a lone '\r'), or -1. */
function lineEnd(b: Buffer, from: number): number {
  for (let i = from; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0x0a) return i;
    if (c === 0x0d) return b[i + 1] === 0x0a ? i + 1 : i;
  }
  return -1;
}

function kindOf(t: ColumnType): number {
  return CsvKind[t === 'bool' ? 'bool' : t];
}

export class RxTextData implements DataSource, DataSink {
  readonly kind = 'text';
  readonly file: string;
  readonly options: Readonly<RxTextDataOptions>;
  private plan?: Promise<Plan>;
  private lastWarnings: TextReadWarning[] = [];
  private knownRows?: number;

  constructor(file: string, options: RxTextDataOptions = {}) {
    if (typeof file !== 'string' || file.length === 0) throw argError('a file path string', 'file', file);
    if (typeof options !== 'object' || options === null) throw argError('an options object', 'options', options);
    const o = options;
    oneChar(o.delimiter, 'delimiter');
    oneChar(o.quoteMark, 'quoteMark', true);
    oneChar(o.decimalPoint, 'decimalPoint');
    oneChar(o.thousandsSeparator, 'thousandsSeparator');
    posInt(o.rowsPerRead, 'rowsPerRead', 1);
    posInt(o.rowsToSniff, 'rowsToSniff', 1);
    posInt(o.rowsToSkip, 'rowsToSkip', 0);
    posInt(o.blockSize, 'blockSize', 16);
    posInt(o.minBytesPerThread, 'minBytesPerThread', 1);
    posInt(o.maxRowBytes, 'maxRowBytes', 16);
    if (o.firstRowIsColumnNames !== undefined && typeof o.firstRowIsColumnNames !== 'boolean')
      throw argError('boolean', 'firstRowIsColumnNames', o.firstRowIsColumnNames);
    if (o.stringsAsFactors !== undefined && typeof o.stringsAsFactors !== 'boolean') throw argError('boolean', 'stringsAsFactors', o.stringsAsFactors);
    if (o.strict !== undefined && typeof o.strict !== 'boolean') throw argError('boolean', 'strict', o.strict);
    if (o.encodingErrors !== undefined && o.encodingErrors !== 'strict' && o.encodingErrors !== 'replace')
      throw argError("'strict' or 'replace'", 'encodingErrors', o.encodingErrors);
    if (o.encoding !== undefined && textEncoding(o.encoding) === undefined) throw argError("'utf8', 'latin1' or 'windows-1252'", 'encoding', o.encoding);
    if (o.dateFormat !== undefined && typeof o.dateFormat !== 'string') throw argError('string', 'dateFormat', o.dateFormat);
    const mv = o.missingValueString;
    if (mv !== undefined && typeof mv !== 'string' && !(Array.isArray(mv) && mv.every((x) => typeof x === 'string')))
      throw argError('string or array of strings', 'missingValueString', mv);
    if (o.decimalPoint !== undefined && o.decimalPoint === o.delimiter) throw argError('a decimalPoint different from the delimiter', 'decimalPoint', o.decimalPoint);
    for (const [k, v] of Object.entries(o.colClasses ?? {})) classType(v, `colClasses.${k}`);
    for (const [k, v] of Object.entries(o.colInfo ?? {})) {
      if (typeof v !== 'object' || v === null) throw argError('an object', `colInfo.${k}`, v);
      if (v.type !== undefined) classType(v.type, `colInfo.${k}.type`);
      if (v.levels !== undefined && (!Array.isArray(v.levels) || v.levels.some((x) => typeof x !== 'string')))
        throw argError('array of strings', `colInfo.${k}.levels`, v.levels);
      if (v.newLevels !== undefined) {
        if (!Array.isArray(v.newLevels) || v.newLevels.some((x) => typeof x !== 'string')) throw argError('array of strings', `colInfo.${k}.newLevels`, v.newLevels);
        if (!v.levels || v.levels.length !== v.newLevels.length)
          throw argError(`newLevels of the same length as levels (${v.levels?.length ?? 0})`, `colInfo.${k}.newLevels`, v.newLevels);
      }
      if (v.newName !== undefined && (typeof v.newName !== 'string' || v.newName === '')) throw argError('a non-empty string', `colInfo.${k}.newName`, v.newName);
    }
    this.file = file;
    this.options = { ...o };
  }

  describe(): string {
    return `text file ${this.file}`;
  }

  /**
   * Writes CSV (or TSV for a .tsv name) with this source's delimiter, quoteMark,
   * missingValueString (the first), decimalPoint and firstRowIsColumnNames (default: a
   * header). See text-writer.ts for the formats; output appears at close (atomic rename).
   */
  async open(schema: Schema, opts: { overwrite?: boolean; append?: 'none' | 'rows' } = {}): Promise<ChunkWriter> {
    const o = this.options;
    // written text is UTF-8; a single-byte encoding cannot hold every string, so it is refused
    if (o.encoding !== undefined && textEncoding(o.encoding) !== 'utf8') throw argError("'utf8' (text files are written as UTF-8)", 'encoding', o.encoding);
    const mv = o.missingValueString ?? 'NA';
    return TextWriter.open(
      this.file,
      schema,
      {
        delimiter: o.delimiter ?? (/\.tsv(\.gz)?$/i.test(this.file) ? '\t' : ','),
        quote: o.quoteMark ?? '"',
        missing: (Array.isArray(mv) ? mv[0] : mv) ?? 'NA',
        decimal: o.decimalPoint ?? '.',
        header: o.firstRowIsColumnNames ?? true,
      },
      opts,
      () => {
        // the file changed: sniff again on the next read
        this.plan = undefined;
        this.knownRows = undefined;
      },
    );
  }

  /** Per-column counts of values that did not fit (last pass over the data). */
  warnings(): TextReadWarning[] {
    return this.lastWarnings.map((w) => ({ ...w }));
  }

  async numRows(): Promise<number | undefined> {
    if (this.knownRows !== undefined) return this.knownRows;
    const plan = await this.getPlan();
    return plan.sniffedAll ? plan.sniffedRows : undefined;
  }

  async schema(): Promise<Schema> {
    const plan = await this.getPlan();
    const columns: ColumnInfo[] = plan.fields.map((f) => {
      const c: ColumnInfo = { name: f.name, type: f.type };
      if (f.levels) c.levels = [...f.levels];
      if (f.description !== undefined) c.description = f.description;
      if (f.low !== undefined) c.low = f.low;
      if (f.high !== undefined) c.high = f.high;
      return c;
    });
    const s: Schema = {
      columns,
      metadata: { format: 'text', delimiter: plan.delimiter, header: String(plan.header), compression: plan.gzip ? 'gzip' : 'none' },
    };
    const n = await this.numRows();
    if (n !== undefined) s.numRows = n;
    return s;
  }

  private nativeOptions(delimiter: string): CsvNativeOptions {
    const o = this.options;
    const mv = o.missingValueString ?? 'NA';
    const df = o.dateFormat;
    const n: CsvNativeOptions = {
      delimiter,
      quote: o.quoteMark ?? '"',
      decimal: o.decimalPoint ?? '.',
      thousands: o.thousandsSeparator ?? '',
      na: Array.isArray(mv) ? mv : [mv],
      strict: o.strict ?? false,
      encoding: textEncoding(o.encoding ?? 'utf8'),
      encodingErrors: o.encodingErrors ?? 'strict',
    };
    if (df !== undefined) n.dateFormat = df;
    if (df !== undefined && /%H/.test(df)) n.timeFormat = df;
    if (o.minBytesPerThread !== undefined) n.minBytesPerThread = o.minBytesPerThread;
    return n;
  }

  private getPlan(): Promise<Plan> {
    if (!this.plan) {
      this.plan = this.sniffPlan();
      this.plan.catch(() => {
        this.plan = undefined;
      });
    }
    return this.plan;
  }

  private async sniffPlan(): Promise<Plan> {
    const o = this.options;
    const nat = csvNative();
    const reader = await openBytes(this.file);
    let head: Buffer;
    let final: boolean;
    const gzip = reader.gzip;
    try {
      head = Buffer.allocUnsafe(SNIFF_BYTES);
      const n = await readFully(reader, head, 0, SNIFF_BYTES);
      head = head.subarray(0, n);
      final = n < SNIFF_BYTES || (await readFully(reader, Buffer.alloc(1), 0, 1)) === 0;
    } finally {
      await reader.close();
    }
    let off = 0;
    if (head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) off = 3;
    const skip = o.rowsToSkip ?? 0;
    for (let i = 0; i < skip && off < head.length; i++) {
      const nl = lineEnd(head, off);
      if (nl < 0) {
        if (!final) throw new RxError('RX_PARSE', `${this.file}: rowsToSkip=${skip} lines do not fit in the first ${SNIFF_BYTES} bytes`, { file: this.file });
        off = head.length;
      } else off = nl + 1;
    }
    const body = head.subarray(off);
    if (body.length === 0) {
      throw new RxError('RX_PARSE', `${this.file}:${skip + 1}: the file is empty (no header and no data rows)`, { file: this.file, row: skip + 1 });
    }
    const quote = o.quoteMark ?? '"';
    const delimiter = o.delimiter ?? nat.csvDetectDelimiter(body.subarray(0, 1 << 16), quote);
    const nopts = this.nativeOptions(delimiter);
    const maxRows = (o.rowsToSniff ?? 10_000) + 1;
    const sn = nat.csvSniff(body, final, nopts, maxRows);
    if (sn.error) throw nativeError(this.file, sn.error, undefined, sn.error.line + skip);
    if (sn.rows === 0) {
      if (!final) throw new RxError('RX_PARSE', `${this.file}:${skip + 1}: the first row is longer than ${SNIFF_BYTES} bytes`, { file: this.file, row: skip + 1 });
      throw new RxError('RX_PARSE', `${this.file}:${skip + 1}: the file is empty (no header and no data rows)`, { file: this.file, row: skip + 1 });
    }
    const ncol = sn.firstRow.length;
    // header: explicit, or (like data.table::fread) when every first-row field is a
    // non-missing value that is not a number or logical
    let header: boolean;
    if (o.firstRowIsColumnNames !== undefined) header = o.firstRowIsColumnNames;
    else {
      header = true;
      for (let j = 0; j < ncol; j++) {
        const b = sn.firstRowBits[j]!;
        if (sn.firstRow[j] === '') continue; // an unnamed column (e.g. R's row names)
        if (b & (CsvBits.missing | CsvBits.float | CsvBits.bool | CsvBits.int)) header = false;
      }
      // Columns whose sniffed values are all strings too: a header only if its text is
      // never seen as a value format of dates the user declared.
      if (header && sn.rows > 1 && o.dateFormat) {
        for (let j = 0; j < ncol; j++) if (sn.firstRowBits[j]! & CsvBits.date) header = false;
      }
    }
    const bits = Uint32Array.from(sn.bits);
    const nonMissing = Float64Array.from(sn.nonMissing);
    if (!header) {
      for (let j = 0; j < ncol; j++) {
        const fb = sn.firstRowBits[j]!;
        if (!(fb & CsvBits.missing)) {
          bits[j] = bits[j]! & fb;
          nonMissing[j] = nonMissing[j]! + 1;
        }
      }
    }
    const sniffedAll = final && sn.rows < maxRows;
    // jump samples through the rest of the file (fread-style), to see later value formats
    if (!sniffedAll) await this.sniffJumps(nopts, bits, nonMissing, gzip ? body : undefined);
    const fileNames = header ? sn.firstRow.map((n, j) => (n === '' ? `V${j + 1}` : n)) : sn.firstRow.map((_, j) => `V${j + 1}`);
    const fields = this.buildFields(fileNames, bits, nonMissing);
    const seen = new Map<string, number>();
    for (const [j, f] of fields.entries()) {
      if (seen.has(f.name))
        throw new RxError('RX_SCHEMA', `${this.file}: duplicate column name "${f.name}" (columns ${seen.get(f.name)! + 1} and ${j + 1})`, {
          file: this.file,
          row: skip + 1,
          column: f.name,
        });
      seen.set(f.name, j);
    }
    const known = new Set(fileNames);
    for (const k of [...Object.keys(o.colClasses ?? {}), ...Object.keys(o.colInfo ?? {})]) {
      if (!known.has(k))
        throw new RxError('RX_SCHEMA', `${this.file}: colClasses/colInfo name "${k}" is not a column (columns: ${fileNames.join(', ')})`, { file: this.file, column: k });
    }
    const dataStart = off + (header ? sn.firstRowEnd : 0);
    const dataLine = skip + 1 + (header ? sn.firstRowNewlines : 0);
    return {
      fields,
      delimiter,
      header,
      dataStart,
      dataLine,
      gzip,
      sniffedAll,
      sniffedRows: header ? sn.rows - 1 : sn.rows,
    };
  }

  /** Samples 100 rows at each of ten points spread through the file (or through `inMemory`). */
  private async sniffJumps(nopts: CsvNativeOptions, bits: Uint32Array, nonMissing: Float64Array, inMemory?: Buffer): Promise<void> {
    const nat = csvNative();
    const sample = (chunk: Buffer) => {
      const nl = chunk.indexOf(0x0a);
      // a jump may land inside a quoted field: rows with the wrong field count are ignored
      if (nl >= 0) nat.csvSniffMore(chunk.subarray(nl + 1), nopts, 100, bits, nonMissing);
    };
    if (inMemory) {
      for (let k = 1; k <= 10; k++) {
        const pos = Math.floor((inMemory.length * k) / 11);
        sample(inMemory.subarray(pos, Math.min(inMemory.length, pos + JUMP_BYTES)));
      }
      return;
    }
    const reader = await openBytes(this.file);
    try {
      if (!reader.readAt) return;
      const size = reader.fileSize;
      const buf = Buffer.allocUnsafe(JUMP_BYTES);
      for (let k = 1; k <= 10; k++) {
        const pos = Math.floor((size * k) / 11);
        const n = await reader.readAt(buf, 0, JUMP_BYTES, pos);
        sample(buf.subarray(0, n));
      }
    } finally {
      await reader.close();
    }
  }

  private buildFields(fileNames: string[], bits: Uint32Array, nonMissing: Float64Array): FieldPlan[] {
    const o = this.options;
    return fileNames.map((fileName, j) => {
      const info = o.colInfo?.[fileName];
      const cls = info?.type ?? o.colClasses?.[fileName];
      let type: ColumnType;
      if (cls !== undefined) type = classType(cls, `type of column ${fileName}`);
      else if (info?.levels) type = 'factor';
      else {
        const b = bits[j]!;
        if (nonMissing[j] === 0) type = 'float64';
        else if (b & CsvBits.int) type = 'int32';
        else if (b & CsvBits.float) type = 'float64';
        else if (b & CsvBits.bool) type = 'bool';
        else if (o.dateFormat && b & CsvBits.time && /%H/.test(o.dateFormat)) type = 'timestamp';
        else if (o.dateFormat && b & CsvBits.date) type = 'date';
        else type = o.stringsAsFactors ? 'factor' : 'string';
      }
      const f: FieldPlan = { fileName, name: info?.newName ?? fileName, type };
      if (type === 'factor' && info?.levels) {
        f.fileLevels = [...info.levels];
        f.levels = [...(info.newLevels ?? info.levels)];
      }
      if (info?.description !== undefined) f.description = info.description;
      if (info?.low !== undefined) f.low = info.low;
      if (info?.high !== undefined) f.high = info.high;
      return f;
    });
  }

  async *chunks(opts: ChunkOptions = {}): AsyncIterable<Chunk> {
    const plan = await this.getPlan();
    const byName = new Map(plan.fields.map((f, j) => [f.name, j]));
    const names = opts.columns ?? plan.fields.map((f) => f.name);
    const want: number[] = [];
    for (const n of names) {
      const j = byName.get(n);
      if (j === undefined) throw new RxError('RX_SCHEMA', `Unknown column "${n}" in ${this.describe()}`, { file: this.file, column: n });
      want.push(j);
    }
    const rowsPerRead = Math.max(1, opts.rowsPerRead ?? this.options.rowsPerRead ?? rxOptions().rowsPerRead);
    const startRow = Math.max(0, opts.startRow ?? 0);
    const limit = opts.numRows !== undefined ? Math.max(0, opts.numRows) : Number.POSITIVE_INFINITY;
    const fullPass = startRow === 0 && limit === Number.POSITIVE_INFINITY;
    const kinds = new Int32Array(plan.fields.length);
    const levelsIn: Array<string[] | null> = plan.fields.map(() => null);
    for (const j of want) {
      kinds[j] = kindOf(plan.fields[j]!.type);
      if (plan.fields[j]!.fileLevels) levelsIn[j] = plan.fields[j]!.fileLevels!;
    }
    const fileNames = plan.fields.map((f) => f.name);
    const nat = csvNative();
    const parser = nat.csvCreateParser(this.nativeOptions(plan.delimiter), kinds, levelsIn);
    // factor level lists: master (grows) and the snapshot handed to chunks
    const master = new Map<number, string[]>();
    const snapshot = new Map<number, string[]>();
    for (const j of want) {
      const f = plan.fields[j]!;
      if (f.type === 'factor') {
        master.set(j, f.levels ? [...f.levels] : []);
        snapshot.set(j, f.levels ? [...f.levels] : []);
      }
    }
    const warn = new Map<string, TextReadWarning>();
    this.lastWarnings = [];
    const blockSize = this.options.blockSize ?? 16 << 20;
    const maxRowBytes = this.options.maxRowBytes ?? DEFAULT_MAX_ROW_BYTES;
    let buf = Buffer.allocUnsafe(Math.min(blockSize, Math.max(16, maxRowBytes)));
    let filled = 0;
    let eof = false;
    let line = plan.dataLine;
    let rowIndex = 0; // rows read so far (file order)
    let bytesDone = 0; // data bytes consumed so far
    const knownTotal = this.knownRows ?? (plan.sniffedAll ? plan.sniffedRows : undefined);
    const reader: ByteReader = await openBytes(this.file, plan.dataStart);
    const dataBytes = reader.gzip ? undefined : reader.fileSize - plan.dataStart;
    let completed = false;

    const fill = async () => {
      if (!eof && filled < buf.length) {
        const n = await readFully(reader, buf, filled, buf.length - filled);
        filled += n;
        if (filled < buf.length) eof = true;
      }
    };
    const note = (res: CsvBlockResult) => {
      for (const j of want) {
        const c = res.columns![j]!;
        const f = plan.fields[j]!;
        if (c.conflicts > 0) {
          const kind = f.fileLevels ? 'level' : 'conversion';
          const w = warn.get(`${kind}:${j}`);
          if (w) w.count += c.conflicts;
          else warn.set(`${kind}:${j}`, { column: f.name, kind, count: c.conflicts, line: c.conflictLine ?? 0, text: c.conflictText ?? '' });
        }
        if (c.badUtf8) {
          const w = warn.get(`encoding:${j}`);
          if (w) w.count += c.badUtf8;
          else warn.set(`encoding:${j}`, { column: f.name, kind: 'encoding', count: c.badUtf8, line: c.badUtf8Line ?? 0, text: c.badUtf8Text ?? '' });
        }
        if (c.newLevels?.length) {
          const m = master.get(j)!;
          for (const l of c.newLevels) m.push(l);
        }
      }
    };
    // Parses up to maxRows rows into `outs` at `offset` (null: discard). Returns the block
    // result (rows > 0), or null at the end of the data.
    const step = async (maxRows: number, outs: Array<CsvOutColumn | null> | null, offset: number): Promise<CsvBlockResult | null> => {
      let full = false; // parse all buffered bytes (a row was longer than the estimate)
      for (;;) {
        if (opts.signal?.aborted) throw new RxError('RX_CANCELLED', `reading ${this.file} was cancelled`, { file: this.file });
        await fill();
        if (filled === 0 && eof) return null;
        // bytes for about maxRows rows (fewer bytes parsed past the chunk's end)
        let len = filled;
        if (!full && rowIndex > 0 && bytesDone > 0) len = Math.min(filled, Math.ceil((maxRows * bytesDone * 1.1) / rowIndex) + 4096);
        const final = eof && len === filled;
        const res = await nat.csvParseBlock(parser, buf, len, final, line, maxRows, outs, offset);
        if (res.error) throw nativeError(this.file, res.error, fileNames);
        line += res.newlines;
        bytesDone += res.consumed;
        const rest = filled - res.consumed;
        if (rest > 0 && res.consumed > 0) buf.copyWithin(0, res.consumed, filled);
        filled = rest;
        if (res.rows > 0) {
          rowIndex += res.rows;
          note(res);
          return res;
        }
        if (res.consumed > 0) continue; // blank lines only
        if (len < filled) {
          full = true;
          continue;
        }
        if (final) return null;
        if (buf.length >= maxRowBytes)
          throw new RxError('RX_PARSE', `${this.file}:${line}: a row is longer than maxRowBytes (${maxRowBytes} bytes; an unterminated quote?)`, {
            file: this.file,
            row: line,
          });
        const bigger = Buffer.allocUnsafe(Math.min(maxRowBytes, buf.length * 2));
        buf.copy(bigger, 0, 0, filled);
        buf = bigger;
      }
    };

    // Builds the next chunk (null at the end). The generator starts building chunk i+1
    // before it yields chunk i, so parsing (native threads) overlaps the consumer's work on
    // chunk i; at most two chunks are in memory.
    let planned = 0; // rows of the chunks built so far
    const buildChunk = async (): Promise<{ chunk: Chunk; done: boolean } | null> => {
      if (planned >= limit) return null;
      const target = Math.min(rowsPerRead, limit - planned);
      // rows to allocate: the target, or fewer near the end of a file of known size
      let cap = target;
      if (knownTotal !== undefined) cap = Math.max(1, Math.min(target, knownTotal - rowIndex));
      else if (dataBytes !== undefined && rowIndex > 0) {
        const est = Math.ceil(((dataBytes - bytesDone) * rowIndex * 1.2) / bytesDone) + 1024;
        cap = Math.max(1, Math.min(target, est));
      }
      let cols = want.map((j) => allocColumn(plan.fields[j]!.type, cap));
      const outs: Array<CsvOutColumn | null> = plan.fields.map(() => null);
      const strParts: StringPart[][] = want.map(() => []);
      const anyMissing = want.map(() => false);
      let k = 0;
      for (;;) {
        if (k === cap) {
          if (cap === target || (eof && filled === 0)) break;
          // the estimate was short: grow the arrays toward the target
          const grown = Math.min(target, cap * 2 + 1024);
          cols = cols.map((c) => growColumn(c, grown));
          cap = grown;
        }
        for (let i = 0; i < want.length; i++) outs[want[i]!] = cols[i]!;
        const res = await step(cap - k, outs, k);
        if (!res) break;
        for (let i = 0; i < want.length; i++) {
          const c = res.columns![want[i]!]!;
          if (c.anyMissing) anyMissing[i] = true;
          if (c.bytes) strParts[i]!.push({ bytes: c.bytes, offsets: c.offsets!, codes: c.codes, ascii: c.ascii === true, at: k, n: res.rows });
        }
        k += res.rows;
      }
      if (k === 0) return null;
      for (const [j, m] of master) if (snapshot.get(j)!.length !== m.length) snapshot.set(j, [...m]);
      const columns: Record<string, Column> = {};
      for (let i = 0; i < want.length; i++) {
        const j = want[i]!;
        const f = plan.fields[j]!;
        const c = cols[i]!;
        const valid = anyMissing[i] ? (k === cap ? c.valid : c.valid.slice(0, k)) : undefined;
        let col: Column;
        if (f.type === 'string') col = { type: 'string', data: decodeStrings(strParts[i]!, c.valid, k) };
        else col = { type: f.type, data: k === cap ? c.data! : c.data!.slice(0, k) };
        if (valid) col.valid = valid;
        if (f.type === 'factor') col.levels = snapshot.get(j) ?? [];
        columns[names[i]!] = col;
      }
      const chunk: Chunk = { numRows: k, startRow: startRow + planned, names: [...names], columns, owned: true };
      planned += k;
      return { chunk, done: k < target || planned >= limit };
    };

    let next: Promise<{ chunk: Chunk; done: boolean } | null> | undefined;
    try {
      // rows before startRow: parsed (levels learnt, like a full pass) but not kept
      while (rowIndex < startRow) {
        if (!(await step(startRow - rowIndex, null, 0))) break;
      }
      next = buildChunk();
      for (;;) {
        const r = await next;
        next = undefined;
        if (!r) break;
        if (!r.done) {
          next = buildChunk();
          next.catch(() => {}); // surfaced when awaited above, after the consumer's turn
        }
        yield r.chunk;
        if (r.done) break;
      }
      completed = true;
    } finally {
      // a consumer that stops early: let the chunk being built finish before closing
      if (next) await next.catch(() => {});
      await reader.close();
      this.lastWarnings = [...warn.values()];
      if (completed && fullPass && opts.columns === undefined) this.knownRows = rowIndex;
      if (completed && this.lastWarnings.length && fullPass) {
        const list = (ws: TextReadWarning[]) => ws.map((w) => `${w.column}: ${w.count}`).join(', ');
        const missing = this.lastWarnings.filter((w) => w.kind !== 'encoding');
        const encoding = this.lastWarnings.filter((w) => w.kind === 'encoding');
        const parts: string[] = [];
        if (missing.length) parts.push(`values that did not fit their column became missing (${list(missing)})`);
        if (encoding.length) parts.push(`invalid UTF-8 bytes were replaced by U+FFFD (${list(encoding)}; set the encoding option if the file is not UTF-8)`);
        process.emitWarning(`${this.file}: ${parts.join('; ')}; see warnings()`, { code: 'RX_TEXT_CONVERSION' });
      }
    }
  }
}

type NumArray = Float64Array | Float32Array | Int32Array | Int16Array | Uint8Array;
interface OutCol {
  data?: NumArray;
  valid: Uint8Array;
}

// Chunk arrays are allocated uninitialised (each its own ArrayBuffer, not pooled): the
// parser writes every row, and a short last chunk is sliced to its rows.
const raw = (bytes: number): ArrayBuffer => Buffer.allocUnsafeSlow(Math.max(1, bytes)).buffer as ArrayBuffer;

function allocColumn(type: ColumnType, n: number): OutCol {
  const valid = new Uint8Array(raw(n), 0, n);
  switch (type) {
    case 'float64':
    case 'timestamp':
      return { data: new Float64Array(raw(n * 8), 0, n), valid };
    case 'float32':
      return { data: new Float32Array(raw(n * 4), 0, n), valid };
    case 'int32':
    case 'date':
    case 'factor':
      return { data: new Int32Array(raw(n * 4), 0, n), valid };
    case 'int16':
      return { data: new Int16Array(raw(n * 2), 0, n), valid };
    case 'uint8':
    case 'bool':
      return { data: new Uint8Array(raw(n), 0, n), valid };
    default:
      return { valid };
  }
}

function growColumn(c: OutCol, n: number): OutCol {
  const valid = new Uint8Array(n);
  valid.set(c.valid);
  if (!c.data) return { valid };
  const data = new (c.data.constructor as { new (n: number): NumArray })(n);
  data.set(c.data as never);
  return { data, valid };
}

interface StringPart {
  bytes: Uint8Array;
  offsets: Int32Array;
  /** Dictionary-encoded part: bytes/offsets hold the distinct values, codes index them. */
  codes?: Int32Array;
  ascii: boolean;
  at: number;
  n: number;
}

/** JS strings for rows [0, n) from the native parts (null where missing). */
function decodeStrings(parts: StringPart[], valid: Uint8Array, n: number): Array<string | null> {
  const out: Array<string | null> = new Array(n);
  for (const p of parts) {
    const b = Buffer.from(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength);
    const off = p.offsets;
    if (p.codes) {
      // one JS string per distinct value, shared by the rows that hold it
      const uniq: string[] = new Array(off.length - 1);
      for (let u = 0; u < uniq.length; u++) uniq[u] = b.toString('utf8', off[u]!, off[u + 1]!);
      const codes = p.codes;
      for (let r = 0, k = p.at; r < p.n; r++, k++) out[k] = valid[k] === 0 ? null : uniq[codes[r]!]!;
    } else if (p.ascii) {
      // one decode per part; values are substrings of it (no per-value native call)
      const all = b.toString('latin1');
      for (let r = 0, k = p.at; r < p.n; r++, k++) out[k] = valid[k] === 0 ? null : all.substring(off[r]!, off[r + 1]!);
    } else {
      for (let r = 0, k = p.at; r < p.n; r++, k++) out[k] = valid[k] === 0 ? null : b.toString('utf8', off[r]!, off[r + 1]!);
    }
  }
  return out;
}

/** The native name of a text encoding option (case-insensitive, with common aliases), or undefined. */
function textEncoding(e: string): CsvNativeOptions['encoding'] {
  const k = typeof e === 'string' ? e.toLowerCase().replace(/[_ ]/g, '-') : '';
  if (k === 'utf8' || k === 'utf-8') return 'utf8';
  if (k === 'latin1' || k === 'latin-1' || k === 'iso-8859-1' || k === 'iso8859-1') return 'latin1';
  if (k === 'windows-1252' || k === 'cp1252' || k === 'windows1252') return 'windows-1252';
  return undefined;
}
