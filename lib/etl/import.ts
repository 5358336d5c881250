/**
 * rxImport and rxDataStep.
 *
 * Both stream `inData` chunk by chunk through (in this order) colClasses/colInfo
 * conversion (rxImport), `transforms`, `transformFunc`, `rowSelection`,
 * `varsToKeep`/`varsToDrop` (lib/expr withTransforms), `removeMissings` (rxDataStep), and
 * write to `outFile`: a path (.parquet -> Parquet, anything else -> xdf, i.e. an Arrow IPC
 * file), an RxXdfData / RxParquetData, or nothing. Without `outFile` the result is an
 * RxMemoryData (a DataSource; its `.columns` holds the columns and `.names` their order),
 * so it can be passed straight on as data. With `outFile` the result is the written
 * file's data source. Output files appear atomically (temp file + rename): an error or a
 * crash leaves no partial file under the final name.
 *
 * `startRow` is 1-based as in RevoScaleR; `numRows` counts rows read from the input
 * (before rowSelection).
 */
import type { Table } from 'apache-arrow';
import type { MemoryTableInput, RxMemoryData } from '../data/memory.js';
import type { RxParquetData } from '../data/parquet.js';
import { RxTextData, type RxTextDataOptions, type TextColClass, type TextColInfo } from '../data/text.js';
import type { Chunk, DataSink, DataSource } from '../data/types.js';
import type { RxXdfData } from '../data/xdf.js';
import { RxError } from '../errors.js';
import { withTransforms } from '../expr/source.js';
import type { ExprNode } from '../expr/ast.js';
import { argError, expectNumber, optional } from '../validate.js';
import { checkVars, copyData, resolveInput, resolveOutput } from './common.js';
import { ConvertedSource, plansFromColInfo } from './convert.js';

export type InData = string | DataSource | MemoryTableInput | Table;
export type OutFile = string | RxXdfData | RxParquetData | (DataSink & DataSource);

export interface TransformArgs {
  rowSelection?: string | ExprNode;
  transforms?: Record<string, string | ExprNode>;
  transformFunc?: (chunk: Chunk, objects?: Record<string, unknown>) => Chunk | Promise<Chunk>;
  transformObjects?: Record<string, unknown>;
  varsToKeep?: string[];
  varsToDrop?: string[];
}

export interface RxImportOptions extends TransformArgs {
  inData: InData;
  outFile?: OutFile;
  /** Replace an existing outFile (default false: an existing file is an error). */
  overwrite?: boolean;
  append?: 'none' | 'rows';
  colClasses?: Record<string, TextColClass>;
  colInfo?: Record<string, TextColInfo>;
  rowsPerRead?: number;
  numRows?: number;
  reportProgress?: 0 | 1 | 2 | 3;
  /** Options for text input given as a path (delimiter, missingValueString, stringsAsFactors, ...). */
  textOptions?: RxTextDataOptions;
  stringsAsFactors?: boolean;
}

export interface RxDataStepOptions extends TransformArgs {
  inData: InData;
  outFile?: OutFile;
  overwrite?: boolean;
  append?: 'none' | 'rows';
  removeMissings?: boolean;
  /** 1-based first row to read (RevoScaleR). */
  startRow?: number;
  numRows?: number;
  rowsPerRead?: number;
  reportProgress?: 0 | 1 | 2 | 3;
}

function checkCommon(o: { append?: unknown; numRows?: unknown; rowsPerRead?: unknown; overwrite?: unknown }) {
  if (o.append !== undefined && o.append !== 'none' && o.append !== 'rows') throw argError("'none' or 'rows'", 'append', o.append);
  if (o.numRows !== undefined && o.numRows !== -1) expectNumber(o.numRows, 'numRows', { min: 0, integer: true });
  if (o.rowsPerRead !== undefined) expectNumber(o.rowsPerRead, 'rowsPerRead', { min: 1, integer: true });
  if (o.overwrite !== undefined && typeof o.overwrite !== 'boolean') throw argError('boolean', 'overwrite', o.overwrite);
}

async function transformed(source: DataSource, o: TransformArgs): Promise<DataSource> {
  if (o.varsToKeep || o.varsToDrop) {
    const s = await source.schema();
    const where = source.describe?.() ?? 'the input data';
    checkVars(s, o.varsToKeep, 'varsToKeep', where);
    checkVars(s, o.varsToDrop, 'varsToDrop', where);
  }
  return withTransforms(source, {
    ...(o.rowSelection !== undefined ? { rowSelection: o.rowSelection } : {}),
    ...(o.transforms ? { transforms: o.transforms } : {}),
    ...(o.transformFunc ? { transformFunc: o.transformFunc } : {}),
    ...(o.transformObjects ? { transformObjects: o.transformObjects } : {}),
    ...(o.varsToKeep ? { varsToKeep: o.varsToKeep } : {}),
    ...(o.varsToDrop ? { varsToDrop: o.varsToDrop } : {}),
  });
}

export async function rxImport(opts: RxImportOptions): Promise<RxMemoryData | RxXdfData | RxParquetData | (DataSink & DataSource)> {
  if (typeof opts !== 'object' || opts === null) throw argError('an options object', 'rxImport', opts);
  if (opts.inData === undefined) throw new RxError('RX_ARG', 'rxImport needs inData');
  checkCommon(opts);
  const textOptions: RxTextDataOptions = {
    ...(opts.textOptions ?? {}),
    ...(opts.colClasses ? { colClasses: opts.colClasses } : {}),
    ...(opts.colInfo ? { colInfo: opts.colInfo } : {}),
    ...(opts.stringsAsFactors !== undefined ? { stringsAsFactors: opts.stringsAsFactors } : {}),
    ...(opts.rowsPerRead !== undefined ? { rowsPerRead: opts.rowsPerRead } : {}),
  };
  let source: DataSource;
  if (opts.inData instanceof RxTextData && (opts.colClasses || opts.colInfo || opts.stringsAsFactors !== undefined)) {
    source = new RxTextData(opts.inData.file, { ...opts.inData.options, ...textOptions });
  } else source = resolveInput(opts.inData, 'inData', textOptions);
  if (!(source instanceof RxTextData) && (opts.colClasses || opts.colInfo)) {
    const plans = plansFromColInfo(await source.schema(), opts.colClasses, opts.colInfo);
    source = new ConvertedSource(source, plans, true);
  }
  source = await transformed(source, opts);
  const sink = resolveOutput(opts.outFile);
  const numRows = opts.numRows === undefined || opts.numRows === -1 ? undefined : opts.numRows;
  const res = await copyData(source, sink, {
    overwrite: optional(opts.overwrite, false, (v) => v as boolean),
    ...(opts.append ? { append: opts.append } : {}),
    ...(numRows !== undefined ? { numRows } : {}),
    ...(opts.rowsPerRead !== undefined ? { rowsPerRead: opts.rowsPerRead } : {}),
    ...(opts.reportProgress !== undefined ? { reportProgress: opts.reportProgress } : {}),
    label: 'rxImport',
  });
  return sink ?? res.memory!;
}

export async function rxDataStep(opts: RxDataStepOptions): Promise<RxMemoryData | RxXdfData | RxParquetData | (DataSink & DataSource)> {
  if (typeof opts !== 'object' || opts === null) throw argError('an options object', 'rxDataStep', opts);
  if (opts.inData === undefined) throw new RxError('RX_ARG', 'rxDataStep needs inData');
  checkCommon(opts);
  const startRow = opts.startRow === undefined ? 1 : expectNumber(opts.startRow, 'startRow', { min: 1, integer: true });
  let source = resolveInput(opts.inData, 'inData', opts.rowsPerRead !== undefined ? { rowsPerRead: opts.rowsPerRead } : {});
  source = await transformed(source, opts);
  const sink = resolveOutput(opts.outFile);
  const numRows = opts.numRows === undefined || opts.numRows === -1 ? undefined : opts.numRows;
  const res = await copyData(source, sink, {
    overwrite: opts.overwrite ?? false,
    ...(opts.append ? { append: opts.append } : {}),
    ...(startRow > 1 ? { startRow: startRow - 1 } : {}),
    ...(numRows !== undefined ? { numRows } : {}),
    ...(opts.rowsPerRead !== undefined ? { rowsPerRead: opts.rowsPerRead } : {}),
    ...(opts.removeMissings ? { removeMissings: true } : {}),
    ...(opts.reportProgress !== undefined ? { reportProgress: opts.reportProgress } : {}),
    label: 'rxDataStep',
  });
  return sink ?? res.memory!;
}
