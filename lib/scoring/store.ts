/**
 * Object storage in a SQL table (revoscalepy's rx_write_object family):
 *   rxWriteObject(dest, key, value, { overwrite, serialize, compress })
 *   rxReadObject(dest, key, { deserialize })   rxListKeys(dest)   rxDeleteObject(dest, key)
 * `dest` is an embedded DuckDB database file (the default: a path string or
 * { kind: 'duckdb', path, table }), a PostgreSQL database ({ kind: 'postgres',
 * connectionString, table }), or any object with an `objectStore()` method returning an
 * ObjectStoreBackend (database data sources implement it). Table: (key VARCHAR PRIMARY KEY,
 * value BLOB/BYTEA). Keys are bound as parameters and the table name is quoted, so no
 * user string is ever spliced into SQL.
 * Values: rxscale models are stored with rxSerializeModel; other values as a checksummed
 * envelope of JSON + typed arrays (same framing), or raw bytes with { serialize: false }.
 */
import { crc32, gunzipSync, gzipSync } from 'node:zlib';
import { postgresDialect } from '../db/dialect.js';
import { duckInstance } from '../db/duckdb.js';
import { RxError } from '../errors.js';
import { argError, expectString } from '../validate.js';
import { isRxModel } from './registry.js';
import { decodeBody, encodeBody, rxSerializeModel, rxUnserializeModel } from './serialize.js';

export interface ObjectStoreBackend {
  put(key: string, bytes: Uint8Array, overwrite: boolean): Promise<void>;
  get(key: string): Promise<Uint8Array | undefined>;
  keys(): Promise<string[]>;
  delete(key: string): Promise<boolean>;
  close(): Promise<void>;
}

export type ObjectStoreTarget =
  | string
  | { kind: 'duckdb'; path: string; table?: string }
  | { kind: 'postgres'; connectionString: string; table?: string }
  | { objectStore(): ObjectStoreBackend | Promise<ObjectStoreBackend> };

const DEFAULT_TABLE = 'rx_objects';


export async function duckdbBackend(path: string, table: string): Promise<ObjectStoreBackend> {
  const duck = await import('@duckdb/node-api');
  // shared per path with RxDuckDbData / RxInDuckDb (one DuckDB instance per file per process)
  const conn = await (await duckInstance(path)).connect();
  const t = postgresDialect.quoteIdent(table);
  await conn.run(`CREATE TABLE IF NOT EXISTS ${t} (key VARCHAR PRIMARY KEY, value BLOB NOT NULL)`);
  return {
    async put(key, bytes, overwrite) {
      if (overwrite) await conn.run(`INSERT OR REPLACE INTO ${t} VALUES ($1, $2)`, [key, duck.blobValue(bytes)]);
      else {
        const r = await conn.runAndReadAll(`SELECT 1 FROM ${t} WHERE key = $1`, [key]);
        if (r.getRows().length) throw new RxError('RX_IO', `Object "${key}" already exists in ${path} (${table}); pass { overwrite: true } to replace it`);
        await conn.run(`INSERT INTO ${t} VALUES ($1, $2)`, [key, duck.blobValue(bytes)]);
      }
    },
    async get(key) {
      const r = await conn.runAndReadAll(`SELECT value FROM ${t} WHERE key = $1`, [key]);
      const rows = r.getRows();
      return rows.length ? (rows[0]![0] as { bytes: Uint8Array }).bytes : undefined;
    },
    async keys() {
      const r = await conn.runAndReadAll(`SELECT key FROM ${t} ORDER BY key`);
      return r.getRows().map((row) => String(row[0]));
    },
    async delete(key) {
      const r = await conn.runAndReadAll(`DELETE FROM ${t} WHERE key = $1 RETURNING key`, [key]);
      return r.getRows().length > 0;
    },
    async close() {
      conn.closeSync();
    },
  };
}

export async function postgresBackend(connectionString: string, table: string): Promise<ObjectStoreBackend> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString });
  try {
    await client.connect();
  } catch (e) {
    throw new RxError('RX_DATA_SOURCE', `Cannot connect to PostgreSQL: ${(e as Error).message}`, { cause: e });
  }
  const t = postgresDialect.quoteIdent(table);
  await client.query(`CREATE TABLE IF NOT EXISTS ${t} (key TEXT PRIMARY KEY, value BYTEA NOT NULL)`);
  return {
    async put(key, bytes, overwrite) {
      const sql = overwrite
        ? `INSERT INTO ${t} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`
        : `INSERT INTO ${t} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`;
      const r = await client.query(sql, [key, Buffer.from(bytes)]);
      if (!overwrite && r.rowCount === 0) throw new RxError('RX_IO', `Object "${key}" already exists in table ${table}; pass { overwrite: true } to replace it`);
    },
    async get(key) {
      const r = await client.query(`SELECT value FROM ${t} WHERE key = $1`, [key]);
      return r.rows.length ? new Uint8Array(r.rows[0].value as Buffer) : undefined;
    },
    async keys() {
      const r = await client.query(`SELECT key FROM ${t} ORDER BY key`);
      return r.rows.map((row) => String(row.key));
    },
    async delete(key) {
      const r = await client.query(`DELETE FROM ${t} WHERE key = $1`, [key]);
      return (r.rowCount ?? 0) > 0;
    },
    async close() {
      await client.end();
    },
  };
}

async function openStore(dest: ObjectStoreTarget): Promise<ObjectStoreBackend> {
  if (typeof dest === 'string') return duckdbBackend(dest, DEFAULT_TABLE);
  if (typeof dest === 'object' && dest !== null) {
    if ('objectStore' in dest && typeof dest.objectStore === 'function') return dest.objectStore();
    if ('kind' in dest && dest.kind === 'duckdb') return duckdbBackend(expectString(dest.path, 'dest.path'), dest.table ?? DEFAULT_TABLE);
    if ('kind' in dest && dest.kind === 'postgres') return postgresBackend(expectString(dest.connectionString, 'dest.connectionString'), dest.table ?? DEFAULT_TABLE);
  }
  throw argError('a DuckDB path, { kind: "duckdb" | "postgres", ... } or a database data source', 'dest', dest);
}

async function withStore<T>(dest: ObjectStoreTarget, fn: (s: ObjectStoreBackend) => Promise<T>): Promise<T> {
  const s = await openStore(dest);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

const VALUE_MAGIC = 'RXSVALUE';

function serializeValue(value: unknown, compress: boolean): Uint8Array {
  if (isRxModel(value)) return rxSerializeModel(value, { compress });
  let body = Buffer.from(encodeBody(value));
  if (compress) body = gzipSync(body);
  const out = Buffer.alloc(8 + 2 + 4 + body.length + 4);
  out.write(VALUE_MAGIC, 0, 'latin1');
  out.writeUInt16LE(compress ? 1 : 0, 8);
  out.writeUInt32LE(body.length, 10);
  body.copy(out, 14);
  out.writeUInt32LE(crc32(out.subarray(0, 14 + body.length)), 14 + body.length);
  return out;
}

function deserializeValue(bytes: Uint8Array, key: string): unknown {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = b.toString('latin1', 0, 8);
  if (magic === 'RXSMODEL') return rxUnserializeModel(bytes);
  if (magic !== VALUE_MAGIC || b.length < 18) throw new RxError('RX_MODEL', `Stored object "${key}" is not an rxscale value (read it with { deserialize: false })`);
  const len = b.readUInt32LE(10);
  if (14 + len + 4 !== b.length || crc32(b.subarray(0, 14 + len)) !== b.readUInt32LE(14 + len))
    throw new RxError('RX_MODEL', `Stored object "${key}" is corrupted (checksum mismatch)`);
  let body = b.subarray(14, 14 + len);
  if (b.readUInt16LE(8) & 1) body = gunzipSync(body);
  return decodeBody(body);
}

export interface WriteObjectOptions {
  overwrite?: boolean;
  /** false: `value` must be a Uint8Array stored as is. */
  serialize?: boolean;
  compress?: boolean;
}

export async function rxWriteObject(dest: ObjectStoreTarget, key: string, value: unknown, opts: WriteObjectOptions = {}): Promise<void> {
  expectString(key, 'key');
  if (key.length === 0) throw argError('a non-empty string', 'key', key);
  let bytes: Uint8Array;
  if (opts.serialize === false) {
    if (!(value instanceof Uint8Array)) throw argError('Uint8Array (serialize: false)', 'value', value);
    bytes = value;
  } else bytes = serializeValue(value, opts.compress ?? true);
  await withStore(dest, (s) => s.put(key, bytes, opts.overwrite ?? false));
}

export async function rxReadObject<T = unknown>(dest: ObjectStoreTarget, key: string, opts: { deserialize?: boolean } = {}): Promise<T> {
  expectString(key, 'key');
  const bytes = await withStore(dest, (s) => s.get(key));
  if (bytes === undefined) throw new RxError('RX_ARG', `No object with key "${key}"`);
  return (opts.deserialize === false ? bytes : deserializeValue(bytes, key)) as T;
}

export async function rxListKeys(dest: ObjectStoreTarget): Promise<string[]> {
  return withStore(dest, (s) => s.keys());
}

export async function rxDeleteObject(dest: ObjectStoreTarget, key: string): Promise<boolean> {
  expectString(key, 'key');
  return withStore(dest, (s) => s.delete(key));
}
