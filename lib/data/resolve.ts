/** Turns anything accepted as `data` (a DataSource, an object of arrays, an Arrow Table) into a DataSource. */
import { Table } from 'apache-arrow';
import { RxError } from '../errors.js';
import { describe } from '../validate.js';
import { RxArrowTableData } from './arrow.js';
import { RxMemoryData } from './memory.js';
import type { MemoryTableInput } from './memory.js';
import { type DataSource, isDataSource } from './types.js';

export type DataInput = DataSource | MemoryTableInput | Table;

export function resolveSource(data: unknown, what = 'data'): DataSource {
  if (isDataSource(data)) return data;
  if (data instanceof Table) return new RxArrowTableData(data);
  if (typeof data === 'object' && data !== null && !Array.isArray(data) && !ArrayBuffer.isView(data)) {
    return new RxMemoryData(data as MemoryTableInput);
  }
  throw new RxError('RX_ARG', `Expected a data source, an object of columns or an Arrow Table for ${what} but received ${describe(data)}`);
}
