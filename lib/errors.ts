/** Error codes carried by every RxError. */
export type RxErrorCode =
  | 'RX_NATIVE_LOAD'
  | 'RX_ARG'
  | 'RX_IO'
  | 'RX_PARSE'
  | 'RX_SCHEMA'
  | 'RX_SINGULAR'
  | 'RX_DATA_SOURCE'
  | 'RX_CANCELLED'
  | 'RX_FORMULA'
  | 'RX_EXPR'
  | 'RX_SQL'
  | 'RX_CONVERGENCE'
  | 'RX_MODEL'
  | 'RX_INTERNAL';

export interface RxErrorDetails {
  /** File the error concerns, when any. */
  file?: string;
  /** 1-based row (data row, or line for text files) where known. */
  row?: number;
  /** Column name or 1-based index where known. */
  column?: string | number;
  /** Offending text (a field, a token, an expression). */
  text?: string;
  /** Underlying error. */
  cause?: unknown;
}

/**
 * The one error class rxscale throws. `code` is stable and machine-readable;
 * `file`, `row`, `column` locate bad input where known.
 */
export class RxError extends Error {
  readonly code: RxErrorCode;
  readonly file?: string;
  readonly row?: number;
  readonly column?: string | number;
  readonly text?: string;

  constructor(code: RxErrorCode | string, message: string, details: RxErrorDetails = {}) {
    super(message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.name = 'RxError';
    this.code = code as RxErrorCode;
    if (details.file !== undefined) this.file = details.file;
    if (details.row !== undefined) this.row = details.row;
    if (details.column !== undefined) this.column = details.column;
    if (details.text !== undefined) this.text = details.text;
  }
}

export function isRxError(e: unknown, code?: RxErrorCode): e is RxError {
  return e instanceof RxError && (code === undefined || e.code === code);
}
