/**
 * Moving chunks, states and errors between threads.
 *  - packChunk: a chunk becomes a message whose typed arrays are transferred (not
 *    copied again by postMessage). A typed array is transferred as is only when the chunk
 *    says it owns its buffers (`chunk.owned === true`) and the view spans its whole buffer;
 *    otherwise the exact slice is copied first (a structured clone of a subarray view would
 *    copy the WHOLE underlying buffer, e.g. all of an in-memory column for every chunk).
 *  - States and task results travel back by structured clone (copied): they may share
 *    buffers with data the worker keeps, so they are never detached.
 *  - serializeError / deserializeError: RxError code, message and location survive.
 */
import type { Chunk, Column } from '../data/types.js';
import { RxError } from '../errors.js';

function isTransferable(buf: ArrayBufferLike): buf is ArrayBuffer {
  return !(typeof SharedArrayBuffer !== 'undefined' && buf instanceof SharedArrayBuffer);
}

function moveView<T extends ArrayBufferView>(v: T, owned: boolean, transfer: Set<ArrayBuffer>): T {
  const buf = v.buffer;
  if (!isTransferable(buf)) return v;
  if (owned && v.byteOffset === 0 && v.byteLength === buf.byteLength) {
    transfer.add(buf);
    return v;
  }
  const copy = (v as unknown as { slice(): T }).slice();
  transfer.add(copy.buffer as ArrayBuffer);
  return copy;
}

/** A chunk as a postMessage payload plus its transfer list. */
export function packChunk(chunk: Chunk): { chunk: Chunk; transfer: ArrayBuffer[] } {
  const owned = (chunk as { owned?: boolean }).owned === true;
  const transfer = new Set<ArrayBuffer>();
  const columns: Record<string, Column> = {};
  for (const name of chunk.names) {
    const c = chunk.columns[name];
    if (!c) continue;
    const out: Column = { type: c.type, data: ArrayBuffer.isView(c.data) ? moveView(c.data, owned, transfer) : c.data };
    if (c.valid) out.valid = moveView(c.valid, owned, transfer);
    if (c.levels) out.levels = c.levels;
    if (c.ordered !== undefined) out.ordered = c.ordered;
    columns[name] = out;
  }
  return { chunk: { numRows: chunk.numRows, startRow: chunk.startRow, names: chunk.names, columns }, transfer: [...transfer] };
}

export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  file?: string;
  row?: number;
  column?: string | number;
  text?: string;
  stack?: string;
}

export function serializeError(e: unknown): SerializedError {
  if (e instanceof Error) {
    const r = e as Error & Partial<Pick<RxError, 'code' | 'file' | 'row' | 'column' | 'text'>>;
    const s: SerializedError = { name: e.name, message: e.message };
    if (typeof r.code === 'string') s.code = r.code;
    if (r.file !== undefined) s.file = r.file;
    if (r.row !== undefined) s.row = r.row;
    if (r.column !== undefined) s.column = r.column;
    if (r.text !== undefined) s.text = r.text;
    if (e.stack) s.stack = e.stack;
    return s;
  }
  return { name: 'Error', message: String(e) };
}

/** Rebuilds an error from a worker: RxError (same code, message, location) when it had a code. */
export function deserializeError(s: SerializedError): Error {
  let e: Error;
  if (s.name === 'RxError' && s.code) {
    const d: ConstructorParameters<typeof RxError>[2] = {};
    if (s.file !== undefined) d.file = s.file;
    if (s.row !== undefined) d.row = s.row;
    if (s.column !== undefined) d.column = s.column;
    if (s.text !== undefined) d.text = s.text;
    e = new RxError(s.code, s.message, d);
  } else {
    e = new Error(s.message);
    e.name = s.name;
    if (s.code) (e as Error & { code: string }).code = s.code;
  }
  if (s.stack) e.stack = s.stack;
  return e;
}
