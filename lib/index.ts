/** rxscale public surface. */
export { RxError, isRxError } from './errors.js';
export type { RxErrorCode, RxErrorDetails } from './errors.js';
export { rxNativeInfo } from './native/info.js';
export type { NativeInfo } from './native/info.js';
export { rxOptions } from './options.js';
export type { RxOptions } from './options.js';
export type { Chunk, Column, ColumnInfo, ColumnType, DataSource, DataSink, Schema, ChunkOptions } from './data/types.js';
export { registerAccumulator } from './compute/pema.js';
export type { AccumulatorDef, PassResult } from './compute/pema.js';
