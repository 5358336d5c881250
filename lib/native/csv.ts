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
  data?: Float64Array | Float32Array | Int32Array | Int16Array | Uint8Array;
  valid?: Uint8Array;
  bytes?: Uint8Array;
  offsets?: Int32Array;
  newLevels?: string[];
  conflicts: number;
  conflictLine?: number;
  conflictText?: string;
  /** Values with invalid UTF-8 (bytes replaced by U+FFFD). */
  badUtf8?: number;
  badUtf8Line?: number;
  badUtf8Text?: string;
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
  csvParseBlock(parser: unknown, buf: Uint8Array, length: number, final: boolean, firstLine: number): Promise<CsvBlockResult>;
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
