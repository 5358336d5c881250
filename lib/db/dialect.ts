/**
 * SQL dialects: identifier quoting, row ranges and column types per database. Every
 * database source and in-database compute context builds SQL through one of these, so
 * identifiers are always quoted the same way and values always travel as parameters.
 */
import type { ColumnType } from '../data/types.js';

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
