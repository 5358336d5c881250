/** Turns anything accepted as `data` (a DataSource, an object of arrays) into a DataSource. */
import { RxError } from '../errors.js';
import { describe } from '../validate.js';
import { RxMemoryData } from './memory.js';
import type { MemoryTableInput } from './memory.js';
import { type DataSource, isDataSource } from './types.js';

export type DataInput = DataSource | MemoryTableInput;

export function resolveSource(data: unknown, what = 'data'): DataSource {
  if (isDataSource(data)) return data;
  if (typeof data === 'object' && data !== null && !Array.isArray(data) && !ArrayBuffer.isView(data)) {
    return new RxMemoryData(data as MemoryTableInput);
  }
  throw new RxError('RX_ARG', `Expected a data source or an object of columns for ${what} but received ${describe(data)}`);
}
