/**
 * ModelSpec: a formula resolved against a data source's schema (variable kinds, factor
 * levels, dummy coding, coefficient names). Plain JSON, so it travels to worker threads.
 *
 * Factor coding (R's model.matrix rule): inside a term, a factor is coded by contrasts
 * (one level is the reference and gets no column) when the term with that factor removed
 * is in the model (the intercept counts as the empty term); otherwise it gets full
 * indicator columns. The reference level is the LAST level by default (RevoScaleR,
 * `dropFirst: false`) or the FIRST level with `dropFirst: true` (R's treatment contrasts).
 * Reference columns stay in `columns` with `dropped: true` (RevoScaleR prints them as
 * "Dropped"); X holds only the others.
 *
 * Names: `name` follows RevoScaleR (`DayOfWeek=Monday`, `F_age=20`,
 * `region=Rural, sex=Female`, `age for sex=Male`); `rName` follows R's model.matrix
 * (`DayOfWeekMonday`, `regionRural:sexFemale`, `sexMale:age`).
 */
import type { ColumnInfo, DataSource, Schema } from '../data/types.js';
import { RxError } from '../errors.js';
import type { CallNode, ExprNode } from '../expr/ast.js';
import { deparse } from '../expr/deparse.js';
import { type Val, evalVal, exprColumns, inferExprType } from '../expr/eval.js';
import { formatR } from '../expr/format.js';
import { type Formula, expandDot, parseFormula } from './parse.js';

export type VariableKind = 'numeric' | 'factor';

export interface VariableSpec {
  /** R label (deparsed expression), e.g. `x`, `log(x)`, `F(age)`. */
  label: string;
  /** RevoScaleR name: the column name, `F_age` for F(age), else the label. */
  name: string;
  expr: ExprNode;
  kind: VariableKind;
  levels?: string[];
  /** F(x): integer range mapped to levels low..high. */
  fRange?: { low: number; high: number };
}

export type Coding = 'numeric' | 'contrast' | 'full';

export interface TermSpec {
  label: string;
  vars: number[];
  coding: Coding[];
  /** First entry of this term in ModelSpec.columns. */
  start: number;
  /** Number of entries (dropped included). */
  size: number;
}

export interface CoefficientSpec {
  name: string;
  rName: string;
  /** Index into terms; -1 for the intercept. */
  term: number;
  /** Reference-level column: listed, but not in X. */
  dropped: boolean;
}

export interface ResponseSpec {
  label: string;
  expr: ExprNode;
  kind: VariableKind | 'logical';
  levels?: string[];
}

export interface ModelSpec {
  formula: string;
  response: ResponseSpec | null;
  variables: VariableSpec[];
  terms: TermSpec[];
  intercept: boolean;
  /** All coefficient slots (including dropped reference levels) in X order. */
  columns: CoefficientSpec[];
  /** Names of X's columns (dropped excluded). */
  coefNames: string[];
  rNames: string[];
  /** Number of X columns. */
  p: number;
  offsets: ExprNode[];
  /** Source columns the spec reads. */
  sourceColumns: string[];
  dropFirst: boolean;
  cube: boolean;
  dropMain: boolean;
  /** Named constants usable in the formula's expressions. */
  objects?: Record<string, unknown>;
}

export interface ModelSpecOptions {
  dropFirst?: boolean;
  cube?: boolean;
  dropMain?: boolean;
  /** transformObjects: named constants usable in expressions. */
  objects?: Record<string, unknown>;
}

function specError(f: Formula, reason: string, column?: string): RxError {
  return new RxError('RX_FORMULA', `Formula "${f.text}": ${reason}`, column !== undefined ? { column, text: f.text } : { text: f.text });
}

function isFCall(e: ExprNode): e is CallNode {
  return e.type === 'call' && e.fn === 'F';
}

/** RevoScaleR's name for a variable. */
function revoName(label: string, expr: ExprNode): string {
  if (expr.type === 'name') return expr.name;
  if (isFCall(expr) && expr.args[0]) {
    const a = expr.args[0].value;
    return `F_${a.type === 'name' ? a.name : deparse(a)}`;
  }
  return label;
}

function rLabel(v: VariableSpec): string {
  return v.label;
}

/** Argument of a call by name or position. */
function callArg(c: CallNode, name: string, pos: number): ExprNode | undefined {
  const byName = c.args.find((a) => a.name === name);
  if (byName) return byName.value;
  const positional = c.args.filter((a) => a.name === undefined);
  return positional[pos]?.value;
}

function constNum(e: ExprNode | undefined): number | undefined {
  if (!e) return undefined;
  if (e.type === 'num') return e.value;
  if (e.type === 'unary' && e.op === '-' && e.arg.type === 'num') return -e.arg.value;
  return undefined;
}

interface Pending {
  /** levels collected from data (factor variables without known levels) */
  kind: 'levels' | 'range';
  numericSort: boolean;
  set: Set<string>;
  /** last chunk's levels for plain factor columns without schema levels (source order) */
  sourceLevels?: string[];
  min: number;
  max: number;
}

/**
 * Resolves a formula against a source: expands `.`, types each variable from the schema,
 * and reads the data once (only the needed columns) when some factor's levels are not
 * known from the schema (string columns, factor(x) of numbers, F(x) without low/high).
 */
export async function createModelSpec(formula: string | Formula, source: DataSource, opts: ModelSpecOptions = {}): Promise<ModelSpec> {
  let f = typeof formula === 'string' ? parseFormula(formula) : formula;
  const schema = await source.schema();
  const byName = new Map(schema.columns.map((c) => [c.name, c]));
  const objects = opts.objects ?? {};
  const env = { objects };
  if (f.hasDot) {
    const respCols = new Set(f.response ? exprColumns(f.response) : []);
    const offCols = new Set(f.offsets.flatMap((o) => exprColumns(o)));
    f = expandDot(f, schema.columns.map((c) => c.name).filter((n) => !respCols.has(n) && !offCols.has(n)));
  }
  const dropFirst = opts.dropFirst ?? false;
  const cube = opts.cube ?? false;
  const dropMain = opts.dropMain ?? false;

  // check referenced columns
  const checkCols = (e: ExprNode, what: string): void => {
    for (const c of exprColumns(e)) {
      if (!byName.has(c) && !Object.hasOwn(objects, c) && !['pi', 'T', 'F'].includes(c)) {
        throw specError(f, `unknown column "${c}" in ${what} (columns: ${schema.columns.slice(0, 40).map((x) => x.name).join(', ')})`, c);
      }
    }
  };

  const typeOf = (e: ExprNode, what: string) => {
    checkCols(e, what);
    try {
      return inferExprType(e, schema, env);
    } catch (err) {
      if (err instanceof RxError) throw new RxError('RX_FORMULA', `Formula "${f.text}": bad term "${what}": ${err.message}`, { text: what, cause: err });
      throw err;
    }
  };

  const pending = new Map<number, Pending>(); // variable index (-1 response) -> pending levels
  const variables: VariableSpec[] = f.variables.map((v, i) => {
    const spec: VariableSpec = { label: v.label, name: revoName(v.label, v.expr), expr: v.expr, kind: 'numeric' };
    if (isFCall(v.expr)) {
      const x = callArg(v.expr, 'x', 0);
      if (!x) throw specError(f, `F() needs an argument in term "${v.label}"`);
      const t = typeOf(x, v.label);
      if (t.type === 'factor' || t.type === 'string') throw specError(f, `F() needs a numeric argument in term "${v.label}"`);
      let low = constNum(callArg(v.expr, 'low', 1));
      let high = constNum(callArg(v.expr, 'high', 2));
      if (x.type === 'name') {
        const ci = byName.get(x.name);
        if (low === undefined && ci?.low !== undefined) low = ci.low;
        if (high === undefined && ci?.high !== undefined) high = ci.high;
      }
      spec.kind = 'factor';
      if (low !== undefined && high !== undefined) setRange(spec, low, high, f);
      else pending.set(i, { kind: 'range', numericSort: true, set: new Set(), min: low ?? Number.POSITIVE_INFINITY, max: high ?? Number.NEGATIVE_INFINITY });
      return spec;
    }
    const t = typeOf(v.expr, v.label);
    if (t.type === 'factor' || t.type === 'string') {
      spec.kind = 'factor';
      if (t.levels) spec.levels = t.levels;
      else pending.set(i, newPending(v.expr, schema, env));
    }
    return spec;
  });

  let response: ResponseSpec | null = null;
  if (f.response) {
    const t = typeOf(f.response, deparse(f.response));
    response = { label: deparse(f.response), expr: f.response, kind: t.type === 'bool' ? 'logical' : t.type === 'factor' || t.type === 'string' ? 'factor' : 'numeric' };
    if (response.kind === 'factor') {
      if (t.levels) response.levels = t.levels;
      else pending.set(-1, newPending(f.response, schema, env));
    }
  }
  for (const o of f.offsets) {
    const t = typeOf(o, `offset(${deparse(o)})`);
    if (t.type === 'factor' || t.type === 'string') throw specError(f, `offset(${deparse(o)}) must be numeric`);
  }

  if (pending.size > 0) await levelsPass(f, source, pending, variables, response, env);

  // terms (dropMain, cube)
  let terms = f.terms.map((t) => ({ label: t.label, vars: t.vars }));
  let intercept = f.intercept;
  if (dropMain) {
    const inInteraction = new Set(terms.filter((t) => t.vars.length > 1).flatMap((t) => t.vars));
    terms = terms.filter((t) => !(t.vars.length === 1 && inInteraction.has(t.vars[0]!)));
  }
  if (cube) {
    const first = terms[0];
    if (first?.vars.length !== 1 || variables[first.vars[0]!]!.kind !== 'factor') {
      throw specError(f, `cube = TRUE needs a factor as the first term${first ? ` (the first term is "${first.label}")` : ''}`);
    }
    intercept = false;
  }
  for (const t of terms) {
    for (const v of t.vars) {
      const vs = variables[v]!;
      if (vs.kind === 'factor' && (vs.levels ?? []).length === 0) throw specError(f, `factor "${vs.label}" in term "${t.label}" has no levels (no non-missing values)`, vs.label);
    }
  }

  // R's TermCode: a factor is coded by contrasts when the term without it is empty or is
  // contained in a preceding term; otherwise by full indicators. Without an intercept,
  // the first factor of the first term that has one gets full indicators.
  const codings: Coding[][] = terms.map((t, ti) =>
    t.vars.map((v) => {
      if (variables[v]!.kind === 'numeric') return 'numeric';
      const margin = t.vars.filter((w) => w !== v);
      if (margin.length === 0) return 'contrast';
      for (let q = 0; q < ti; q++) if (margin.every((w) => terms[q]!.vars.includes(w))) return 'contrast';
      return 'full';
    }),
  );
  if (!intercept) {
    outer: for (let ti = 0; ti < terms.length; ti++) {
      for (let k = 0; k < terms[ti]!.vars.length; k++) {
        if (codings[ti]![k] !== 'numeric') {
          codings[ti]![k] = 'full';
          break outer;
        }
      }
    }
  }
  const columns: CoefficientSpec[] = [];
  if (intercept) columns.push({ name: '(Intercept)', rName: '(Intercept)', term: -1, dropped: false });
  const termSpecs: TermSpec[] = terms.map((t, ti) => {
    const coding = codings[ti]!;
    const start = columns.length;
    const facs = t.vars.map((v, k) => ({ v, k })).filter(({ v }) => variables[v]!.kind === 'factor');
    const nums = t.vars.filter((v) => variables[v]!.kind === 'numeric');
    const sizes = facs.map(({ v }) => variables[v]!.levels!.length);
    const total = sizes.reduce((a, b) => a * b, 1);
    const codes = new Array<number>(facs.length).fill(0);
    for (let combo = 0; combo < total; combo++) {
      let r = combo;
      for (let j = 0; j < facs.length; j++) {
        codes[j] = r % sizes[j]!;
        r = Math.floor(r / sizes[j]!);
      }
      let dropped = false;
      for (let j = 0; j < facs.length; j++) {
        if (coding[facs[j]!.k] === 'contrast') {
          const ref = dropFirst ? 0 : sizes[j]! - 1;
          if (codes[j] === ref) dropped = true;
        }
      }
      const facNames = facs.map(({ v }, j) => `${variables[v]!.name}=${variables[v]!.levels![codes[j]!]}`);
      const numNames = nums.map((v) => variables[v]!.name);
      let name: string;
      if (facs.length === 0) name = numNames.join(':');
      else if (nums.length === 0) name = facNames.join(', ');
      else name = `${numNames.join(':')} for ${facNames.join(', ')}`;
      let fj = 0;
      const rName = t.vars
        .map((v) => {
          const vs = variables[v]!;
          if (vs.kind === 'numeric') return rLabel(vs);
          return `${rLabel(vs)}${vs.levels![codes[fj++]!]}`;
        })
        .join(':');
      columns.push({ name, rName, term: ti, dropped });
    }
    return { label: t.label, vars: t.vars, coding, start, size: columns.length - start };
  });
  const kept = columns.filter((c) => !c.dropped);
  const sourceColumns = new Set<string>();
  const addCols = (e: ExprNode) => {
    for (const c of exprColumns(e)) if (byName.has(c)) sourceColumns.add(c);
  };
  if (f.response) addCols(f.response);
  for (const t of termSpecs) for (const v of t.vars) addCols(variables[v]!.expr);
  for (const o of f.offsets) addCols(o);
  const spec: ModelSpec = {
    formula: f.text,
    response,
    variables,
    terms: termSpecs,
    intercept,
    columns,
    coefNames: kept.map((c) => c.name),
    rNames: kept.map((c) => c.rName),
    p: kept.length,
    offsets: f.offsets,
    sourceColumns: schema.columns.map((c) => c.name).filter((n) => sourceColumns.has(n)),
    dropFirst,
    cube,
    dropMain,
  };
  if (Object.keys(objects).length > 0) spec.objects = objects;
  return spec;
}

function setRange(spec: VariableSpec, low: number, high: number, f: Formula): void {
  const lo = Math.floor(low);
  const hi = Math.floor(high);
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || hi < lo) throw specError(f, `F(): invalid range [${low}, ${high}] in "${spec.label}"`);
  if (hi - lo > 100_000) throw specError(f, `F(): range [${lo}, ${hi}] in "${spec.label}" gives more than 100000 levels`);
  spec.fRange = { low: lo, high: hi };
  spec.levels = [];
  for (let v = lo; v <= hi; v++) spec.levels.push(String(v));
}

function newPending(e: ExprNode, schema: Schema, env: { objects: Record<string, unknown> }): Pending {
  // factor(x) / as.factor(x) of a numeric x sorts its levels numerically, like R
  let numericSort = false;
  if (e.type === 'call' && (e.fn === 'factor' || e.fn === 'as.factor') && e.args[0]) {
    try {
      const t = inferExprType(e.args[0].value, schema, env);
      numericSort = t.type !== 'factor' && t.type !== 'string' && t.type !== 'bool';
    } catch {
      numericSort = false;
    }
  }
  const p: Pending = { kind: 'levels', numericSort, set: new Set(), min: Number.POSITIVE_INFINITY, max: Number.NEGATIVE_INFINITY };
  if (e.type === 'name') {
    const ci: ColumnInfo | undefined = schema.columns.find((c) => c.name === e.name);
    if (ci?.type === 'factor') p.sourceLevels = [];
  }
  return p;
}

function collectLevels(p: Pending, v: Val): void {
  if (v.t === 'fac') {
    const used = new Uint8Array(v.levels.length);
    for (let i = 0; i < v.d.length; i++) if (v.d[i]! >= 0) used[v.d[i]!] = 1;
    if (p.sourceLevels) {
      // plain factor column: the source's level order (later chunks append)
      if (v.levels.length >= p.sourceLevels.length) p.sourceLevels = v.levels;
    }
    for (let k = 0; k < used.length; k++) if (used[k]) p.set.add(v.levels[k]!);
  } else if (v.t === 'str') {
    for (const s of v.d) if (s !== null) p.set.add(s);
  } else if (v.t === 'lgl') {
    for (const x of v.d) if (x !== 2) p.set.add(x ? 'TRUE' : 'FALSE');
  } else if (v.t === 'num') {
    for (const x of v.d) if (!Number.isNaN(x)) p.set.add(formatR(x));
  }
}

async function levelsPass(
  f: Formula,
  source: DataSource,
  pending: Map<number, Pending>,
  variables: VariableSpec[],
  response: ResponseSpec | null,
  env: { objects: Record<string, unknown> },
): Promise<void> {
  const exprs = new Map<number, ExprNode>();
  for (const [i] of pending) {
    if (i === -1) exprs.set(i, response!.expr);
    else {
      const v = variables[i]!;
      exprs.set(i, isFCall(v.expr) ? callArg(v.expr, 'x', 0)! : v.expr);
    }
  }
  const schema = await source.schema();
  const names = new Set(schema.columns.map((c) => c.name));
  const cols = [...new Set([...exprs.values()].flatMap((e) => exprColumns(e)).filter((c) => names.has(c)))];
  for await (const chunk of source.chunks({ columns: cols })) {
    for (const [i, e] of exprs) {
      const p = pending.get(i)!;
      const val = evalVal(e, chunk, env);
      if (p.kind === 'range') {
        if (val.t !== 'num' && val.t !== 'lgl') throw specError(f, `F() needs a numeric argument in "${variables[i]!.label}"`);
        const d = val.d as Float64Array | Uint8Array;
        for (let k = 0; k < d.length; k++) {
          const x = val.t === 'lgl' ? (d[k] === 2 ? Number.NaN : d[k]!) : d[k]!;
          if (Number.isFinite(x)) {
            if (x < p.min) p.min = x;
            if (x > p.max) p.max = x;
          }
        }
      } else collectLevels(p, val);
    }
  }
  for (const [i, p] of pending) {
    if (p.kind === 'range') {
      const v = variables[i]!;
      if (!Number.isFinite(p.min)) throw specError(f, `F(): "${v.label}" has no non-missing values to find its range`, v.label);
      setRange(v, p.min, p.max, f);
      continue;
    }
    let levels: string[];
    if (p.sourceLevels && p.sourceLevels.length > 0) levels = p.sourceLevels;
    else if (p.numericSort) levels = [...p.set].sort((a, b) => Number(a) - Number(b));
    else levels = [...p.set].sort();
    if (i === -1) response!.levels = levels;
    else variables[i]!.levels = levels;
  }
}
