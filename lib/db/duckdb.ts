/**
 * RxDuckDbData: a table or query in an embedded DuckDB database (the default database: it
 * needs no server) as a chunked DataSource and a DataSink. Reading streams the result
 * (`connection.stream()` + `fetchChunk()`, <= 2048 rows a DuckDB chunk) into
 * ColumnBuilders; writing goes through DuckDB's appender into a new table that replaces
 * the target at close (atomic) or into the table itself inside a transaction when
 * appending. Instances are shared per path (DuckDBInstance.fromCache), so sources and
 * the RxInDuckDb compute context on the same path see the same database, including
 * ':memory:'. Identifiers are quoted; values are bound parameters.
 */
import type { DuckDBAppender, DuckDBConnection, DuckDBInstance, DuckDBResult } from '@duckdb/node-api';
import type { Chunk, ChunkOptions, ChunkWriter, ColumnInfo, ColumnType, DataSink, DataSource, PushdownCapabilities, Schema } from '../data/types.js';
import { isMissing } from '../data/types.js';
import { RxError } from '../errors.js';
import { rxOptions } from '../options.js';
import { argError } from '../validate.js';
import { ChunkAssembler, type ColumnBuilder, dbColumnInfo, pickColumns } from './builders.js';
import { type KeyFilter, checkKeyFilter, duckdbDialect, filteredFrom, tempTableName } from './dialect.js';

type DuckModule = typeof import('@duckdb/node-api');
let duckModule: Promise<DuckModule> | undefined;
export function duck(): Promise<DuckModule> {
  duckModule ??= import('@duckdb/node-api');
  return duckModule;
}

export const duckQuoteIdent = duckdbDialect.quoteIdent;

const instances = new Map<string, Promise<DuckDBInstance>>();

/**
 * The process-wide DuckDB instance for `path` (':memory:' included: every source, context
 * and object store naming the same path sees the same database).
 */
export function duckInstance(path: string): Promise<DuckDBInstance> {
  let p = instances.get(path);
  if (!p) {
    p = duck()
      .then((d) => d.DuckDBInstance.create(path))
      .catch((e) => {
        instances.delete(path);
        throw new RxError('RX_DATA_SOURCE', `Cannot open DuckDB database ${path}: ${(e as Error).message}`, { file: path, cause: e });
      });
    instances.set(path, p);
  }
  return p;
}

export function duckError(e: unknown, what: string): RxError {
  if (e instanceof RxError) return e;
  const msg = (e as Error)?.message ?? String(e);
  const code = /Parser Error|Binder Error|Catalog Error|syntax error|does not exist/i.test(msg) ? 'RX_SQL' : 'RX_DATA_SOURCE';
  return new RxError(code, `${what}: ${msg}`, { cause: e });
}

/** Our column type for a DuckDB type id (see DuckDBTypeId), or null when unmappable. */
export function duckTypeToColumnType(typeId: number): ColumnType | null {
  switch (typeId) {
    case 1:
      return 'bool';
    case 2: // TINYINT
    case 3: // SMALLINT
    case 6: // UTINYINT
      return 'int16';
    case 4: // INTEGER
    case 7: // USMALLINT
      return 'int32';
    case 5: // BIGINT
    case 8: // UINTEGER
    case 9: // UBIGINT
    case 16: // HUGEINT
    case 32: // UHUGEINT
    case 11: // DOUBLE
    case 19: // DECIMAL
      return 'float64';
    case 10:
      return 'float32';
    case 13:
      return 'date';
    case 12: // TIMESTAMP (us)
    case 20: // TIMESTAMP_S
    case 21: // TIMESTAMP_MS
    case 22: // TIMESTAMP_NS
    case 31: // TIMESTAMP_TZ
      return 'timestamp';
    case 17:
      return 'string';
    case 23: // ENUM
      return 'factor';
    default:
      return null;
  }
}

/** Pushes one DuckDB value (as returned by getItem) into a builder. */
function pushDuckValue(b: ColumnBuilder, v: unknown, typeId: number): void {
  if (v === null || v === undefined) return b.pushNull();
  switch (typeId) {
    case 13:
      return b.type === 'timestamp' ? b.pushNumber((v as { days: number }).days * 86_400_000) : b.pushNumber((v as { days: number }).days);
    case 12:
    case 31:
      return b.pushNumber(Number((v as { micros: bigint }).micros) / 1000);
    case 20:
      return b.pushNumber(Number((v as { seconds: bigint }).seconds) * 1000);
    case 21:
      return b.pushNumber(Number((v as { millis: bigint }).millis));
    case 22:
      return b.pushNumber(Number((v as { nanos: bigint }).nanos) / 1e6);
    case 19:
      return b.pushNumber((v as { toDouble(): number }).toDouble());
    default:
      return b.pushValue(v);
  }
}

export interface RxDuckDbDataOptions {
  /** Database file, or ':memory:' (default) for the process-wide in-memory database. */
  path?: string;
  table?: string;
  schemaName?: string;
  sqlQuery?: string;
  rowsPerRead?: number;
  colInfo?: Record<string, Partial<ColumnInfo>>;
  /**
   * Only the rows whose columns equal these values (null: missing), e.g. one rxExecBy
   * partition. Values are bound parameters. Read-only.
   */
  filter?: KeyFilter;
}

export class RxDuckDbData implements DataSource, DataSink {
  readonly kind = 'duckdb';
  readonly pushdown: PushdownCapabilities = { sqlAggregates: true, filters: true, dialect: 'duckdb' };
  readonly opts: RxDuckDbDataOptions & { path: string };
  private cachedSchema: Schema | undefined;
  private typeIds: number[] = [];

  constructor(opts: RxDuckDbDataOptions) {
    if (typeof opts !== 'object' || opts === null) throw argError('options object', 'RxDuckDbData options', opts);
    if ((opts.table === undefined) === (opts.sqlQuery === undefined)) throw argError('exactly one of table or sqlQuery', 'RxDuckDbData options', opts);
    this.opts = { ...opts, path: opts.path ?? ':memory:' };
    const filter = checkKeyFilter(opts.filter);
    if (filter) this.opts.filter = filter;
    else delete this.opts.filter;
  }

  describe(): string {
    const what = this.opts.table !== undefined ? `DuckDB table ${this.opts.table} in ${this.opts.path}` : `DuckDB query on ${this.opts.path}`;
    return this.opts.filter ? `${what} (rows where ${Object.keys(this.opts.filter).join(', ')} = the partition's key)` : what;
  }

  /** The same table or query restricted to the rows whose columns equal `filter` (added to this source's filter). */
  withFilter(filter: KeyFilter): RxDuckDbData {
    const f = new RxDuckDbData({ ...this.opts, filter: { ...this.opts.filter, ...filter } });
    f.cachedSchema = this.cachedSchema;
    f.typeIds = this.typeIds;
    return f;
  }

  /** FROM target with this source's filter applied, values as parameters $firstParam.. (needs the schema: await schema()). */
  filteredFrom(firstParam = 1): { from: string; params: Array<string | number | boolean> } {
    return filteredFrom(duckdbDialect, this.fromClause(), this.opts.filter, this.cachedSchema ?? { columns: [] }, firstParam);
  }

  qualifiedTable(): string {
    if (this.opts.table === undefined) throw new RxError('RX_ARG', 'this DuckDB source is a query, not a table');
    return this.opts.schemaName ? `${duckQuoteIdent(this.opts.schemaName)}.${duckQuoteIdent(this.opts.table)}` : duckQuoteIdent(this.opts.table);
  }

  /**
   * Object store in this database for rxWriteObject / rxReadObject / rxListKeys /
   * rxDeleteObject (`dest` may be this source): key/value rows in table `rx_objects`.
   */
  async objectStore(table = 'rx_objects'): Promise<import('../scoring/store.js').ObjectStoreBackend> {
    const { duckdbBackend } = await import('../scoring/store.js');
    return duckdbBackend(this.opts.path, table);
  }

  fromClause(): string {
    return this.opts.table !== undefined ? this.qualifiedTable() : `(${this.opts.sqlQuery}) AS rx_q`;
  }

  /** A connection to this source's database (caller closes it with closeSync()). */
  async connect(): Promise<DuckDBConnection> {
    return (await duckInstance(this.opts.path)).connect();
  }

  async schema(): Promise<Schema> {
    if (this.cachedSchema) return this.cachedSchema;
    const conn = await this.connect();
    try {
      let r: DuckDBResult;
      try {
        r = await conn.run(`SELECT * FROM ${this.fromClause()} LIMIT 0`);
      } catch (e) {
        throw duckError(e, `Cannot read the schema of ${this.describe()}`);
      }
      const names = r.columnNames();
      this.typeIds = names.map((_, i) => r.columnTypeId(i) as unknown as number);
      const columns = names.map((name, i) => {
        const override = this.opts.colInfo?.[name];
        const info = dbColumnInfo(name, duckTypeToColumnType(this.typeIds[i]!), override, this.describe(), `DuckDB type ${r.columnType(i).toString()}`);
        const enumValues = (r.columnType(i) as { values?: string[] }).values;
        if (!override?.levels && info.type === 'factor' && Array.isArray(enumValues)) info.levels = [...enumValues];
        return info;
      });
      this.cachedSchema = { columns, metadata: { source: 'duckdb' } };
      return this.cachedSchema;
    } finally {
      conn.closeSync();
    }
  }

  async numRows(): Promise<number> {
    await this.schema();
    const conn = await this.connect();
    try {
      const f = this.filteredFrom();
      const r = await conn.runAndReadAll(`SELECT count(*)::DOUBLE FROM ${f.from}`, f.params);
      return Number(r.getRows()[0]![0]);
    } catch (e) {
      throw duckError(e, `Cannot count rows of ${this.describe()}`);
    } finally {
      conn.closeSync();
    }
  }

  async *chunks(opts: ChunkOptions = {}): AsyncIterable<Chunk> {
    const schema = await this.schema();
    const { names, infos, index: idx } = pickColumns(schema, opts.columns, this.describe());
    const rowsPerRead = Math.max(1, opts.rowsPerRead ?? this.opts.rowsPerRead ?? rxOptions().rowsPerRead);
    const f = this.filteredFrom();
    const sql = duckdbDialect.selectRange(names.map(duckQuoteIdent).join(', '), f.from, opts.startRow, opts.numRows);
    const conn = await this.connect();
    try {
      let result: DuckDBResult;
      try {
        result = await conn.stream(sql, f.params.length ? f.params : undefined);
      } catch (e) {
        throw duckError(e, `Reading ${this.describe()} failed`);
      }
      const assembler = new ChunkAssembler(names, infos, rowsPerRead, opts.startRow ?? 0);
      const builders = assembler.builders;
      const typeIds = idx.map((i) => this.typeIds[i]!);
      for (;;) {
        if (opts.signal?.aborted) throw new RxError('RX_CANCELLED', `reading ${this.describe()} was cancelled`);
        let dc: Awaited<ReturnType<DuckDBResult['fetchChunk']>>;
        try {
          dc = await result.fetchChunk();
        } catch (e) {
          throw duckError(e, `Reading ${this.describe()} failed`);
        }
        if (!dc || dc.rowCount === 0) break;
        const rows = dc.rowCount;
        let r0 = 0;
        while (r0 < rows) {
          const take = Math.min(rows - r0, rowsPerRead - assembler.rows);
          for (let j = 0; j < builders.length; j++) {
            const vec = dc.getColumnVector(j);
            const b = builders[j]!;
            const t = typeIds[j]!;
            for (let r = r0; r < r0 + take; r++) pushDuckValue(b, vec.getItem(r), t);
          }
          r0 += take;
          if (assembler.full) yield assembler.take();
        }
      }
      if (assembler.rows > 0) yield assembler.take();
    } finally {
      conn.closeSync();
    }
  }

  async open(schema: Schema, o: { overwrite?: boolean; append?: 'none' | 'rows' } = {}): Promise<ChunkWriter> {
    if (this.opts.table === undefined) throw new RxError('RX_ARG', 'cannot write to a DuckDB query; give a table');
    if (this.opts.filter) throw new RxError('RX_ARG', `cannot write to ${this.describe()}: a filtered source is read-only`);
    const conn = await this.connect();
    const target = this.qualifiedTable();
    const append = o.append === 'rows';
    let tmpName: string | undefined;
    let writeName = this.opts.table;
    try {
      const exists =
        (
          await conn.runAndReadAll('SELECT count(*) FROM information_schema.tables WHERE table_name = $1 AND table_schema = coalesce($2, current_schema())', [
            this.opts.table,
            this.opts.schemaName ?? null,
          ])
        ).getRows()[0]![0] !== 0n;
      if (exists && !append && !o.overwrite) throw new RxError('RX_IO', `${this.describe()} already exists; pass overwrite: true to replace it or append: 'rows'`);
      await conn.run('BEGIN TRANSACTION');
      if (!(append && exists)) {
        tmpName = tempTableName(this.opts.table);
        writeName = tmpName;
        const q = this.opts.schemaName ? `${duckQuoteIdent(this.opts.schemaName)}.${duckQuoteIdent(tmpName)}` : duckQuoteIdent(tmpName);
        await conn.run(`CREATE TABLE ${q} (${schema.columns.map((c) => `${duckQuoteIdent(c.name)} ${duckdbDialect.typeName(c.type)}`).join(', ')})`);
      }
    } catch (e) {
      await conn.run('ROLLBACK').catch(() => {});
      conn.closeSync();
      throw duckError(e, `Cannot open ${this.describe()} for writing`);
    }
    let appender: DuckDBAppender;
    try {
      appender = await conn.createAppender(writeName, this.opts.schemaName ?? null);
    } catch (e) {
      await conn.run('ROLLBACK').catch(() => {});
      conn.closeSync();
      throw duckError(e, `Cannot open ${this.describe()} for writing`);
    }
    const d = await duck();
    const names = schema.columns.map((c) => c.name);
    const self = this;
    let finished = false;
    return {
      async write(chunk: Chunk) {
        const cols = names.map((n) => chunk.columns[n]!);
        try {
          for (let i = 0; i < chunk.numRows; i++) {
            for (const c of cols) {
              if (isMissing(c, i)) {
                appender.appendNull();
                continue;
              }
              const x = (c.data as Float64Array)[i]!;
              switch (c.type) {
                case 'float64':
                  appender.appendDouble(x);
                  break;
                case 'float32':
                  appender.appendFloat(x);
                  break;
                case 'int32':
                  appender.appendInteger(x);
                  break;
                case 'int16':
                  appender.appendSmallInt(x);
                  break;
                case 'uint8':
                  appender.appendUTinyInt(x);
                  break;
                case 'bool':
                  appender.appendBoolean(x !== 0);
                  break;
                case 'factor':
                  appender.appendVarchar(c.levels![x]!);
                  break;
                case 'string':
                  appender.appendVarchar((c.data as Array<string | null>)[i]!);
                  break;
                case 'date':
                  appender.appendDate(d.dateValue(x));
                  break;
                case 'timestamp':
                  appender.appendTimestampTZ(new d.DuckDBTimestampTZValue(BigInt(Math.round(x * 1000))));
                  break;
              }
            }
            appender.endRow();
          }
        } catch (e) {
          throw duckError(e, `Writing to ${self.describe()} failed`);
        }
      },
      async close() {
        if (finished) return;
        finished = true;
        try {
          appender.closeSync();
          if (tmpName !== undefined) {
            const tmpQ = self.opts.schemaName ? `${duckQuoteIdent(self.opts.schemaName)}.${duckQuoteIdent(tmpName)}` : duckQuoteIdent(tmpName);
            await conn.run(`DROP TABLE IF EXISTS ${target}`);
            await conn.run(`ALTER TABLE ${tmpQ} RENAME TO ${duckQuoteIdent(self.opts.table!)}`);
          }
          await conn.run('COMMIT');
          self.cachedSchema = undefined;
        } catch (e) {
          await conn.run('ROLLBACK').catch(() => {});
          throw duckError(e, `Writing to ${self.describe()} failed`);
        } finally {
          conn.closeSync();
        }
      },
      async abort() {
        if (finished) return;
        finished = true;
        try {
          appender.closeSync();
        } catch {
          /* the appender may already be invalid */
        }
        await conn.run('ROLLBACK').catch(() => {});
        conn.closeSync();
      },
    };
  }

  /** Model/object storage in this database (rxWriteObject & co.). */
  objectStoreTarget(): { kind: 'duckdb'; path: string; table: string } {
    return { kind: 'duckdb', path: this.opts.path, table: this.opts.table ?? 'rx_objects' };
  }
}
