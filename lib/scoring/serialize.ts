/**
 * rxSerializeModel / rxUnserializeModel: a versioned, self-checking binary envelope.
 *
 * Layout (little-endian), format version 1:
 *   0   8  magic "RXSMODEL"
 *   8   2  format version (u16)          10  2  flags (u16; bit 0 = body gzip-compressed)
 *   12  4  header length H (u32)          16  H  header JSON (utf8): { kind, kindVersion, rxscale, created }
 *   ..  4  body length B (u32)            ..  B  body: [u32 json length J][J bytes JSON][pad to 8][typed-array blob]
 *   ..  4  CRC-32 of every byte before it
 * In the body JSON every typed array is replaced by { "$ta": "<Float64Array|...>", "o": byteOffset, "n": length }
 * pointing into the blob. A reader accepts every format version <= its own; a model kind's
 * fromJSON receives the kindVersion it was written with, so older files keep loading.
 * Corrupted or truncated bytes raise RxError('RX_MODEL'), never a crash.
 */
import { crc32, gunzipSync, gzipSync } from 'node:zlib';
import { RxError } from '../errors.js';
import { argError } from '../validate.js';
import { getModelKind, isRxModel, type RxModel } from './registry.js';

export const MODEL_FORMAT_VERSION = 1;
const MAGIC = 'RXSMODEL';
const RXSCALE_VERSION = '0.1.0';

type TAName = 'Float64Array' | 'Float32Array' | 'Int32Array' | 'Uint32Array' | 'Int16Array' | 'Uint16Array' | 'Uint8Array' | 'Int8Array';
const TA_CTORS: Record<TAName, { new (b: ArrayBuffer, o: number, n: number): ArrayBufferView; BYTES_PER_ELEMENT: number }> = {
  Float64Array,
  Float32Array,
  Int32Array,
  Uint32Array,
  Int16Array,
  Uint16Array,
  Uint8Array,
  Int8Array,
};

/** Encodes any JSON-like value with typed arrays and non-finite numbers into bytes. */
export function encodeBody(value: unknown): Uint8Array {
  const parts: Uint8Array[] = [];
  let offset = 0;
  const json = JSON.stringify(value, function (this: unknown, _k, v) {
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      const name = v.constructor.name as TAName;
      if (!(name in TA_CTORS)) throw new RxError('RX_MODEL', `cannot serialise ${name}`);
      const align = (8 - (offset % 8)) % 8;
      if (align) {
        parts.push(new Uint8Array(align));
        offset += align;
      }
      const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice();
      parts.push(bytes);
      const ref = { $ta: name, o: offset, n: (v as unknown as { length: number }).length };
      offset += bytes.byteLength;
      return ref;
    }
    if (typeof v === 'number' && !Number.isFinite(v)) return { $num: String(v) };
    return v;
  });
  const jsonBytes = Buffer.from(json, 'utf8');
  const head = 4 + jsonBytes.length;
  const pad = (8 - (head % 8)) % 8;
  const out = Buffer.alloc(head + pad + offset);
  out.writeUInt32LE(jsonBytes.length, 0);
  jsonBytes.copy(out, 4);
  let p = head + pad;
  for (const part of parts) {
    out.set(part, p);
    p += part.byteLength;
  }
  return out;
}

/** Inverse of encodeBody. */
export function decodeBody(body: Buffer): unknown {
  if (body.length < 4) throw corrupt('body too short');
  const jl = body.readUInt32LE(0);
  if (4 + jl > body.length) throw corrupt('body JSON length out of range');
  const head = 4 + jl;
  const blobStart = head + ((8 - (head % 8)) % 8);
  const blob = body.subarray(blobStart);
  // copy the blob into an 8-aligned buffer so typed arrays can view it
  const aligned = new ArrayBuffer(blob.length);
  new Uint8Array(aligned).set(blob);
  return JSON.parse(body.subarray(4, head).toString('utf8'), (_k, v) => {
    if (v && typeof v === 'object' && typeof v.$ta === 'string') {
      const C = TA_CTORS[v.$ta as TAName];
      if (!C || !Number.isInteger(v.o) || !Number.isInteger(v.n) || v.o < 0 || v.n < 0 || v.o % C.BYTES_PER_ELEMENT !== 0 || v.o + v.n * C.BYTES_PER_ELEMENT > aligned.byteLength)
        throw corrupt(`bad array reference ${JSON.stringify(v)}`);
      return new C(aligned, v.o, v.n);
    }
    if (v && typeof v === 'object' && typeof v.$num === 'string' && Object.keys(v).length === 1) return Number(v.$num);
    return v;
  });
}

function corrupt(why: string): RxError {
  return new RxError('RX_MODEL', `Serialized model is corrupted or not an rxscale model: ${why}`);
}

export interface SerializeOptions {
  /** gzip the body (default true). */
  compress?: boolean;
}

/** Serialises a fitted model into a versioned, checksummed byte array. */
export function rxSerializeModel(model: RxModel, opts: SerializeOptions = {}): Uint8Array {
  if (!isRxModel(model)) throw argError('an rxscale model', 'model', model);
  const kind = getModelKind(model.modelKind);
  let body: Uint8Array = encodeBody(model.toJSON());
  const compress = opts.compress ?? true;
  if (compress) body = gzipSync(body);
  const header = Buffer.from(JSON.stringify({ kind: kind.kind, kindVersion: kind.version, rxscale: RXSCALE_VERSION, created: new Date().toISOString() }), 'utf8');
  const total = 8 + 2 + 2 + 4 + header.length + 4 + body.length + 4;
  const out = Buffer.alloc(total);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt16LE(MODEL_FORMAT_VERSION, 8);
  out.writeUInt16LE(compress ? 1 : 0, 10);
  out.writeUInt32LE(header.length, 12);
  header.copy(out, 16);
  let p = 16 + header.length;
  out.writeUInt32LE(body.length, p);
  p += 4;
  out.set(body, p);
  p += body.length;
  out.writeUInt32LE(crc32(out.subarray(0, p)), p);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

export interface ModelEnvelope {
  kind: string;
  kindVersion: number;
  formatVersion: number;
  rxscale: string;
  created: string;
}

/** Reads the envelope header without rebuilding the model. */
export function readModelEnvelope(bytes: Uint8Array): ModelEnvelope & { body: unknown } {
  if (!(bytes instanceof Uint8Array)) throw argError('Uint8Array', 'bytes', bytes);
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 24 || b.toString('latin1', 0, 8) !== MAGIC) throw corrupt('missing RXSMODEL magic');
  const version = b.readUInt16LE(8);
  const flags = b.readUInt16LE(10);
  const hl = b.readUInt32LE(12);
  if (16 + hl + 8 > b.length) throw corrupt('header length out of range');
  let p = 16 + hl;
  const bl = b.readUInt32LE(p);
  p += 4;
  if (p + bl + 4 !== b.length) throw corrupt('length mismatch (truncated or padded)');
  const want = b.readUInt32LE(p + bl);
  if (crc32(b.subarray(0, p + bl)) !== want) throw corrupt('checksum mismatch');
  // The framing (magic, version, flags, lengths, CRC) is fixed across format versions, so
  // corruption is detected before the version decides how to read the rest.
  if (version > MODEL_FORMAT_VERSION)
    throw new RxError('RX_MODEL', `Serialized model has format version ${version}; this rxscale reads versions <= ${MODEL_FORMAT_VERSION}. Upgrade rxscale.`);
  let header: { kind: string; kindVersion: number; rxscale: string; created: string };
  try {
    header = JSON.parse(b.toString('utf8', 16, 16 + hl));
  } catch {
    throw corrupt('header is not JSON');
  }
  let body: Buffer = b.subarray(p, p + bl);
  if (flags & 1) {
    try {
      body = gunzipSync(body);
    } catch {
      throw corrupt('body does not decompress');
    }
  }
  return { ...header, formatVersion: version, body: decodeBody(body) };
}

/** Rebuilds a model serialised by rxSerializeModel (any earlier format version). */
export function rxUnserializeModel<M extends RxModel = RxModel>(bytes: Uint8Array): M {
  const env = readModelEnvelope(bytes);
  const kind = getModelKind(env.kind);
  if (env.kindVersion > kind.version)
    throw new RxError('RX_MODEL', `Model kind ${env.kind} was written with layout version ${env.kindVersion}; this rxscale reads <= ${kind.version}.`);
  try {
    return kind.fromJSON(env.body, env.kindVersion) as M;
  } catch (e) {
    if (e instanceof RxError) throw e;
    throw new RxError('RX_MODEL', `Serialized ${env.kind} model could not be rebuilt: ${(e as Error).message}`, { cause: e });
  }
}
