/**
 * Column-wise evaluator of the expression AST. Every operation runs over whole chunk
 * columns with typed-array loops; scalars (length 1) are recycled.
 *
 * Internal values:
 *   num  Float64Array, NaN = NA
 *   lgl  Uint8Array 0 = FALSE, 1 = TRUE, 2 = NA
 *   str  Array<string | null>, null = NA
 *   fac  Int32Array codes into `levels`, -1 = NA
 * Missing values propagate as in R: NA & FALSE is FALSE, NA | TRUE is TRUE, arithmetic
 * and comparisons with NA give NA, is.na() tests it, rowSelection drops NA rows.
 *
 * Deviations from R (documented): `&&`/`||` are elementwise like `&`/`|`; string
 * ordering (<, >, sort of new factor levels) is by code point, not locale; ifelse() with
 * factor yes/no gives the labels (strings), not the integer codes; factor(x) of a factor
 * keeps all of x's levels (unused levels are not dropped, so codes agree across chunks).
 */
import { RxError } from '../errors.js';
import type { Chunk, Column, ColumnInfo, ColumnType, Schema } from '../data/types.js';
import type { CallNode, ExprNode, ParsedExpr } from './ast.js';
import { deparse } from './deparse.js';
import { formatG, formatR } from './format.js';
import { parseExpr } from './parse.js';

export type Val =
  | { t: 'num'; d: Float64Array }
  | { t: 'lgl'; d: Uint8Array }
  | { t: 'str'; d: Array<string | null> }
  | { t: 'fac'; d: Int32Array; levels: string[]; ordered?: boolean; dyn?: boolean }
  | { t: 'null' };

export interface EvalEnv {
  /** Named constants (transformObjects): numbers, strings, booleans or arrays of them. */
  objects?: Record<string, unknown>;
}

interface Ctx {
  chunk: Chunk | null;
  n: number;
  objects: Record<string, unknown>;
  text: string;
  cache: Map<string, Val>;
  /** Constant context: column references are errors. */
  constant: boolean;
}

function fail(ctx: Ctx, node: ExprNode, reason: string, column?: string): never {
  throw new RxError('RX_EXPR', `Error in expression "${ctx.text}" at position ${node.pos}: ${reason}`, {
    text: ctx.text,
    column: column ?? node.pos,
  });
}

const len = (v: Val): number => (v.t === 'null' ? 0 : v.d.length);

const NUM1 = (x: number): Val => ({ t: 'num', d: Float64Array.of(x) });
const LGL1 = (x: number): Val => ({ t: 'lgl', d: Uint8Array.of(x) });
const STR1 = (x: string | null): Val => ({ t: 'str', d: [x] });

// ---------------------------------------------------------------- conversions

export function columnToVal(c: Column): Val {
  const valid = c.valid;
  switch (c.type) {
    case 'float64':
    case 'float32':
    case 'timestamp': {
      const src = c.data as Float64Array | Float32Array;
      if (!valid && src instanceof Float64Array) return { t: 'num', d: src };
      const d = new Float64Array(src.length);
      for (let i = 0; i < d.length; i++) d[i] = valid && valid[i] === 0 ? Number.NaN : src[i]!;
      return { t: 'num', d };
    }
    case 'int32':
    case 'int16':
    case 'uint8':
    case 'date': {
      const src = c.data as Int32Array;
      const d = new Float64Array(src.length);
      if (valid) for (let i = 0; i < d.length; i++) d[i] = valid[i] === 0 ? Number.NaN : src[i]!;
      else for (let i = 0; i < d.length; i++) d[i] = src[i]!;
      return { t: 'num', d };
    }
    case 'bool': {
      const src = c.data as Uint8Array;
      if (!valid) return { t: 'lgl', d: src };
      const d = new Uint8Array(src.length);
      for (let i = 0; i < d.length; i++) d[i] = valid[i] === 0 ? 2 : src[i]! ? 1 : 0;
      return { t: 'lgl', d };
    }
    case 'factor': {
      const src = c.data as Int32Array;
      const levels = c.levels ?? [];
      const out: Val = { t: 'fac', d: src, levels };
      if (c.ordered) out.ordered = true;
      if (!valid) return out;
      const d = new Int32Array(src.length);
      for (let i = 0; i < d.length; i++) d[i] = valid[i] === 0 ? -1 : src[i]!;
      out.d = d;
      return out;
    }
    case 'string': {
      const src = c.data as Array<string | null>;
      if (!valid) return { t: 'str', d: src };
      return { t: 'str', d: src.map((s, i) => (valid[i] === 0 ? null : s)) };
    }
  }
}

function broadcast<T extends Float64Array | Uint8Array | Int32Array>(d: T, n: number): T {
  if (d.length === n) return d;
  const C = d.constructor as new (n: number) => T;
  const out = new C(n);
  out.fill(d[0] as never);
  return out;
}

/** Converts an internal value (recycled to n rows) into a Column following the data contract. */
export function valToColumn(v: Val, n: number): Column {
  switch (v.t) {
    case 'num':
      return { type: 'float64', data: broadcast(v.d, n) };
    case 'lgl': {
      const src = broadcast(v.d, n);
      let na = false;
      for (let i = 0; i < n; i++) if (src[i] === 2) { na = true; break; }
      if (!na) return { type: 'bool', data: src };
      const data = new Uint8Array(n);
      const valid = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const x = src[i]!;
        if (x !== 2) { data[i] = x; valid[i] = 1; }
      }
      return { type: 'bool', data, valid };
    }
    case 'str': {
      const data = v.d.length === n ? v.d : new Array<string | null>(n).fill(v.d[0] ?? null);
      let valid: Uint8Array | undefined;
      for (let i = 0; i < n; i++) {
        if (data[i] === null) {
          if (!valid) valid = new Uint8Array(n).fill(1);
          valid[i] = 0;
        }
      }
      return valid ? { type: 'string', data, valid } : { type: 'string', data };
    }
    case 'fac': {
      const src = broadcast(v.d, n);
      let valid: Uint8Array | undefined;
      let data = src;
      for (let i = 0; i < n; i++) {
        if (src[i]! < 0) {
          if (!valid) {
            valid = new Uint8Array(n).fill(1);
            data = new Int32Array(src);
          }
          valid[i] = 0;
          data[i] = 0;
        }
      }
      const col: Column = { type: 'factor', data, levels: v.levels };
      if (v.ordered) col.ordered = true;
      if (valid) col.valid = valid;
      return col;
    }
    case 'null':
      throw new RxError('RX_EXPR', 'expression evaluated to NULL');
  }
}

function toNum(ctx: Ctx, node: ExprNode, v: Val, what: string): Float64Array {
  switch (v.t) {
    case 'num':
      return v.d;
    case 'lgl': {
      const d = new Float64Array(v.d.length);
      for (let i = 0; i < d.length; i++) d[i] = v.d[i] === 2 ? Number.NaN : v.d[i]!;
      return d;
    }
    case 'fac':
      return fail(ctx, node, `${what} is not meaningful for factors (use as.numeric(as.character(x)) for the values)`);
    case 'str':
      return fail(ctx, node, `non-numeric argument to ${what}`);
    case 'null':
      return fail(ctx, node, `NULL argument to ${what}`);
  }
}

function toLgl(ctx: Ctx, node: ExprNode, v: Val, what: string): Uint8Array {
  switch (v.t) {
    case 'lgl':
      return v.d;
    case 'num': {
      const d = new Uint8Array(v.d.length);
      for (let i = 0; i < d.length; i++) {
        const x = v.d[i]!;
        d[i] = Number.isNaN(x) ? 2 : x !== 0 ? 1 : 0;
      }
      return d;
    }
    default:
      return fail(ctx, node, `${what} needs logical or numeric operands, not ${v.t === 'str' ? 'strings' : v.t === 'fac' ? 'a factor' : 'NULL'}`);
  }
}

function parseNumber(s: string | null): number {
  if (s === null) return Number.NaN;
  const t = s.trim();
  if (t === '' || t === 'NA') return Number.NaN;
  if (t === 'Inf' || t === '+Inf') return Number.POSITIVE_INFINITY;
  if (t === '-Inf') return Number.NEGATIVE_INFINITY;
  const x = Number(t);
  return Number.isNaN(x) ? Number.NaN : x;
}

/** String view of any value (factor labels, R formatting of numbers). */
function toStr(v: Val): Array<string | null> {
  switch (v.t) {
    case 'str':
      return v.d;
    case 'num': {
      const out = new Array<string | null>(v.d.length);
      for (let i = 0; i < out.length; i++) {
        const x = v.d[i]!;
        out[i] = Number.isNaN(x) ? null : formatR(x);
      }
      return out;
    }
    case 'lgl': {
      const out = new Array<string | null>(v.d.length);
      for (let i = 0; i < out.length; i++) out[i] = v.d[i] === 2 ? null : v.d[i] ? 'TRUE' : 'FALSE';
      return out;
    }
    case 'fac': {
      const out = new Array<string | null>(v.d.length);
      for (let i = 0; i < out.length; i++) {
        const c = v.d[i]!;
        out[i] = c < 0 ? null : v.levels[c]!;
      }
      return out;
    }
    case 'null':
      return [];
  }
}

function resultLen(ctx: Ctx, node: ExprNode, ...vals: Val[]): number {
  let n = 1;
  for (const v of vals) {
    const l = len(v);
    if (l === 1) continue;
    if (l === 0) return 0;
    if (n !== 1 && l !== n) fail(ctx, node, `arguments have different lengths (${n} and ${l})`);
    n = l;
  }
  return n;
}

// ---------------------------------------------------------------- arithmetic kernels

type NumKernel = (a: Float64Array, b: Float64Array, out: Float64Array, sa: number, sb: number) => void;
const ARITH: Record<string, NumKernel> = {
  '+': (a, b, o, sa, sb) => { for (let i = 0; i < o.length; i++) o[i] = a[i * sa]! + b[i * sb]!; },
  '-': (a, b, o, sa, sb) => { for (let i = 0; i < o.length; i++) o[i] = a[i * sa]! - b[i * sb]!; },
  '*': (a, b, o, sa, sb) => { for (let i = 0; i < o.length; i++) o[i] = a[i * sa]! * b[i * sb]!; },
  '/': (a, b, o, sa, sb) => { for (let i = 0; i < o.length; i++) o[i] = a[i * sa]! / b[i * sb]!; },
  '^': (a, b, o, sa, sb) => {
    for (let i = 0; i < o.length; i++) {
      const x = a[i * sa]!;
      const y = b[i * sb]!;
      // R: 1^y == 1 and x^0 == 1 even for NA
      o[i] = x === 1 || y === 0 ? 1 : y === 2 ? x * x : x ** y;
    }
  },
  '%%': (a, b, o, sa, sb) => {
    for (let i = 0; i < o.length; i++) {
      const x = a[i * sa]!;
      const y = b[i * sb]!;
      o[i] = y === 0 ? Number.NaN : x - Math.floor(x / y) * y;
    }
  },
  '%/%': (a, b, o, sa, sb) => { for (let i = 0; i < o.length; i++) o[i] = Math.floor(a[i * sa]! / b[i * sb]!); },
};

type CmpKernel = (a: Float64Array, b: Float64Array, out: Uint8Array, sa: number, sb: number) => void;
const CMP: Record<string, CmpKernel> = {
  '==': (a, b, o, sa, sb) => { for (let i = 0; i < o.length; i++) { const x = a[i * sa]!; const y = b[i * sb]!; o[i] = Number.isNaN(x) || Number.isNaN(y) ? 2 : x === y ? 1 : 0; } },
  '!=': (a, b, o, sa, sb) => { for (let i = 0; i < o.length; i++) { const x = a[i * sa]!; const y = b[i * sb]!; o[i] = Number.isNaN(x) || Number.isNaN(y) ? 2 : x !== y ? 1 : 0; } },
  '<': (a, b, o, sa, sb) => { for (let i = 0; i < o.length; i++) { const x = a[i * sa]!; const y = b[i * sb]!; o[i] = Number.isNaN(x) || Number.isNaN(y) ? 2 : x < y ? 1 : 0; } },
  '<=': (a, b, o, sa, sb) => { for (let i = 0; i < o.length; i++) { const x = a[i * sa]!; const y = b[i * sb]!; o[i] = Number.isNaN(x) || Number.isNaN(y) ? 2 : x <= y ? 1 : 0; } },
  '>': (a, b, o, sa, sb) => { for (let i = 0; i < o.length; i++) { const x = a[i * sa]!; const y = b[i * sb]!; o[i] = Number.isNaN(x) || Number.isNaN(y) ? 2 : x > y ? 1 : 0; } },
  '>=': (a, b, o, sa, sb) => { for (let i = 0; i < o.length; i++) { const x = a[i * sa]!; const y = b[i * sb]!; o[i] = Number.isNaN(x) || Number.isNaN(y) ? 2 : x >= y ? 1 : 0; } },
};

function cmpStr(op: string, x: string, y: string): number {
  switch (op) {
    case '==': return x === y ? 1 : 0;
    case '!=': return x !== y ? 1 : 0;
    case '<': return x < y ? 1 : 0;
    case '<=': return x <= y ? 1 : 0;
    case '>': return x > y ? 1 : 0;
    default: return x >= y ? 1 : 0;
  }
}

function compare(ctx: Ctx, node: ExprNode, op: string, a: Val, b: Val): Val {
  const n = resultLen(ctx, node, a, b);
  const out = new Uint8Array(n);
  const sa = len(a) === 1 ? 0 : 1;
  const sb = len(b) === 1 ? 0 : 1;
  const stringy = a.t === 'str' || a.t === 'fac' || b.t === 'str' || b.t === 'fac';
  if (!stringy) {
    CMP[op]!(toNum(ctx, node, a, op), toNum(ctx, node, b, op), out, sa, sb);
    return { t: 'lgl', d: out };
  }
  // fast path: factor compared with a constant string (or string with factor) for == / !=
  if ((op === '==' || op === '!=') && ((a.t === 'fac' && len(b) === 1) || (b.t === 'fac' && len(a) === 1))) {
    const f = (a.t === 'fac' ? a : b) as Extract<Val, { t: 'fac' }>;
    const s = toStr(a.t === 'fac' ? b : a)[0] ?? null;
    const code = s === null ? -2 : f.levels.indexOf(s);
    const eq = op === '==' ? 1 : 0;
    const d = f.d;
    for (let i = 0; i < n; i++) {
      const c = d[i]!;
      out[i] = c < 0 || s === null ? 2 : c === code ? eq : 1 - eq;
    }
    return { t: 'lgl', d: out };
  }
  if (a.t === 'fac' && b.t === 'fac' && (op === '==' || op === '!=') && a.levels === b.levels) {
    const eq = op === '==' ? 1 : 0;
    for (let i = 0; i < n; i++) {
      const x = a.d[i * sa]!;
      const y = b.d[i * sb]!;
      out[i] = x < 0 || y < 0 ? 2 : x === y ? eq : 1 - eq;
    }
    return { t: 'lgl', d: out };
  }
  if ((a.t === 'fac' && a.ordered) || (b.t === 'fac' && b.ordered)) {
    if (op !== '==' && op !== '!=') {
      // ordered factor: compare by level position
      const f = (a.t === 'fac' ? a : b) as Extract<Val, { t: 'fac' }>;
      const pos = (v: Val): Float64Array => {
        if (v.t === 'fac') {
          const d = new Float64Array(v.d.length);
          for (let i = 0; i < d.length; i++) d[i] = v.d[i]! < 0 ? Number.NaN : v.d[i]!;
          return d;
        }
        const s = toStr(v);
        const d = new Float64Array(s.length);
        for (let i = 0; i < d.length; i++) {
          const k = s[i] === null ? -1 : f.levels.indexOf(s[i]!);
          d[i] = k < 0 ? Number.NaN : k;
        }
        return d;
      };
      CMP[op]!(pos(a), pos(b), out, sa, sb);
      return { t: 'lgl', d: out };
    }
  }
  const as = toStr(a);
  const bs = toStr(b);
  for (let i = 0; i < n; i++) {
    const x = as[i * sa]!;
    const y = bs[i * sb]!;
    out[i] = x === null || y === null ? 2 : cmpStr(op, x, y);
  }
  return { t: 'lgl', d: out };
}

function arith(ctx: Ctx, node: ExprNode, op: string, a: Val, b: Val): Val {
  const x = toNum(ctx, node, a, `"${op}"`);
  const y = toNum(ctx, node, b, `"${op}"`);
  const n = resultLen(ctx, node, a, b);
  const out = new Float64Array(n);
  ARITH[op]!(x, y, out, x.length === 1 ? 0 : 1, y.length === 1 ? 0 : 1);
  return { t: 'num', d: out };
}

function logical(ctx: Ctx, node: ExprNode, op: string, a: Val, b: Val): Val {
  const x = toLgl(ctx, node, a, `"${op}"`);
  const y = toLgl(ctx, node, b, `"${op}"`);
  const n = resultLen(ctx, node, a, b);
  const out = new Uint8Array(n);
  const sa = x.length === 1 ? 0 : 1;
  const sb = y.length === 1 ? 0 : 1;
  if (op === '&' || op === '&&') {
    for (let i = 0; i < n; i++) {
      const p = x[i * sa]!;
      const q = y[i * sb]!;
      out[i] = p === 0 || q === 0 ? 0 : p === 2 || q === 2 ? 2 : 1;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const p = x[i * sa]!;
      const q = y[i * sb]!;
      out[i] = p === 1 || q === 1 ? 1 : p === 2 || q === 2 ? 2 : 0;
    }
  }
  return { t: 'lgl', d: out };
}

function inOp(ctx: Ctx, node: ExprNode, a: Val, set: Val): Val {
  const n = len(a);
  const out = new Uint8Array(n);
  if (a.t === 'num' || a.t === 'lgl') {
    if (set.t === 'num' || set.t === 'lgl') {
      const s = toNum(ctx, node, set, '%in%');
      const x = toNum(ctx, node, a, '%in%');
      const hasNA = s.some((v) => Number.isNaN(v));
      const members = new Set<number>();
      for (const v of s) if (!Number.isNaN(v)) members.add(v);
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        out[i] = Number.isNaN(v) ? (hasNA ? 1 : 0) : members.has(v) ? 1 : 0;
      }
      return { t: 'lgl', d: out };
    }
  }
  const members = new Set(toStr(set));
  if (a.t === 'fac') {
    const levIn = a.levels.map((l) => (members.has(l) ? 1 : 0));
    const naIn = members.has(null) ? 1 : 0;
    for (let i = 0; i < n; i++) {
      const c = a.d[i]!;
      out[i] = c < 0 ? naIn : levIn[c]!;
    }
    return { t: 'lgl', d: out };
  }
  const s = toStr(a);
  for (let i = 0; i < n; i++) out[i] = members.has(s[i]!) ? 1 : 0;
  return { t: 'lgl', d: out };
}

// ---------------------------------------------------------------- evaluation

function lookupName(ctx: Ctx, node: ExprNode, name: string): Val {
  const col = ctx.chunk?.columns[name];
  const cached = ctx.constant ? undefined : ctx.cache.get(name);
  if (cached) return cached;
  if (col && !ctx.constant) {
    const v = columnToVal(col);
    ctx.cache.set(name, v);
    return v;
  }
  if (col && ctx.constant) fail(ctx, node, `"${name}" must be a constant here, not a column`, name);
  if (Object.hasOwn(ctx.objects, name)) return objectToVal(ctx, node, name, ctx.objects[name]);
  if (name === 'pi') return NUM1(Math.PI);
  if (name === 'T') return LGL1(1);
  if (name === 'F') return LGL1(0);
  const known = ctx.chunk ? ctx.chunk.names : [];
  const hint = known.length > 0 && known.length <= 40 ? ` (columns: ${known.join(', ')})` : '';
  throw new RxError('RX_EXPR', `Error in expression "${ctx.text}" at position ${node.pos}: unknown column or object "${name}"${hint}`, {
    text: ctx.text,
    column: name,
  });
}

function objectToVal(ctx: Ctx, node: ExprNode, name: string, o: unknown): Val {
  if (typeof o === 'number') return NUM1(o);
  if (typeof o === 'boolean') return LGL1(o ? 1 : 0);
  if (typeof o === 'string') return STR1(o);
  if (o === null) return { t: 'null' };
  if (o instanceof Float64Array) return { t: 'num', d: o };
  if (ArrayBuffer.isView(o) && !(o instanceof DataView)) return { t: 'num', d: Float64Array.from(o as unknown as ArrayLike<number>) };
  if (Array.isArray(o)) {
    if (o.every((x) => typeof x === 'number' || x === null)) return { t: 'num', d: Float64Array.from(o, (x) => (x === null ? Number.NaN : x)) };
    if (o.every((x) => typeof x === 'boolean' || x === null)) return { t: 'lgl', d: Uint8Array.from(o, (x) => (x === null ? 2 : x ? 1 : 0)) };
    if (o.every((x) => typeof x === 'string' || x === null)) return { t: 'str', d: o.slice() };
  }
  return fail(ctx, node, `transform object "${name}" must be a number, string, boolean or an array of them`);
}

function evalNode(ctx: Ctx, node: ExprNode): Val {
  switch (node.type) {
    case 'num':
      return NUM1(node.value);
    case 'str':
      return STR1(node.value);
    case 'const':
      switch (node.name) {
        case 'TRUE': return LGL1(1);
        case 'FALSE': return LGL1(0);
        case 'NA': return LGL1(2);
        case 'NA_real_':
        case 'NA_integer_':
        case 'NaN': return NUM1(Number.NaN);
        case 'NA_character_': return STR1(null);
        case 'Inf': return NUM1(Number.POSITIVE_INFINITY);
        case 'NULL': return { t: 'null' };
      }
      break;
    case 'name': {
      const v = lookupName(ctx, node, node.name);
      if (len(v) !== 1 && len(v) !== ctx.n && ctx.chunk?.columns[node.name] === undefined) {
        fail(ctx, node, `object "${node.name}" has length ${len(v)}; only %in%, c() and levels/labels/breaks arguments accept vectors`);
      }
      return v;
    }
    case 'paren':
      return evalNode(ctx, node.arg);
    case 'unary': {
      if (node.op === '~') return fail(ctx, node, 'a formula (~) is not an expression');
      const a = evalNode(ctx, node.arg);
      if (node.op === '!') {
        const x = toLgl(ctx, node, a, '"!"');
        const out = new Uint8Array(x.length);
        for (let i = 0; i < x.length; i++) out[i] = x[i] === 2 ? 2 : 1 - x[i]!;
        return { t: 'lgl', d: out };
      }
      const x = toNum(ctx, node, a, `unary "${node.op}"`);
      if (node.op === '+') return { t: 'num', d: x };
      const out = new Float64Array(x.length);
      for (let i = 0; i < x.length; i++) out[i] = -x[i]!;
      return { t: 'num', d: out };
    }
    case 'binary': {
      const op = node.op;
      if (op === '~') return fail(ctx, node, 'a formula (~) is not an expression');
      if (op === ':') return fail(ctx, node, 'the ":" sequence operator is only allowed inside c(), %in% and levels/labels/breaks');
      // the set must be constant: a column on the right would depend on the chunking
      if (op === '%in%') return inOp(ctx, node, evalNode(ctx, node.left), constScalar(ctx, node.right));
      const a = evalNode(ctx, node.left);
      const b = evalNode(ctx, node.right);
      if (op in ARITH) return arith(ctx, node, op, a, b);
      if (op in CMP) return compare(ctx, node, op, a, b);
      return logical(ctx, node, op, a, b);
    }
    case 'call':
      return callFn(ctx, node);
  }
  return fail(ctx, node, 'unsupported expression');
}

/** Evaluates a node where a vector of any length is allowed (c(), a:b, array objects). */
function evalVector(ctx: Ctx, node: ExprNode): Val {
  if (node.type === 'paren') return evalVector(ctx, node.arg);
  if (node.type === 'call' && node.fn === 'c') {
    const parts = node.args.map((a) => {
      if (a.name !== undefined) fail(ctx, a.value, 'c() does not take named arguments');
      return evalVector(ctx, a.value);
    });
    return concat(ctx, node, parts);
  }
  if (node.type === 'binary' && node.op === ':') {
    const a = toNum(ctx, node, evalVector(ctx, node.left), '":"');
    const b = toNum(ctx, node, evalVector(ctx, node.right), '":"');
    if (a.length !== 1 || b.length !== 1 || !Number.isFinite(a[0]!) || !Number.isFinite(b[0]!)) fail(ctx, node, '":" needs two finite numbers');
    const from = a[0]!;
    const to = b[0]!;
    const k = Math.floor(Math.abs(to - from) + 1e-10) + 1;
    if (k > 1e7) fail(ctx, node, 'sequence too long');
    const d = new Float64Array(k);
    const step = to >= from ? 1 : -1;
    for (let i = 0; i < k; i++) d[i] = from + i * step;
    return { t: 'num', d };
  }
  if (node.type === 'unary' && node.op === '-') {
    const v = evalVector(ctx, node.arg);
    const x = toNum(ctx, node, v, 'unary "-"');
    return { t: 'num', d: x.map((y) => -y) };
  }
  if (node.type === 'name' && !ctx.chunk?.columns[node.name] && Object.hasOwn(ctx.objects, node.name)) {
    return objectToVal(ctx, node, node.name, ctx.objects[node.name]);
  }
  return evalNode(ctx, node);
}

function concat(ctx: Ctx, node: ExprNode, parts: Val[]): Val {
  const ps = parts.filter((p) => p.t !== 'null');
  if (ps.some((p) => p.t === 'str' || p.t === 'fac')) {
    const out: Array<string | null> = [];
    for (const p of ps) for (const s of toStr(p)) out.push(s);
    return { t: 'str', d: out };
  }
  if (ps.some((p) => p.t === 'num')) {
    const out: number[] = [];
    for (const p of ps) for (const x of toNum(ctx, node, p, 'c()')) out.push(x);
    return { t: 'num', d: Float64Array.from(out) };
  }
  const out: number[] = [];
  for (const p of ps) for (const x of (p as { d: Uint8Array }).d) out.push(x);
  return { t: 'lgl', d: Uint8Array.from(out) };
}

// ---------------------------------------------------------------- functions

type ArgSpec = string[];
/** Matches call arguments to formal names (exact names, then positional), like R. */
function matchArgs(ctx: Ctx, node: CallNode, formals: ArgSpec, opts: { dots?: boolean } = {}): { named: Record<string, ExprNode>; dots: ExprNode[] } {
  const named: Record<string, ExprNode> = {};
  const dots: ExprNode[] = [];
  const positional: ExprNode[] = [];
  for (const a of node.args) {
    if (a.name !== undefined) {
      let key = formals.includes(a.name) ? a.name : undefined;
      if (key === undefined && !opts.dots) {
        const partial = formals.filter((f) => f.startsWith(a.name!));
        if (partial.length === 1) key = partial[0];
      }
      if (key === undefined) {
        if (opts.dots) { dots.push(a.value); continue; }
        fail(ctx, a.value, `unknown argument "${a.name}" for ${node.fn}() (arguments: ${formals.join(', ')})`);
      }
      if (key in named) fail(ctx, a.value, `argument "${key}" given twice to ${node.fn}()`);
      named[key] = a.value;
    } else positional.push(a.value);
  }
  if (opts.dots) {
    dots.push(...positional);
    return { named, dots };
  }
  let k = 0;
  for (const f of formals) {
    if (k >= positional.length) break;
    if (!(f in named)) named[f] = positional[k++]!;
  }
  if (k < positional.length) fail(ctx, positional[k]!, `too many arguments to ${node.fn}()`);
  return { named, dots };
}

function need(ctx: Ctx, node: CallNode, named: Record<string, ExprNode>, name: string): ExprNode {
  const v = named[name];
  if (!v) fail(ctx, node, `argument "${name}" is missing in ${node.fn}()`);
  return v;
}

function constScalar(ctx: Ctx, node: ExprNode): Val {
  const saved = ctx.constant;
  ctx.constant = true;
  try {
    const v = evalVector(ctx, node);
    return v;
  } finally {
    ctx.constant = saved;
  }
}

function constNumber(ctx: Ctx, node: ExprNode | undefined, dflt: number, what: string): number {
  if (!node) return dflt;
  const v = constScalar(ctx, node);
  if (len(v) !== 1 || (v.t !== 'num' && v.t !== 'lgl')) fail(ctx, node, `${what} must be a single number`);
  const x = toNum(ctx, node, v, what)[0]!;
  if (Number.isNaN(x)) fail(ctx, node, `${what} must not be NA`);
  return x;
}

function constBool(ctx: Ctx, node: ExprNode | undefined, dflt: boolean, what: string): boolean {
  if (!node) return dflt;
  const v = constScalar(ctx, node);
  if (len(v) !== 1 || (v.t !== 'lgl' && v.t !== 'num')) fail(ctx, node, `${what} must be TRUE or FALSE`);
  const x = toLgl(ctx, node, v, what)[0]!;
  if (x === 2) fail(ctx, node, `${what} must be TRUE or FALSE`);
  return x === 1;
}

function mapNum(ctx: Ctx, node: CallNode, f: (x: number) => number): Val {
  if (node.args.length !== 1 || node.args[0]!.name !== undefined) fail(ctx, node, `${node.fn}() takes exactly one argument`);
  const x = toNum(ctx, node, evalNode(ctx, node.args[0]!.value), `${node.fn}()`);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = f(x[i]!);
  return { t: 'num', d: out };
}

/** R's round(): the closer of the two candidates at `digits`, ties to even. */
export function roundR(x: number, digits: number): number {
  if (!Number.isFinite(x)) return x;
  if (digits > 15) return x;
  const p = 10 ** Math.abs(digits);
  const scale = (v: number): number => (digits >= 0 ? v * p : v / p);
  const unscale = (v: number): number => (digits >= 0 ? v / p : v * p);
  const y = scale(x);
  const lo = Math.floor(y);
  const hi = Math.ceil(y);
  if (lo === hi) return x;
  const a = unscale(lo);
  const b = unscale(hi);
  const da = Math.abs(x - a);
  const db = Math.abs(b - x);
  if (da < db) return a;
  if (db < da) return b;
  return lo % 2 === 0 ? a : b;
}

function signifR(x: number, digits: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const d = Math.max(1, Math.min(22, Math.trunc(digits)));
  return Number(x.toPrecision(d));
}

function factorFromLevels(ctx: Ctx, node: ExprNode, x: Val, levels: string[], n: number): Int32Array {
  const codes = new Int32Array(len(x));
  if (x.t === 'fac') {
    const index = new Map(levels.map((l, i) => [l, i] as const));
    const remap = x.levels.map((l) => index.get(l) ?? -1);
    for (let i = 0; i < codes.length; i++) {
      const c = x.d[i]!;
      codes[i] = c < 0 ? -1 : remap[c]!;
    }
    return codes;
  }
  if (x.t === 'num') {
    const numIndex = new Map<number, number>();
    levels.forEach((l, i) => {
      const v = Number(l);
      if (l.trim() !== '' && !Number.isNaN(v) && formatR(v) === l && !numIndex.has(v)) numIndex.set(v, i);
    });
    for (let i = 0; i < codes.length; i++) {
      const v = x.d[i]!;
      codes[i] = Number.isNaN(v) ? -1 : (numIndex.get(v) ?? -1);
    }
    return codes;
  }
  const s = toStr(x);
  const index = new Map<string, number>();
  levels.forEach((l, i) => { if (!index.has(l)) index.set(l, i); });
  for (let i = 0; i < codes.length; i++) {
    const v = s[i]!;
    codes[i] = v === null ? -1 : (index.get(v) ?? -1);
  }
  void n;
  void node;
  void ctx;
  return codes;
}

/** Sorted unique values of x as level strings (R's factor(x) without levels). */
function observedLevels(x: Val): string[] {
  if (x.t === 'num') {
    const u = new Set<number>();
    for (const v of x.d) if (!Number.isNaN(v)) u.add(v);
    return [...u].sort((a, b) => a - b).map(formatR);
  }
  if (x.t === 'lgl') {
    const u = new Set<number>();
    for (const v of x.d) if (v !== 2) u.add(v);
    return [...u].sort().map((v) => (v ? 'TRUE' : 'FALSE'));
  }
  const u = new Set<string>();
  for (const v of toStr(x)) if (v !== null) u.add(v);
  return [...u].sort();
}

function makeFactor(ctx: Ctx, node: CallNode, named: Record<string, ExprNode>): Val {
  const x = evalNode(ctx, need(ctx, node, named, 'x'));
  let levels: string[];
  let dyn = false;
  if (named['levels']) {
    const lv = constScalar(ctx, named['levels']);
    levels = toStr(lv).map((s) => s ?? 'NA');
  } else if (x.t === 'fac') {
    levels = x.levels;
    dyn = x.dyn === true;
  } else {
    levels = observedLevels(x);
    dyn = true;
  }
  let codes = factorFromLevels(ctx, node, x, levels, len(x));
  const ordered = constBool(ctx, named['ordered'], x.t === 'fac' && x.ordered === true, 'ordered');
  if (named['labels']) {
    const lab = toStr(constScalar(ctx, named['labels'])).map((s) => s ?? 'NA');
    let labels: string[];
    if (lab.length === levels.length) labels = lab;
    else if (lab.length === 1) labels = levels.map((_, i) => `${lab[0]}${i + 1}`);
    else fail(ctx, named['labels'], `labels has ${lab.length} values but there are ${levels.length} levels`);
    // duplicated labels merge levels (R >= 3.4)
    const uniq: string[] = [];
    const idx = new Map<string, number>();
    const remap = labels.map((l) => {
      let k = idx.get(l);
      if (k === undefined) {
        k = uniq.length;
        uniq.push(l);
        idx.set(l, k);
      }
      return k;
    });
    if (uniq.length !== labels.length) {
      const c2 = new Int32Array(codes.length);
      for (let i = 0; i < codes.length; i++) c2[i] = codes[i]! < 0 ? -1 : remap[codes[i]!]!;
      codes = c2;
    }
    levels = uniq;
  }
  const out: Val = { t: 'fac', d: codes, levels };
  if (ordered) out.ordered = true;
  if (dyn) out.dyn = true;
  return out;
}

function makeCut(ctx: Ctx, node: CallNode, named: Record<string, ExprNode>): Val {
  const x = toNum(ctx, node, evalNode(ctx, need(ctx, node, named, 'x')), 'cut()');
  const bv = constScalar(ctx, need(ctx, node, named, 'breaks'));
  const breaks = Array.from(toNum(ctx, node, bv, 'cut() breaks'));
  if (breaks.length === 1) fail(ctx, named['breaks']!, 'cut() needs a vector of break points (a number of intervals would give data-dependent breaks per chunk)');
  if (breaks.length < 2 || breaks.some((b) => Number.isNaN(b))) fail(ctx, named['breaks']!, 'cut() breaks must be at least two non-missing numbers');
  breaks.sort((a, b) => a - b);
  for (let i = 1; i < breaks.length; i++) if (breaks[i] === breaks[i - 1]) fail(ctx, named['breaks']!, "cut() 'breaks' are not unique");
  const right = constBool(ctx, named['right'], true, 'right');
  const inclLowest = constBool(ctx, named['include.lowest'], false, 'include.lowest');
  const digLab = constNumber(ctx, named['dig.lab'], 3, 'dig.lab');
  const ordered = constBool(ctx, named['ordered_result'], false, 'ordered_result');
  const nb = breaks.length;
  let codesOnly = false;
  let labels: string[] = [];
  if (named['labels']) {
    const lv = constScalar(ctx, named['labels']);
    if (lv.t === 'lgl' && lv.d.length === 1 && lv.d[0] === 0) codesOnly = true;
    else {
      labels = toStr(lv).map((s) => s ?? 'NA');
      if (labels.length !== nb - 1) fail(ctx, named['labels'], `cut() labels has ${labels.length} values but there are ${nb - 1} intervals`);
    }
  } else {
    let ch: string[] = [];
    let ok = false;
    for (let dig = digLab; dig <= Math.max(12, digLab); dig++) {
      ch = breaks.map((b) => formatG(b, dig));
      ok = true;
      for (let i = 1; i < nb; i++) if (ch[i] === ch[i - 1]) ok = false;
      if (ok) break;
    }
    labels = [];
    for (let i = 0; i < nb - 1; i++) labels.push(ok ? `${right ? '(' : '['}${ch[i]},${ch[i + 1]}${right ? ']' : ')'}` : `Range_${i + 1}`);
    if (ok && inclLowest) {
      if (right) labels[0] = `[${labels[0]!.slice(1)}`;
      else labels[nb - 2] = `${labels[nb - 2]!.slice(0, -1)}]`;
    }
  }
  const codes = new Int32Array(x.length);
  const lo = breaks[0]!;
  const hi = breaks[nb - 1]!;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    let k = -1;
    if (!Number.isNaN(v)) {
      if (right) {
        if ((v > lo || (inclLowest && v === lo)) && v <= hi) {
          // smallest j with breaks[j] >= v; interval j-1
          let a = 1;
          let b = nb - 1;
          while (a < b) {
            const m = (a + b) >> 1;
            if (breaks[m]! >= v) b = m;
            else a = m + 1;
          }
          k = a - 1;
        }
      } else if (v >= lo && (v < hi || (inclLowest && v === hi))) {
        // largest j with breaks[j] <= v
        let a = 0;
        let b = nb - 2;
        while (a < b) {
          const m = (a + b + 1) >> 1;
          if (breaks[m]! <= v) a = m;
          else b = m - 1;
        }
        k = a;
      }
    }
    codes[i] = k;
  }
  if (codesOnly) {
    const d = new Float64Array(x.length);
    for (let i = 0; i < d.length; i++) d[i] = codes[i]! < 0 ? Number.NaN : codes[i]! + 1;
    return { t: 'num', d };
  }
  const out: Val = { t: 'fac', d: codes, levels: labels };
  if (ordered) out.ordered = true;
  return out;
}

function strMap(ctx: Ctx, node: CallNode, f: (s: string) => string): Val {
  if (node.args.length !== 1) fail(ctx, node, `${node.fn}() takes exactly one argument`);
  const s = toStr(evalNode(ctx, node.args[0]!.value));
  return { t: 'str', d: s.map((v) => (v === null ? null : f(v))) };
}

function ifelse(ctx: Ctx, node: CallNode, named: Record<string, ExprNode>): Val {
  const test = toLgl(ctx, node, evalNode(ctx, need(ctx, node, named, 'test')), 'ifelse() test');
  const yes = evalNode(ctx, need(ctx, node, named, 'yes'));
  const no = evalNode(ctx, need(ctx, node, named, 'no'));
  const n = resultLen(ctx, node, { t: 'lgl', d: test }, yes, no);
  const st = test.length === 1 ? 0 : 1;
  const sy = len(yes) === 1 ? 0 : 1;
  const sn = len(no) === 1 ? 0 : 1;
  if (yes.t === 'str' || yes.t === 'fac' || no.t === 'str' || no.t === 'fac') {
    const ys = toStr(yes);
    const ns = toStr(no);
    const out = new Array<string | null>(n);
    for (let i = 0; i < n; i++) {
      const t = test[i * st]!;
      out[i] = t === 2 ? null : t ? ys[i * sy]! : ns[i * sn]!;
    }
    return { t: 'str', d: out };
  }
  if (yes.t === 'lgl' && no.t === 'lgl') {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const t = test[i * st]!;
      out[i] = t === 2 ? 2 : t ? yes.d[i * sy]! : no.d[i * sn]!;
    }
    return { t: 'lgl', d: out };
  }
  const y = toNum(ctx, node, yes, 'ifelse()');
  const z = toNum(ctx, node, no, 'ifelse()');
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t = test[i * st]!;
    out[i] = t === 2 ? Number.NaN : t ? y[i * sy]! : z[i * sn]!;
  }
  return { t: 'num', d: out };
}

function pminmax(ctx: Ctx, node: CallNode, max: boolean): Val {
  const { named, dots } = matchArgs(ctx, node, ['na.rm'], { dots: true });
  const naRm = constBool(ctx, named['na.rm'], false, 'na.rm');
  if (dots.length === 0) fail(ctx, node, `${node.fn}() needs at least one argument`);
  const vals = dots.map((d) => evalNode(ctx, d));
  const n = resultLen(ctx, node, ...vals);
  const xs = vals.map((v, k) => toNum(ctx, dots[k]!, v, `${node.fn}()`));
  const out = new Float64Array(n).fill(Number.NaN);
  for (let i = 0; i < n; i++) {
    let acc = Number.NaN;
    let na = false;
    for (const x of xs) {
      const v = x.length === 1 ? x[0]! : x[i]!;
      if (Number.isNaN(v)) { na = true; continue; }
      if (Number.isNaN(acc) || (max ? v > acc : v < acc)) acc = v;
    }
    out[i] = na && !naRm ? Number.NaN : acc;
  }
  return { t: 'num', d: out };
}

function paste(ctx: Ctx, node: CallNode, sep0: string | null): Val {
  const { named, dots } = matchArgs(ctx, node, sep0 === null ? ['sep', 'collapse'] : ['collapse'], { dots: true });
  if (named['collapse']) fail(ctx, named['collapse'], `${node.fn}(collapse=) would reduce a column to one value; not supported in row expressions`);
  let sep = sep0 ?? ' ';
  if (named['sep']) {
    const s = constScalar(ctx, named['sep']);
    if (s.t !== 'str' || s.d.length !== 1 || s.d[0] === null) fail(ctx, named['sep'], 'sep must be a single string');
    sep = s.d[0]!;
  }
  const vals = dots.map((d) => evalNode(ctx, d)).filter((v) => v.t !== 'null');
  if (vals.length === 0) return { t: 'str', d: [] };
  const n = resultLen(ctx, node, ...vals);
  const strs = vals.map((v) => toStr(v).map((s) => s ?? 'NA'));
  const out = new Array<string | null>(n);
  for (let i = 0; i < n; i++) {
    let s = '';
    for (let k = 0; k < strs.length; k++) {
      const a = strs[k]!;
      if (k > 0) s += sep;
      s += a.length === 1 ? a[0]! : a[i]!;
    }
    out[i] = s;
  }
  return { t: 'str', d: out };
}

const MATH1: Record<string, (x: number) => number> = {
  exp: Math.exp,
  sqrt: Math.sqrt,
  abs: Math.abs,
  floor: Math.floor,
  ceiling: Math.ceil,
  trunc: Math.trunc,
  sign: (x) => (Number.isNaN(x) ? Number.NaN : Math.sign(x)),
  log10: Math.log10,
  log2: Math.log2,
  log1p: Math.log1p,
  expm1: Math.expm1,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  sinh: Math.sinh,
  cosh: Math.cosh,
  tanh: Math.tanh,
};

/** Names of every function the language knows (for formulas and error hints). */
export const EXPR_FUNCTIONS: readonly string[] = [
  ...Object.keys(MATH1),
  'log', 'round', 'signif', 'is.na', 'is.finite', 'is.infinite', 'ifelse', 'pmin', 'pmax', 'c',
  'as.numeric', 'as.double', 'as.integer', 'as.character', 'as.logical', 'factor', 'as.factor', 'cut',
  'substr', 'substring', 'nchar', 'paste', 'paste0', 'toupper', 'tolower', 'trimws', 'xor', 'I',
];

function callFn(ctx: Ctx, node: CallNode): Val {
  const fn = node.fn;
  const m1 = MATH1[fn];
  if (m1) return mapNum(ctx, node, m1);
  switch (fn) {
    case 'I': {
      if (node.args.length !== 1) fail(ctx, node, 'I() takes exactly one argument');
      return evalNode(ctx, node.args[0]!.value);
    }
    case 'log': {
      const { named } = matchArgs(ctx, node, ['x', 'base']);
      const x = toNum(ctx, node, evalNode(ctx, need(ctx, node, named, 'x')), 'log()');
      const base = named['base'] ? toNum(ctx, node, evalNode(ctx, named['base']), 'log() base') : null;
      const n = base ? resultLen(ctx, node, { t: 'num', d: x }, { t: 'num', d: base }) : x.length;
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = Math.log(x.length === 1 ? x[0]! : x[i]!);
        out[i] = base ? v / Math.log(base.length === 1 ? base[0]! : base[i]!) : v;
      }
      return { t: 'num', d: out };
    }
    case 'round':
    case 'signif': {
      const { named } = matchArgs(ctx, node, ['x', 'digits']);
      const x = toNum(ctx, node, evalNode(ctx, need(ctx, node, named, 'x')), `${fn}()`);
      const digits = constNumber(ctx, named['digits'], fn === 'round' ? 0 : 6, 'digits');
      const out = new Float64Array(x.length);
      if (fn === 'round') for (let i = 0; i < x.length; i++) out[i] = roundR(x[i]!, Math.trunc(digits));
      else for (let i = 0; i < x.length; i++) out[i] = signifR(x[i]!, digits);
      return { t: 'num', d: out };
    }
    case 'is.na':
    case 'is.finite':
    case 'is.infinite': {
      if (node.args.length !== 1) fail(ctx, node, `${fn}() takes exactly one argument`);
      const v = evalNode(ctx, node.args[0]!.value);
      const n = len(v);
      const out = new Uint8Array(n);
      if (v.t === 'num') {
        for (let i = 0; i < n; i++) {
          const x = v.d[i]!;
          out[i] = fn === 'is.na' ? (Number.isNaN(x) ? 1 : 0) : fn === 'is.finite' ? (Number.isFinite(x) ? 1 : 0) : x === Number.POSITIVE_INFINITY || x === Number.NEGATIVE_INFINITY ? 1 : 0;
        }
      } else if (fn !== 'is.infinite') {
        const isNA =
          v.t === 'lgl' ? (i: number) => v.d[i] === 2 : v.t === 'fac' ? (i: number) => v.d[i]! < 0 : v.t === 'str' ? (i: number) => v.d[i] === null : () => false;
        for (let i = 0; i < n; i++) out[i] = isNA(i) ? (fn === 'is.na' ? 1 : 0) : fn === 'is.na' ? 0 : v.t === 'lgl' ? 1 : 0;
      }
      return { t: 'lgl', d: out };
    }
    case 'ifelse':
      return ifelse(ctx, node, matchArgs(ctx, node, ['test', 'yes', 'no']).named);
    case 'xor': {
      const { named } = matchArgs(ctx, node, ['x', 'y']);
      const a = toLgl(ctx, node, evalNode(ctx, need(ctx, node, named, 'x')), 'xor()');
      const b = toLgl(ctx, node, evalNode(ctx, need(ctx, node, named, 'y')), 'xor()');
      const n = resultLen(ctx, node, { t: 'lgl', d: a }, { t: 'lgl', d: b });
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const p = a.length === 1 ? a[0]! : a[i]!;
        const q = b.length === 1 ? b[0]! : b[i]!;
        out[i] = p === 2 || q === 2 ? 2 : p !== q ? 1 : 0;
      }
      return { t: 'lgl', d: out };
    }
    case 'pmin':
      return pminmax(ctx, node, false);
    case 'pmax':
      return pminmax(ctx, node, true);
    case 'c':
      return fail(ctx, node, 'c() makes a vector; it is only allowed with %in% and in levels/labels/breaks arguments');
    case 'as.numeric':
    case 'as.double':
    case 'as.integer': {
      if (node.args.length !== 1) fail(ctx, node, `${fn}() takes exactly one argument`);
      const v = evalNode(ctx, node.args[0]!.value);
      let d: Float64Array;
      if (v.t === 'str') d = Float64Array.from(v.d, parseNumber);
      else if (v.t === 'fac') d = Float64Array.from(v.d, (c) => (c < 0 ? Number.NaN : c + 1));
      else d = v.t === 'num' && fn !== 'as.integer' ? v.d : Float64Array.from(toNum(ctx, node, v, `${fn}()`));
      if (fn === 'as.integer') for (let i = 0; i < d.length; i++) {
        const t = Math.trunc(d[i]!);
        d[i] = Math.abs(t) > 2147483647 ? Number.NaN : t;
      }
      return { t: 'num', d };
    }
    case 'as.character': {
      if (node.args.length !== 1) fail(ctx, node, 'as.character() takes exactly one argument');
      return { t: 'str', d: toStr(evalNode(ctx, node.args[0]!.value)) };
    }
    case 'as.logical': {
      if (node.args.length !== 1) fail(ctx, node, 'as.logical() takes exactly one argument');
      const v = evalNode(ctx, node.args[0]!.value);
      if (v.t === 'lgl' || v.t === 'num') return { t: 'lgl', d: toLgl(ctx, node, v, 'as.logical()') };
      const s = toStr(v);
      const d = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) {
        const x = s[i];
        d[i] = x === 'TRUE' || x === 'true' || x === 'T' || x === 'True' ? 1 : x === 'FALSE' || x === 'false' || x === 'F' || x === 'False' ? 0 : 2;
      }
      return { t: 'lgl', d };
    }
    case 'factor':
    case 'as.factor':
      return makeFactor(ctx, node, matchArgs(ctx, node, fn === 'factor' ? ['x', 'levels', 'labels', 'exclude', 'ordered'] : ['x']).named);
    case 'cut':
      return makeCut(ctx, node, matchArgs(ctx, node, ['x', 'breaks', 'labels', 'include.lowest', 'right', 'dig.lab', 'ordered_result']).named);
    case 'substr':
    case 'substring': {
      const { named } = matchArgs(ctx, node, fn === 'substr' ? ['x', 'start', 'stop'] : ['text', 'first', 'last']);
      const [xs, fs, ls] = fn === 'substr' ? ['x', 'start', 'stop'] : ['text', 'first', 'last'];
      const s = toStr(evalNode(ctx, need(ctx, node, named, xs!)));
      const a = toNum(ctx, node, evalNode(ctx, need(ctx, node, named, fs!)), `${fn}()`);
      const b = named[ls!] ? toNum(ctx, node, evalNode(ctx, named[ls!]!), `${fn}()`) : Float64Array.of(1000000);
      const n = resultLen(ctx, node, { t: 'str', d: s }, { t: 'num', d: a }, { t: 'num', d: b });
      const out = new Array<string | null>(n);
      for (let i = 0; i < n; i++) {
        const v = s.length === 1 ? s[0]! : s[i]!;
        const st = a.length === 1 ? a[0]! : a[i]!;
        const en = b.length === 1 ? b[0]! : b[i]!;
        out[i] = v === null || Number.isNaN(st) || Number.isNaN(en) ? null : v.slice(Math.max(0, Math.trunc(st) - 1), Math.max(0, Math.trunc(en)));
      }
      return { t: 'str', d: out };
    }
    case 'nchar': {
      if (node.args.length !== 1) fail(ctx, node, 'nchar() takes exactly one argument');
      const v = evalNode(ctx, node.args[0]!.value);
      const s = toStr(v);
      const d = new Float64Array(s.length);
      for (let i = 0; i < s.length; i++) {
        const x = s[i];
        d[i] = x === null || x === undefined ? (v.t === 'lgl' ? 2 : Number.NaN) : [...x].length;
      }
      return { t: 'num', d };
    }
    case 'paste':
      return paste(ctx, node, null);
    case 'paste0':
      return paste(ctx, node, '');
    case 'toupper':
      return strMap(ctx, node, (s) => s.toUpperCase());
    case 'tolower':
      return strMap(ctx, node, (s) => s.toLowerCase());
    case 'trimws':
      return strMap(ctx, node, (s) => s.trim());
  }
  return fail(ctx, node, `unknown function "${fn}()" (available: ${EXPR_FUNCTIONS.filter((f) => f !== 'I').join(', ')})`);
}

// ---------------------------------------------------------------- public API

function rootText(node: ExprNode): string {
  return (node as ParsedExpr).text ?? deparse(node);
}

function toNode(e: string | ExprNode): ExprNode {
  return typeof e === 'string' ? parseExpr(e) : e;
}

/** Evaluates to the internal representation (used by withTransforms and the formula builder). */
export function evalVal(node: ExprNode, chunk: Chunk, env: EvalEnv = {}): Val {
  const ctx: Ctx = { chunk, n: chunk.numRows, objects: env.objects ?? {}, text: rootText(node), cache: new Map(), constant: false };
  const v = evalNode(ctx, node);
  const l = len(v);
  if (l !== 1 && l !== chunk.numRows) fail(ctx, node, `result has length ${l} but the data has ${chunk.numRows} rows`);
  return v;
}

/** Evaluates an expression over a chunk; the result has chunk.numRows rows. */
export function evalExpr(node: string | ExprNode, chunk: Chunk, env: EvalEnv = {}): Column {
  const n = toNode(node);
  return valToColumn(evalVal(n, chunk, env), chunk.numRows);
}

/** Evaluates a row selection: Uint8Array with 1 for kept rows (TRUE), 0 for FALSE and NA. */
export function evalSelection(node: string | ExprNode, chunk: Chunk, env: EvalEnv = {}): Uint8Array {
  const n = toNode(node);
  const v = evalVal(n, chunk, env);
  if (v.t !== 'lgl' && v.t !== 'num') {
    throw new RxError('RX_EXPR', `Error in expression "${rootText(n)}": rowSelection must be logical, not ${v.t === 'str' ? 'a string' : v.t === 'fac' ? 'a factor' : 'NULL'}`, { text: rootText(n) });
  }
  const l = v.t === 'lgl' ? v.d : toLgl({} as Ctx, n, v, 'rowSelection');
  const out = new Uint8Array(chunk.numRows);
  if (l.length === 1) out.fill(l[0] === 1 ? 1 : 0);
  else for (let i = 0; i < out.length; i++) out[i] = l[i] === 1 ? 1 : 0;
  return out;
}

/** An empty chunk with the schema's columns (for static typing). */
export function emptyChunk(schema: Schema): Chunk {
  const columns: Record<string, Column> = {};
  for (const c of schema.columns) {
    const data = c.type === 'string' ? [] : c.type === 'float64' || c.type === 'timestamp' ? new Float64Array(0) : c.type === 'float32' ? new Float32Array(0) : c.type === 'int16' ? new Int16Array(0) : c.type === 'uint8' || c.type === 'bool' ? new Uint8Array(0) : new Int32Array(0);
    const col: Column = { type: c.type, data };
    if (c.type === 'factor') col.levels = c.levels ?? [];
    if (c.ordered) col.ordered = true;
    columns[c.name] = col;
  }
  return { numRows: 0, startRow: 0, names: schema.columns.map((c) => c.name), columns };
}

export interface InferredType {
  type: ColumnType;
  /** Factor levels when they do not depend on the data. */
  levels?: string[];
  ordered?: boolean;
}

/**
 * Static type of an expression over a schema: evaluates it on zero rows, so it checks
 * names, functions and argument types without reading data. Factor levels that depend on
 * the data (factor(x) of numbers or strings without levels=) are left undefined.
 */
export function inferExprType(node: string | ExprNode, schema: Schema, env: EvalEnv = {}): InferredType {
  const n = toNode(node);
  const chunk = emptyChunk(schema);
  const unknownLevels = new Set(schema.columns.filter((c) => c.type === 'factor' && !c.levels).map((c) => c.name));
  const v = evalVal(n, chunk, env);
  switch (v.t) {
    case 'num':
      return { type: 'float64' };
    case 'lgl':
      return { type: 'bool' };
    case 'str':
      return { type: 'string' };
    case 'fac': {
      const out: InferredType = { type: 'factor' };
      const refsUnknown = exprColumnsOf(n).some((c) => unknownLevels.has(c));
      if (!v.dyn && !(refsUnknown && v.levels.length === 0)) out.levels = v.levels;
      if (v.ordered) out.ordered = true;
      return out;
    }
    case 'null':
      throw new RxError('RX_EXPR', `Error in expression "${rootText(n)}": evaluates to NULL`, { text: rootText(n) });
  }
}

function exprColumnsOf(node: ExprNode): string[] {
  const out = new Set<string>();
  const walk = (e: ExprNode): void => {
    switch (e.type) {
      case 'name':
        out.add(e.name);
        break;
      case 'paren':
      case 'unary':
        walk(e.arg);
        break;
      case 'binary':
        walk(e.left);
        walk(e.right);
        break;
      case 'call':
        for (const a of e.args) walk(a.value);
        break;
      default:
        break;
    }
  };
  walk(node);
  return [...out];
}

/**
 * Names an expression refers to (columns, or transform objects: the caller decides which
 * are columns). Built-in constants (pi, T, F) are included only when written; callers
 * filter by their schema.
 */
export function exprColumns(node: string | ExprNode): string[] {
  return exprColumnsOf(toNode(node));
}

export function columnInfoFromType(name: string, t: InferredType): ColumnInfo {
  const info: ColumnInfo = { name, type: t.type };
  if (t.levels) info.levels = t.levels;
  if (t.ordered) info.ordered = true;
  return info;
}
