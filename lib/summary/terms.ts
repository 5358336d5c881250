/**
 * Summary formulas read through the shared formula engine (lib/formula parseFormula, R's
 * terms.formula rules with `keep.order = TRUE`), turned into what rxSummary, rxCube,
 * rxCrossTabs, rxCovCor, rxKendallCor, rxHistogram and rxLinePlot work with:
 *
 *   [lhs] ~ rhs [| cond]
 *   lhs  := var | var + var ... | cbind(var, var, ...)
 *   rhs  := any R formula right-hand side (a + b, a:b, a*b, (a+b)^2, - x, -1, `.`)
 *   var  := name | `quoted name` | F(x [, low [, high]]) | F(x, low = a, high = b)
 *         | I(expr) | fn(args)    (function terms are computed by the expression language)
 *
 * Terms keep the order they were written in (RevoScaleR prints them so); `.` is resolved
 * against the columns each function accepts (resolveTerms). Summaries have no intercept:
 * `- 1` / `+ 0` are accepted and change nothing.
 */
import type { ExprNode } from '../expr/ast.js';
import { deparse } from '../expr/deparse.js';
import { RxError } from '../errors.js';
import { type Formula, expandDot, parseFormula } from '../formula/index.js';

export interface SVar {
  /** Column name in the data (for a function term: the transform column it is computed into). */
  name: string;
  /** F(x): numeric treated as a factor with integer levels low..high. */
  asFactor?: boolean;
  low?: number;
  high?: number;
  /** Label shown in output: `x` or `F(x)` or `F(x, low = 1, high = 3)`. */
  label: string;
  /** Column name RevoScaleR gives the factor: `F_x` or `F_x_1_3_T`. */
  outName: string;
  /** A function term such as `log(incwage)`: computed by the expression language into column `name`. */
  expr?: ExprNode;
}

export interface STerm {
  vars: SVar[];
  /** The variables' labels joined by `:`, e.g. `ArrDelay:DayOfWeek`. */
  label: string;
}

export interface SFormula {
  /** The formula as written (trimmed). */
  text: string;
  lhs: SVar[];
  /** Right-hand side terms; empty while `hasDot` (see resolveTerms). */
  terms: STerm[];
  cond: SVar[];
  /** The right-hand side uses `.`: resolveTerms() expands it against the usable columns. */
  hasDot: boolean;
  /** The shared engine's parse. */
  formula: Formula;
}

function termError(text: string, term: string, reason: string): RxError {
  return new RxError('RX_FORMULA', `Invalid formula "${text}": ${reason}`, { text: term });
}

/** Numeric literal (possibly negated) or undefined. */
function literal(e: ExprNode): number | undefined {
  if (e.type === 'num') return e.value;
  if (e.type === 'unary' && (e.op === '-' || e.op === '+') && e.arg.type === 'num') return e.op === '-' ? -e.arg.value : e.arg.value;
  if (e.type === 'paren') return literal(e.arg);
  return undefined;
}

/** One formula variable (an expression node of the formula) as a summary variable. */
function varOf(text: string, e: ExprNode): SVar {
  if (e.type === 'paren') return varOf(text, e.arg);
  if (e.type === 'name') {
    if (e.name === '.' && !e.quoted) throw termError(text, '.', '"." is only allowed on the right-hand side');
    return { name: e.name, label: e.name, outName: e.name };
  }
  if (e.type === 'call' && e.fn === 'F') {
    const label0 = deparse(e);
    const positional = e.args.filter((a) => a.name === undefined).map((a) => a.value);
    const named = new Map(e.args.filter((a) => a.name !== undefined).map((a) => [a.name!, a.value]));
    for (const k of named.keys()) if (!['x', 'low', 'high', 'exclude'].includes(k)) throw termError(text, label0, `F() has no argument "${k}" (term "${label0}")`);
    const xNode = named.get('x') ?? positional.shift();
    if (!xNode) throw termError(text, label0, `F() needs a variable (term "${label0}")`);
    const num = (key: string, pos: number): number | undefined => {
      const node = named.get(key) ?? positional[pos];
      if (node === undefined) return undefined;
      const v = literal(node);
      if (v === undefined || !Number.isFinite(v)) throw termError(text, label0, `F(${deparse(xNode)}, ...) expects a numeric ${key} but found "${deparse(node)}"`);
      return v;
    };
    const low = num('low', 0);
    const high = num('high', 1);
    const x = varOf(text, xNode);
    if (x.asFactor) throw termError(text, label0, `F() of F() in term "${label0}"`);
    const v: SVar = { name: x.name, asFactor: true, label: `F(${x.label})`, outName: `F_${x.name}` };
    if (x.expr) v.expr = x.expr;
    if (low !== undefined) v.low = low;
    if (high !== undefined) v.high = high;
    if (low !== undefined || high !== undefined) {
      v.label = `F(${x.label}${low !== undefined ? `, low = ${low}` : ''}${high !== undefined ? `, high = ${high}` : ''})`;
      v.outName = `F_${x.name}_${low ?? ''}_${high ?? ''}_T`;
    }
    return v;
  }
  if (e.type === 'call') {
    const label = deparse(e);
    // I(expr) is the expression itself; other calls (log(x), ...) are evaluated as written
    const expr = e.fn === 'I' && e.args.length === 1 && e.args[0]!.name === undefined ? e.args[0]!.value : e;
    return { name: label, label, outName: label, expr };
  }
  throw termError(text, deparse(e), `"${deparse(e)}" is not a variable (use I(...) for arithmetic)`);
}

/** The response side: `y`, `y1 + y2` or `cbind(y1, y2)`. */
function responseVars(text: string, e: ExprNode | null): SVar[] {
  if (!e) return [];
  if (e.type === 'paren') return responseVars(text, e.arg);
  if (e.type === 'binary' && e.op === '+') return [...responseVars(text, e.left), ...responseVars(text, e.right)];
  if (e.type === 'call' && e.fn === 'cbind') return e.args.map((a) => varOf(text, a.value));
  return [varOf(text, e)];
}

function termsOf(text: string, f: Formula): STerm[] {
  const vars = f.variables.map((v) => varOf(text, v.expr));
  return f.terms.map((t) => {
    const vs = t.vars.map((i) => vars[i]!);
    return { vars: vs, label: vs.map((v) => v.label).join(':') };
  });
}

/** Calls (function terms) anywhere in a right-hand side, for formulas whose `.` is not resolved yet. */
function callsIn(e: ExprNode | null, out: ExprNode[]): ExprNode[] {
  if (!e) return out;
  if (e.type === 'call') {
    if (e.fn !== 'offset') out.push(e);
  } else if (e.type === 'binary') {
    callsIn(e.left, out);
    callsIn(e.right, out);
  } else if (e.type === 'paren' || e.type === 'unary') callsIn(e.arg, out);
  return out;
}

/** Parses a summary formula with the shared formula engine. */
export function parseSummaryFormula(text: string): SFormula {
  if (typeof text !== 'string' || !text.includes('~')) {
    throw new RxError('RX_FORMULA', `Expected a formula like "~ a + b" but received ${JSON.stringify(text)}`, { text: String(text) });
  }
  const formula = parseFormula(text, { keepOrder: true });
  const trimmed = text.trim();
  const lhs = responseVars(trimmed, formula.response);
  const cond = (formula.conditioningExprs ?? []).map((e) => varOf(trimmed, e));
  const terms = formula.hasDot ? [] : termsOf(trimmed, formula);
  if (!formula.hasDot && terms.length === 0) throw new RxError('RX_FORMULA', `Formula "${trimmed}" has no terms on the right-hand side`, { text: trimmed });
  return { text: trimmed, lhs, terms, cond, hasDot: formula.hasDot, formula };
}

/**
 * The right-hand side terms, with `.` expanded to `columns` (the columns the calling
 * function can use, response and weights already left out) as R's terms(f, data) does.
 */
export function resolveTerms(sf: SFormula, columns: string[]): STerm[] {
  if (!sf.hasDot) return sf.terms;
  const f = expandDot(sf.formula, columns);
  const terms = termsOf(sf.text, f);
  if (terms.length === 0) throw new RxError('RX_FORMULA', `Formula "${sf.text}" has no terms on the right-hand side`, { text: sf.text });
  return terms;
}

/** Every variable of the formula (response, terms, conditioning; before `.` expansion). */
function allVars(sf: SFormula): SVar[] {
  const rhs = sf.hasDot ? callsIn(sf.formula.rhs, []).map((e) => varOf(sf.text, e)) : sf.terms.flatMap((t) => t.vars);
  return [...sf.lhs, ...rhs, ...sf.cond];
}

/** Transforms for the function terms of a formula (`log(incwage)` -> column "log(incwage)"). */
export function formulaTransforms(sf: SFormula): Record<string, ExprNode> {
  const out: Record<string, ExprNode> = {};
  for (const v of allVars(sf)) if (v.expr !== undefined) out[v.name] = v.expr;
  return out;
}

/** Names of the columns created for function terms (left out of `.`). */
export function functionTermNames(sf: SFormula): Set<string> {
  return new Set(Object.keys(formulaTransforms(sf)));
}
