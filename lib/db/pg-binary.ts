/**
 * PostgreSQL COPY binary format: a streaming decoder (COPY ... TO STDOUT (FORMAT binary))
 * that writes fields straight into ColumnBuilders, and an encoder for
 * COPY ... FROM STDIN (FORMAT binary). Format: 11-byte signature, int32 flags, int32
 * header-extension length; then per tuple int16 field count (-1 ends the data) and per
 * field int32 byte length (-1 = NULL) followed by the value in network byte order.
 */
import { type Chunk, type ColumnType, isMissing as missing } from '../data/types.js';
import { RxError } from '../errors.js';
import type { ColumnBuilder } from './builders.js';

export const PG_SIGNATURE = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00]);
/** Days and ms between 1970-01-01 and PostgreSQL's epoch 2000-01-01. */
const PG_EPOCH_DAYS = 10957;
const PG_EPOCH_MS = PG_EPOCH_DAYS * 86_400_000;

export const PG_OID = {
  bool: 16,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  name: 19,
  float4: 700,
  float8: 701,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  timestamp: 1114,
  timestamptz: 1184,
  numeric: 1700,
} as const;

const TEXT_OIDS = new Set<number>([PG_OID.text, PG_OID.varchar, PG_OID.bpchar, PG_OID.name]);

/** Our column type for a PostgreSQL type OID, or null when it cannot be mapped. */
export function pgOidToType(oid: number): ColumnType | null {
  switch (oid) {
    case PG_OID.bool:
      return 'bool';
    case PG_OID.int2:
      return 'int16';
    case PG_OID.int4:
      return 'int32';
    case PG_OID.int8:
    case PG_OID.numeric:
    case PG_OID.float8:
      return 'float64';
    case PG_OID.float4:
      return 'float32';
    case PG_OID.date:
      return 'date';
    case PG_OID.timestamp:
    case PG_OID.timestamptz:
      return 'timestamp';
    default:
      return TEXT_OIDS.has(oid) ? 'string' : null;
  }
}

function readNumeric(buf: Buffer, p: number): number {
  const ndigits = buf.readInt16BE(p);
  const weight = buf.readInt16BE(p + 2);
  const sign = buf.readUInt16BE(p + 4);
  if (sign === 0xc000) return Number.NaN;
  if (sign === 0xd000) return Number.POSITIVE_INFINITY;
  if (sign === 0xf000) return Number.NEGATIVE_INFINITY;
  // Accumulate base-10000 digits exactly as a decimal string, then parse once (correct rounding).
  let s = '';
  for (let i = 0; i < ndigits; i++) {
    const d = buf.readInt16BE(p + 8 + 2 * i);
    s += i === 0 ? String(d) : String(d).padStart(4, '0');
  }
  if (ndigits === 0) return 0;
  const exp = (weight - (ndigits - 1)) * 4;
  const v = Number(`${s}e${exp}`);
  return sign === 0x4000 ? -v : v;
}

/**
 * Streaming decoder: push() Buffers as they arrive; each time `rowsPerChunk` rows are
 * complete, onChunk(columns) is called with the finished builders' columns.
 */
export class PgBinaryDecoder {
  private pending: Buffer = Buffer.alloc(0);
  private headerDone = false;
  private ended = false;
  rows = 0;

  constructor(
    private readonly oids: number[],
    private readonly builders: ColumnBuilder[],
    private readonly rowsPerChunk: number,
    private readonly onChunk: (rows: number) => void,
  ) {}

  push(chunk: Buffer): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let p = 0;
    if (!this.headerDone) {
      if (buf.length < 19) {
        this.pending = buf;
        return;
      }
      if (!buf.subarray(0, 11).equals(PG_SIGNATURE)) throw new RxError('RX_DATA_SOURCE', 'PostgreSQL COPY stream has no binary signature');
      const ext = buf.readInt32BE(15);
      if (buf.length < 19 + ext) {
        this.pending = buf;
        return;
      }
      p = 19 + ext;
      this.headerDone = true;
    }
    const nf = this.oids.length;
    const len = buf.length;
    for (;;) {
      if (p + 2 > len) break;
      const count = buf.readInt16BE(p);
      if (count === -1) {
        this.ended = true;
        p += 2;
        break;
      }
      if (count !== nf) throw new RxError('RX_DATA_SOURCE', `PostgreSQL COPY tuple has ${count} fields, expected ${nf}`);
      // check the whole tuple is present before decoding any field
      let q = p + 2;
      let complete = true;
      for (let f = 0; f < nf; f++) {
        if (q + 4 > len) {
          complete = false;
          break;
        }
        const fl = buf.readInt32BE(q);
        q += 4 + Math.max(fl, 0);
        if (q > len) {
          complete = false;
          break;
        }
      }
      if (!complete) break;
      q = p + 2;
      for (let f = 0; f < nf; f++) {
        const fl = buf.readInt32BE(q);
        q += 4;
        const b = this.builders[f]!;
        if (fl < 0) b.pushNull();
        else {
          this.decodeField(this.oids[f]!, b, buf, q, fl);
          q += fl;
        }
      }
      p = q;
      this.rows++;
      if (this.builders[0]!.n >= this.rowsPerChunk) this.onChunk(this.builders[0]!.n);
    }
    this.pending = p < len ? Buffer.from(buf.subarray(p)) : Buffer.alloc(0);
    buf = Buffer.alloc(0);
  }

  private decodeField(oid: number, b: ColumnBuilder, buf: Buffer, p: number, fl: number): void {
    switch (oid) {
      case PG_OID.float8:
        return b.pushNumber(buf.readDoubleBE(p));
      case PG_OID.float4:
        return b.pushNumber(buf.readFloatBE(p));
      case PG_OID.int4:
        return b.type === 'factor' || b.type === 'string' ? b.pushString(String(buf.readInt32BE(p))) : b.pushNumber(buf.readInt32BE(p));
      case PG_OID.int2:
        return b.type === 'factor' || b.type === 'string' ? b.pushString(String(buf.readInt16BE(p))) : b.pushNumber(buf.readInt16BE(p));
      case PG_OID.int8:
        return b.pushValue(buf.readBigInt64BE(p));
      case PG_OID.bool:
        return b.pushNumber(buf[p]! ? 1 : 0);
      case PG_OID.numeric:
        return b.pushNumber(readNumeric(buf, p));
      case PG_OID.date: {
        const d = buf.readInt32BE(p);
        if (d === 0x7fffffff || d === -0x80000000) return b.pushNull();
        return b.type === 'timestamp' ? b.pushNumber((d + PG_EPOCH_DAYS) * 86_400_000) : b.pushNumber(d + PG_EPOCH_DAYS);
      }
      case PG_OID.timestamp:
      case PG_OID.timestamptz: {
        const us = buf.readBigInt64BE(p);
        return b.pushNumber(Number(us / 1000n) + PG_EPOCH_MS + Number(us % 1000n) / 1000);
      }
      default:
        return b.pushString(buf.toString('utf8', p, p + fl));
    }
  }

  finish(): void {
    if (!this.ended) throw new RxError('RX_DATA_SOURCE', 'PostgreSQL COPY stream ended before its trailer (connection dropped?)');
    if (this.pending.length) throw new RxError('RX_DATA_SOURCE', 'PostgreSQL COPY stream has trailing bytes');
  }
}

/** Encodes chunks for COPY ... FROM STDIN (FORMAT binary). Column order = `names`. */
export class PgBinaryEncoder {
  header(): Buffer {
    const b = Buffer.alloc(19);
    PG_SIGNATURE.copy(b, 0);
    return b;
  }
  trailer(): Buffer {
    const b = Buffer.alloc(2);
    b.writeInt16BE(-1, 0);
    return b;
  }
  encode(chunk: Chunk, names: string[]): Buffer {
    const cols = names.map((n) => chunk.columns[n]!);
    // size pass
    let size = 0;
    const strs: Array<Array<Buffer | null> | null> = cols.map((c) => {
      if (c.type === 'string' || c.type === 'factor') {
        const out: Array<Buffer | null> = new Array(chunk.numRows);
        for (let i = 0; i < chunk.numRows; i++) {
          const s = missing(c, i) ? null : c.type === 'factor' ? c.levels![(c.data as Int32Array)[i]!]! : ((c.data as Array<string | null>)[i] ?? null);
          out[i] = s === null ? null : Buffer.from(s, 'utf8');
        }
        return out;
      }
      return null;
    });
    for (let i = 0; i < chunk.numRows; i++) {
      size += 2;
      cols.forEach((c, j) => {
        size += 4;
        if (missing(c, i)) return;
        const s = strs[j];
        size += s ? s[i]!.length : fixedWidth(c.type);
      });
    }
    const b = Buffer.alloc(size);
    let p = 0;
    for (let i = 0; i < chunk.numRows; i++) {
      b.writeInt16BE(cols.length, p);
      p += 2;
      for (let j = 0; j < cols.length; j++) {
        const c = cols[j]!;
        if (missing(c, i)) {
          b.writeInt32BE(-1, p);
          p += 4;
          continue;
        }
        const s = strs[j];
        if (s) {
          const v = s[i]!;
          b.writeInt32BE(v.length, p);
          v.copy(b, p + 4);
          p += 4 + v.length;
          continue;
        }
        const w = fixedWidth(c.type);
        b.writeInt32BE(w, p);
        p += 4;
        const x = (c.data as Float64Array)[i]!;
        switch (c.type) {
          case 'float64':
            b.writeDoubleBE(x, p);
            break;
          case 'float32':
            b.writeFloatBE(x, p);
            break;
          case 'int32':
            b.writeInt32BE(x, p);
            break;
          case 'int16':
          case 'uint8':
            b.writeInt16BE(x, p);
            break;
          case 'bool':
            b[p] = x ? 1 : 0;
            break;
          case 'date':
            b.writeInt32BE(x - PG_EPOCH_DAYS, p);
            break;
          case 'timestamp':
            b.writeBigInt64BE(BigInt(Math.round((x - PG_EPOCH_MS) * 1000)), p);
            break;
          default:
            break;
        }
        p += w;
      }
    }
    return b;
  }
}

function fixedWidth(t: ColumnType): number {
  switch (t) {
    case 'float64':
    case 'timestamp':
      return 8;
    case 'float32':
    case 'int32':
    case 'date':
      return 4;
    case 'int16':
    case 'uint8':
      return 2;
    case 'bool':
      return 1;
    default:
      return 0;
  }
}
