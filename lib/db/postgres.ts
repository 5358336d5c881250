/**
 * RxPostgresData: a PostgreSQL table or query as a chunked DataSource and a DataSink.
 * Reading streams `COPY (SELECT ...) TO STDOUT (FORMAT binary)` through pg-copy-streams
 * and a binary decoder that writes straight into typed arrays (no per-row objects), with
 * back-pressure (the socket is paused while a chunk is being consumed). Writing uses
 * `COPY ... FROM STDIN (FORMAT binary)` into a new table that replaces the target only at
 * close (atomic), or inside one transaction when appending. Identifiers are always
 * quoted; `sqlQuery` is used only as a subquery; values never enter SQL text.
 */
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { Chunk, ChunkOptions, ChunkWriter, ColumnInfo, DataSink, DataSource, PushdownCapabilities, Schema } from '../data/types.js';
import { RxError } from '../errors.js';
import { rxOptions } from '../options.js';
import { argError } from '../validate.js';
import { ChunkAssembler, dbColumnInfo, pickColumns } from './builders.js';
import { type KeyFilter, checkKeyFilter, filteredFrom, postgresDialect, tempTableName } from './dialect.js';
import { PgBinaryDecoder, PgBinaryEncoder, pgOidToType } from './pg-binary.js';

export interface RxPostgresDataOptions {
  connectionString: string;
  /** Table name (quoted as one identifier). */
  table?: string;
  /** Schema of the table (default: search_path). */
  schemaName?: string;
  /** A SELECT used as a subquery (read-only sources). */
  sqlQuery?: string;
  rowsPerRead?: number;
  /** Per-column overrides, e.g. { carrier: { type: 'factor', levels: [...] } }. */
  colInfo?: Record<string, Partial<ColumnInfo>>;
  /**
   * Only the rows whose columns equal these values (null: missing), e.g. one rxExecBy
   * partition. Values are bound, never spliced into SQL. Read-only.
   */
  filter?: KeyFilter;
}

export const pgQuoteIdent = postgresDialect.quoteIdent;

/** Wraps a pg error into RxError with the server's message. */
export function pgError(e: unknown, what: string): RxError {
  if (e instanceof RxError) return e;
  const err = e as { message?: string; code?: string };
  const sqlState = typeof err.code === 'string' && /^[0-9A-Z]{5}$/.test(err.code) ? err.code : undefined;
  const code = sqlState && !sqlState.startsWith('08') && !sqlState.startsWith('28') && !sqlState.startsWith('57') ? 'RX_SQL' : 'RX_DATA_SOURCE';
  return new RxError(code, `${what}: ${err.message ?? String(e)}${sqlState ? ` (SQLSTATE ${sqlState})` : ''}`, { cause: e });
}

export async function pgConnect(connectionString: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString });
  client.on('error', () => {
    /* surfaced through the pending query / stream */
  });
  try {
    await client.connect();
  } catch (e) {
    throw pgError(e, 'Cannot connect to PostgreSQL');
  }
  return client;
}

export class RxPostgresData implements DataSource, DataSink {
  readonly kind = 'postgres';
  readonly pushdown: PushdownCapabilities = { sqlAggregates: true, filters: true, dialect: 'postgres' };
  readonly opts: RxPostgresDataOptions;
  private cachedSchema: Schema | undefined;
  /** PostgreSQL type OIDs of the schema's columns (set by schema()). */
  private oids: number[] = [];

  constructor(opts: RxPostgresDataOptions) {
    if (typeof opts?.connectionString !== 'string') throw argError('string', 'connectionString', opts?.connectionString);
    if ((opts.table === undefined) === (opts.sqlQuery === undefined)) throw argError('exactly one of table or sqlQuery', 'RxPostgresData options', opts);
    this.opts = { ...opts };
    const filter = checkKeyFilter(opts.filter);
    if (filter) this.opts.filter = filter;
    else delete this.opts.filter;
  }

  describe(): string {
    const what = this.opts.table !== undefined ? `PostgreSQL table ${this.qualifiedTable()}` : 'PostgreSQL query';
    return this.opts.filter ? `${what} (rows where ${Object.keys(this.opts.filter).join(', ')} = the partition's key)` : what;
  }

  /** The same table or query restricted to the rows whose columns equal `filter` (added to this source's filter). */
  withFilter(filter: KeyFilter): RxPostgresData {
    const f = new RxPostgresData({ ...this.opts, filter: { ...this.opts.filter, ...filter } });
    f.cachedSchema = this.cachedSchema;
    f.oids = this.oids;
    return f;
  }

  /**
   * FROM target with this source's filter applied, its values as parameters $firstParam..
   * (the table or query itself when there is no filter). Needs the schema (await schema()).
   */
  filteredFrom(firstParam = 1): { from: string; params: Array<string | number | boolean> } {
    return filteredFrom(postgresDialect, this.fromClause(), this.opts.filter, this.cachedSchema ?? { columns: [] }, firstParam);
  }

  /** FROM clause target: the quoted table or the query as a subquery. */
  /**
   * Object store in this database for rxWriteObject / rxReadObject / rxListKeys /
   * rxDeleteObject (`dest` may be this source): key/value rows in table `rx_objects`.
   */
  async objectStore(table = 'rx_objects'): Promise<import('../scoring/store.js').ObjectStoreBackend> {
    const { postgresBackend } = await import('../scoring/store.js');
    return postgresBackend(this.opts.connectionString, table);
  }

  fromClause(): string {
    return this.opts.table !== undefined ? this.qualifiedTable() : `(${this.opts.sqlQuery}) AS rx_q`;
  }

  qualifiedTable(): string {
    if (this.opts.table === undefined) throw new RxError('RX_ARG', 'this PostgreSQL source is a query, not a table');
    return this.opts.schemaName ? `${pgQuoteIdent(this.opts.schemaName)}.${pgQuoteIdent(this.opts.table)}` : pgQuoteIdent(this.opts.table);
  }

  async schema(): Promise<Schema> {
    if (this.cachedSchema) return this.cachedSchema;
    const client = await pgConnect(this.opts.connectionString);
    try {
      let res: pg.QueryResult;
      try {
        res = await client.query(`SELECT * FROM ${this.fromClause()} LIMIT 0`);
      } catch (e) {
        throw pgError(e, `Cannot read the schema of ${this.describe()}`);
      }
      const columns: ColumnInfo[] = res.fields.map((f) =>
        dbColumnInfo(f.name, pgOidToType(f.dataTypeID), this.opts.colInfo?.[f.name], this.describe(), `PostgreSQL type OID ${f.dataTypeID}`),
      );
      this.cachedSchema = { columns, metadata: { source: 'postgres' } };
      this.oids = res.fields.map((f) => f.dataTypeID);
      return this.cachedSchema;
    } finally {
      await client.end().catch(() => {});
    }
  }

  async numRows(): Promise<number> {
    await this.schema();
    const client = await pgConnect(this.opts.connectionString);
    try {
      const f = this.filteredFrom();
      const r = await client.query(`SELECT count(*)::float8 AS n FROM ${f.from}`, f.params);
      return Number(r.rows[0].n);
    } catch (e) {
      throw pgError(e, `Cannot count rows of ${this.describe()}`);
    } finally {
      await client.end().catch(() => {});
    }
  }

  async *chunks(opts: ChunkOptions = {}): AsyncIterable<Chunk> {
    const schema = await this.schema();
    const { names, infos, index } = pickColumns(schema, opts.columns, this.describe());
    const rowsPerRead = Math.max(1, opts.rowsPerRead ?? this.opts.rowsPerRead ?? rxOptions().rowsPerRead);
    // COPY takes no bound parameters: filter values travel as bound parameters of
    // set_config() into session settings, which the COPY query reads back (never SQL text)
    const typed = (i: number, v: string | number | boolean) =>
      typeof v === 'string' ? `current_setting('rxscale.filter${i}')` : `CAST(current_setting('rxscale.filter${i}') AS ${typeof v === 'number' ? 'DOUBLE PRECISION' : 'BOOLEAN'})`;
    const f = filteredFrom(postgresDialect, this.fromClause(), this.opts.filter, schema, 1, typed);
    const sql = postgresDialect.selectRange(names.map(pgQuoteIdent).join(', ') || '1', f.from, opts.startRow, opts.numRows);
    const client = await pgConnect(this.opts.connectionString);
    if (f.params.length) {
      try {
        await client.query(`SELECT ${f.params.map((_, i) => `set_config('rxscale.filter${i + 1}', $${i + 1}, false)`).join(', ')}`, f.params.map((v) => String(v)));
      } catch (e) {
        await client.end().catch(() => {});
        throw pgError(e, `Reading ${this.describe()} failed`);
      }
    }
    const assembler = new ChunkAssembler(names, infos, rowsPerRead, opts.startRow ?? 0);
    const ready: Chunk[] = [];
    const decoder = new PgBinaryDecoder(
      index.map((i) => this.oids[i]!),
      assembler.builders,
      rowsPerRead,
      () => ready.push(assembler.take()),
    );
    const stream = client.query(copyTo(`COPY (${sql}) TO STDOUT (FORMAT binary)`));
    let done = false;
    let failure: unknown;
    let wake: (() => void) | undefined;
    const notify = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    stream.on('data', (buf: Buffer) => {
      try {
        decoder.push(buf);
      } catch (e) {
        failure = e;
        stream.destroy();
      }
      if (ready.length) stream.pause();
      notify();
    });
    stream.on('end', () => {
      done = true;
      notify();
    });
    stream.on('error', (e: unknown) => {
      failure ??= e;
      done = true;
      notify();
    });
    client.on('error', (e: unknown) => {
      failure ??= e;
      done = true;
      notify();
    });
    try {
      for (;;) {
        if (opts.signal?.aborted) throw new RxError('RX_CANCELLED', `reading ${this.describe()} was cancelled`);
        if (ready.length) {
          yield ready.shift()!;
          continue;
        }
        if (failure) throw pgError(failure, `Reading ${this.describe()} failed`);
        if (done) break;
        if (stream.isPaused()) stream.resume();
        await new Promise<void>((r) => {
          wake = r;
        });
      }
      decoder.finish();
      if (assembler.rows > 0) ready.push(assembler.take());
      while (ready.length) yield ready.shift()!;
    } finally {
      if (!done) stream.destroy();
      await client.end().catch(() => {});
    }
  }

  /** DataSink: write chunks into this table (COPY binary; atomic replace or transactional append). */
  async open(schema: Schema, o: { overwrite?: boolean; append?: 'none' | 'rows' } = {}): Promise<ChunkWriter> {
    if (this.opts.table === undefined) throw new RxError('RX_ARG', 'cannot write to a PostgreSQL query; give a table');
    if (this.opts.filter) throw new RxError('RX_ARG', `cannot write to ${this.describe()}: a filtered source is read-only`);
    const client = await pgConnect(this.opts.connectionString);
    const target = this.qualifiedTable();
    const names = schema.columns.map((c) => c.name);
    const append = o.append === 'rows';
    let writeTable = target;
    let tmpName: string | undefined;
    try {
      const exists = (await client.query('SELECT to_regclass($1) IS NOT NULL AS e', [target])).rows[0].e as boolean;
      if (exists && !append && !o.overwrite)
        throw new RxError('RX_IO', `${this.describe()} already exists; pass overwrite: true to replace it or append: 'rows'`);
      await client.query('BEGIN');
      if (!(append && exists)) {
        tmpName = tempTableName(this.opts.table);
        writeTable = this.opts.schemaName ? `${pgQuoteIdent(this.opts.schemaName)}.${pgQuoteIdent(tmpName)}` : pgQuoteIdent(tmpName);
        const cols = schema.columns.map((c) => `${pgQuoteIdent(c.name)} ${postgresDialect.typeName(c.type)}`).join(', ');
        await client.query(`CREATE TABLE ${writeTable} (${cols})`);
      }
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      await client.end().catch(() => {});
      throw pgError(e, `Cannot open ${this.describe()} for writing`);
    }
    const enc = new PgBinaryEncoder();
    const copy = client.query(copyFrom(`COPY ${writeTable} (${names.map(pgQuoteIdent).join(', ')}) FROM STDIN (FORMAT binary)`));
    let copyError: unknown;
    copy.on('error', (e: unknown) => {
      copyError ??= e;
    });
    const write = (b: Buffer) =>
      new Promise<void>((resolve, reject) => {
        if (copyError) return reject(copyError);
        if (copy.write(b)) resolve();
        else copy.once('drain', () => resolve());
      });
    await write(enc.header());
    const self = this;
    let finished = false;
    return {
      async write(chunk: Chunk) {
        try {
          await write(enc.encode(chunk, names));
        } catch (e) {
          throw pgError(e, `Writing to ${self.describe()} failed`);
        }
      },
      async close() {
        if (finished) return;
        finished = true;
        try {
          await new Promise<void>((resolve, reject) => {
            copy.on('finish', () => resolve());
            copy.on('error', reject);
            copy.end(enc.trailer());
          });
          if (tmpName !== undefined) {
            await client.query(`DROP TABLE IF EXISTS ${target}`);
            await client.query(`ALTER TABLE ${writeTable} RENAME TO ${pgQuoteIdent(self.opts.table!)}`);
          }
          await client.query('COMMIT');
          self.cachedSchema = undefined;
        } catch (e) {
          await client.query('ROLLBACK').catch(() => {});
          throw pgError(e, `Writing to ${self.describe()} failed`);
        } finally {
          await client.end().catch(() => {});
        }
      },
      async abort() {
        if (finished) return;
        finished = true;
        copy.destroy();
        await client.query('ROLLBACK').catch(() => {});
        await client.end().catch(() => {});
      },
    };
  }
}
