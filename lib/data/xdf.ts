/**
 * RxXdfData: rxscale's chunked columnar file = an Arrow IPC *file* (Feather v2):
 *
 *   "ARROW1\0\0" | schema message | record batch 0 | ... | record batch k-1 |
 *   one dictionary batch per factor column (the final level list) | EOS | footer | len | "ARROW1"
 *
 * One record batch per written chunk. Factors are Dictionary<Int32 -> Utf8>; their
 * dictionaries go AFTER the record batches because the levels are only complete when the
 * last chunk is written; the file format allows this (the footer lists dictionary blocks,
 * readers load them before any batch). Variable descriptions, low/high and value labels
 * are field metadata (`rxscale.*`), the writer and format version schema metadata.
 *
 * Reading parses the footer and reads only the blocks (and inside a block only the byte
 * ranges of the requested columns) it needs, with positioned reads: a chunk range of a
 * large file costs what those bytes cost. Any uncompressed Arrow IPC file written by other
 * tools (pyarrow, arrow R, DuckDB's arrow extension, Arrow JS) reads here; a Microsoft
 * RevoScaleR .xdf binary is recognised and refused (RX_DATA_SOURCE).
 *
 * Writing goes to `<file>.tmp-<pid>-<rand>` and is renamed into place on close, so a crash
 * never leaves a half-written file under the final name.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readSync } from 'node:fs';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type Data, type DataType, type Field, MetadataVersion, Type, type Vector, makeVector, Schema as ArrowSchema } from 'apache-arrow';
import { Footer, FileBlock } from 'apache-arrow/ipc/metadata/file';
import { Message, RecordBatch as RecordBatchHeader, DictionaryBatch as DictionaryBatchHeader, BufferRegion, type FieldNode } from 'apache-arrow/ipc/metadata/message';
import { VectorAssembler } from 'apache-arrow/visitor/vectorassembler';
import { VectorLoader } from 'apache-arrow/visitor/vectorloader';
import { RxError } from '../errors.js';
import { packageRoot } from '../native/loader.js';
import { arrowDataToColumn, arrowFieldFor, arrowTypeFor, columnToArrowData, columnTypeOfArrow, dictionaryLevels, fieldToColumnInfo, utf8Data } from './arrow.js';
import { sliceColumn } from './memory.js';
import type { Chunk, ChunkOptions, ChunkWriter, Column, ColumnInfo, ColumnType, DataSink, DataSource, Schema } from './types.js';

const MAGIC = Buffer.from('ARROW1', 'latin1');
export const XDF_FORMAT_VERSION = '1';

let writerVersion: string | undefined;
function rxscaleVersion(): string {
  if (writerVersion === undefined) {
    try {
      writerVersion = (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      writerVersion = 'unknown';
    }
  }
  return writerVersion;
}

/* ------------------------------------------------------------ positioned io */

/**
 * Positioned read of [position, position + length). Synchronous on the handle's fd: one
 * call reads at most one block's requested column bytes (typically a few MB, from the page
 * cache), and avoiding the libuv thread-pool round trip per read keeps column reads near
 * readFileSync speed on busy machines; the event loop still runs between blocks.
 */
async function readAt(fh: FileHandle, file: string, position: number, length: number, reuse?: ReadSlot): Promise<Uint8Array> {
  // allocUnsafeSlow: a fresh, 8-aligned ArrayBuffer (pooled Buffers may start at odd offsets).
  // With a reuse slot the previous buffer is read into again when it is big enough (and not
  // detached): fresh memory costs a page fault per 4 KiB on first touch, which dominated
  // reading (~10x the copy itself).
  let buf: Buffer;
  if (reuse?.buf && reuse.buf.byteLength >= length) buf = reuse.buf;
  else {
    buf = Buffer.allocUnsafeSlow(length);
    if (reuse) reuse.buf = buf;
  }
  readFully(fh.fd, file, buf, 0, length, position);
  return new Uint8Array(buf.buffer, buf.byteOffset, length);
}

/** Reads exactly `length` bytes at `position` into buf[offset..]; RX_IO when the file ends first. */
function readFully(fd: number, file: string, buf: Uint8Array, offset: number, length: number, position: number): void {
  let got = 0;
  while (got < length) {
    const bytesRead = readSync(fd, buf, offset + got, length - got, position + got);
    if (bytesRead === 0) throw new RxError('RX_IO', `Arrow file "${file}" is truncated: needed ${length} bytes at offset ${position}, file ended after ${got}`, { file });
    got += bytesRead;
  }
}

/** A buffer kept across positioned reads (ChunkOptions.reuseBuffers). */
interface ReadSlot {
  buf?: Buffer;
}

/** The read buffers of one reuseBuffers iteration: fixed-width columns, validity bitmaps, other columns. */
interface ReadPool {
  fast: ReadSlot[];
  bits: ReadSlot;
  slow: ReadSlot[];
}

/**
 * The buffers of the last reuseBuffers iteration that ran to its end, handed to the next
 * one (repeated passes then read into memory that is already mapped); dropped after a few
 * idle seconds.
 */
let sparePool: ReadPool | undefined;
let spareTimer: ReturnType<typeof setTimeout> | undefined;
function takeSparePool(): ReadPool {
  const p = sparePool ?? { fast: [], bits: {}, slow: [] };
  sparePool = undefined;
  return p;
}
function keepSparePool(p: ReadPool): void {
  sparePool = p;
  if (spareTimer) clearTimeout(spareTimer);
  spareTimer = setTimeout(() => {
    sparePool = undefined;
  }, 5000);
  spareTimer.unref?.();
}

function decodeMessage(bytes: Uint8Array, file: string): Message {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 8) throw new RxError('RX_DATA_SOURCE', `Corrupt Arrow message in "${file}"`, { file });
  let start = 4;
  let len = dv.getInt32(0, true);
  if (len === -1) {
    len = dv.getInt32(4, true);
    start = 8;
  }
  if (len <= 0 || start + len > bytes.byteLength) throw new RxError('RX_DATA_SOURCE', `Corrupt Arrow message in "${file}" (metadata length ${len})`, { file });
  try {
    return Message.decode(bytes.subarray(start, start + len));
  } catch (e) {
    throw new RxError('RX_DATA_SOURCE', `Corrupt Arrow message in "${file}": ${(e as Error).message}`, { file, cause: e });
  }
}

/** Number of field nodes and buffers a type occupies in a record batch; null for layouts we do not slice (views). */
function layoutCount(type: DataType): { nodes: number; buffers: number } | null {
  const kids = (type.children ?? []) as Field[];
  let nodes = 1;
  let buffers: number;
  switch (type.typeId) {
    case Type.Null:
      buffers = 0;
      break;
    case Type.Utf8:
    case Type.Binary:
    case Type.LargeUtf8:
    case Type.LargeBinary:
      buffers = 3;
      break;
    case Type.Struct:
    case Type.FixedSizeList:
      buffers = 1;
      break;
    case Type.List:
    case Type.LargeList:
    case Type.Map:
      buffers = 2;
      break;
    case Type.Utf8View:
    case Type.BinaryView:
    case Type.Union:
    case Type.DenseUnion:
    case Type.SparseUnion:
      return null;
    default:
      buffers = 2;
  }
  for (const k of kids) {
    const c = layoutCount(k.type);
    if (!c) return null;
    nodes += c.nodes;
    buffers += c.buffers;
  }
  return { nodes, buffers };
}

/** Is this a Microsoft RevoScaleR .xdf (binary, pre-Arrow) file? */
function looksLikeMicrosoftXdf(head: Uint8Array, file: string): boolean {
  if (/\.xdf$/i.test(file)) return true;
  // RevoScaleR files begin with a binary header whose first bytes spell the format name
  const text = Buffer.from(head).toString('latin1');
  return /XDF|RevoScale/i.test(text);
}

interface BatchInfo {
  block: FileBlock;
  header: RecordBatchHeader;
  length: number;
}

/** An open Arrow IPC file: footer, dictionaries and record batch headers (bodies are read on demand). */
export class ArrowIpcFile {
  private constructor(
    readonly file: string,
    readonly fh: FileHandle,
    readonly size: number,
    readonly footer: InstanceType<typeof Footer>,
    readonly arrowSchema: ArrowSchema,
    readonly dictionaries: Map<number, Vector>,
    readonly batches: BatchInfo[],
  ) {}

  static async open(file: string): Promise<ArrowIpcFile> {
    let fh: FileHandle;
    try {
      fh = await open(file, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new RxError('RX_IO', code === 'ENOENT' ? `File "${file}" does not exist` : `Cannot open "${file}": ${(e as Error).message}`, { file, cause: e });
    }
    try {
      const size = (await fh.stat()).size;
      const headLen = Math.min(size, 64);
      const head = headLen > 0 ? await readAt(fh, file, 0, headLen) : new Uint8Array(0);
      const isArrow = head.length >= 6 && Buffer.from(head.subarray(0, 6)).equals(MAGIC);
      if (!isArrow) {
        if (head.length >= 8 && new DataView(head.buffer, head.byteOffset).getInt32(0, true) === -1)
          throw new RxError('RX_DATA_SOURCE', `"${file}" is an Arrow IPC stream, not an Arrow IPC file; write it with the file format (pyarrow: pa.ipc.new_file / feather.write_feather)`, { file });
        if (looksLikeMicrosoftXdf(head, file))
          throw new RxError(
            'RX_DATA_SOURCE',
            `"${file}" is not an rxscale xdf (Arrow IPC) file; it looks like a Microsoft RevoScaleR .xdf binary, which rxscale cannot read. Export it from R with RevoScaleR::rxDataStep(inData, outFile = "x.csv") or to Parquet and import that.`,
            { file },
          );
        throw new RxError('RX_DATA_SOURCE', `"${file}" is not an Arrow IPC file (it does not start with the "ARROW1" magic)`, { file });
      }
      if (size < 6 + 2 + 4 + 6) throw new RxError('RX_IO', `Arrow file "${file}" is truncated (${size} bytes)`, { file });
      const tail = await readAt(fh, file, size - 10, 10);
      if (!Buffer.from(tail.subarray(4)).equals(MAGIC)) throw new RxError('RX_IO', `Arrow file "${file}" is truncated or was not closed (no footer magic at the end)`, { file });
      const footerLen = new DataView(tail.buffer, tail.byteOffset).getInt32(0, true);
      if (footerLen <= 0 || footerLen > size - 18) throw new RxError('RX_IO', `Arrow file "${file}" is truncated or corrupt (footer length ${footerLen})`, { file });
      const fbytes = await readAt(fh, file, size - 10 - footerLen, footerLen);
      let footer: InstanceType<typeof Footer>;
      try {
        footer = Footer.decode(fbytes);
      } catch (e) {
        throw new RxError('RX_DATA_SOURCE', `Arrow file "${file}" has a corrupt footer: ${(e as Error).message}`, { file, cause: e });
      }
      const schema = footer.schema;
      const checkBlock = (b: FileBlock) => {
        if (b.offset < 8 || b.offset + b.metaDataLength + b.bodyLength > size - 10 - footerLen)
          throw new RxError('RX_IO', `Arrow file "${file}" is truncated or corrupt (a block at offset ${b.offset} lies outside the file)`, { file });
      };
      // dictionaries (deltas are appended in footer order)
      const dictionaries = new Map<number, Vector>();
      for (const b of footer.dictionaryBatches()) {
        checkBlock(b);
        const bytes = await readAt(fh, file, b.offset, b.metaDataLength + b.bodyLength);
        const msg = decodeMessage(bytes.subarray(0, b.metaDataLength), file);
        if (!msg.isDictionaryBatch()) throw new RxError('RX_DATA_SOURCE', `Arrow file "${file}": expected a dictionary batch at offset ${b.offset}`, { file });
        const h = msg.header();
        if (h.data.compression) throw compressedError(file);
        const type = schema.dictionaries.get(h.id);
        if (!type) throw new RxError('RX_DATA_SOURCE', `Arrow file "${file}": dictionary id ${h.id} is not in the schema`, { file });
        const body = bytes.subarray(b.metaDataLength);
        const [data] = new VectorLoader(body, h.nodes, h.buffers, dictionaries, schema.metadataVersion, h.data.variadicBufferCounts).visitMany([type]);
        const prev = dictionaries.get(h.id);
        const vec = makeVector(data!);
        dictionaries.set(h.id, prev && h.isDelta ? prev.concat(vec) : vec);
      }
      const batches: BatchInfo[] = [];
      for (const b of footer.recordBatches()) {
        checkBlock(b);
        const msg = decodeMessage(await readAt(fh, file, b.offset, b.metaDataLength), file);
        if (!msg.isRecordBatch()) throw new RxError('RX_DATA_SOURCE', `Arrow file "${file}": expected a record batch at offset ${b.offset}`, { file });
        const h = msg.header();
        if (h.compression) throw compressedError(file);
        batches.push({ block: b, header: h, length: h.length });
      }
      return new ArrowIpcFile(file, fh, size, footer, schema, dictionaries, batches);
    } catch (e) {
      await fh.close().catch(() => {});
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => {});
  }

  get numRows(): number {
    let n = 0;
    for (const b of this.batches) n += b.length;
    return n;
  }

  /** Levels of each factor (dictionary<utf8>) field. */
  factorLevels(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const f of this.arrowSchema.fields) {
      if (f.type.typeId === Type.Dictionary) {
        const id = (f.type as unknown as { id: number }).id;
        out[f.name] = dictionaryLevels(this.dictionaries.get(id));
      }
    }
    return out;
  }

  schema(): Schema {
    const levels = this.factorLevels();
    const metadata: Record<string, string> = {};
    for (const [k, v] of this.arrowSchema.metadata) metadata[k] = v;
    const columns: ColumnInfo[] = [];
    for (const f of this.arrowSchema.fields) columns.push(fieldToColumnInfo(f, levels[f.name]));
    return { columns, numRows: this.numRows, metadata };
  }

  /**
   * Arrow Data of the requested fields in batch `i`, reading only their byte ranges.
   * `pool` (optional, kept by the caller across batches): read into the buffers of the
   * previous call; the Data returned by that call is overwritten.
   */
  async readBatchData(i: number, fieldIdx: number[], pool?: ReadSlot[]): Promise<Data[]> {
    const slot = (k: number): ReadSlot | undefined => (pool ? (pool[k] ??= {}) : undefined);
    const { block, header } = this.batches[i]!;
    const fields = this.arrowSchema.fields;
    const bodyStart = block.offset + block.metaDataLength;
    const version = this.arrowSchema.metadataVersion ?? MetadataVersion.V5;
    // where each field's nodes and buffers start
    const starts: Array<{ node: number; buf: number; nodes: number; buffers: number }> = [];
    let node = 0;
    let buf = 0;
    let sliceable = true;
    for (const f of fields) {
      const c = layoutCount(f.type);
      if (!c) {
        sliceable = false;
        break;
      }
      starts.push({ node, buf, nodes: c.nodes, buffers: c.buffers });
      node += c.nodes;
      buf += c.buffers;
    }
    const all = fieldIdx.length === fields.length && fieldIdx.every((j, k) => j === k);
    if (!sliceable || all) {
      const body = block.bodyLength > 0 ? await readAt(this.fh, this.file, bodyStart, block.bodyLength, slot(fieldIdx.length)) : new Uint8Array(0);
      const loaded = new VectorLoader(body, header.nodes, header.buffers, this.dictionaries, version, header.variadicBufferCounts).visitMany(fields.map((f) => f.type));
      return fieldIdx.map((j) => loaded[j]!);
    }
    const out: Data[] = [];
    for (let k = 0; k < fieldIdx.length; k++) {
      const j = fieldIdx[k]!;
      const s = starts[j]!;
      const regions = header.buffers.slice(s.buf, s.buf + s.buffers);
      const nodes = header.nodes.slice(s.node, s.node + s.nodes) as FieldNode[];
      let lo = Number.POSITIVE_INFINITY;
      let hi = 0;
      for (const r of regions) {
        if (r.length === 0) continue;
        lo = Math.min(lo, r.offset);
        hi = Math.max(hi, r.offset + r.length);
      }
      if (!Number.isFinite(lo)) lo = hi = 0;
      lo &= ~7; // keep 8-byte alignment of the rebased buffers
      const bytes = hi > lo ? await readAt(this.fh, this.file, bodyStart + lo, hi - lo, slot(k)) : new Uint8Array(0);
      const rebased = regions.map((r) => new BufferRegion(r.length === 0 ? 0 : r.offset - lo, r.length));
      const [d] = new VectorLoader(bytes, nodes, rebased, this.dictionaries, version).visitMany([fields[j]!.type]);
      out.push(d!);
    }
    return out;
  }
}

function compressedError(file: string): RxError {
  return new RxError('RX_DATA_SOURCE', `Arrow file "${file}" uses buffer compression (LZ4/ZSTD), which rxscale does not read; rewrite it uncompressed (pyarrow: compression="uncompressed")`, {
    file,
  });
}

const FIXED_WIDTH: Partial<Record<ColumnType, number>> = { float64: 8, float32: 4, int32: 4, int16: 2, uint8: 1, date: 4, factor: 4 };
const ARRAY_OF: Partial<Record<ColumnType, new (n: number) => Float64Array | Float32Array | Int32Array | Int16Array | Uint8Array>> = {
  float64: Float64Array,
  float32: Float32Array,
  int32: Int32Array,
  int16: Int16Array,
  uint8: Uint8Array,
  date: Int32Array,
  factor: Int32Array,
};

/** Index of field j's first node and buffer, when every field before it has a known layout. */
function fieldLayout(fields: Field[], j: number): { node: number; buf: number } | null {
  let node = 0;
  let buf = 0;
  for (let k = 0; k < j; k++) {
    const c = layoutCount(fields[k]!.type);
    if (!c) return null;
    node += c.nodes;
    buf += c.buffers;
  }
  return { node, buf };
}

/** Where a fixed-width column lives in every record batch, for reads that bypass Arrow's loader. */
interface FixedLayout {
  type: ColumnType;
  width: number;
  /** Index of its field node and first buffer (validity) in a batch header. */
  node: number;
  buf: number;
  ordered: boolean;
}

/**
 * Layout of field j when it is a fixed-width column stored exactly as rxscale holds it
 * (float64, float32, int32, int16, uint8, date32 days, factor with int32 indices) and every
 * field before it has a known layout; null otherwise (read through Arrow's VectorLoader).
 */
function fixedLayout(fields: Field[], j: number, name: string): FixedLayout | null {
  const type = columnTypeOfArrow(fields[j]!.type, name);
  const width = FIXED_WIDTH[type];
  if (width === undefined) return null;
  const ft = fields[j]!.type as unknown as { typeId: Type; precision?: number; unit?: number; isOrdered?: boolean; indices?: { bitWidth: number; isSigned: boolean } };
  const exact =
    (type === 'float64' && ft.typeId === Type.Float && ft.precision === 2) ||
    (type === 'float32' && ft.typeId === Type.Float && ft.precision === 1) ||
    (ft.typeId === Type.Int && (type === 'int32' || type === 'int16' || type === 'uint8')) ||
    (type === 'date' && ft.unit === 0) ||
    (type === 'factor' && ft.indices?.bitWidth === 32 && ft.indices.isSigned);
  if (!exact) return null;
  const l = fieldLayout(fields, j);
  if (!l) return null;
  return { type, width, node: l.node, buf: l.buf, ordered: type === 'factor' && ft.isOrdered === true };
}

/**
 * A fixed-width column of one record batch read straight into a typed array: the data
 * buffer with one positioned read (into `slot`'s buffer when given, else into a fresh
 * buffer of exactly its size, which the column then owns), and, when the batch has nulls in
 * it, the validity bitmap (into `bits`). Float columns get NaN at null rows and no `valid`
 * (the types.ts rule lets float columns omit it); other types get a fresh `valid` and
 * factor codes 0 at null rows.
 */
function readFixed(f: ArrowIpcFile, b: BatchInfo, l: FixedLayout, name: string, slot?: ReadSlot, bits?: ReadSlot): Column {
  const len = b.length;
  const node = b.header.nodes[l.node]!;
  const vreg = b.header.buffers[l.buf]!;
  const dreg = b.header.buffers[l.buf + 1]!;
  const bodyStart = b.block.offset + b.block.metaDataLength;
  const bytes = len * l.width;
  if (dreg.length < bytes || dreg.offset + bytes > b.block.bodyLength)
    throw new RxError('RX_DATA_SOURCE', `Arrow file "${f.file}": column "${name}" data buffer is too short`, { file: f.file, column: name });
  let buf: Buffer;
  if (slot?.buf && slot.buf.byteLength >= bytes) buf = slot.buf;
  else {
    buf = Buffer.allocUnsafeSlow(Math.max(bytes, 8)); // its own 8-aligned ArrayBuffer
    if (slot) slot.buf = buf;
  }
  readFully(f.fh.fd, f.file, buf, 0, bytes, bodyStart + dreg.offset);
  const C = ARRAY_OF[l.type]! as unknown as new (b: ArrayBufferLike, o: number, n: number) => Float64Array;
  const data = new C(buf.buffer, buf.byteOffset, len);
  const col: Column = { type: l.type, data };
  if (node.nullCount > 0 && vreg.length > 0) {
    const nb = (len + 7) >> 3;
    if (vreg.length < nb || vreg.offset + nb > b.block.bodyLength)
      throw new RxError('RX_DATA_SOURCE', `Arrow file "${f.file}": column "${name}" validity bitmap is too short`, { file: f.file, column: name });
    let bb: Buffer;
    if (bits?.buf && bits.buf.byteLength >= nb) bb = bits.buf;
    else {
      bb = Buffer.allocUnsafeSlow(nb);
      if (bits) bits.buf = bb;
    }
    readFully(f.fh.fd, f.file, bb, 0, nb, bodyStart + vreg.offset);
    const isFloat = l.type === 'float64' || l.type === 'float32';
    const valid = isFloat ? undefined : new Uint8Array(len).fill(1);
    for (let k = 0; k < nb; k++) {
      const byte = bb[k]!;
      if (byte === 0xff) continue;
      const i0 = k << 3;
      const i1 = Math.min(len, i0 + 8);
      for (let i = i0; i < i1; i++) {
        if ((byte >> (i - i0)) & 1) continue;
        if (isFloat) data[i] = Number.NaN;
        else {
          valid![i] = 0;
          if (l.type === 'factor') data[i] = 0;
        }
      }
    }
    if (valid) col.valid = valid;
  }
  return col;
}

/** Concatenates same-typed column pieces (factor codes share the file's levels). */
function concatColumns(type: ColumnType, parts: Column[], levels?: string[]): Column {
  const n = parts.reduce((s, p) => s + (p.data as ArrayLike<unknown>).length, 0);
  const anyValid = parts.some((p) => p.valid);
  const valid = anyValid ? new Uint8Array(n).fill(1) : undefined;
  let data: Column['data'];
  if (type === 'string') {
    const arr: Array<string | null> = [];
    for (const p of parts) for (const v of p.data as Array<string | null>) arr.push(v);
    data = arr;
  } else {
    const C = (parts[0]?.data.constructor ?? ARRAY_OF[type] ?? Float64Array) as new (n: number) => Float64Array;
    const arr = new C(n);
    let at = 0;
    for (const p of parts) {
      arr.set(p.data as Float64Array, at);
      at += (p.data as Float64Array).length;
    }
    data = arr;
  }
  if (valid) {
    let at = 0;
    for (const p of parts) {
      const len = (p.data as ArrayLike<unknown>).length;
      if (p.valid) valid.set(p.valid.subarray(0, len), at);
      at += len;
    }
  }
  const col: Column = { type, data };
  if (valid) col.valid = valid;
  if (type === 'factor') col.levels = levels ?? parts[0]?.levels ?? [];
  return col;
}

/* ---------------------------------------------------------------- source */

export interface RxXdfDataOptions {
  /** Split record batches into chunks of at most this many rows when reading. */
  rowsPerRead?: number;
}

export class RxXdfData implements DataSource, DataSink {
  readonly kind = 'xdf';
  readonly file: string;
  readonly rowsPerRead?: number;

  constructor(file: string, opts: RxXdfDataOptions = {}) {
    if (typeof file !== 'string' || file.length === 0) throw new RxError('RX_ARG', `Expected a file path (string) for RxXdfData but received ${typeof file}`);
    this.file = file;
    if (opts.rowsPerRead !== undefined) this.rowsPerRead = opts.rowsPerRead;
  }

  describe(): string {
    return `xdf file "${this.file}"`;
  }

  async schema(): Promise<Schema> {
    const f = await ArrowIpcFile.open(this.file);
    try {
      return f.schema();
    } finally {
      await f.close();
    }
  }

  async numRows(): Promise<number> {
    const f = await ArrowIpcFile.open(this.file);
    try {
      return f.numRows;
    } finally {
      await f.close();
    }
  }

  /**
   * One whole column (or a row range of it) as a single Column. Fixed-width columns
   * (float64, float32, int32, int16, uint8, date, factor codes) are read with positioned
   * reads straight into the result array (no intermediate buffers or copies); other
   * types go through the chunk reader and are concatenated.
   */
  async readColumn(name: string, opts: { startRow?: number; numRows?: number } = {}): Promise<Column> {
    const f = await ArrowIpcFile.open(this.file);
    try {
      const fields = f.arrowSchema.fields;
      const j = fields.findIndex((x) => x.name === name);
      if (j < 0) throw new RxError('RX_SCHEMA', `Unknown column "${name}" in ${this.describe()}`, { column: name, file: this.file });
      const type = columnTypeOfArrow(fields[j]!.type, name);
      const start = Math.max(0, opts.startRow ?? 0);
      const total = f.numRows;
      const end = Math.min(total, opts.numRows !== undefined ? start + opts.numRows : total);
      const n = Math.max(0, end - start);
      const width = FIXED_WIDTH[type];
      const ft = fields[j]!.type as unknown as { typeId: Type; bitWidth?: number; precision?: number; unit?: number; indices?: { bitWidth: number; isSigned: boolean } };
      const exact =
        width !== undefined &&
        ((type === 'float64' && ft.typeId === Type.Float && ft.precision === 2) ||
          (type === 'float32' && ft.typeId === Type.Float && ft.precision === 1) ||
          (ft.typeId === Type.Int && (type === 'int32' || type === 'int16' || type === 'uint8')) ||
          (type === 'date' && ft.unit === 0) ||
          (type === 'factor' && ft.indices?.bitWidth === 32 && ft.indices.isSigned));
      const layout = exact ? fieldLayout(fields, j) : null;
      if (!exact || !layout) {
        const parts: Column[] = [];
        for await (const ch of this.chunks({ columns: [name], startRow: start, numRows: n })) parts.push(ch.columns[name]!);
        return concatColumns(type, parts, f.factorLevels()[name]);
      }
      // every byte of the result is written by the reads below (the batches tile the row
      // range), so the array need not be zero-filled first
      const raw = Buffer.allocUnsafeSlow(n * width);
      const C = ARRAY_OF[type]! as unknown as new (b: ArrayBufferLike, o: number, l: number) => Float64Array;
      const out = new C(raw.buffer, raw.byteOffset, n);
      const bytes = new Uint8Array(raw.buffer, raw.byteOffset, n * width);
      let valid: Uint8Array | undefined;
      let base = 0;
      for (const b of f.batches) {
        const bEnd = base + b.length;
        const lo = Math.max(start, base);
        const hi = Math.min(end, bEnd);
        if (hi > lo) {
          const node = b.header.nodes[layout.node]!;
          const vreg = b.header.buffers[layout.buf]!;
          const dreg = b.header.buffers[layout.buf + 1]!;
          const bodyStart = b.block.offset + b.block.metaDataLength;
          const want = (hi - lo) * width;
          if (dreg.length < b.length * width) throw new RxError('RX_DATA_SOURCE', `Arrow file "${this.file}": column "${name}" data buffer is too short`, { file: this.file });
          let got = 0;
          const pos = bodyStart + dreg.offset + (lo - base) * width;
          while (got < want) {
            const r = readSync(f.fh.fd, bytes, (lo - start) * width + got, want - got, pos + got);
            if (r === 0) throw new RxError('RX_IO', `Arrow file "${this.file}" is truncated`, { file: this.file });
            got += r;
          }
          if (node.nullCount > 0 && vreg.length > 0) {
            valid ??= new Uint8Array(n).fill(1);
            const bits = await readAt(f.fh, this.file, bodyStart + vreg.offset, vreg.length);
            for (let i = lo; i < hi; i++) {
              const bit = i - base;
              if (((bits[bit >> 3]! >> (bit & 7)) & 1) === 0) {
                valid[i - start] = 0;
                if (type === 'float64' || type === 'float32') out[i - start] = Number.NaN;
                else out[i - start] = 0;
              }
            }
          }
        }
        base = bEnd;
        if (base >= end) break;
      }
      const col: Column = { type, data: out };
      if (valid) col.valid = valid;
      if (type === 'factor') {
        col.levels = f.factorLevels()[name] ?? [];
        col.ordered = (fields[j]!.type as unknown as { isOrdered: boolean }).isOrdered;
      }
      return col;
    } finally {
      await f.close();
    }
  }

  /** Rows per record batch (RevoScaleR's block sizes). */
  async blockSizes(): Promise<number[]> {
    const f = await ArrowIpcFile.open(this.file);
    try {
      return f.batches.map((b) => b.length);
    } finally {
      await f.close();
    }
  }

  chunks(opts: ChunkOptions = {}): AsyncIterable<Chunk> {
    return this.chunksWhere(opts);
  }

  /**
   * The chunks of `chunks(opts)` whose 0-based index k (counted over every chunk of the
   * range) passes `take(k)`; record batches holding no taken chunk are not read at all.
   * Lets several readers (RxLocalParallel's worker threads) share one file chunk by chunk.
   *
   * Chunks are `owned` (transferable without a copy) when they span a whole record batch,
   * every column is a fixed-width or string column and buffers are not reused.
   */
  async *chunksWhere(opts: ChunkOptions = {}, take?: (k: number) => boolean): AsyncIterable<Chunk> {
    const f = await ArrowIpcFile.open(this.file);
    try {
      const fields = f.arrowSchema.fields;
      const names = opts.columns ?? fields.map((x) => x.name);
      const idx = names.map((n) => {
        const j = fields.findIndex((x) => x.name === n);
        if (j < 0) throw new RxError('RX_SCHEMA', `Unknown column "${n}" in ${this.describe()}`, { column: n, file: this.file });
        columnTypeOfArrow(fields[j]!.type, n);
        return j;
      });
      // fixed-width columns are read straight into typed arrays, the rest through Arrow
      const fixed = idx.map((j, k) => fixedLayout(fields, j, names[k]!));
      const slowK = names.map((_, k) => k).filter((k) => !fixed[k]);
      const slowIdx = slowK.map((k) => idx[k]!);
      const ownable = slowK.every((k) => fields[idx[k]!]!.type.typeId === Type.Utf8 || fields[idx[k]!]!.type.typeId === Type.LargeUtf8);
      const levels = f.factorLevels();
      const start = Math.max(0, opts.startRow ?? 0);
      const total = f.numRows;
      const end = Math.min(total, opts.numRows !== undefined ? start + opts.numRows : total);
      const step = Math.max(1, opts.rowsPerRead ?? this.rowsPerRead ?? Number.POSITIVE_INFINITY);
      // reuseBuffers: the consumer is done with a batch's chunks when it asks for the next
      // one, so every batch is read into the same buffers
      const pool: ReadPool | undefined = opts.reuseBuffers ? takeSparePool() : undefined;
      let base = 0;
      let k = 0;
      for (let bi = 0; bi < f.batches.length && base < end; bi++) {
        const batch = f.batches[bi]!;
        const len = batch.length;
        const bEnd = base + len;
        if (bEnd > start && len > 0) {
          const lo = Math.max(start, base);
          const hi = Math.min(end, bEnd);
          const nChunks = Math.max(1, Math.ceil((hi - lo) / step)); // step may be Infinity (whole batches)
          let any = !take;
          for (let c = 0; !any && c < nChunks; c++) any = take!(k + c);
          if (!any) {
            k += nChunks;
            base = bEnd;
            continue;
          }
          if (opts.signal?.aborted) throw new RxError('RX_CANCELLED', `reading ${this.describe()} was cancelled`);
          const cols: Record<string, Column> = {};
          names.forEach((n, c) => {
            const l = fixed[c];
            if (!l) return;
            const col = readFixed(f, batch, l, n, pool ? (pool.fast[c] ??= {}) : undefined, pool?.bits);
            if (l.type === 'factor') {
              col.levels = levels[n] ?? [];
              col.ordered = l.ordered;
            }
            cols[n] = col;
          });
          if (slowIdx.length > 0) {
            const datas = await f.readBatchData(bi, slowIdx, pool?.slow);
            slowK.forEach((c, q) => {
              const n = names[c]!;
              cols[n] = arrowDataToColumn(datas[q]!, n, { ownsMemory: true, ...(levels[n] ? { levels: levels[n] } : {}) });
            });
          }
          for (let b = lo; b < hi; b += step, k++) {
            if (take && !take(k)) continue;
            const e = Math.min(hi, b + step);
            const whole = b === base && e === bEnd;
            const columns: Record<string, Column> = {};
            for (const n of names) columns[n] = whole ? cols[n]! : sliceColumn(cols[n]!, b - base, e - base);
            const chunk: Chunk = { numRows: e - b, startRow: b, names: [...names], columns };
            if (whole && !pool && ownable) chunk.owned = true;
            yield chunk;
          }
        }
        base = bEnd;
      }
      // ran to the end: the consumer is done with every chunk, the next reuseBuffers read may take the buffers
      if (pool) keepSparePool(pool);
    } finally {
      await f.close();
    }
  }

  async open(schema: Schema, opts: { overwrite?: boolean; append?: 'none' | 'rows' } = {}): Promise<ChunkWriter> {
    return XdfWriter.open(this.file, schema, opts);
  }
}

/* ---------------------------------------------------------------- writer */

/** Temp name beside the final file (same directory, so rename is atomic). */
export function tempNameFor(file: string): string {
  return join(dirname(file), `.${basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

interface FactorState {
  levels: string[];
  index: Map<string, number>;
  /** Chunk level array -> code map (identity maps stored as null). */
  maps: Map<string[], Int32Array | null>;
}

function pad8(n: number): number {
  return (n + 7) & ~7;
}

/** Encodes a message as [continuation, length, flatbuffer, padding]. */
function messageBytes(msg: Message): Uint8Array {
  const fb = Message.encode(msg);
  const total = pad8(8 + fb.byteLength);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setInt32(0, -1, true);
  dv.setInt32(4, total - 8, true);
  out.set(fb, 8);
  return out;
}

export class XdfWriter implements ChunkWriter {
  private position = 0;
  private readonly blocks: FileBlock[] = [];
  private readonly dictBlocks: FileBlock[] = [];
  private readonly factors = new Map<string, FactorState>();
  private closed = false;

  private constructor(
    readonly file: string,
    private readonly tmp: string,
    private readonly fh: FileHandle,
    private readonly arrowSchema: ArrowSchema,
    private readonly columns: ColumnInfo[],
  ) {}

  static async open(file: string, schema: Schema, opts: { overwrite?: boolean; append?: 'none' | 'rows' }): Promise<XdfWriter> {
    const append = opts.append ?? 'none';
    const exists = existsSync(file);
    if (exists && append !== 'rows' && !opts.overwrite)
      throw new RxError('RX_IO', `Output file "${file}" already exists; pass overwrite: true to replace it or append: 'rows' to add rows`, { file });
    const dupe = schema.columns.map((c) => c.name).find((n, i, a) => a.indexOf(n) !== i);
    if (dupe !== undefined) throw new RxError('RX_SCHEMA', `Duplicate column name "${dupe}" in data written to "${file}"`, { file, column: dupe });
    const tmp = tempNameFor(file);
    if (append === 'rows' && exists) return XdfWriter.openAppend(file, tmp, schema);
    let dictId = 0;
    const fields = schema.columns.map((c) => arrowFieldFor(c, c.type === 'factor' ? dictId++ : 0));
    const md = new Map<string, string>(Object.entries(schema.metadata ?? {}));
    md.set('rxscale.format', 'xdf');
    md.set('rxscale.formatVersion', XDF_FORMAT_VERSION);
    md.set('rxscale.writer', `rxscale ${rxscaleVersion()}`);
    const arrowSchema = new ArrowSchema(fields, md);
    const fh = await open(tmp, 'wx');
    const w = new XdfWriter(file, tmp, fh, arrowSchema, schema.columns);
    for (const c of schema.columns) if (c.type === 'factor') w.factorState(c.name, c.levels ?? []);
    try {
      const magic = new Uint8Array(8);
      magic.set(MAGIC);
      await w.writeAll([magic, messageBytes(Message.from(arrowSchema) as Message)]);
    } catch (e) {
      await w.abort();
      throw e;
    }
    return w;
  }

  /** Append: copy the existing file up to the end of its last record batch, then continue. */
  private static async openAppend(file: string, tmp: string, schema: Schema): Promise<XdfWriter> {
    const src = await ArrowIpcFile.open(file);
    let fh: FileHandle | undefined;
    try {
      const existing = src.schema();
      const have = existing.columns.map((c) => `${c.name}:${c.type}`).join(',');
      const want = schema.columns.map((c) => `${c.name}:${c.type}`).join(',');
      if (have !== want)
        throw new RxError('RX_SCHEMA', `Cannot append to "${file}": its columns (${have}) differ from the data's (${want})`, { file });
      // the bytes we append must match the file's Arrow types exactly (a file from another
      // tool may use e.g. int64 or int8 dictionary indices, which we read but do not write)
      src.arrowSchema.fields.forEach((f, j) => {
        const ours = arrowTypeFor(existing.columns[j]!);
        if (f.type.typeId !== ours.typeId || String(f.type) !== String(ours))
          throw new RxError('RX_SCHEMA', `Cannot append to "${file}": column "${f.name}" is stored as Arrow ${String(f.type)}, rxscale writes ${String(ours)}; rewrite it with rxDataStep first`, {
            file,
            column: f.name,
          });
      });
      let end = 8;
      for (const b of src.batches) end = Math.max(end, b.block.offset + b.block.metaDataLength + b.block.bodyLength);
      if (src.batches.length === 0) {
        // only magic + schema: find the end of the schema message
        const head = await readAt(src.fh, file, 8, 8);
        const dv = new DataView(head.buffer, head.byteOffset);
        end = 8 + (dv.getInt32(0, true) === -1 ? 8 + dv.getInt32(4, true) : 4 + dv.getInt32(0, true));
      }
      fh = await open(tmp, 'wx');
      const chunkSize = 8 << 20;
      for (let p = 0; p < end; p += chunkSize) {
        const bytes = await readAt(src.fh, file, p, Math.min(chunkSize, end - p));
        await fh.write(bytes, 0, bytes.length, p);
      }
      const w = new XdfWriter(file, tmp, fh, src.arrowSchema, existing.columns);
      w.position = end;
      for (const b of src.batches) w.blocks.push(b.block);
      for (const c of existing.columns) if (c.type === 'factor') w.factorState(c.name, c.levels ?? []);
      return w;
    } catch (e) {
      if (fh) await fh.close().catch(() => {});
      await rm(tmp, { force: true });
      throw e;
    } finally {
      await src.close();
    }
  }

  private factorState(name: string, initial: string[]): FactorState {
    let s = this.factors.get(name);
    if (!s) {
      s = { levels: [], index: new Map(), maps: new Map() };
      this.factors.set(name, s);
      for (const l of initial) this.addLevel(s, l);
    }
    return s;
  }

  private addLevel(s: FactorState, l: string): number {
    let c = s.index.get(l);
    if (c === undefined) {
      c = s.levels.length;
      s.levels.push(l);
      s.index.set(l, c);
    }
    return c;
  }

  private async writeAll(parts: Uint8Array[]): Promise<void> {
    let len = 0;
    for (const p of parts) len += p.byteLength;
    let off = 0;
    while (off < len) {
      // writev may write partially; fall back to sequential writes for the remainder
      if (off === 0) {
        const { bytesWritten } = await this.fh.writev(parts, this.position);
        off = bytesWritten;
        continue;
      }
      let skip = off;
      for (const p of parts) {
        if (skip >= p.byteLength) {
          skip -= p.byteLength;
          continue;
        }
        const sub = p.subarray(skip);
        let w = 0;
        while (w < sub.length) w += (await this.fh.write(sub, w, sub.length - w, this.position + off + w)).bytesWritten;
        off += sub.length;
        skip = 0;
      }
    }
    this.position += len;
  }

  private async writeBody(header: RecordBatchHeader | DictionaryBatchHeader, bodyLength: number, views: ArrayBufferView[], isDict: boolean): Promise<void> {
    const meta = messageBytes(Message.from(header, bodyLength) as Message);
    const parts: Uint8Array[] = [meta];
    let written = 0;
    for (const v of views) {
      const b = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      if (b.byteLength === 0) continue;
      parts.push(b);
      written += b.byteLength;
      const pad = pad8(b.byteLength) - b.byteLength;
      if (pad) {
        parts.push(new Uint8Array(pad));
        written += pad;
      }
    }
    if (written < bodyLength) parts.push(new Uint8Array(bodyLength - written));
    const block = new FileBlock(meta.byteLength, bodyLength, this.position);
    await this.writeAll(parts);
    if (!isDict) this.blocks.push(block);
    else this.dictBlocks.push(block);
  }

  /** Codes of a chunk's factor column in the writer's level numbering. */
  private factorCodes(name: string, col: Column): Int32Array {
    const s = this.factorState(name, []);
    const lv = col.levels ?? [];
    let map = s.maps.get(lv);
    if (map === undefined || (map !== null && map.length !== lv.length)) {
      const m = new Int32Array(lv.length);
      let identity = true;
      lv.forEach((l, k) => {
        m[k] = this.addLevel(s, l);
        if (m[k] !== k) identity = false;
      });
      map = identity ? null : m;
      s.maps.set(lv, map);
    }
    const codes = col.data as Int32Array;
    if (map === null) return codes;
    const out = new Int32Array(codes.length);
    for (let i = 0; i < codes.length; i++) out[i] = map[codes[i]!] ?? 0;
    return out;
  }

  async write(chunk: Chunk): Promise<void> {
    if (this.closed) throw new RxError('RX_IO', `Writer for "${this.file}" is already closed`, { file: this.file });
    const vectors: Vector[] = [];
    for (const info of this.columns) {
      const col = chunk.columns[info.name];
      if (!col) throw new RxError('RX_SCHEMA', `Chunk written to "${this.file}" lacks column "${info.name}"`, { file: this.file, column: info.name });
      if (col.type !== info.type)
        throw new RxError('RX_SCHEMA', `Column "${info.name}" is ${col.type} in a chunk but ${info.type} in the schema of "${this.file}"`, { file: this.file, column: info.name });
      if ((col.data as ArrayLike<unknown>).length !== chunk.numRows)
        throw new RxError('RX_SCHEMA', `Column "${info.name}" has ${(col.data as ArrayLike<unknown>).length} rows, the chunk ${chunk.numRows}`, { file: this.file, column: info.name });
      const f = this.arrowSchema.fields.find((x) => x.name === info.name)!;
      let data: Data;
      if (col.type === 'factor') {
        const codes = this.factorCodes(info.name, col);
        data = columnToArrowData({ ...col, data: codes }, { dictId: (f.type as unknown as { id: number }).id, levels: [] });
      } else data = columnToArrowData(col);
      vectors.push(makeVector(data));
    }
    const asm = VectorAssembler.assemble(...vectors);
    const header = new RecordBatchHeader(chunk.numRows, asm.nodes, asm.bufferRegions, null);
    await this.writeBody(header, asm.byteLength, asm.buffers, false);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      for (const f of this.arrowSchema.fields) {
        if (f.type.typeId !== Type.Dictionary) continue;
        const s = this.factorState(f.name, []);
        const dict = makeVector(utf8Data(s.levels));
        const asm = VectorAssembler.assemble(dict);
        const rb = new RecordBatchHeader(s.levels.length, asm.nodes, asm.bufferRegions, null);
        await this.writeBody(new DictionaryBatchHeader(rb, (f.type as unknown as { id: number }).id, false), asm.byteLength, asm.buffers, true);
      }
      const footer = Footer.encode(new Footer(this.arrowSchema, MetadataVersion.V5, this.blocks, this.dictBlocks));
      const eos = new Uint8Array(8);
      new DataView(eos.buffer).setInt32(0, -1, true);
      const len = new Uint8Array(4);
      new DataView(len.buffer).setInt32(0, footer.byteLength, true);
      await this.writeAll([eos, footer, len, MAGIC]);
      await this.fh.datasync();
      await this.fh.close();
      await rename(this.tmp, this.file);
    } catch (e) {
      await this.fh.close().catch(() => {});
      await rm(this.tmp, { force: true });
      throw new RxError('RX_IO', `Writing "${this.file}" failed: ${(e as Error).message}`, { file: this.file, cause: e });
    }
  }

  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close().catch(() => {});
    await rm(this.tmp, { force: true });
  }
}

/* ------------------------------------------------------- metadata rewrite */

/**
 * Rewrites an xdf file's variable information (names, descriptions, low/high, value
 * labels, factor level labels) without touching the data: record batches are copied byte
 * for byte into `<file>.tmp-*` with a new schema and new dictionaries, then renamed over
 * the original (atomic). `edit` gets each column's info and returns the new info; the
 * type must stay the same and a factor may not lose levels (codes must stay valid).
 */
export async function rewriteXdfMetadata(file: string, edit: (info: ColumnInfo) => ColumnInfo): Promise<void> {
  const src = await ArrowIpcFile.open(file);
  const tmp = tempNameFor(file);
  let fh: FileHandle | undefined;
  try {
    const old = src.schema();
    const fields: Field[] = [];
    const newDicts = new Map<number, string[] | Vector>();
    src.arrowSchema.fields.forEach((f, j) => {
      const before = old.columns[j]!;
      const after = edit({ ...before, ...(before.levels ? { levels: [...before.levels] } : {}) });
      if (after.type !== before.type)
        throw new RxError('RX_ARG', `rxSetVarInfo cannot change the type of "${before.name}" (${before.type} -> ${after.type}); use rxDataStep`, { column: before.name, file });
      const md = new Map(f.metadata);
      const setOrDelete = (k: string, v: string | undefined) => (v === undefined ? md.delete(k) : md.set(k, v));
      setOrDelete('rxscale.description', after.description);
      setOrDelete('rxscale.low', after.low === undefined ? undefined : String(after.low));
      setOrDelete('rxscale.high', after.high === undefined ? undefined : String(after.high));
      setOrDelete('rxscale.valueLabels', after.valueLabels === undefined ? undefined : JSON.stringify(after.valueLabels));
      let type = f.type;
      if (f.type.typeId === Type.Dictionary) {
        const d = f.type as unknown as { id: number; dictionary: DataType; indices: DataType; isOrdered: boolean };
        const lv = after.levels ?? before.levels ?? [];
        if (lv.length < (before.levels ?? []).length)
          throw new RxError('RX_ARG', `rxSetVarInfo: factor "${before.name}" has ${(before.levels ?? []).length} levels; new levels must not be fewer (got ${lv.length})`, { column: before.name, file });
        const ordered = after.ordered ?? d.isOrdered;
        type = new (f.type.constructor as new (...a: unknown[]) => DataType)(d.dictionary, d.indices, d.id, ordered);
        const same = lv.length === (before.levels ?? []).length && lv.every((l, k) => l === before.levels![k]);
        newDicts.set(d.id, same ? (src.dictionaries.get(d.id) ?? lv) : lv);
      }
      fields.push(new (f.constructor as typeof Field)(after.name, type, f.nullable, md));
    });
    const dupe = fields.map((f) => f.name).find((n, i, a) => a.indexOf(n) !== i);
    if (dupe !== undefined) throw new RxError('RX_SCHEMA', `rxSetVarInfo would give two columns the name "${dupe}"`, { column: dupe, file });
    const schema = new ArrowSchema(fields, new Map(src.arrowSchema.metadata));
    fh = await open(tmp, 'wx');
    let pos = 0;
    const put = async (parts: Uint8Array[]) => {
      for (const p of parts) {
        let w = 0;
        while (w < p.byteLength) w += (await fh!.write(p, w, p.byteLength - w, pos + w)).bytesWritten;
        pos += p.byteLength;
      }
    };
    const magic = new Uint8Array(8);
    magic.set(MAGIC);
    await put([magic, messageBytes(Message.from(schema) as Message)]);
    const blocks: FileBlock[] = [];
    for (const b of src.batches) {
      const bytes = await readAt(src.fh, file, b.block.offset, b.block.metaDataLength + b.block.bodyLength);
      blocks.push(new FileBlock(b.block.metaDataLength, b.block.bodyLength, pos));
      await put([bytes]);
    }
    const dictBlocks: FileBlock[] = [];
    for (const [id, d] of newDicts) {
      const vec = Array.isArray(d) ? makeVector(utf8Data(d)) : d;
      const asm = VectorAssembler.assemble(vec);
      const rb = new RecordBatchHeader(vec.length, asm.nodes, asm.bufferRegions, null);
      const meta = messageBytes(Message.from(new DictionaryBatchHeader(rb, id, false), asm.byteLength) as Message);
      dictBlocks.push(new FileBlock(meta.byteLength, asm.byteLength, pos));
      const parts: Uint8Array[] = [meta];
      let written = 0;
      for (const v of asm.buffers) {
        const u = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
        if (!u.byteLength) continue;
        parts.push(u);
        const padded = pad8(u.byteLength);
        if (padded > u.byteLength) parts.push(new Uint8Array(padded - u.byteLength));
        written += padded;
      }
      if (written < asm.byteLength) parts.push(new Uint8Array(asm.byteLength - written));
      await put(parts);
    }
    const footer = Footer.encode(new Footer(schema, MetadataVersion.V5, blocks, dictBlocks));
    const eos = new Uint8Array(8);
    new DataView(eos.buffer).setInt32(0, -1, true);
    const len = new Uint8Array(4);
    new DataView(len.buffer).setInt32(0, footer.byteLength, true);
    await put([eos, footer, len, MAGIC]);
    await fh.datasync();
    await fh.close();
    fh = undefined;
    await rename(tmp, file);
  } catch (e) {
    if (fh) await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  } finally {
    await src.close();
  }
}
