/**
 * RxSqlServerData: a SQL Server table or query (over tedious 19) as a chunked DataSource
 * and a DataSink. Reading streams `row` events and pauses the request while a full chunk
 * is being consumed (back-pressure; a whole result is never buffered). Writing bulk-loads
 * (tedious newBulkLoad / execBulkLoad with an async iterable) into a new table, then
 * swaps it in with DROP + sp_rename inside one transaction; appends bulk-load into the
 * existing table. All T-SQL text is built by the pure functions below (tested without a
 * server): identifiers bracket-quoted, `sqlQuery` only as a derived table, values as
 * parameters. Integration tests run when RXSCALE_MSSQL holds a connection string.
 */
import type { Chunk, ChunkOptions, ChunkWriter, ColumnInfo, ColumnType, DataSink, DataSource, PushdownCapabilities, Schema } from '../data/types.js';
import { isMissing } from '../data/types.js';
import { RxError } from '../errors.js';
import { rxOptions } from '../options.js';
import { argError } from '../validate.js';
import { ChunkAssembler, dbColumnInfo, pickColumns } from './builders.js';
import { type KeyFilter, checkKeyFilter, filteredFrom, fromClause, qualify, tempTableName, tsqlDialect } from './dialect.js';

type Tedious = typeof import('tedious');
type TConnection = InstanceType<Tedious['Connection']>;

export interface SqlServerConnectionOptions {
  server: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
  encrypt?: boolean;
  trustServerCertificate?: boolean;
  instanceName?: string;
  connectTimeout?: number;
}

/**
 * Parses an ADO.NET-style connection string: "Server=host,1433;Database=db;User Id=u;
 * Password=p;Encrypt=true;TrustServerCertificate=true". Values may be quoted with {...},
 * '...' or "..." to hold ';'.
 */
export function parseSqlServerConnectionString(cs: string): SqlServerConnectionOptions {
  const parts: Record<string, string> = {};
  let i = 0;
  while (i < cs.length) {
    const eq = cs.indexOf('=', i);
    if (eq < 0) break;
    const key = cs.slice(i, eq).trim().toLowerCase();
    let j = eq + 1;
    while (cs[j] === ' ') j++;
    let value: string;
    const open = cs[j];
    if (open === '{' || open === '"' || open === "'") {
      const close = open === '{' ? '}' : open;
      let k = j + 1;
      value = '';
      for (;;) {
        if (k >= cs.length) throw new RxError('RX_ARG', `Unterminated quoted value for "${key}" in the SQL Server connection string`);
        if (cs[k] === close) {
          if (cs[k + 1] === close) {
            value += close;
            k += 2;
            continue;
          }
          break;
        }
        value += cs[k++];
      }
      j = k + 1;
      const semi = cs.indexOf(';', j);
      i = semi < 0 ? cs.length : semi + 1;
    } else {
      const semi = cs.indexOf(';', j);
      value = cs.slice(j, semi < 0 ? cs.length : semi).trim();
      i = semi < 0 ? cs.length : semi + 1;
    }
    if (key) parts[key] = value;
  }
  const server = parts.server ?? parts['data source'] ?? parts.address ?? parts.addr;
  if (!server) throw new RxError('RX_ARG', 'SQL Server connection string has no Server / Data Source');
  const out: SqlServerConnectionOptions = { server };
  let host = server.replace(/^tcp:/i, '');
  const comma = host.lastIndexOf(',');
  if (comma >= 0) {
    out.port = Number(host.slice(comma + 1));
    host = host.slice(0, comma);
  }
  const slash = host.indexOf('\\');
  if (slash >= 0) {
    out.instanceName = host.slice(slash + 1);
    host = host.slice(0, slash);
  }
  out.server = host;
  const db = parts.database ?? parts['initial catalog'];
  if (db) out.database = db;
  const user = parts['user id'] ?? parts.uid ?? parts.user;
  if (user) out.user = user;
  const pwd = parts.password ?? parts.pwd;
  if (pwd !== undefined) out.password = pwd;
  const truthy = (v: string | undefined) => (v === undefined ? undefined : /^(true|yes|1|mandatory|strict)$/i.test(v));
  const enc = truthy(parts.encrypt);
  if (enc !== undefined) out.encrypt = enc;
  const tsc = truthy(parts.trustservercertificate);
  if (tsc !== undefined) out.trustServerCertificate = tsc;
  const to = parts['connect timeout'] ?? parts['connection timeout'];
  if (to) out.connectTimeout = Number(to) * 1000;
  return out;
}

/** tedious column metadata type -> our column type (null when unmappable). */
export function tediousTypeToColumnType(typeName: string, dataLength?: number): ColumnType | null {
  switch (typeName) {
    case 'Int':
      return 'int32';
    case 'SmallInt':
    case 'TinyInt':
      return 'int16';
    case 'IntN':
      return dataLength === 8 ? 'float64' : dataLength === 4 ? 'int32' : 'int16';
    case 'BigInt':
    case 'Float':
    case 'FloatN':
    case 'Decimal':
    case 'DecimalN':
    case 'Numeric':
    case 'NumericN':
    case 'Money':
    case 'SmallMoney':
    case 'MoneyN':
      return typeName === 'FloatN' && dataLength === 4 ? 'float32' : 'float64';
    case 'Real':
      return 'float32';
    case 'Bit':
    case 'BitN':
      return 'bool';
    case 'VarChar':
    case 'NVarChar':
    case 'Char':
    case 'NChar':
    case 'Text':
    case 'NText':
    case 'UniqueIdentifier':
      return 'string';
    case 'Date':
    case 'DateN':
      return 'date';
    case 'DateTime':
    case 'DateTimeN':
    case 'DateTime2':
    case 'DateTime2N':
    case 'DateTimeOffset':
    case 'DateTimeOffsetN':
    case 'SmallDateTime':
      return 'timestamp';
    default:
      return null;
  }
}

export interface SqlServerTableRef {
  table?: string;
  schemaName?: string;
  sqlQuery?: string;
  /** Only rows whose columns equal these values (null: missing): bound as @p1.. */
  filter?: KeyFilter;
}

/** FROM target of `ref` with its filter as a WHERE over @p1.. (the values are returned as params). */
export function tsqlFrom(ref: SqlServerTableRef): { from: string; params: Array<string | number | boolean> } {
  // SQL Server stores no NaN: a missing key is NULL only, so no column needs the NaN test
  return filteredFrom(tsqlDialect, fromClause(tsqlDialect, ref), ref.filter, { columns: [] }, 1);
}

/** The tedious parameter type for a bound value. */
export function tsqlParamType<T>(types: { Float: T; Bit: T; NVarChar: T }, v: unknown): T {
  return typeof v === 'number' ? types.Float : typeof v === 'boolean' ? types.Bit : types.NVarChar;
}

/** T-SQL for the schema probe. */
export function tsqlSchemaQuery(ref: SqlServerTableRef): string {
  return `SELECT TOP (0) * FROM ${fromClause(tsqlDialect, ref)}`;
}
/** T-SQL reading columns over an optional row range. */
export function tsqlSelect(ref: SqlServerTableRef, columns: string[], startRow?: number, numRows?: number): string {
  return tsqlDialect.selectRange(columns.map(tsqlDialect.quoteIdent).join(', '), tsqlFrom(ref).from, startRow, numRows);
}
export function tsqlCount(ref: SqlServerTableRef): string {
  return `SELECT CAST(COUNT_BIG(*) AS FLOAT) AS n FROM ${tsqlFrom(ref).from}`;
}
export function tsqlCreateTable(table: string, schemaName: string | undefined, columns: ColumnInfo[]): string {
  return `CREATE TABLE ${qualify(tsqlDialect, table, schemaName)} (${columns.map((c) => `${tsqlDialect.quoteIdent(c.name)} ${tsqlDialect.typeName(c.type)} NULL`).join(', ')})`;
}
/** Statements that replace `table` by `tmp` atomically (run inside one transaction). */
export function tsqlSwapTables(table: string, tmp: string, schemaName: string | undefined, targetExists: boolean): string[] {
  const out: string[] = [];
  if (targetExists) out.push(`DROP TABLE ${qualify(tsqlDialect, table, schemaName)}`);
  out.push(tsqlDialect.renameTable(qualify(tsqlDialect, tmp, schemaName), table, schemaName));
  return out;
}
export function tsqlObjectExists(): string {
  return 'SELECT CASE WHEN OBJECT_ID(@p1, N\'U\') IS NULL THEN 0 ELSE 1 END AS e';
}

async function tedious(): Promise<Tedious> {
  return (await import('tedious')) as unknown as Tedious;
}

function tdsError(e: unknown, what: string, connecting = false): RxError {
  if (e instanceof RxError) return e;
  const err = e as { message?: string; number?: number; code?: string };
  const code = connecting || err.code === 'ESOCKET' || err.code === 'ELOGIN' || err.code === 'ETIMEOUT' || err.code === 'ECONNRESET' ? 'RX_DATA_SOURCE' : 'RX_SQL';
  return new RxError(code, `${what}: ${err.message ?? String(e)}${err.number ? ` (error ${err.number})` : ''}`, { cause: e });
}

export interface RxSqlServerDataOptions extends SqlServerTableRef {
  connectionString?: string;
  server?: string;
  port?: number;
  databaseName?: string;
  user?: string;
  password?: string;
  encrypt?: boolean;
  trustServerCertificate?: boolean;
  rowsPerRead?: number;
  colInfo?: Record<string, Partial<ColumnInfo>>;
  /** Only the rows whose columns equal these values (null: missing), e.g. one rxExecBy partition; bound parameters. Read-only. */
  filter?: KeyFilter;
}

export class RxSqlServerData implements DataSource, DataSink {
  readonly kind = 'sqlserver';
  readonly pushdown: PushdownCapabilities = { sqlAggregates: true, filters: true, dialect: 'tsql' };
  readonly opts: RxSqlServerDataOptions;
  readonly connection: SqlServerConnectionOptions;
  private cachedSchema: Schema | undefined;

  constructor(opts: RxSqlServerDataOptions) {
    if (typeof opts !== 'object' || opts === null) throw argError('options object', 'RxSqlServerData options', opts);
    if ((opts.table === undefined) === (opts.sqlQuery === undefined)) throw argError('exactly one of table or sqlQuery', 'RxSqlServerData options', opts);
    const base = opts.connectionString !== undefined ? parseSqlServerConnectionString(opts.connectionString) : { server: opts.server ?? '' };
    if (!base.server) throw argError('connectionString or server', 'RxSqlServerData options', opts);
    const conn: SqlServerConnectionOptions = { ...base };
    if (opts.port !== undefined) conn.port = opts.port;
    if (opts.databaseName !== undefined) conn.database = opts.databaseName;
    if (opts.user !== undefined) conn.user = opts.user;
    if (opts.password !== undefined) conn.password = opts.password;
    if (opts.encrypt !== undefined) conn.encrypt = opts.encrypt;
    if (opts.trustServerCertificate !== undefined) conn.trustServerCertificate = opts.trustServerCertificate;
    this.connection = conn;
    this.opts = { ...opts };
    const filter = checkKeyFilter(opts.filter);
    if (filter) this.opts.filter = filter;
    else delete this.opts.filter;
  }

  describe(): string {
    const what = this.opts.table !== undefined ? `SQL Server table ${this.opts.table}` : 'SQL Server query';
    return this.opts.filter ? `${what} (rows where ${Object.keys(this.opts.filter).join(', ')} = the partition's key)` : what;
  }

  /** The same table or query restricted to the rows whose columns equal `filter` (added to this source's filter). */
  withFilter(filter: KeyFilter): RxSqlServerData {
    const f = new RxSqlServerData({ ...this.opts, filter: { ...this.opts.filter, ...filter } });
    f.cachedSchema = this.cachedSchema;
    return f;
  }

  /** Opens a tedious connection (caller closes it). */
  async connect(): Promise<TConnection> {
    const t = await tedious();
    const c = this.connection;
    const options: Record<string, unknown> = {
      encrypt: c.encrypt ?? true,
      trustServerCertificate: c.trustServerCertificate ?? false,
      rowCollectionOnRequestCompletion: false,
      useUTC: true,
    };
    if (c.database) options.database = c.database;
    if (c.port) options.port = c.port;
    if (c.instanceName) options.instanceName = c.instanceName;
    if (c.connectTimeout) options.connectTimeout = c.connectTimeout;
    const conn = new t.Connection({
      server: c.server,
      authentication: { type: 'default', options: { userName: c.user ?? '', password: c.password ?? '' } },
      options,
    } as ConstructorParameters<Tedious['Connection']>[0]);
    await new Promise<void>((resolve, reject) => {
      conn.connect((err) => (err ? reject(tdsError(err, 'Cannot connect to SQL Server', true)) : resolve()));
    });
    return conn;
  }

  private async query(conn: TConnection, sql: string, params: unknown[] = []): Promise<unknown[][]> {
    const t = await tedious();
    return new Promise((resolve, reject) => {
      const rows: unknown[][] = [];
      const req = new t.Request(sql, (err) => (err ? reject(tdsError(err, `Query on ${this.describe()} failed`)) : resolve(rows)));
      for (let i = 0; i < params.length; i++) req.addParameter(`p${i + 1}`, tsqlParamType(t.TYPES, params[i]), params[i]);
      req.on('row', (cols: Array<{ value: unknown }>) => {
        rows.push(cols.map((c) => c.value));
      });
      conn.execSql(req);
    });
  }

  async schema(): Promise<Schema> {
    if (this.cachedSchema) return this.cachedSchema;
    const t = await tedious();
    const conn = await this.connect();
    try {
      const meta = await new Promise<Array<{ colName: string; type: { name: string }; dataLength?: number }>>((resolve, reject) => {
        let cols: Array<{ colName: string; type: { name: string }; dataLength?: number }> = [];
        const req = new t.Request(tsqlSchemaQuery(this.opts), (err) => (err ? reject(tdsError(err, `Cannot read the schema of ${this.describe()}`)) : resolve(cols)));
        req.on('columnMetadata', (c: unknown) => {
          cols = c as typeof cols;
        });
        conn.execSql(req);
      });
      const columns = meta.map((m) =>
        dbColumnInfo(m.colName, tediousTypeToColumnType(m.type.name, m.dataLength), this.opts.colInfo?.[m.colName], this.describe(), `SQL Server type ${m.type.name}`),
      );
      this.cachedSchema = { columns, metadata: { source: 'sqlserver' } };
      return this.cachedSchema;
    } finally {
      conn.close();
    }
  }

  async numRows(): Promise<number> {
    const conn = await this.connect();
    try {
      const rows = await this.query(conn, tsqlCount(this.opts), tsqlFrom(this.opts).params);
      return Number(rows[0]![0]);
    } finally {
      conn.close();
    }
  }

  async *chunks(opts: ChunkOptions = {}): AsyncIterable<Chunk> {
    const t = await tedious();
    const schema = await this.schema();
    const { names, infos } = pickColumns(schema, opts.columns, this.describe());
    const rowsPerRead = Math.max(1, opts.rowsPerRead ?? this.opts.rowsPerRead ?? rxOptions().rowsPerRead);
    const conn = await this.connect();
    const assembler = new ChunkAssembler(names, infos, rowsPerRead, opts.startRow ?? 0);
    const builders = assembler.builders;
    const ready: Chunk[] = [];
    let done = false;
    let failure: unknown;
    let wake: (() => void) | undefined;
    const notify = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const req = new t.Request(tsqlSelect(this.opts, names, opts.startRow, opts.numRows), (err) => {
      if (err) failure ??= err;
      done = true;
      notify();
    });
    tsqlFrom(this.opts).params.forEach((v, i) => {
      req.addParameter(`p${i + 1}`, tsqlParamType(t.TYPES, v), v);
    });
    req.on('row', (cols: Array<{ value: unknown }>) => {
      for (let j = 0; j < cols.length; j++) builders[j]!.pushValue(cols[j]!.value);
      if (assembler.full) {
        ready.push(assembler.take());
        req.pause();
        notify();
      }
    });
    conn.on('error', (e) => {
      failure ??= e;
      done = true;
      notify();
    });
    conn.execSql(req);
    try {
      for (;;) {
        if (opts.signal?.aborted) throw new RxError('RX_CANCELLED', `reading ${this.describe()} was cancelled`);
        if (ready.length) {
          yield ready.shift()!;
          continue;
        }
        if (failure) throw tdsError(failure, `Reading ${this.describe()} failed`);
        if (done) break;
        req.resume();
        await new Promise<void>((r) => {
          wake = r;
        });
      }
      if (assembler.rows > 0) ready.push(assembler.take());
      while (ready.length) yield ready.shift()!;
    } finally {
      conn.close();
    }
  }

  async open(schema: Schema, o: { overwrite?: boolean; append?: 'none' | 'rows' } = {}): Promise<ChunkWriter> {
    if (this.opts.table === undefined) throw new RxError('RX_ARG', 'cannot write to a SQL Server query; give a table');
    if (this.opts.filter) throw new RxError('RX_ARG', `cannot write to ${this.describe()}: a filtered source is read-only`);
    const t = await tedious();
    const conn = await this.connect();
    const table = this.opts.table;
    const schemaName = this.opts.schemaName;
    const append = o.append === 'rows';
    let exists: boolean;
    try {
      exists = Number((await this.query(conn, tsqlObjectExists(), [qualify(tsqlDialect, table, schemaName)]))[0]![0]) === 1;
    } catch (e) {
      conn.close();
      throw e;
    }
    if (exists && !append && !o.overwrite) {
      conn.close();
      throw new RxError('RX_IO', `${this.describe()} already exists; pass overwrite: true to replace it or append: 'rows'`);
    }
    const tmp = append && exists ? undefined : tempTableName(table);
    if (tmp) await this.query(conn, tsqlCreateTable(tmp, schemaName, schema.columns));
    const loadTable = schemaName ? `${schemaName}.${tmp ?? table}` : (tmp ?? table);
    const typeOf = (c: ColumnInfo) =>
      ({
        float64: t.TYPES.Float,
        float32: t.TYPES.Real,
        int32: t.TYPES.Int,
        int16: t.TYPES.SmallInt,
        uint8: t.TYPES.TinyInt,
        bool: t.TYPES.Bit,
        factor: t.TYPES.NVarChar,
        string: t.TYPES.NVarChar,
        date: t.TYPES.Date,
        timestamp: t.TYPES.DateTime2,
      })[c.type];
    const queue: unknown[][][] = [];
    let closed = false;
    let wake: (() => void) | undefined;
    async function* rows(): AsyncIterable<unknown[]> {
      for (;;) {
        if (queue.length) {
          for (const r of queue.shift()!) yield r;
          continue;
        }
        if (closed) return;
        await new Promise<void>((r) => {
          wake = r;
        });
      }
    }
    // appends run inside one transaction so an abort leaves the table as it was
    if (!tmp) await this.query(conn, 'BEGIN TRANSACTION');
    let resolveLoad!: () => void;
    let rejectLoad!: (e: unknown) => void;
    const loaded = new Promise<void>((res, rej) => {
      resolveLoad = res;
      rejectLoad = rej;
    });
    loaded.catch(() => {});
    const bulk = conn.newBulkLoad(loadTable, { keepNulls: true }, (err) => (err ? rejectLoad(tdsError(err, `Bulk load into ${this.describe()} failed`)) : resolveLoad()));
    for (const c of schema.columns) {
      const opt: Record<string, unknown> = { nullable: true };
      if (c.type === 'factor') opt.length = 4000;
      if (c.type === 'string') opt.length = Number.POSITIVE_INFINITY;
      if (c.type === 'timestamp') opt.scale = 3;
      bulk.addColumn(c.name, typeOf(c), opt);
    }
    conn.execBulkLoad(bulk, rows());
    const names = schema.columns.map((c) => c.name);
    const self = this;
    let finished = false;
    const signal = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    return {
      async write(chunk: Chunk) {
        const cols = names.map((n) => chunk.columns[n]!);
        const batch: unknown[][] = new Array(chunk.numRows);
        for (let i = 0; i < chunk.numRows; i++) {
          batch[i] = cols.map((c) => {
            if (isMissing(c, i)) return null;
            const x = (c.data as Float64Array)[i]!;
            if (c.type === 'factor') return c.levels![x]!;
            if (c.type === 'string') return (c.data as Array<string | null>)[i];
            if (c.type === 'bool') return x !== 0;
            if (c.type === 'date') return new Date(x * 86_400_000);
            if (c.type === 'timestamp') return new Date(x);
            return x;
          });
        }
        queue.push(batch);
        signal();
      },
      async close() {
        if (finished) return;
        finished = true;
        closed = true;
        signal();
        try {
          await loaded;
          if (tmp) {
            await self.query(conn, 'BEGIN TRANSACTION');
            for (const stmt of tsqlSwapTables(table, tmp, schemaName, exists)) await self.query(conn, stmt);
          }
          await self.query(conn, 'COMMIT');
          self.cachedSchema = undefined;
        } catch (e) {
          await self.query(conn, 'IF @@TRANCOUNT > 0 ROLLBACK').catch(() => {});
          if (tmp) await self.query(conn, `DROP TABLE IF EXISTS ${qualify(tsqlDialect, tmp, schemaName)}`).catch(() => {});
          throw e;
        } finally {
          conn.close();
        }
      },
      async abort() {
        if (finished) return;
        finished = true;
        closed = true;
        queue.length = 0;
        signal();
        await loaded.catch(() => {});
        await self.query(conn, 'IF @@TRANCOUNT > 0 ROLLBACK').catch(() => {});
        if (tmp) await self.query(conn, `DROP TABLE IF EXISTS ${qualify(tsqlDialect, tmp, schemaName)}`).catch(() => {});
        conn.close();
      },
    };
  }
}
