/** Typed mirror of the addon's CSV exports (native/binding/csv.cpp). */
import { addon } from './loader.js';

/** Column kinds understood by the native parser (order matches rx::csv::Kind). */
export const CsvKind = {
  skip: 0,
  float64: 1,
  float32: 2,
  int32: 3,
  int16: 4,
  uint8: 5,
  bool: 6,
  factor: 7,
  string: 8,
  date: 9,
  timestamp: 10,
} as const;
export type CsvKindName = keyof typeof CsvKind;

/** Type bits reported by sniffing (what every non-missing value of a column could be). */
export const CsvBits = { bool: 1, int: 2, float: 4, date: 8, time: 16, missing: 0x80000000 } as const;

export interface CsvNativeOptions {
  delimiter?: string;
  quote?: string;
  decimal?: string;
  thousands?: string;
  na?: string[];
  dateFormat?: string;
  timeFormat?: string;
  strict?: boolean;
  /** Input text encoding (single-byte encodings are transcoded to UTF-8 per field). */
  encoding?: 'utf8' | 'latin1' | 'windows-1252';
  /** Invalid UTF-8 in values: 'strict' (default) is an error, 'replace' substitutes U+FFFD and counts. */
  encodingErrors?: 'strict' | 'replace';
  minBytesPerThread?: number;
}

export interface CsvNativeError {
  code: string;
  message: string;
  line: number;
  /** 0-based field index, -1 when unknown. */
  column: number;
  text: string;
}

export interface CsvSniffResult {
  error?: CsvNativeError;
  firstRow: string[];
  firstRowBits: Uint32Array;
  bits: Uint32Array;
  nonMissing: Float64Array;
  rows: number;
  firstRowEnd: number;
  firstRowNewlines: number;
}

export interface CsvBlockColumn {
  /** Some row of this call is missing. */
  anyMissing: boolean;
  /** Strings: UTF-8 bytes and rows + 1 offsets of the rows of this call. */
  bytes?: Uint8Array;
  offsets?: Int32Array;
  /** Strings: every byte < 0x80. */
  ascii?: boolean;
  /** Strings, dictionary-encoded: bytes/offsets hold the distinct values; row -> value index (-1 missing). */
  codes?: Int32Array;
  newLevels?: string[];
  conflicts: number;
  conflictLine?: number;
  conflictText?: string;
  /** Values with invalid UTF-8 (bytes replaced by U+FFFD). */
  badUtf8?: number;
  badUtf8Line?: number;
  badUtf8Text?: string;
}

/** Destination of one column: values and validity are written at the call's offset. */
export interface CsvOutColumn {
  data?: Float64Array | Float32Array | Int32Array | Int16Array | Uint8Array;
  valid?: Uint8Array;
}

export interface CsvBlockResult {
  consumed: number;
  rows: number;
  newlines: number;
  serialFallback: boolean;
  error?: CsvNativeError;
  columns?: Array<CsvBlockColumn | null>;
}

export interface CsvNative {
  csvDetectDelimiter(buf: Uint8Array, quote: string): string;
  csvSniff(buf: Uint8Array, final: boolean, opts: CsvNativeOptions, maxRows: number): CsvSniffResult;
  csvSniffMore(buf: Uint8Array, opts: CsvNativeOptions, maxRows: number, bits: Uint32Array, nonMissing: Float64Array): number;
  csvCreateParser(opts: CsvNativeOptions, kinds: Int32Array, levels: Array<string[] | null>): unknown;
  /** Parses up to maxRows complete rows of buf[0, length) into outs (null: discard) at offset. */
  csvParseBlock(
    parser: unknown,
    buf: Uint8Array,
    length: number,
    final: boolean,
    firstLine: number,
    maxRows: number,
    outs: Array<CsvOutColumn | null> | null,
    offset: number,
  ): Promise<CsvBlockResult>;
  csvParseDate(text: string, format: string): number | null;
  csvParseTime(text: string, format: string): number | null;
}

export const csvExports = [
  'csvDetectDelimiter',
  'csvSniff',
  'csvSniffMore',
  'csvCreateParser',
  'csvParseBlock',
  'csvParseDate',
  'csvParseTime',
] as const satisfies readonly (keyof CsvNative)[];

export const csvNative = (): CsvNative => addon<CsvNative>();
