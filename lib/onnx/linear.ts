/**
 * ONNX export of rxLinMod / rxLogit / rxGlm: the formula's model matrix, rebuilt in the
 * graph from the raw data columns, times the coefficients, plus offsets, with the
 * family's inverse link applied (response scale, as rxPredict's default).
 *
 *  - Inputs: one [N,1] tensor per source column, named after it: double for columns used
 *    numerically (incl. F(x)), string for factor columns.
 *  - Factors: LabelEncoder (string -> level code, unknown -> NaN) then Equal against the
 *    level codes and Cast (one-hot, every level; the reference level's coefficient is 0).
 *  - Interactions: outer products of the factors' one-hots (first factor varies fastest,
 *    as lib/formula lays out the columns) times the product of the term's numerics (Mul).
 *  - Expressions: + - * / ^ %% %/%, comparisons, log (with base), log10, log2, log1p, exp,
 *    expm1, sqrt, abs, floor, ceiling, trunc, sign, pmin, pmax, I(), as.numeric; anything
 *    else raises RX_MODEL naming the expression.
 *  - Missing values: a row with a missing/non-finite numeric or a missing/unknown factor
 *    level predicts NaN, as rxPredict does (v - v is NaN exactly for NaN and +-Inf).
 *  - Links: identity, log, logit, probit, cloglog, inverse, 1/mu^2, sqrt, power. The probit
 *    link uses Erf, which onnxruntime implements in float32 only (abs error ~1e-7).
 * Output: `<response>_Pred` [N,1] double.
 */
import type { CallNode, ExprNode } from '../expr/ast.js';
import { RxError } from '../errors.js';
import type { ModelSpec } from '../formula/spec.js';
import { ML_DOMAIN, OnnxGraph } from './builder.js';

/** The parts of an rxLinMod / rxLogit / rxGlm result the exporter reads. */
export interface LinearModelLike {
  readonly modelKind: string;
  toJSON(): {
    kind: string;
    coefficients: number[];
    design: { responseLabel: string; model: ModelSpec; formula: string };
    family?: { family: string; link: string; linkPower?: number };
  };
}

export function isLinearModelLike(m: unknown): m is LinearModelLike {
  const x = m as LinearModelLike;
  return typeof x === 'object' && x !== null && typeof x.modelKind === 'string' && typeof x.toJSON === 'function' && 'design' in (x as object);
}

type Role = 'numeric' | 'factor';

function unsupported(what: string, formula: string): RxError {
  return new RxError('RX_MODEL', `ONNX export: ${what} in formula "${formula}" has no ONNX equivalent`, { text: what });
}

class Compiler {
  private inputs = new Map<string, { role: Role; name: string }>();
  private penalties: string[] = [];
  constructor(
    readonly g: OnnxGraph,
    readonly spec: ModelSpec,
  ) {}

  dbl(v: number): string {
    return this.g.constant('c', { type: 'double', dims: [1], data: [v] });
  }
  input(col: string, role: Role): string {
    const have = this.inputs.get(col);
    if (have) {
      if (have.role !== role) throw new RxError('RX_MODEL', `ONNX export: column "${col}" is used both as a factor and as a number in "${this.spec.formula}"`, { column: col });
      return have.name;
    }
    const name = this.g.input({ name: col, type: role === 'factor' ? 'string' : 'double', shape: [null, 1] });
    this.inputs.set(col, { role, name });
    return name;
  }
  /** Marks `t` so that NaN / +-Inf in it makes the prediction NaN. */
  guard(t: string): void {
    this.penalties.push(this.g.op('Sub', [t, t]));
  }
  penalty(): string | null {
    if (this.penalties.length === 0) return null;
    return this.penalties.length === 1 ? this.penalties[0]! : this.g.op('Sum', this.penalties);
  }

  deparse(e: ExprNode): string {
    switch (e.type) {
      case 'name':
        return e.name;
      case 'num':
        return String(e.value);
      case 'call':
        return `${e.fn}(${e.args.map((a) => this.deparse(a.value)).join(', ')})`;
      case 'binary':
        return `${this.deparse(e.left)} ${e.op} ${this.deparse(e.right)}`;
      case 'unary':
        return `${e.op}${this.deparse(e.arg)}`;
      case 'paren':
        return `(${this.deparse(e.arg)})`;
      default:
        return e.type === 'const' ? e.name : JSON.stringify((e as { value: unknown }).value);
    }
  }

  /** A numeric expression as a [N,1] (or broadcastable [1]) double tensor. */
  num(e: ExprNode): string {
    const g = this.g;
    switch (e.type) {
      case 'num':
        return this.dbl(e.value);
      case 'const':
        if (e.name === 'TRUE') return this.dbl(1);
        if (e.name === 'FALSE') return this.dbl(0);
        if (e.name === 'Inf') return this.dbl(Number.POSITIVE_INFINITY);
        if (e.name === 'NA' || e.name === 'NA_real_' || e.name === 'NA_integer_' || e.name === 'NaN') return this.dbl(Number.NaN);
        throw unsupported(e.name, this.spec.formula);
      case 'name': {
        const obj = this.spec.objects?.[e.name];
        if (this.spec.objects && Object.hasOwn(this.spec.objects, e.name)) {
          if (typeof obj === 'number') return this.dbl(obj);
          if (typeof obj === 'boolean') return this.dbl(obj ? 1 : 0);
          throw unsupported(`transform object "${e.name}"`, this.spec.formula);
        }
        return this.input(e.name, 'numeric');
      }
      case 'paren':
        return this.num(e.arg);
      case 'unary':
        if (e.op === '-') return g.op('Neg', [this.num(e.arg)]);
        if (e.op === '+') return this.num(e.arg);
        throw unsupported(this.deparse(e), this.spec.formula);
      case 'binary': {
        if (e.op === '^' && e.right.type === 'num' && e.right.value === 2) {
          const a = this.num(e.left);
          return g.op('Mul', [a, a]);
        }
        const ops: Record<string, string> = { '+': 'Add', '-': 'Sub', '*': 'Mul', '/': 'Div', '^': 'Pow' };
        if (ops[e.op]) return g.op(ops[e.op]!, [this.num(e.left), this.num(e.right)]);
        if (e.op === '%/%') return g.op('Floor', [g.op('Div', [this.num(e.left), this.num(e.right)])]);
        if (e.op === '%%') {
          const a = this.num(e.left);
          const b = this.num(e.right);
          return g.op('Sub', [a, g.op('Mul', [g.op('Floor', [g.op('Div', [a, b])]), b])]);
        }
        const cmp: Record<string, [string, boolean]> = { '==': ['Equal', false], '!=': ['Equal', true], '<': ['Less', false], '<=': ['LessOrEqual', false], '>': ['Greater', false], '>=': ['GreaterOrEqual', false] };
        const c = cmp[e.op];
        if (c) {
          const a = this.num(e.left);
          const b = this.num(e.right);
          let r = g.op(c[0], [a, b]);
          if (c[1]) r = g.op('Not', [r]);
          // NA in -> NA out; (a - a) + (b - b) is 0 or NaN
          return g.op('Add', [g.op('Cast', [r], { to: { int: 11 } }), g.op('Add', [g.op('Sub', [a, a]), g.op('Sub', [b, b])])]);
        }
        throw unsupported(this.deparse(e), this.spec.formula);
      }
      case 'call':
        return this.call(e);
      default:
        throw unsupported(this.deparse(e), this.spec.formula);
    }
  }

  private call(e: CallNode): string {
    const g = this.g;
    const f = this.spec.formula;
    const args = e.args;
    const one = (): string => {
      if (args.length !== 1) throw unsupported(this.deparse(e), f);
      return this.num(args[0]!.value);
    };
    const simple: Record<string, string> = { exp: 'Exp', sqrt: 'Sqrt', abs: 'Abs', floor: 'Floor', ceiling: 'Ceil', sign: 'Sign' };
    if (simple[e.fn]) return g.op(simple[e.fn]!, [one()]);
    switch (e.fn) {
      case 'I':
      case 'as.numeric':
      case 'as.double':
        return one();
      case 'log': {
        const x = args.find((a) => a.name === 'x') ?? args.find((a) => a.name === undefined);
        const base = args.find((a) => a.name === 'base') ?? args.filter((a) => a.name === undefined)[1];
        if (!x || args.length > 2) throw unsupported(this.deparse(e), f);
        const l = g.op('Log', [this.num(x.value)]);
        return base ? g.op('Div', [l, g.op('Log', [this.num(base.value)])]) : l;
      }
      case 'log10':
        return g.op('Div', [g.op('Log', [one()]), this.dbl(Math.LN10)]);
      case 'log2':
        return g.op('Div', [g.op('Log', [one()]), this.dbl(Math.LN2)]);
      case 'log1p':
        return g.op('Log', [g.op('Add', [one(), this.dbl(1)])]);
      case 'expm1':
        return g.op('Sub', [g.op('Exp', [one()]), this.dbl(1)]);
      case 'trunc': {
        const x = one();
        return g.op('Mul', [g.op('Sign', [x]), g.op('Floor', [g.op('Abs', [x])])]);
      }
      case 'pmin':
      case 'pmax': {
        if (args.length < 1 || args.some((a) => a.name !== undefined)) throw unsupported(this.deparse(e), f);
        const xs = args.map((a) => this.num(a.value));
        return xs.length === 1 ? xs[0]! : g.op(e.fn === 'pmin' ? 'Min' : 'Max', xs);
      }
      default:
        throw unsupported(`${e.fn}()`, f);
    }
  }

  /** Level code of a factor variable as [N,1] double (NaN = missing / unknown level). */
  factorCode(v: ModelSpec['variables'][number]): string {
    const g = this.g;
    const levels = v.levels ?? [];
    if (v.fRange) {
      const call = v.expr as CallNode;
      const arg = call.args.find((a) => a.name === 'x') ?? call.args.find((a) => a.name === undefined);
      if (!arg) throw unsupported(v.label, this.spec.formula);
      const k = g.op('Floor', [this.num(arg.value)]);
      const { low, high } = v.fRange;
      // outside low..high -> NaN
      const inside = g.op('And', [g.op('GreaterOrEqual', [k, this.dbl(low)]), g.op('LessOrEqual', [k, this.dbl(high)])]);
      return g.op('Where', [inside, g.op('Sub', [k, this.dbl(low)]), this.dbl(Number.NaN)]);
    }
    if (v.expr.type === 'name') {
      const x = this.input(v.expr.name, 'factor');
      if (levels.length === 0) return g.op('Add', [g.op('Cast', [g.op('Shape', [x])], { to: { int: 11 } }), this.dbl(Number.NaN)]);
      // float codes (ai.onnx.ml 2+: any opset), exact for small integers, then double
      const code = g.op('LabelEncoder', [x], { keys_strings: { strings: levels }, values_floats: { floats: levels.map((_, i) => i) }, default_float: { float: Number.NaN } }, ML_DOMAIN);
      return g.op('Cast', [code], { to: { int: 11 } });
    }
    throw unsupported(`factor variable ${v.label}`, this.spec.formula);
  }
}

/**
 * The formula's model matrix as an ONNX tensor, built from the raw input columns (shared by
 * every exporter of a model over a lib/formula design): `X` [N, slots.length] double (null
 * when the formula has no terms), `slots[k]` = the ModelSpec column (coefficient slot) of X's
 * column k (every slot of every term, reference levels included; no intercept column),
 * `intercept` = the intercept's slot (-1 without one), `offset` = the sum of the offsets
 * (null without), `penalty` = [N,1] 0 or NaN (NaN for rows with a missing value or unknown
 * level; null when nothing can be missing): add it to each output.
 */
export interface OnnxDesign {
  X: string | null;
  slots: number[];
  intercept: number;
  offset: string | null;
  penalty: string | null;
  /** A [1] double constant. */
  dbl(v: number): string;
}

export function onnxDesign(g: OnnxGraph, spec: ModelSpec): OnnxDesign {
  const c = new Compiler(g, spec);
  // one [N,1] tensor per variable: numeric values or factor one-hot [N,L]
  const vals = spec.variables.map((v) => {
    if (v.kind === 'numeric') {
      const t = c.num(v.expr);
      c.guard(t);
      return { kind: 'numeric' as const, t };
    }
    const code = c.factorCode(v);
    c.guard(code);
    const L = v.levels!.length;
    const lv = g.constant('lv', { type: 'double', dims: [1, L], data: Array.from({ length: L }, (_, i) => i) });
    return { kind: 'factor' as const, t: g.op('Cast', [g.op('Equal', [code, lv])], { to: { int: 11 } }), L };
  });
  const parts: string[] = [];
  const slots: number[] = [];
  for (const t of spec.terms) {
    let num: string | null = null;
    let oh: string | null = null;
    let size = 1;
    for (const vi of t.vars) {
      const v = vals[vi]!;
      if (v.kind === 'numeric') num = num ? g.op('Mul', [num, v.t]) : v.t;
      else if (!oh) {
        oh = v.t;
        size = v.L;
      } else {
        // [N, L, 1] * [N, 1, size] -> [N, L*size]: previous factors vary fastest
        const a = g.op('Unsqueeze', [v.t, g.constant('ax', { type: 'int64', dims: [1], data: [2] })]);
        const b = g.op('Unsqueeze', [oh, g.constant('ax', { type: 'int64', dims: [1], data: [1] })]);
        size *= v.L;
        oh = g.op('Reshape', [g.op('Mul', [a, b]), g.constant('shape', { type: 'int64', dims: [2], data: [-1, size] })]);
      }
    }
    if (size !== t.size) throw new RxError('RX_MODEL', `ONNX export: term "${t.label}" has ${t.size} coefficient slots but its coding gives ${size}`);
    parts.push(oh ? (num ? g.op('Mul', [oh, num]) : oh) : num!);
    for (let k = 0; k < t.size; k++) slots.push(t.start + k);
  }
  let offset: string | null = null;
  for (const o of spec.offsets) {
    const t = c.num(o);
    c.guard(t);
    offset = offset ? g.op('Add', [offset, t]) : t;
  }
  const X = parts.length === 0 ? null : parts.length === 1 ? parts[0]! : g.op('Concat', parts, { axis: { int: 1 } });
  const intercept = spec.intercept ? spec.columns.findIndex((col) => col.term === -1) : -1;
  return { X, slots, intercept, offset, penalty: c.penalty(), dbl: (v) => c.dbl(v) };
}

/** Exports a linear model to ONNX bytes. */
export function linearModelToOnnx(model: LinearModelLike, opts: { opset?: number } = {}): Uint8Array {
  const opset = opts.opset ?? 21;
  const d = model.toJSON();
  const spec = d.design.model;
  const g = new OnnxGraph(`${model.modelKind}_${d.design.responseLabel}`);
  const des = onnxDesign(g, spec);
  // coefficient per slot (dropped / aliased: 0)
  const slotBeta: number[] = [];
  for (let j = 0, x = 0; j < spec.columns.length; j++) {
    if (spec.columns[j]!.dropped) slotBeta.push(0);
    else {
      const b = d.coefficients[x++];
      slotBeta.push(b === undefined || Number.isNaN(b) ? 0 : b);
    }
  }
  let eta: string | null = null;
  const intercept = des.intercept >= 0 ? slotBeta[des.intercept]! : 0;
  if (des.X) eta = g.op('MatMul', [des.X, g.constant('beta', { type: 'double', dims: [des.slots.length, 1], data: des.slots.map((s) => slotBeta[s]!) })]);
  if (!eta && !des.offset)
    throw new RxError('RX_MODEL', `ONNX export: "${d.design.formula}" has no predictors, so the graph would have no inputs`);
  if (des.offset) eta = eta ? g.op('Add', [eta, des.offset]) : des.offset;
  eta = g.op('Add', [eta!, des.dbl(intercept)]);
  if (des.penalty) eta = g.op('Add', [eta, des.penalty]);
  const mu = d.family ? applyLinkInverse(g, des.dbl, eta, d.family) : eta;
  const out = `${d.design.responseLabel}_Pred`;
  g.op('Identity', [mu], undefined, undefined, out);
  g.output({ name: out, type: 'double', shape: [null, 1] });
  return g.toBytes({ opset, docString: `rxscale ${model.modelKind}: ${d.design.formula}`, metadata: { rxscale_kind: model.modelKind, formula: d.design.formula } });
}

const DBL_EPS = 2.220446049250313e-16;

function applyLinkInverse(g: OnnxGraph, dbl: (v: number) => string, eta: string, fam: { family: string; link: string; linkPower?: number }): string {
  const k = dbl;
  const clip = (x: string, lo: number, hi: number) => g.op('Min', [g.op('Max', [x, k(lo)]), k(hi)]);
  let link = fam.link;
  if (link === 'power') link = fam.linkPower === 0 ? 'log' : fam.linkPower === 1 ? 'identity' : 'power';
  switch (link) {
    case 'identity':
      return eta;
    case 'log':
      return g.op('Max', [g.op('Exp', [eta]), k(DBL_EPS)]);
    case 'logit': {
      // R's logit linkinv: t = exp(eta) (eps below eta = -30, 1/eps above 30); t / (1 + t).
      // Clamping exp(eta) to [exp(-30), exp(30)] differs from that by < 1e-13.
      const t = clip(g.op('Exp', [eta]), Math.exp(-30), Math.exp(30));
      return g.op('Div', [t, g.op('Add', [t, k(1)])]);
    }
    case 'probit': {
      const THRESH = 8.125890664701906; // -qnorm(DBL_EPSILON)
      const e = clip(eta, -THRESH, THRESH);
      const z = g.op('Cast', [g.op('Mul', [e, k(Math.SQRT1_2)])], { to: { int: 1 } });
      const erf = g.op('Cast', [g.op('Erf', [z])], { to: { int: 11 } });
      return g.op('Mul', [g.op('Add', [erf, k(1)]), k(0.5)]);
    }
    case 'cloglog': {
      // -expm1(-exp(eta)) clamped to [eps, 1 - eps]
      const v = g.op('Sub', [k(1), g.op('Exp', [g.op('Neg', [g.op('Exp', [eta])])])]);
      return clip(v, DBL_EPS, 1 - DBL_EPS);
    }
    case 'inverse':
      return g.op('Reciprocal', [eta]);
    case '1/mu^2':
      return g.op('Reciprocal', [g.op('Sqrt', [eta])]);
    case 'sqrt':
      return g.op('Mul', [eta, eta]);
    case 'power':
      return g.op('Pow', [g.op('Max', [eta, k(DBL_EPS)]), k(1 / fam.linkPower!)]);
    default:
      throw new RxError('RX_MODEL', `ONNX export: link "${fam.link}" is not supported`);
  }
}
