/**
 * SQL dialects: identifier quoting, row ranges and column types per database. Every
 * database source and in-database compute context builds SQL through one of these, so
 * identifiers are always quoted the same way and values always travel as parameters.
 */
import type { ColumnType } from '../data/types.js';
import { argError } from '../validate.js';

export type DialectName = 'postgres' | 'duckdb' | 'tsql' | 'sqlite' | 'ansi';

export interface SqlDialect {
  readonly name: DialectName;
  quoteIdent(name: string): string;
  /** Placeholder for the i-th (1-based) bound parameter. */
  param(i: number): string;
  /** `SELECT <cols> FROM <from>` limited to rows [startRow, startRow + numRows). */
  selectRange(cols: string, from: string, startRow?: number, numRows?: number): string;
  typeName(t: ColumnType): string;
  /** Statement renaming table `from` (qualified) to bare name `to`. */
  renameTable(from: string, to: string, schema?: string): string;
}

const dq = (name: string) => `"${name.replaceAll('"', '""')}"`;
const intOr = (x: number | undefined) => (x === undefined ? undefined : Math.max(0, Math.floor(x)));

function limitOffset(cols: string, from: string, startRow?: number, numRows?: number): string {
  let sql = `SELECT ${cols} FROM ${from}`;
  const n = intOr(numRows);
  const s = intOr(startRow);
  if (n !== undefined) sql += ` LIMIT ${n}`;
  else if (s) sql += ' LIMIT -1';
  if (s) sql += ` OFFSET ${s}`;
  return sql;
}

const commonTypes: Record<ColumnType, string> = {
  float64: 'DOUBLE PRECISION',
  float32: 'REAL',
  int32: 'INTEGER',
  int16: 'SMALLINT',
  uint8: 'SMALLINT',
  bool: 'BOOLEAN',
  factor: 'TEXT',
  string: 'TEXT',
  date: 'DATE',
  timestamp: 'TIMESTAMP',
};

export const postgresDialect: SqlDialect = {
  name: 'postgres',
  quoteIdent: dq,
  param: (i) => `$${i}`,
  selectRange: (c, f, s, n) => limitOffset(c, f, s, n).replace(' LIMIT -1', ''),
  typeName: (t) => (t === 'timestamp' ? 'TIMESTAMPTZ' : commonTypes[t]),
  renameTable: (from, to) => `ALTER TABLE ${from} RENAME TO ${dq(to)}`,
};

export const duckdbDialect: SqlDialect = {
  name: 'duckdb',
  quoteIdent: dq,
  param: (i) => `$${i}`,
  selectRange: (c, f, s, n) => limitOffset(c, f, s, n).replace(' LIMIT -1', ''),
  typeName: (t) => (t === 'timestamp' ? 'TIMESTAMPTZ' : t === 'float64' ? 'DOUBLE' : t === 'uint8' ? 'UTINYINT' : t === 'factor' || t === 'string' ? 'VARCHAR' : commonTypes[t]),
  renameTable: (from, to) => `ALTER TABLE ${from} RENAME TO ${dq(to)}`,
};

export const sqliteDialect: SqlDialect = {
  name: 'sqlite',
  quoteIdent: dq,
  param: () => '?',
  selectRange: limitOffset,
  // declared types the SQLite ODBC driver reports back as the matching SQL types
  typeName: (t) => (t === 'float64' || t === 'float32' ? 'REAL' : t === 'factor' || t === 'string' ? 'TEXT' : t === 'date' ? 'DATE' : t === 'timestamp' ? 'TIMESTAMP' : 'INTEGER'),
  renameTable: (from, to) => `ALTER TABLE ${from} RENAME TO ${dq(to)}`,
};

export const tsqlDialect: SqlDialect = {
  name: 'tsql',
  quoteIdent: (name) => `[${name.replaceAll(']', ']]')}]`,
  param: (i) => `@p${i}`,
  selectRange(cols, from, startRow, numRows) {
    const s = intOr(startRow) ?? 0;
    const n = intOr(numRows);
    if (!s && n === undefined) return `SELECT ${cols} FROM ${from}`;
    // OFFSET/FETCH needs an ORDER BY; (SELECT NULL) keeps the source order.
    return `SELECT ${cols} FROM ${from} ORDER BY (SELECT NULL) OFFSET ${s} ROWS${n !== undefined ? ` FETCH NEXT ${n} ROWS ONLY` : ''}`;
  },
  typeName: (t) =>
    ({
      float64: 'FLOAT',
      float32: 'REAL',
      int32: 'INT',
      int16: 'SMALLINT',
      uint8: 'TINYINT',
      bool: 'BIT',
      factor: 'NVARCHAR(4000)',
      string: 'NVARCHAR(MAX)',
      date: 'DATE',
      timestamp: 'DATETIME2(3)',
    })[t],
  // sp_rename takes the old name as a (possibly qualified) string and the new bare name.
  renameTable: (from, to) => `EXEC sp_rename N'${from.replaceAll("'", "''")}', N'${to.replaceAll("'", "''")}'`,
};

export const ansiDialect: SqlDialect = {
  name: 'ansi',
  quoteIdent: dq,
  param: () => '?',
  selectRange(cols, from, startRow, numRows) {
    let sql = `SELECT ${cols} FROM ${from}`;
    const s = intOr(startRow);
    const n = intOr(numRows);
    if (s) sql += ` OFFSET ${s} ROWS`;
    if (n !== undefined) sql += ` FETCH FIRST ${n} ROWS ONLY`;
    return sql;
  },
  typeName: (t) => commonTypes[t],
  renameTable: (from, to) => `ALTER TABLE ${from} RENAME TO ${dq(to)}`,
};

export function dialectByName(name: DialectName): SqlDialect {
  return { postgres: postgresDialect, duckdb: duckdbDialect, tsql: tsqlDialect, sqlite: sqliteDialect, ansi: ansiDialect }[name];
}

/** Qualified, quoted table name. */
export function qualify(d: SqlDialect, table: string, schema?: string): string {
  return schema ? `${d.quoteIdent(schema)}.${d.quoteIdent(table)}` : d.quoteIdent(table);
}

/** FROM target for a table or a query used as a subquery (never concatenated with values). */
export function fromClause(d: SqlDialect, src: { table?: string; schemaName?: string; sqlQuery?: string }): string {
  return src.table !== undefined ? qualify(d, src.table, src.schemaName) : `(${src.sqlQuery}) AS rx_q`;
}

/** A unique temporary table name next to `table`. */
export function tempTableName(table: string): string {
  return `${table}__rx_tmp_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
}

/** Equality filter on key columns: column -> value, null for a missing value (rxExecBy partitions). */
export type KeyFilter = Record<string, string | number | boolean | null>;

/**
 * WHERE predicate selecting the rows whose columns equal `filter`'s values. Values are bound
 * parameters numbered from `firstParam` (or, through `bind`, any other bound form, e.g.
 * PostgreSQL's COPY, which takes no parameters, reads them from session settings); a null
 * value selects missing values: NULL, and NaN for floating-point columns where the
 * database stores NaN (`floats` names them). Identifiers are quoted.
 */
export function filterPredicate(
  d: SqlDialect,
  filter: KeyFilter,
  floats: ReadonlySet<string>,
  firstParam: number,
  bind?: (index: number, value: string | number | boolean) => string,
): { sql: string; params: Array<string | number | boolean> } {
  const params: Array<string | number | boolean> = [];
  const conds = Object.entries(filter).map(([col, v]) => {
    const q = d.quoteIdent(col);
    if (v === null || (typeof v === 'number' && Number.isNaN(v))) {
      if (floats.has(col) && d.name === 'postgres') return `(${q} IS NULL OR ${q} = 'NaN'::float8)`;
      if (floats.has(col) && d.name === 'duckdb') return `(${q} IS NULL OR isnan(${q}))`;
      return `${q} IS NULL`;
    }
    params.push(v);
    const i = firstParam + params.length - 1;
    return `${q} = ${bind ? bind(i, v) : d.param(i)}`;
  });
  return { sql: conds.length ? conds.join(' AND ') : d.name === 'tsql' ? '1 = 1' : 'TRUE', params };
}

/**
 * FROM target restricted to the rows matching `filter` (see filterPredicate): `from`
 * itself when there is no filter, else a subquery. `schema` tells which columns are
 * floating point (where a missing value may also be NaN).
 */
export function filteredFrom(
  d: SqlDialect,
  from: string,
  filter: KeyFilter | undefined,
  schema: { columns: Array<{ name: string; type: ColumnType }> },
  firstParam: number,
  bind?: (index: number, value: string | number | boolean) => string,
): { from: string; params: Array<string | number | boolean> } {
  if (!filter || Object.keys(filter).length === 0) return { from, params: [] };
  const floats = new Set(schema.columns.filter((c) => c.type === 'float64' || c.type === 'float32').map((c) => c.name));
  const p = filterPredicate(d, filter, floats, firstParam, bind);
  return { from: `(SELECT * FROM ${from} WHERE ${p.sql}) AS rx_p`, params: p.params };
}

/** Checks a KeyFilter option (column names to string, number, boolean or null). */
export function checkKeyFilter(filter: unknown): KeyFilter | undefined {
  if (filter === undefined) return undefined;
  const ok =
    typeof filter === 'object' &&
    filter !== null &&
    !Array.isArray(filter) &&
    Object.values(filter).every((v) => v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean');
  if (!ok) throw argError('an object of column -> string, number, boolean or null', 'filter', filter);
  return { ...(filter as KeyFilter) };
}
