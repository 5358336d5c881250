/**
 * Compiles an expression AST to SQL for in-database compute contexts.
 * Identifiers are quoted per dialect ("x" for DuckDB/PostgreSQL, [x] for T-SQL); every
 * literal becomes a parameter ($1, $2 ... for DuckDB/PostgreSQL, @p1, @p2 ... for T-SQL).
 *
 * Semantics follow R where SQL allows: `/` is floating-point division, `%%` is R's
 * floored modulo, pmin/pmax give NULL when any argument is NULL (na.rm = FALSE), paste()
 * writes NA for NULL, ifelse() gives NULL for a NULL test. Known differences: SQL's
 * ROUND rounds halves away from zero (R rounds to even); `x %in% c(...)` is NULL (not
 * FALSE) for a NULL x, which selects the same rows in a WHERE clause; string comparison
 * follows the database collation.
 */
import { RxError } from '../errors.js';
import type { CallNode, ExprNode } from './ast.js';
import { deparse } from './deparse.js';
import { formatG } from './format.js';
import { parseExpr } from './parse.js';

export type SqlDialect = 'duckdb' | 'postgres' | 'tsql';

export interface SqlResult {
  sql: string;
  params: Array<number | string | boolean | null>;
}

export interface ToSqlOptions {
  /** Columns known to be boolean (so T-SQL can compare them with 1). */
  booleanColumns?: string[];
  /** Named constants (transformObjects): inlined as parameters. */
  objects?: Record<string, unknown>;
  /** Number the first parameter from here (default 1), to append to other SQL. */
  firstParam?: number;
}

type Frag = { s: string; bool: boolean };

export function quoteIdent(name: string, dialect: SqlDialect): string {
  if (dialect === 'tsql') return `[${name.replace(/]/g, ']]')}]`;
  return `"${name.replace(/"/g, '""')}"`;
}

class SqlCompiler {
  readonly params: SqlResult['params'] = [];
  constructor(
    private readonly dialect: SqlDialect,
    private readonly text: string,
    private readonly opts: ToSqlOptions,
  ) {}

  private fail(node: ExprNode, reason: string): never {
    throw new RxError('RX_SQL', `Cannot compile expression "${this.text}" to SQL at position ${node.pos}: ${reason}`, { text: this.text, column: node.pos });
  }

  private param(v: number | string | boolean | null): string {
    this.params.push(v);
    const k = this.params.length + (this.opts.firstParam ?? 1) - 1;
    return this.dialect === 'tsql' ? `@p${k}` : `$${k}`;
  }

  private get dbl(): string {
    return this.dialect === 'tsql' ? 'FLOAT' : this.dialect === 'postgres' ? 'DOUBLE PRECISION' : 'DOUBLE';
  }
  private get str(): string {
    return this.dialect === 'tsql' ? 'NVARCHAR(MAX)' : 'VARCHAR';
  }

  /** As a value (T-SQL turns predicates into 1/0/NULL). */
  value(f: Frag): string {
    if (f.bool && this.dialect === 'tsql') return `(CASE WHEN ${f.s} THEN 1 WHEN NOT ${f.s} THEN 0 END)`;
    return f.s;
  }
  /** As a predicate. */
  pred(f: Frag): string {
    if (f.bool) return f.s;
    return this.dialect === 'tsql' ? `(${f.s} <> 0)` : `(${f.s} <> 0)`;
  }

  private vec(node: ExprNode): ExprNode[] | unknown[] {
    if (node.type === 'paren') return this.vec(node.arg);
    if (node.type === 'call' && node.fn === 'c') return node.args.flatMap((a) => this.vec(a.value) as ExprNode[]);
    if (node.type === 'name' && this.opts.objects && Object.hasOwn(this.opts.objects, node.name)) {
      const o = this.opts.objects[node.name];
      return Array.isArray(o) || ArrayBuffer.isView(o) ? Array.from(o as ArrayLike<unknown>) : [o];
    }
    if (node.type === 'binary' && node.op === ':') {
      const a = this.constNum(node.left);
      const b = this.constNum(node.right);
      const out: number[] = [];
      for (let x = a; a <= b ? x <= b : x >= b; x += a <= b ? 1 : -1) out.push(x);
      return out;
    }
    return [node];
  }

  private constNum(node: ExprNode): number {
    if (node.type === 'num') return node.value;
    if (node.type === 'unary' && node.op === '-') return -this.constNum(node.arg);
    if (node.type === 'const' && node.name === 'Inf') return Number.POSITIVE_INFINITY;
    if (node.type === 'paren') return this.constNum(node.arg);
    return this.fail(node, 'expected a constant number');
  }

  private constStrings(node: ExprNode): string[] {
    return this.vec(node).map((e) => {
      if (typeof e === 'string') return e;
      if (typeof e === 'number') return formatG(e, 15);
      const n = e as ExprNode;
      if (n.type === 'str') return n.value;
      if (n.type === 'num' || n.type === 'unary') return formatG(this.constNum(n), 15);
      return this.fail(n, 'expected constant values');
    });
  }

  private literal(v: unknown, node: ExprNode): string {
    if (v === null || v === undefined) return 'NULL';
    if (typeof v === 'number' || typeof v === 'string') return this.param(v);
    if (typeof v === 'boolean') return this.param(v ? 1 : 0);
    return this.fail(node, 'unsupported constant');
  }

  compile(node: ExprNode): Frag {
    const V = (s: string): Frag => ({ s, bool: false });
    const B = (s: string): Frag => ({ s, bool: true });
    switch (node.type) {
      case 'num':
        return V(this.param(node.value));
      case 'str':
        return V(this.param(node.value));
      case 'const':
        switch (node.name) {
          case 'TRUE':
            return B('(1 = 1)');
          case 'FALSE':
            return B('(1 = 0)');
          case 'Inf':
            return V(this.dialect === 'tsql' ? this.fail(node, 'T-SQL has no infinity') : `CAST('Infinity' AS ${this.dbl})`);
          default:
            return V('NULL');
        }
      case 'name': {
        if (this.opts.objects && Object.hasOwn(this.opts.objects, node.name)) {
          const o = this.opts.objects[node.name];
          if (Array.isArray(o)) this.fail(node, `object "${node.name}" is a vector; use it with %in%`);
          return V(this.literal(o, node));
        }
        const q = quoteIdent(node.name, this.dialect);
        if (this.opts.booleanColumns?.includes(node.name)) return this.dialect === 'tsql' ? B(`(${q} = 1)`) : B(q);
        return V(q);
      }
      case 'paren': {
        const f = this.compile(node.arg);
        return { s: `(${f.s})`, bool: f.bool };
      }
      case 'unary': {
        const f = this.compile(node.arg);
        if (node.op === '!') return B(`(NOT ${this.pred(f)})`);
        if (node.op === '-') return V(`(-${this.value(f)})`);
        if (node.op === '+') return f;
        return this.fail(node, 'a formula is not an expression');
      }
      case 'binary':
        return this.binary(node.op, node);
      case 'call':
        return this.call(node);
    }
  }

  private binary(op: string, node: ExprNode & { type: 'binary' }): Frag {
    if (op === '%in%') {
      const l = this.value(this.compile(node.left));
      const items = this.vec(node.right).map((e) => (typeof e === 'object' && e !== null && 'type' in (e as object) ? this.value(this.compile(e as ExprNode)) : this.literal(e, node)));
      if (items.length === 0) return { s: '(1 = 0)', bool: true };
      return { s: `(${l} IN (${items.join(', ')}))`, bool: true };
    }
    const a = this.compile(node.left);
    const b = this.compile(node.right);
    switch (op) {
      case '&':
      case '&&':
        return { s: `(${this.pred(a)} AND ${this.pred(b)})`, bool: true };
      case '|':
      case '||':
        return { s: `(${this.pred(a)} OR ${this.pred(b)})`, bool: true };
      case '==':
        return { s: `(${this.value(a)} = ${this.value(b)})`, bool: true };
      case '!=':
        return { s: `(${this.value(a)} <> ${this.value(b)})`, bool: true };
      case '<':
      case '<=':
      case '>':
      case '>=':
        return { s: `(${this.value(a)} ${op} ${this.value(b)})`, bool: true };
    }
    const x = this.value(a);
    const y = this.value(b);
    switch (op) {
      case '+':
      case '-':
      case '*':
        return { s: `(${x} ${op} ${y})`, bool: false };
      case '/':
        return { s: `(CAST(${x} AS ${this.dbl}) / ${y})`, bool: false };
      case '^':
        return { s: `POWER(${x}, ${y})`, bool: false };
      case '%/%':
        return { s: `FLOOR(CAST(${x} AS ${this.dbl}) / ${y})`, bool: false };
      case '%%':
        return { s: `(${x} - FLOOR(CAST(${x} AS ${this.dbl}) / ${y}) * ${y})`, bool: false };
    }
    return this.fail(node, `operator "${op}" has no SQL translation`);
  }

  private arg(node: CallNode, name: string, pos: number): ExprNode | undefined {
    const byName = node.args.find((a) => a.name === name);
    if (byName) return byName.value;
    return node.args.filter((a) => a.name === undefined)[pos]?.value;
  }

  private call(node: CallNode): Frag {
    const d = this.dialect;
    const V = (s: string): Frag => ({ s, bool: false });
    const one = (): string => {
      const a = this.arg(node, 'x', 0);
      if (!a) this.fail(node, `${node.fn}() needs an argument`);
      return this.value(this.compile(a));
    };
    const simple: Record<string, string> = {
      exp: 'EXP', sqrt: 'SQRT', abs: 'ABS', floor: 'FLOOR', sign: 'SIGN', sin: 'SIN', cos: 'COS', tan: 'TAN',
      asin: 'ASIN', acos: 'ACOS', atan: 'ATAN', toupper: 'UPPER', tolower: 'LOWER', trimws: 'TRIM',
      ceiling: d === 'tsql' ? 'CEILING' : 'CEIL', log10: d === 'postgres' ? 'LOG' : 'LOG10', nchar: d === 'tsql' ? 'LEN' : 'LENGTH',
    };
    const fn = simple[node.fn];
    if (fn) return V(`${fn}(${one()})`);
    const ln = d === 'tsql' ? 'LOG' : 'LN';
    switch (node.fn) {
      case 'I':
        return this.compile(node.args[0]!.value);
      case 'log': {
        const base = this.arg(node, 'base', 1);
        return V(base ? `(${ln}(${one()}) / ${ln}(${this.value(this.compile(base))}))` : `${ln}(${one()})`);
      }
      case 'log2':
        return V(`(${ln}(${one()}) / ${ln}(2))`);
      case 'log1p':
        return V(`${ln}(1 + ${one()})`);
      case 'trunc':
        return V(d === 'tsql' ? `ROUND(${one()}, 0, 1)` : `TRUNC(${one()})`);
      case 'round': {
        const dg = this.arg(node, 'digits', 1);
        return V(`ROUND(${one()}, ${dg ? this.constNum(dg) : 0})`);
      }
      case 'is.na':
        return { s: `(${one()} IS NULL)`, bool: true };
      case 'ifelse': {
        const t = this.pred(this.compile(this.arg(node, 'test', 0) ?? this.fail(node, 'ifelse() needs test')));
        const y = this.value(this.compile(this.arg(node, 'yes', 1) ?? this.fail(node, 'ifelse() needs yes')));
        const n = this.value(this.compile(this.arg(node, 'no', 2) ?? this.fail(node, 'ifelse() needs no')));
        return V(`(CASE WHEN ${t} THEN ${y} WHEN NOT ${t} THEN ${n} END)`);
      }
      case 'pmin':
      case 'pmax': {
        const xs = node.args.filter((a) => a.name === undefined).map((a) => this.value(this.compile(a.value)));
        const g = node.fn === 'pmin' ? 'LEAST' : 'GREATEST';
        return V(`(CASE WHEN ${xs.map((x) => `${x} IS NULL`).join(' OR ')} THEN NULL ELSE ${g}(${xs.join(', ')}) END)`);
      }
      case 'as.numeric':
      case 'as.double':
        return V(`CAST(${one()} AS ${this.dbl})`);
      case 'as.integer':
        return V(`CAST(${d === 'tsql' ? `ROUND(${one()}, 0, 1)` : `TRUNC(${one()})`} AS INTEGER)`);
      case 'as.character':
        return V(`CAST(${one()} AS ${this.str})`);
      case 'substr': {
        const st = this.value(this.compile(this.arg(node, 'start', 1) ?? this.fail(node, 'substr() needs start')));
        const en = this.value(this.compile(this.arg(node, 'stop', 2) ?? this.fail(node, 'substr() needs stop')));
        return V(`SUBSTRING(${one()}, ${st}, ${en} - ${st} + 1)`);
      }
      case 'paste':
      case 'paste0': {
        const sepNode = node.args.find((a) => a.name === 'sep')?.value;
        const sep = node.fn === 'paste0' ? '' : sepNode?.type === 'str' ? sepNode.value : ' ';
        const parts = node.args.filter((a) => a.name === undefined).map((a) => `COALESCE(CAST(${this.value(this.compile(a.value))} AS ${this.str}), ${this.param('NA')})`);
        const joined: string[] = [];
        parts.forEach((p, i) => {
          if (i > 0 && sep !== '') joined.push(this.param(sep));
          joined.push(p);
        });
        return V(d === 'tsql' ? `CONCAT(${joined.join(', ')})` : `(${joined.join(' || ')})`);
      }
      case 'factor': {
        const x = one();
        const lv = this.arg(node, 'levels', 1);
        if (!lv) return V(`CAST(${x} AS ${this.str})`);
        const levels = this.constStrings(lv);
        const lab = this.arg(node, 'labels', 2);
        const labels = lab ? this.constStrings(lab) : levels;
        const whens = levels.map((l, i) => `WHEN CAST(${x} AS ${this.str}) = ${this.param(l)} THEN ${this.param(labels[i] ?? l)}`);
        return V(`(CASE ${whens.join(' ')} END)`);
      }
      case 'cut': {
        const x = one();
        const br = this.vec(this.arg(node, 'breaks', 1) ?? this.fail(node, 'cut() needs breaks')).map((e) => (typeof e === 'number' ? e : this.constNum(e as ExprNode)));
        br.sort((a, b) => a - b);
        const rightNode = this.arg(node, 'right', 4);
        const right = !(rightNode?.type === 'const' && rightNode.name === 'FALSE');
        const lab = this.arg(node, 'labels', 2);
        const labels = lab ? this.constStrings(lab) : br.slice(0, -1).map((b, i) => (right ? `(${formatG(b, 3)},${formatG(br[i + 1]!, 3)}]` : `[${formatG(b, 3)},${formatG(br[i + 1]!, 3)})`));
        const bound = (v: number): string => (Number.isFinite(v) ? this.param(v) : '');
        const whens = br.slice(0, -1).map((b, i) => {
          const hi = br[i + 1]!;
          const conds: string[] = [];
          if (Number.isFinite(b)) conds.push(right ? `${x} > ${bound(b)}` : `${x} >= ${bound(b)}`);
          if (Number.isFinite(hi)) conds.push(right ? `${x} <= ${bound(hi)}` : `${x} < ${bound(hi)}`);
          return `WHEN ${conds.join(' AND ') || `${x} IS NOT NULL`} THEN ${this.param(labels[i]!)}`;
        });
        return V(`(CASE ${whens.join(' ')} END)`);
      }
    }
    return this.fail(node, `function ${node.fn}() has no SQL translation`);
  }
}

/** Compiles an expression to SQL: `{ sql, params }` with dialect-quoted identifiers and literal parameters. */
export function toSql(expr: string | ExprNode, dialect: SqlDialect, opts: ToSqlOptions = {}): SqlResult {
  if (!['duckdb', 'postgres', 'tsql'].includes(dialect)) throw new RxError('RX_ARG', `Expected one of 'duckdb', 'postgres', 'tsql' for dialect but received ${String(dialect)}`);
  const node = typeof expr === 'string' ? parseExpr(expr) : expr;
  const text = (node as { text?: string }).text ?? deparse(node);
  const c = new SqlCompiler(dialect, text, opts);
  const f = c.compile(node);
  return { sql: c.value(f), params: c.params };
}

/** Compiles a row selection to a WHERE predicate. */
export function toSqlPredicate(expr: string | ExprNode, dialect: SqlDialect, opts: ToSqlOptions = {}): SqlResult {
  const node = typeof expr === 'string' ? parseExpr(expr) : expr;
  const text = (node as { text?: string }).text ?? deparse(node);
  const c = new SqlCompiler(dialect, text, opts);
  const f = c.compile(node);
  return { sql: c.pred(f), params: c.params };
}
