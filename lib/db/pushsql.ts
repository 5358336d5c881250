/**
 * SQL building blocks shared by the accumulators' pushdown() implementations
 * (lib/summary/pushdown.ts, lib/models/pushdown.ts): numeric casts, validity predicates,
 * factor keys, text types and result-value conversion, per dialect.
 *
 * Everything returned here is SQL text built from quoted identifiers and bound
 * parameters only (values go through ctx.param); nothing user-supplied is concatenated.
 */
import type { SqlPassContext } from '../compute/pema.js';
import type { ColumnInfo, Schema } from '../data/types.js';

/** Thrown by helpers when a spec has no SQL form; pushdown() implementations turn it into `null`. */
export class NoSqlForm extends Error {}

export function noSql(reason: string): never {
  throw new NoSqlForm(reason);
}

/** Runs a pushdown builder; a NoSqlForm becomes null (the context then streams the rows). */
export function orNull<T>(build: () => T): T | null {
  try {
    return build();
  } catch (e) {
    if (e instanceof NoSqlForm) return null;
    throw e;
  }
}

export function columnOf(schema: Schema, name: string): ColumnInfo {
  const c = schema.columns.find((x) => x.name === name);
  if (!c) noSql(`unknown column ${name}`);
  return c;
}

/** The column as a double (bool as 0/1); dates and timestamps have no SQL form here. */
export function numCol(ctx: SqlPassContext, schema: Schema, name: string): string {
  const c = columnOf(schema, name);
  const q = ctx.quote(name);
  switch (c.type) {
    case 'float64':
    case 'float32':
    case 'int32':
    case 'int16':
    case 'uint8':
      return `CAST(${q} AS ${ctx.double})`;
    case 'bool':
      return `CAST(CAST(${q} AS INTEGER) AS ${ctx.double})`;
    default:
      return noSql(`column ${name} is ${c.type}`);
  }
}

/** Text type name of the dialect (for factor keys). */
export function textType(ctx: SqlPassContext): string {
  return ctx.dialect === 'tsql' ? 'NVARCHAR(4000)' : ctx.dialect === 'postgres' ? 'TEXT' : 'VARCHAR';
}

/** A factor/string column's value as text (NULL when missing). */
export function textCol(ctx: SqlPassContext, schema: Schema, name: string): string {
  const c = columnOf(schema, name);
  if (c.type !== 'factor' && c.type !== 'string') noSql(`column ${name} is ${c.type}, not a factor`);
  return `CAST(${ctx.quote(name)} AS ${textType(ctx)})`;
}

/**
 * Predicate: a double value is finite (not NULL, NaN or +-Infinity); `v` should be a column
 * or an alias (PostgreSQL evaluates it twice). PostgreSQL: `v - v = 0` is true exactly for
 * finite v (NaN and Inf - Inf are NaN, which equals no number; NULL gives NULL, which
 * CASE WHEN / WHERE treat as false), one subtraction and one comparison per row against
 * three comparisons for NOT IN (NaN, Infinity, -Infinity).
 */
export function finite(ctx: SqlPassContext, v: string): string {
  if (ctx.dialect === 'duckdb') return `(${v} IS NOT NULL AND isfinite(${v}))`;
  if (ctx.dialect === 'postgres') return `(${v} - ${v} = 0)`;
  return `${v} IS NOT NULL`;
}

/** The dialect's always-true / always-false predicate (T-SQL has no boolean literals). */
export function sqlTrue(ctx: SqlPassContext): string {
  return ctx.dialect === 'tsql' ? '1 = 1' : 'TRUE';
}
export function sqlFalse(ctx: SqlPassContext): string {
  return ctx.dialect === 'tsql' ? '1 = 0' : 'FALSE';
}

/** Natural logarithm (T-SQL: LOG). */
export function ln(ctx: SqlPassContext, v: string): string {
  return ctx.dialect === 'tsql' ? `LOG(${v})` : `LN(${v})`;
}

/** The larger of two values (T-SQL before SQL Server 2022 has no GREATEST; `b` should be simple, it is repeated). */
export function greatest(ctx: SqlPassContext, a: string, b: string): string {
  return ctx.dialect === 'tsql' ? `(CASE WHEN ${a} > ${b} THEN ${a} ELSE ${b} END)` : `GREATEST(${a}, ${b})`;
}

/** COUNT of rows for totals that can pass 2^31 (T-SQL's COUNT is a 32-bit int). */
export function countAll(ctx: SqlPassContext, e = '*'): string {
  return ctx.dialect === 'tsql' ? `COUNT_BIG(${e})` : `COUNT(${e})`;
}

/** Integer part toward zero (JavaScript Math.trunc). */
export function truncSql(ctx: SqlPassContext, v: string): string {
  return ctx.dialect === 'tsql' ? `ROUND(${v}, 0, 1)` : `TRUNC(${v})`;
}

/** Population variance aggregate (Welford / Youngs-Cramer in DuckDB and PostgreSQL 12+). */
export function varPop(ctx: SqlPassContext, v: string): string {
  return ctx.dialect === 'tsql' ? `VARP(${v})` : `VAR_POP(${v})`;
}

/** NULL of the dialect's double type. */
export function nullDouble(ctx: SqlPassContext): string {
  return `CAST(NULL AS ${ctx.double})`;
}

/** A numeric result value (number, bigint, numeric string, null) as a JS number; null -> fallback. */
export function num(v: unknown, fallback = 0): number {
  if (v === null || v === undefined) return fallback;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') {
    if (v === 'NaN') return Number.NaN;
    if (v === 'Infinity') return Number.POSITIVE_INFINITY;
    if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
    return Number(v);
  }
  return Number(v);
}


/**
 * Optimisation fence for a subquery: PostgreSQL inlines subqueries and would re-evaluate
 * each projected expression at every use (no common-subexpression elimination), which
 * blows up nested IRLS expressions; `OFFSET 0` keeps the subquery's projection computed
 * once per row. DuckDB eliminates common subexpressions itself.
 */
export function fence(ctx: SqlPassContext): string {
  return ctx.dialect === 'postgres' ? ' OFFSET 0' : '';
}
