/**
 * RxOdbcData: any ODBC data source (unixODBC; e.g. psqlODBC, SQLite ODBC, SQL Server's
 * driver) as a chunked DataSource and a DataSink, over the `odbc` package. Reading uses a
 * server-side cursor (`query(sql, [], { cursor: true, fetchSize })`); for bounded memory
 * the driver must stream too: psqlODBC needs `UseDeclareFetch=1;Fetch=<rows>` and SQLite
 * ODBC `StepAPI=1` in the connection string (documented; not added silently). Writing
 * inserts parameter batches into a new table inside one transaction and renames it over
 * the target at close, or appends inside a transaction.
 */
import type { Chunk, ChunkOptions, ChunkWriter, ColumnInfo, ColumnType, DataSink, DataSource, PushdownCapabilities, Schema } from '../data/types.js';
import { isMissing } from '../data/types.js';
import { RxError } from '../errors.js';
import { rxOptions } from '../options.js';
import { argError } from '../validate.js';
import { ChunkAssembler, dbColumnInfo, pickColumns } from './builders.js';
import { type DialectName, type SqlDialect, dialectByName, fromClause, qualify, tempTableName } from './dialect.js';

type OdbcModule = typeof import('odbc');
type OdbcConnection = Awaited<ReturnType<OdbcModule['connect']>>;

async function odbcModule(): Promise<OdbcModule> {
  try {
    const m = (await import('odbc')) as unknown as { default?: OdbcModule } & OdbcModule;
    return m.default ?? m;
  } catch (e) {
    throw new RxError('RX_DATA_SOURCE', `The optional "odbc" package is not installed or did not build (needs unixODBC: apt-get install unixodbc-dev): ${(e as Error).message}`, { cause: e });
  }
}

function odbcError(e: unknown, what: string, connecting = false): RxError {
  if (e instanceof RxError) return e;
  const err = e as { message?: string; odbcErrors?: Array<{ message: string; state: string }> };
  const detail = err.odbcErrors?.map((x) => `[${x.state}] ${x.message}`).join('; ') ?? err.message ?? String(e);
  const state = err.odbcErrors?.[0]?.state ?? '';
  const code = connecting || state.startsWith('08') || state.startsWith('28') || state.startsWith('IM') ? 'RX_DATA_SOURCE' : 'RX_SQL';
  return new RxError(code, `${what}: ${detail}`, { cause: e });
}

/** ODBC SQL type codes -> our column types. */
export function odbcTypeToColumnType(dataType: number): ColumnType | null {
  switch (dataType) {
    case 4: // SQL_INTEGER
      return 'int32';
    case 5: // SQL_SMALLINT
    case -6: // SQL_TINYINT
      return 'int16';
    case -5: // SQL_BIGINT
    case 2: // SQL_NUMERIC
    case 3: // SQL_DECIMAL
    case 6: // SQL_FLOAT
    case 8: // SQL_DOUBLE
      return 'float64';
    case 7: // SQL_REAL
      return 'float32';
    case -7: // SQL_BIT
    case 16: // SQL_BOOLEAN
      return 'bool';
    case 1: // SQL_CHAR
    case 12: // SQL_VARCHAR
    case -1: // SQL_LONGVARCHAR
    case -8: // SQL_WCHAR
    case -9: // SQL_WVARCHAR
    case -10: // SQL_WLONGVARCHAR
      return 'string';
    case 9: // SQL_DATE
    case 91: // SQL_TYPE_DATE
      return 'date';
    case 11: // SQL_TIMESTAMP
    case 93: // SQL_TYPE_TIMESTAMP
      return 'timestamp';
    default:
      return null;
  }
}

export interface RxOdbcDataOptions {
  connectionString: string;
  table?: string;
  schemaName?: string;
  sqlQuery?: string;
  rowsPerRead?: number;
  colInfo?: Record<string, Partial<ColumnInfo>>;
  /** SQL dialect of the database behind the driver (quoting, row ranges, DDL). Default 'ansi'. */
  dialect?: DialectName;
  /**
   * Rows per ODBC fetch. The driver binds a buffer of fetchSize x the declared column size
   * for every column, so by default it is chosen to keep those buffers near 16 MB
   * (between 1 and 1000 rows).
   */
  fetchSize?: number;
}

export class RxOdbcData implements DataSource, DataSink {
  readonly kind = 'odbc';
  readonly opts: RxOdbcDataOptions;
  readonly dialect: SqlDialect;
  readonly pushdown: PushdownCapabilities;
  private cachedSchema: Schema | undefined;
  /** Declared byte width of each schema column (for fetch buffer sizing). */
  private columnBytes = new Map<string, number>();

  constructor(opts: RxOdbcDataOptions) {
    if (typeof opts?.connectionString !== 'string') throw argError('string', 'connectionString', opts?.connectionString);
    if ((opts.table === undefined) === (opts.sqlQuery === undefined)) throw argError('exactly one of table or sqlQuery', 'RxOdbcData options', opts);
    this.opts = { ...opts };
    this.dialect = dialectByName(opts.dialect ?? 'ansi');
    this.pushdown = { sqlAggregates: true, filters: true, dialect: this.dialect.name };
  }

  describe(): string {
    return this.opts.table !== undefined ? `ODBC table ${this.opts.table}` : 'ODBC query';
  }

  private from(): string {
    return fromClause(this.dialect, this.opts);
  }

  async connect(): Promise<OdbcConnection> {
    const odbc = await odbcModule();
    try {
      return await odbc.connect(this.opts.connectionString);
    } catch (e) {
      throw odbcError(e, 'Cannot connect through ODBC', true);
    }
  }

  async schema(): Promise<Schema> {
    if (this.cachedSchema) return this.cachedSchema;
    const conn = await this.connect();
    try {
      let res: Awaited<ReturnType<OdbcConnection['query']>>;
      try {
        res = await conn.query(`SELECT * FROM ${this.from()} WHERE 1 = 0`);
      } catch (e) {
        throw odbcError(e, `Cannot read the schema of ${this.describe()}`);
      }
      const columns: ColumnInfo[] = res.columns.map((c) => {
        const t = odbcTypeToColumnType(c.dataType);
        this.columnBytes.set(c.name, t === 'string' ? 4 * Math.max(1, c.columnSize) : 16);
        return dbColumnInfo(c.name, t, this.opts.colInfo?.[c.name], this.describe(), `ODBC type ${c.dataTypeName} (${c.dataType})`);
      });
      this.cachedSchema = { columns, metadata: { source: 'odbc' } };
      return this.cachedSchema;
    } finally {
      await conn.close().catch(() => {});
    }
  }

  async numRows(): Promise<number> {
    const conn = await this.connect();
    try {
      const r = await conn.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${this.from()}`);
      return Number(r[0]!.n);
    } catch (e) {
      throw odbcError(e, `Cannot count rows of ${this.describe()}`);
    } finally {
      await conn.close().catch(() => {});
    }
  }

  async *chunks(opts: ChunkOptions = {}): AsyncIterable<Chunk> {
    const schema = await this.schema();
    const { names, infos } = pickColumns(schema, opts.columns, this.describe());
    const rowsPerRead = Math.max(1, opts.rowsPerRead ?? this.opts.rowsPerRead ?? rxOptions().rowsPerRead);
    const sql = this.dialect.selectRange(names.map((n) => this.dialect.quoteIdent(n)).join(', '), this.from(), opts.startRow, opts.numRows);
    const conn = await this.connect();
    try {
      let cursor: Awaited<ReturnType<OdbcConnection['query']>> & { fetch(): Promise<Array<Record<string, unknown>>>; noData: boolean; close(): Promise<void> };
      try {
        const rowBytes = names.reduce((a, n) => a + (this.columnBytes.get(n) ?? 16), 0);
        const fetchSize = this.opts.fetchSize ?? Math.max(1, Math.min(1000, Math.floor((16 << 20) / Math.max(1, rowBytes))));
        cursor = (await conn.query(sql, [], { cursor: true, fetchSize: Math.min(rowsPerRead, fetchSize) })) as unknown as typeof cursor;
      } catch (e) {
        throw odbcError(e, `Reading ${this.describe()} failed`);
      }
      const assembler = new ChunkAssembler(names, infos, rowsPerRead, opts.startRow ?? 0);
      const builders = assembler.builders;
      try {
        for (;;) {
          if (opts.signal?.aborted) throw new RxError('RX_CANCELLED', `reading ${this.describe()} was cancelled`);
          let rows: Array<Record<string, unknown>>;
          try {
            rows = await cursor.fetch();
          } catch (e) {
            throw odbcError(e, `Reading ${this.describe()} failed`);
          }
          for (const row of rows) {
            for (let j = 0; j < names.length; j++) builders[j]!.pushValue(row[names[j]!]);
            if (assembler.full) yield assembler.take();
          }
          if (cursor.noData || rows.length === 0) break;
        }
        if (assembler.rows > 0) yield assembler.take();
      } finally {
        await cursor.close().catch(() => {});
      }
    } finally {
      await conn.close().catch(() => {});
    }
  }

  async open(schema: Schema, o: { overwrite?: boolean; append?: 'none' | 'rows' } = {}): Promise<ChunkWriter> {
    if (this.opts.table === undefined) throw new RxError('RX_ARG', 'cannot write to an ODBC query; give a table');
    const d = this.dialect;
    const conn = await this.connect();
    const target = qualify(d, this.opts.table, this.opts.schemaName);
    const append = o.append === 'rows';
    let exists = true;
    try {
      await conn.query(`SELECT 1 FROM ${target} WHERE 1 = 0`);
    } catch {
      exists = false;
    }
    if (exists && !append && !o.overwrite) {
      await conn.close().catch(() => {});
      throw new RxError('RX_IO', `${this.describe()} already exists; pass overwrite: true to replace it or append: 'rows'`);
    }
    let writeTable = target;
    let tmp: string | undefined;
    try {
      await conn.beginTransaction();
      if (!(append && exists)) {
        tmp = tempTableName(this.opts.table);
        writeTable = qualify(d, tmp, this.opts.schemaName);
        await conn.query(`CREATE TABLE ${writeTable} (${schema.columns.map((c) => `${d.quoteIdent(c.name)} ${d.typeName(c.type)}`).join(', ')})`);
      }
    } catch (e) {
      await conn.rollback().catch(() => {});
      await conn.close().catch(() => {});
      throw odbcError(e, `Cannot open ${this.describe()} for writing`);
    }
    const names = schema.columns.map((c) => c.name);
    const self = this;
    let finished = false;
    const batchRows = Math.max(1, Math.floor(900 / Math.max(1, names.length)));
    return {
      async write(chunk: Chunk) {
        const cols = names.map((n) => chunk.columns[n]!);
        try {
          for (let b = 0; b < chunk.numRows; b += batchRows) {
            const e = Math.min(chunk.numRows, b + batchRows);
            const params: Array<number | string | null> = [];
            const tuples: string[] = [];
            for (let i = b; i < e; i++) {
              tuples.push(`(${names.map(() => '?').join(', ')})`);
              for (const c of cols) params.push(odbcParam(c, i));
            }
            await conn.query(`INSERT INTO ${writeTable} (${names.map((n) => d.quoteIdent(n)).join(', ')}) VALUES ${tuples.join(', ')}`, params as Array<number | string>);
          }
        } catch (e) {
          throw odbcError(e, `Writing to ${self.describe()} failed`);
        }
      },
      async close() {
        if (finished) return;
        finished = true;
        try {
          if (tmp !== undefined) {
            if (exists) await conn.query(`DROP TABLE ${target}`);
            await conn.query(d.renameTable(writeTable, self.opts.table!, self.opts.schemaName));
          }
          await conn.commit();
          self.cachedSchema = undefined;
        } catch (e) {
          await conn.rollback().catch(() => {});
          throw odbcError(e, `Writing to ${self.describe()} failed`);
        } finally {
          await conn.close().catch(() => {});
        }
      },
      async abort() {
        if (finished) return;
        finished = true;
        await conn.rollback().catch(() => {});
        await conn.close().catch(() => {});
      },
    };
  }
}

function odbcParam(c: Chunk['columns'][string], i: number): number | string | null {
  if (isMissing(c, i)) return null;
  switch (c.type) {
    case 'factor':
      return c.levels![(c.data as Int32Array)[i]!]!;
    case 'string':
      return (c.data as Array<string | null>)[i]!;
    case 'date':
      return new Date((c.data as Int32Array)[i]! * 86_400_000).toISOString().slice(0, 10);
    case 'timestamp':
      return new Date((c.data as Float64Array)[i]!).toISOString().replace('T', ' ').replace('Z', '');
    default:
      return (c.data as Float64Array)[i]!;
  }
}
