/**
 * In-database compute contexts: RxInDuckDb, RxInPostgres (one server or shards) and
 * RxInSqlServer. When the data is a table/query of the context's database and the
 * accumulator can push down (AccumulatorDef.pushdown), each pass runs as ONE aggregate
 * query in the database and only the pass's state (sums, counts, X'X ...) comes back.
 * Sharded PostgreSQL sends that query to every shard in parallel and merges the partial
 * states with the accumulator's own merge() - the same associativity that makes chunked
 * and parallel runs agree (measured design: postgres_fdw does not push partial aggregates
 * to foreign partitions). The same SQL runs unchanged on a Citus coordinator.
 * Anything else streams the rows to the client and runs locally, with a log line saying so.
 *
 * rxExec / rxExecBy: tasks run in this process (numTasks at a time). rxExecBy partitions
 * where the data lives: SELECT DISTINCT on the keys (every shard, combined), then each
 * function gets the source filtered to its key values as bound parameters (RxPostgresData /
 * RxDuckDbData / RxSqlServerData `filter`; on shards an RxPostgresShardsData over every
 * shard), so an analysis of the partition in the same context runs as SQL. Chosen over one
 * ordered stream split on key change because that moves every row to the client; the cost
 * is one scan of the table per partition that is analysed (an index on the keys helps).
 */
import type { Chunk, ChunkOptions, ColumnType, DataSource, Schema } from '../data/types.js';
import { RxError } from '../errors.js';
import { type ComputeContext, type ContextRunOptions, type ExecOptions, type ExecOutcome, type ExecTask, runTasksHere } from '../compute/context.js';
import type { ExecByKeyValue, ExecByPartition } from '../compute/exec.js';
import type { AccumulatorDef, SqlPass, SqlPassContext } from '../compute/pema.js';
import { runPemaSequential } from '../compute/sequential.js';
import { type SqlDialect as ExprDialect, toSql, toSqlPredicate } from '../expr/sql.js';
import { type KeyFilter, type SqlDialect, duckdbDialect, postgresDialect, tsqlDialect } from './dialect.js';
import { num } from './pushsql.js';
import { RxDuckDbData } from './duckdb.js';
import { pgConnect, pgError, RxPostgresData } from './postgres.js';
import { RxSqlServerData, tsqlFrom } from './sqlserver.js';

/** How a source appears to an in-database context: its base table/query plus transforms. */
export interface PushdownView {
  base: DataSource;
  transforms: Array<[string, unknown]>;
  rowSelection?: unknown;
  objects?: Record<string, unknown>;
}

/** Sources may expose pushdownView() (e.g. withTransforms views); plain sources are their own base. */
export function pushdownViewOf(source: DataSource): PushdownView | null {
  const v = (source as { pushdownView?: () => PushdownView | null }).pushdownView;
  if (typeof v === 'function') return v.call(source);
  return { base: source, transforms: [] };
}

/** Log sink for "why this did not push down" lines (default: console.info). */
export type ContextLogger = (line: string) => void;

class PassContext implements SqlPassContext {
  readonly params: Array<number | string | boolean | null> = [];
  readonly from: string;
  readonly double: string;
  /** True when the pass runs on several shards whose states are merged (no global order statistics). */
  partitioned = false;
  constructor(
    readonly dialect: 'duckdb' | 'postgres' | 'tsql',
    private readonly sqlDialect: SqlDialect,
    baseFrom: string,
    baseParams: Array<string | number | boolean>,
    baseColumns: string[],
    view: PushdownView,
  ) {
    // the base's own bound values (a partition's key filter) come first: $1..$k in baseFrom
    this.params.push(...baseParams);
    this.double = dialect === 'tsql' ? 'FLOAT' : dialect === 'postgres' ? 'DOUBLE PRECISION' : 'DOUBLE';
    // `from` is always a complete table reference (a table name, or a subquery with its alias)
    let from = baseFrom;
    const cols = [...baseColumns];
    let level = 0;
    for (const [name, node] of view.transforms) {
      // a transform replaces a column of the same name or adds one; later ones see earlier ones
      const e = this.expr(node, view.objects);
      const list = cols.map((c) => (c === name ? `${e} AS ${this.quote(c)}` : this.quote(c)));
      if (!cols.includes(name)) {
        list.push(`${e} AS ${this.quote(name)}`);
        cols.push(name);
      }
      from = `(SELECT ${list.join(', ')} FROM ${from}) AS rx_t${level++}`;
    }
    if (view.rowSelection !== undefined) {
      const r = toSqlPredicate(view.rowSelection as string, dialect as ExprDialect, this.exprOpts(view.objects));
      this.params.push(...r.params);
      from = `(SELECT * FROM ${from} WHERE ${r.sql}) AS rx_w`;
    }
    this.from = from;
  }
  private exprOpts(objects?: Record<string, unknown>) {
    const o: { firstParam: number; objects?: Record<string, unknown> } = { firstParam: this.params.length + 1 };
    if (objects) o.objects = objects;
    return o;
  }
  quote(name: string): string {
    return this.sqlDialect.quoteIdent(name);
  }
  valid(v: string): string {
    if (this.dialect === 'tsql') return `${v} IS NOT NULL`; // SQL Server stores no NaN
    if (this.dialect === 'postgres') return `(${v} IS NOT NULL AND ${v} <> 'NaN'::float8)`;
    return `(${v} IS NOT NULL AND NOT isnan(${v}))`;
  }
  param(value: number | string | boolean | null): string {
    this.params.push(value);
    return this.sqlDialect.param(this.params.length);
  }
  expr(e: unknown, objects?: Record<string, unknown>): string {
    const r = toSql(e as string, this.dialect as ExprDialect, this.exprOpts(objects));
    this.params.push(...r.params);
    return r.sql;
  }
}

/** Shared pass loop: push down when possible, else stream to the client. */
abstract class InDatabaseContext implements ComputeContext {
  abstract readonly name: string;
  protected abstract readonly dialectName: 'duckdb' | 'postgres' | 'tsql';
  protected abstract readonly sqlDialect: SqlDialect;
  /** Lines explaining fallbacks (also sent to the logger). */
  readonly log: string[] = [];
  /** Every pushed-down query: its SQL, the shards it ran on and the rows each returned. */
  readonly queries: Array<{ accumulator: string; pass: number; sql: string; rowsPerShard: number[]; bytesPerShard?: number[] }> = [];
  /** Bytes received from the database per shard in the last pass (PostgreSQL; socket counts). */
  protected lastBytes: number[] | undefined;
  constructor(protected readonly logger: ContextLogger = (l) => console.info(l)) {}

  /**
   * The base source's FROM target (and the values it binds, $1..) when it lives in this
   * context's database; null otherwise.
   */
  protected abstract accepts(base: DataSource): Promise<BaseTarget | null>;
  /** Tasks of rxExec / rxExecBy run at most this many at a time (they run in this process; their analyses run in the database). */
  protected execConcurrency = 1;
  /** Whether passes run on several shards (states merged). */
  protected partitioned(): boolean {
    return false;
  }
  /** Runs one pass's SQL (on every shard) and returns one State per shard. */
  protected abstract execute<State>(pass: SqlPass<State>, params: unknown[], base: DataSource): Promise<State[]>;

  protected note(line: string): void {
    this.log.push(line);
    this.logger(`[${this.name}] ${line}`);
  }

  async run<Spec, State, Result>(def: AccumulatorDef<Spec, State, Result>, spec: Spec, source: DataSource, opts: ContextRunOptions): Promise<Result> {
    const view = pushdownViewOf(source);
    const target = view ? await this.accepts(view.base) : null;
    if (!view || !target || !def.pushdown) {
      const why = !def.pushdown ? `${def.name} has no SQL form` : !view ? 'the data has a JavaScript transformFunc' : `the data (${source.describe?.() ?? source.kind}) is not in this database`;
      this.note(`${def.name}: streaming rows to the client (${why})`);
      return runPemaSequential(def, spec, source, opts);
    }
    const schema: Schema = await source.schema();
    const baseColumns = (await view.base.schema()).columns.map((c) => c.name);
    let current = spec;
    for (let pass = 0; ; pass++) {
      if (opts.signal?.aborted) throw new RxError('RX_CANCELLED', `${def.name} was cancelled`);
      let ctx: PassContext;
      let plan: SqlPass<State> | null;
      try {
        ctx = new PassContext(this.dialectName, this.sqlDialect, target.from, target.params, baseColumns, view);
        ctx.partitioned = this.partitioned();
        plan = def.pushdown(current, schema, ctx);
      } catch (e) {
        // RX_EXPR / RX_SQL while building the SQL: an expression the SQL compiler cannot express
        if (!(e instanceof RxError) || (e.code !== 'RX_EXPR' && e.code !== 'RX_SQL')) throw e;
        plan = null;
        ctx = undefined as unknown as PassContext;
        this.note(`${def.name}: an expression has no SQL form (${e.message}); streaming rows to the client`);
      }
      if (!plan) {
        if (pass === 0) {
          this.note(`${def.name}: this analysis cannot run as SQL; streaming rows to the client`);
          return runPemaSequential(def, current, source, opts);
        }
        // e.g. rxLinMod's QR pass for an ill-conditioned problem: the remaining passes stream
        this.note(`${def.name}: pass ${pass + 1} cannot run as SQL; streaming rows to the client from this pass on`);
        return runPemaSequential(def, current, source, opts);
      }
      opts.progress.startPass(pass);
      const rowsPerShard: number[] = [];
      const counted: SqlPass<State> = {
        sql: plan.sql,
        toState: (rows) => {
          rowsPerShard.push(rows.length);
          return plan!.toState(rows);
        },
      };
      const states = await this.execute(counted, ctx.params, view.base);
      const entry: (typeof this.queries)[number] = { accumulator: def.name, pass, sql: plan.sql, rowsPerShard };
      if (this.lastBytes) entry.bytesPerShard = this.lastBytes;
      this.queries.push(entry);
      let state = states[0] as State;
      for (let i = 1; i < states.length; i++) state = def.merge(current, state, states[i] as State);
      opts.progress.endPass();
      const r = await def.finalize(current, state, schema);
      if (r.done) return r.result;
      current = r.spec;
    }
  }

  /** rxExec / rxExecBy tasks: run in this process (what they analyse runs in the database). */
  exec(tasks: ExecTask[], opts: ExecOptions): Promise<ExecOutcome[]> {
    return runTasksHere(tasks, opts, this.execConcurrency);
  }

  /**
   * rxExecBy partitions where the data lives: the distinct key combinations come from one
   * `SELECT DISTINCT keys` (on every shard, combined), and each partition is the source
   * itself filtered to its key values (bound parameters), so a function that analyses its
   * partition in this context runs as SQL there and no rows move. Null (the caller then
   * streams and splits the rows) when the data is not a table/query of this database, has
   * transforms or a row selection, or a key is not a column of a type that can be a key.
   */
  async execByPartitions(source: DataSource, keys: string[], opts: { signal?: AbortSignal } = {}): Promise<ExecByPartition[] | null> {
    const view = pushdownViewOf(source);
    if (!view || view.transforms.length || view.rowSelection !== undefined) {
      this.note('rxExecBy: the data has transforms or a row selection; streaming rows to the client to split them');
      return null;
    }
    const target = await this.accepts(view.base);
    if (!target) {
      this.note(`rxExecBy: the data (${source.describe?.() ?? source.kind}) is not in this database; streaming rows to the client to split them`);
      return null;
    }
    const schema = await view.base.schema();
    const types: ColumnType[] = [];
    for (const k of keys) {
      const info = schema.columns.find((c) => c.name === k);
      if (!info || !SQL_KEY_TYPES.includes(info.type)) return null;
      types.push(info.type);
    }
    if (opts.signal?.aborted) throw new RxError('RX_CANCELLED', 'rxExecBy was cancelled');
    const sql = `SELECT DISTINCT ${keys.map((k) => this.sqlDialect.quoteIdent(k)).join(', ')} FROM ${target.from}`;
    const perShard = await this.execute<Array<Record<string, unknown>>>({ sql, toState: (rows) => rows }, target.params, view.base);
    const seen = new Map<string, ExecByKeyValue[]>();
    for (const rows of perShard) {
      for (const r of rows) {
        const values = keys.map((k, i) => keyValueOf(r[k], types[i]!));
        seen.set(JSON.stringify(values), values);
      }
    }
    return [...seen.values()].map((values) => {
      const filter: KeyFilter = Object.fromEntries(keys.map((k, i) => [k, values[i]!]));
      return { keys: { ...filter }, data: this.partitionSource(view.base, filter) };
    });
  }

  /** The base source restricted to one partition's key values. */
  protected abstract partitionSource(base: DataSource, filter: KeyFilter): DataSource;
}

/** A base's FROM target for pushed-down passes and the values it binds ($1..). */
interface BaseTarget {
  from: string;
  params: Array<string | number | boolean>;
}

/** Column types that can be rxExecBy keys in the database (dates and timestamps stream). */
const SQL_KEY_TYPES: readonly ColumnType[] = ['factor', 'string', 'bool', 'int32', 'int16', 'uint8', 'float64', 'float32'];

/** A key value from a driver (string, number, bigint, 64-bit integer as string, boolean, null) as rxExecBy reports it. */
function keyValueOf(v: unknown, type: ColumnType): ExecByKeyValue {
  if (v === null || v === undefined) return null;
  if (type === 'factor' || type === 'string') return String(v);
  if (type === 'bool') return typeof v === 'boolean' ? v : v === 1 || v === 't' || v === 'true';
  const x = num(v, Number.NaN);
  return Number.isNaN(x) ? null : x;
}

/**
 * A table partitioned over several PostgreSQL servers (RxInPostgres shards), read as one
 * source: shard after shard. Passes in RxInPostgres({ shards }) run on every shard
 * (its pushdown view is the first shard's table).
 */
export class RxPostgresShardsData implements DataSource {
  readonly kind = 'postgres-shards';
  constructor(readonly parts: RxPostgresData[]) {
    if (parts.length === 0) throw new RxError('RX_ARG', 'Expected at least one shard');
  }
  describe(): string {
    return `${this.parts[0]!.describe()} on ${this.parts.length} shards`;
  }
  schema(): Promise<Schema> {
    return this.parts[0]!.schema();
  }
  async numRows(): Promise<number> {
    const n = await Promise.all(this.parts.map((p) => p.numRows()));
    return n.reduce((a, b) => a + b, 0);
  }
  pushdownView(): PushdownView {
    return { base: this.parts[0]!, transforms: [] };
  }
  async *chunks(opts: ChunkOptions = {}): AsyncIterable<Chunk> {
    let skip = opts.startRow ?? 0;
    let left = opts.numRows ?? Number.POSITIVE_INFINITY;
    let offset = 0; // global index of the current shard's first row
    for (const part of this.parts) {
      if (left <= 0) break;
      let first = 0;
      if (skip > 0) {
        const n = await part.numRows();
        if (skip >= n) {
          skip -= n;
          offset += n;
          continue;
        }
        first = skip;
        skip = 0;
      }
      const o: ChunkOptions = { ...opts, startRow: first };
      if (Number.isFinite(left)) o.numRows = left;
      else delete o.numRows;
      let read = 0;
      for await (const c of part.chunks(o)) {
        read += c.numRows;
        left -= c.numRows;
        yield { ...c, startRow: offset + c.startRow };
      }
      offset += first + read;
    }
  }
}

/** Runs analyses inside an embedded DuckDB database (the default database). */
export class RxInDuckDb extends InDatabaseContext {
  readonly name = 'RxInDuckDb';
  protected readonly dialectName = 'duckdb' as const;
  protected readonly sqlDialect = duckdbDialect;
  readonly path: string;
  /** numTasks: rxExec / rxExecBy tasks in flight at once (default 1). */
  constructor(opts: { path?: string; numTasks?: number; logger?: ContextLogger } = {}) {
    super(opts.logger);
    this.path = opts.path ?? ':memory:';
    this.execConcurrency = numTasksOf(opts.numTasks);
  }
  protected async accepts(base: DataSource): Promise<BaseTarget | null> {
    if (!(base instanceof RxDuckDbData) || base.opts.path !== this.path) return null;
    await base.schema();
    return base.filteredFrom(1);
  }
  protected partitionSource(base: DataSource, filter: KeyFilter): DataSource {
    return (base as RxDuckDbData).withFilter(filter);
  }
  protected async execute<State>(pass: SqlPass<State>, params: unknown[], base: DataSource): Promise<State[]> {
    const conn = await (base as RxDuckDbData).connect();
    try {
      const r = await conn.runAndReadAll(pass.sql, params as never);
      return [pass.toState(r.getRowObjectsJS() as Array<Record<string, unknown>>)];
    } catch (e) {
      throw new RxError('RX_SQL', `In-database pass failed in DuckDB: ${(e as Error).message}`, { cause: e });
    } finally {
      conn.closeSync();
    }
  }
}

export interface RxInPostgresOptions {
  /** Default server (sources on other servers stream to the client). */
  connectionString?: string;
  /**
   * Shards: connection strings of servers that each hold a partition of the source's table
   * (same table name and columns). Each pass runs on all of them in parallel.
   */
  shards?: string[];
  /**
   * Let PostgreSQL JIT-compile the pushed-down queries (default false: each pass's session
   * runs `SET jit = off`). The passes are one wide aggregate over a fenced subquery; with JIT
   * on, PostgreSQL 15 ran the rxLinMod cross-product query 2.5x slower (1M rows: 9.9 s vs
   * 3.9 s), the compiled expressions costing more than they save in a single scan.
   */
  jit?: boolean;
  /** rxExec / rxExecBy tasks in flight at once (default 1). */
  numTasks?: number;
  logger?: ContextLogger;
}

export class RxInPostgres extends InDatabaseContext {
  readonly name = 'RxInPostgres';
  protected readonly dialectName = 'postgres' as const;
  protected readonly sqlDialect = postgresDialect;
  readonly opts: RxInPostgresOptions;
  constructor(opts: RxInPostgresOptions = {}) {
    super(opts.logger);
    if (opts.shards !== undefined && (!Array.isArray(opts.shards) || opts.shards.length === 0 || opts.shards.some((s) => typeof s !== 'string')))
      throw new RxError('RX_ARG', 'Expected a non-empty array of connection strings for shards');
    this.opts = { ...opts };
    this.execConcurrency = numTasksOf(opts.numTasks);
  }
  protected override partitioned(): boolean {
    return (this.opts.shards?.length ?? 1) > 1;
  }
  protected async accepts(base: DataSource): Promise<BaseTarget | null> {
    if (!(base instanceof RxPostgresData)) return null;
    if (!this.opts.shards && this.opts.connectionString && this.opts.connectionString !== base.opts.connectionString) return null;
    await base.schema();
    return base.filteredFrom(1);
  }
  /** One server: the filtered table. Shards: the filtered table on every shard, read as one source. */
  protected partitionSource(base: DataSource, filter: KeyFilter): DataSource {
    const b = base as RxPostgresData;
    if (!this.opts.shards) return b.withFilter(filter);
    return new RxPostgresShardsData(this.opts.shards.map((cs) => new RxPostgresData({ ...b.opts, connectionString: cs, filter: { ...b.opts.filter, ...filter } })));
  }
  protected async execute<State>(pass: SqlPass<State>, params: unknown[], base: DataSource): Promise<State[]> {
    const targets = this.opts.shards ?? [(base as RxPostgresData).opts.connectionString];
    const bytes = targets.map(() => 0);
    this.lastBytes = bytes;
    return Promise.all(
      targets.map(async (cs, i) => {
        const client = await pgConnect(cs);
        try {
          // servers older than PostgreSQL 11 have no jit setting: nothing to turn off
          if (!this.opts.jit) await client.query('SET jit = off').catch(() => {});
          const sock = (client as unknown as { connection?: { stream?: { bytesRead?: number } } }).connection?.stream;
          const before = sock?.bytesRead ?? 0;
          const r = await client.query(pass.sql, params);
          bytes[i] = (sock?.bytesRead ?? 0) - before;
          return pass.toState(r.rows as Array<Record<string, unknown>>);
        } catch (e) {
          throw pgError(e, `In-database pass failed on ${redact(cs)}`);
        } finally {
          await client.end().catch(() => {});
        }
      }),
    );
  }
}

export class RxInSqlServer extends InDatabaseContext {
  readonly name = 'RxInSqlServer';
  protected readonly dialectName = 'tsql' as const;
  protected readonly sqlDialect = tsqlDialect;
  readonly opts: { connectionString?: string; numTasks?: number; wait?: boolean; consoleOutput?: boolean };
  constructor(opts: { connectionString?: string; numTasks?: number; wait?: boolean; consoleOutput?: boolean; logger?: ContextLogger } = {}) {
    super(opts.logger);
    this.opts = { ...opts };
    this.execConcurrency = numTasksOf(opts.numTasks);
  }
  protected async accepts(base: DataSource): Promise<BaseTarget | null> {
    if (!(base instanceof RxSqlServerData)) return null;
    if (this.opts.connectionString && base.opts.connectionString && this.opts.connectionString !== base.opts.connectionString) return null;
    return tsqlFrom(base.opts);
  }
  protected partitionSource(base: DataSource, filter: KeyFilter): DataSource {
    return (base as RxSqlServerData).withFilter(filter);
  }
  protected async execute<State>(pass: SqlPass<State>, params: unknown[], base: DataSource): Promise<State[]> {
    const src = base as RxSqlServerData;
    const t = await import('tedious');
    const conn = await src.connect();
    try {
      const rows = await new Promise<Array<Record<string, unknown>>>((resolve, reject) => {
        const out: Array<Record<string, unknown>> = [];
        const req = new t.Request(pass.sql, (err) => (err ? reject(new RxError('RX_SQL', `In-database pass failed in SQL Server: ${err.message}`, { cause: err })) : resolve(out)));
        params.forEach((p, i) => {
          req.addParameter(`p${i + 1}`, typeof p === 'number' ? t.TYPES.Float : typeof p === 'boolean' ? t.TYPES.Bit : t.TYPES.NVarChar, p);
        });
        req.on('row', (cols: Array<{ metadata: { colName: string }; value: unknown }>) => {
          out.push(Object.fromEntries(cols.map((c) => [c.metadata.colName, c.value])));
        });
        conn.execSql(req);
      });
      return [pass.toState(rows)];
    } finally {
      conn.close();
    }
  }
}

function numTasksOf(n: number | undefined): number {
  if (n === undefined) return 1;
  if (!Number.isInteger(n) || n < 1) throw new RxError('RX_ARG', `Expected an integer >= 1 for numTasks but received ${String(n)}`);
  return n;
}

function redact(cs: string): string {
  return cs.replace(/:[^:@/]*@/, ':***@');
}
