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
 */
import type { DataSource, Schema } from '../data/types.js';
import { RxError } from '../errors.js';
import type { ComputeContext, ContextRunOptions } from '../compute/context.js';
import type { AccumulatorDef, SqlPass, SqlPassContext } from '../compute/pema.js';
import { runPemaSequential } from '../compute/sequential.js';
import { type SqlDialect as ExprDialect, toSql, toSqlPredicate } from '../expr/sql.js';
import { type SqlDialect, duckdbDialect, postgresDialect, tsqlDialect } from './dialect.js';
import { RxDuckDbData } from './duckdb.js';
import { pgConnect, pgError, RxPostgresData } from './postgres.js';
import { RxSqlServerData } from './sqlserver.js';

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
    baseColumns: string[],
    view: PushdownView,
  ) {
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

  /** The base source when it lives in this context's database; null otherwise. */
  protected abstract accepts(base: DataSource): { from: string } | null;
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
    const target = view ? this.accepts(view.base) : null;
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
        ctx = new PassContext(this.dialectName, this.sqlDialect, target.from, baseColumns, view);
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
}

/** Runs analyses inside an embedded DuckDB database (the default database). */
export class RxInDuckDb extends InDatabaseContext {
  readonly name = 'RxInDuckDb';
  protected readonly dialectName = 'duckdb' as const;
  protected readonly sqlDialect = duckdbDialect;
  readonly path: string;
  constructor(opts: { path?: string; logger?: ContextLogger } = {}) {
    super(opts.logger);
    this.path = opts.path ?? ':memory:';
  }
  protected accepts(base: DataSource) {
    return base instanceof RxDuckDbData && base.opts.path === this.path ? { from: base.fromClause() } : null;
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
  }
  protected override partitioned(): boolean {
    return (this.opts.shards?.length ?? 1) > 1;
  }
  protected accepts(base: DataSource) {
    if (!(base instanceof RxPostgresData)) return null;
    if (!this.opts.shards && this.opts.connectionString && this.opts.connectionString !== base.opts.connectionString) return null;
    return { from: base.fromClause() };
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
  }
  protected accepts(base: DataSource) {
    if (!(base instanceof RxSqlServerData)) return null;
    if (this.opts.connectionString && base.opts.connectionString && this.opts.connectionString !== base.opts.connectionString) return null;
    return { from: `(${base.opts.sqlQuery ?? `SELECT * FROM ${base.opts.schemaName ? `${tsqlDialect.quoteIdent(base.opts.schemaName)}.` : ''}${tsqlDialect.quoteIdent(base.opts.table!)}`}) AS rx_q` };
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

function redact(cs: string): string {
  return cs.replace(/:[^:@/]*@/, ':***@');
}
