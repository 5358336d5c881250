/**
 * Model design for the linear-model family: formula (parsed by lib/formula) -> a plain,
 * structured-cloneable DesignSpec (variables, their coding, coefficient names in
 * RevoScaleR and R style), and `buildDesign(spec, chunk)` -> dense column-major X, y,
 * weights and offset over the complete rows of a chunk.
 *
 * Factor coding (R's rule for which terms get contrasts): a factor in term T is coded by
 * contrasts when T without that factor is also in the model (the intercept counts as
 * the empty term), else by one indicator per level. Contrasts drop the LAST level
 * (RevoScaleR default) or the FIRST (dropFirst: true, R's contr.treatment); dropped
 * levels stay in the coefficient list, marked `dropped`, and print as "Dropped".
 */
import type { Chunk, Column, Schema } from '../data/types.js';
import { RxError } from '../errors.js';
import type { ExprNode } from '../expr/ast.js';
import { deparse } from '../expr/deparse.js';
import { evalExpr, exprColumns } from '../expr/eval.js';
import { expandDot, parseFormula } from '../formula/parse.js';

export interface DesignVariable {
  label: string;
  expr: ExprNode;
  kind: 'numeric' | 'factor';
  /** Factor levels (kind 'factor'). */
  levels?: string[];
  /** F(x): numeric values low..high are the levels. */
  fLow?: number;
}

export interface DesignCoef {
  /** RevoScaleR-style name: `x`, `DayOfWeek=Monday`, `a=x, b=y`, `x for a=u`. */
  name: string;
  /** R-style name: `x`, `DayOfWeekMonday`, `ax:by`. */
  rName: string;
  /** Index of the term (-1 for the intercept). */
  term: number;
  /** Per variable of the term: level index (factor) or -1 (numeric). */
  parts: Array<{ v: number; level: number }>;
  /** Reference level of a contrast coding: no column in X. */
  dropped: boolean;
}

export interface DesignSpec {
  formula: string;
  responseLabel: string;
  response: ExprNode;
  /** Response is a factor / bool (logit): its levels. */
  responseLevels?: string[];
  variables: DesignVariable[];
  termLabels: string[];
  terms: number[][];
  intercept: boolean;
  offsets: ExprNode[];
  coefs: DesignCoef[];
  /** Indices into coefs of the X columns (non-dropped), in X order. */
  xCols: number[];
  /** Source columns the pass must read. */
  columns: string[];
  weightVar?: string;
  dropFirst: boolean;
}

export interface DesignOptions {
  dropFirst?: boolean;
  weights?: string;
  /** Treat the response as binary (rxLogit). */
  binaryResponse?: boolean;
}

const isName = (e: ExprNode): e is ExprNode & { type: 'name'; name: string } => e.type === 'name';

function callName(e: ExprNode): string | undefined {
  return e.type === 'call' ? (e as unknown as { fn: string }).fn : undefined;
}

function schemaCol(schema: Schema, name: string) {
  return schema.columns.find((c) => c.name === name);
}

/** Builds the design spec from a formula string and a schema. */
export function createDesign(formula: string, schema: Schema, opts: DesignOptions = {}): DesignSpec {
  let f = parseFormula(formula);
  if (!f.response) throw new RxError('RX_FORMULA', `Invalid formula "${formula}": a model formula needs a response (e.g. "y ~ x")`, { text: formula });
  const response: ExprNode = f.response;
  if (f.hasDot) {
    const resp = new Set(exprColumns(response));
    f = expandDot(
      f,
      schema.columns.map((c) => c.name).filter((n) => !resp.has(n) && n !== opts.weights),
    );
  }
  const dropFirst = opts.dropFirst ?? false;
  const columns = new Set<string>();
  const need = (e: ExprNode) => {
    for (const c of exprColumns(e)) {
      if (!schemaCol(schema, c)) throw new RxError('RX_FORMULA', `Invalid formula "${formula}": unknown variable '${c}'`, { text: c, column: c });
      columns.add(c);
    }
  };
  need(response);
  const variables: DesignVariable[] = f.variables.map((v) => {
    need(v.expr);
    const e = v.expr;
    if (isName(e)) {
      const info = schemaCol(schema, e.name)!;
      if (info.type === 'factor' || info.type === 'string') {
        if (!info.levels) throw new RxError('RX_SCHEMA', `Factor '${e.name}' has no level list in the schema; convert it to a factor first`, { column: e.name });
        return { label: v.label, expr: e, kind: 'factor', levels: info.levels.slice() };
      }
      return { label: v.label, expr: e, kind: 'numeric' };
    }
    if (callName(e) === 'F') {
      const args = (e as unknown as { args: Array<{ value: ExprNode }> }).args;
      const inner = args[0]?.value;
      if (!inner || !isName(inner)) throw new RxError('RX_FORMULA', `Invalid formula "${formula}": F() takes a variable name`, { text: v.label });
      const info = schemaCol(schema, inner.name)!;
      const num = (i: number, d: number | undefined) => {
        const a = args[i]?.value;
        return a && a.type === 'num' ? (a as unknown as { value: number }).value : d;
      };
      const low = num(1, info.low);
      const high = num(2, info.high);
      if (low === undefined || high === undefined)
        throw new RxError('RX_FORMULA', `F(${inner.name}) needs low and high (F(${inner.name}, low, high)) or a declared range for '${inner.name}'`, { text: v.label });
      const levels: string[] = [];
      for (let k = Math.floor(low); k <= Math.floor(high); k++) levels.push(String(k));
      return { label: v.label, expr: e, kind: 'factor', levels, fLow: Math.floor(low) };
    }
    return { label: v.label, expr: e, kind: 'numeric' };
  });
  if (opts.weights) {
    if (!schemaCol(schema, opts.weights)) throw new RxError('RX_ARG', `Unknown weights variable '${opts.weights}'`, { column: opts.weights });
    columns.add(opts.weights);
  }
  for (const o of f.offsets) need(o);
  const terms = f.terms.map((t) => t.vars);
  const termKeys = new Set(terms.map((t) => t.join(',')));
  const coefs: DesignCoef[] = [];
  if (f.intercept) coefs.push({ name: '(Intercept)', rName: '(Intercept)', term: -1, parts: [], dropped: false });
  terms.forEach((t, ti) => {
    // per variable: list of (level, dropped) choices
    const choices: Array<Array<{ level: number; dropped: boolean }>> = t.map((vi) => {
      const v = variables[vi]!;
      if (v.kind === 'numeric') return [{ level: -1, dropped: false }];
      const rest = t.filter((x) => x !== vi);
      const contrast = rest.length === 0 ? f.intercept : termKeys.has(rest.join(','));
      const L = v.levels!.length;
      const ref = dropFirst ? 0 : L - 1;
      return v.levels!.map((_, li) => ({ level: li, dropped: contrast && li === ref }));
    });
    // cartesian product, first variable varying fastest (R's column order)
    let combos: Array<Array<{ level: number; dropped: boolean }>> = [[]];
    for (const ch of choices) {
      const next: typeof combos = [];
      for (const c of ch) for (const prev of combos) next.push([...prev, c]);
      combos = next;
    }
    // R: first factor varies fastest
    for (const combo of combos) {
      const parts = combo.map((c, k) => ({ v: t[k]!, level: c.level }));
      const names = parts.map((p) => {
        const v = variables[p.v]!;
        if (p.level < 0) return { rx: v.label, r: v.label };
        const lv = v.levels![p.level]!;
        const base = callName(v.expr) === 'F' ? `F_${deparse((v.expr as unknown as { args: Array<{ value: ExprNode }> }).args[0]!.value)}` : v.label;
        return { rx: `${base}=${lv}`, r: `${v.label}${lv}` };
      });
      coefs.push({
        name: names.map((n) => n.rx).join(', '),
        rName: names.map((n) => n.r).join(':'),
        term: ti,
        parts,
        dropped: combo.some((c) => c.dropped),
      });
    }
  });
  const xCols = coefs.map((c, i) => (c.dropped ? -1 : i)).filter((i) => i >= 0);
  if (xCols.length === 0) throw new RxError('RX_FORMULA', `Invalid formula "${formula}": the model has no terms`, { text: formula });
  const spec: DesignSpec = {
    formula,
    responseLabel: deparse(response),
    response,
    variables,
    termLabels: f.terms.map((t) => t.label),
    terms,
    intercept: f.intercept,
    offsets: f.offsets,
    coefs,
    xCols,
    columns: [...columns],
    dropFirst,
  };
  if (opts.weights) spec.weightVar = opts.weights;
  if (opts.binaryResponse && isName(response)) {
    const info = schemaCol(schema, response.name)!;
    if (info.type === 'factor' || info.type === 'string') {
      if (!info.levels) throw new RxError('RX_SCHEMA', `Factor response '${response.name}' has no level list`, { column: response.name });
      spec.responseLevels = info.levels.slice();
    }
  }
  return spec;
}

export interface DesignChunk {
  /** Complete rows used. */
  n: number;
  p: number;
  /** n x p column-major. */
  X: Float64Array;
  y: Float64Array;
  w: Float64Array | null;
  offset: Float64Array | null;
  /** Chunk row index of each used row. */
  rowIndex: Int32Array;
  /** Rows dropped because a needed value was missing / non-finite. */
  nMissing: number;
}

function numericValues(c: Column, n: number, what: string): Float64Array {
  if (c.type === 'string' || c.type === 'factor') throw new RxError('RX_SCHEMA', `Expected a numeric variable for ${what} but it is ${c.type}`, { column: what });
  const out = new Float64Array(n);
  const d = c.data as ArrayLike<number>;
  for (let i = 0; i < n; i++) out[i] = c.valid && c.valid[i] === 0 ? Number.NaN : d[i]!;
  return out;
}

/** Evaluates one design variable on a chunk: numeric values, or factor level indices (-1 = missing / unknown). */
function evalVariable(v: DesignVariable, chunk: Chunk, n: number, checkLevels: boolean): Float64Array | Int32Array {
  if (v.kind === 'numeric') return numericValues(evalExpr(v.expr, chunk), n, v.label);
  const e = v.fLow !== undefined ? (v.expr as unknown as { args: Array<{ value: ExprNode }> }).args[0]!.value : v.expr;
  const c = evalExpr(e, chunk);
  const out = new Int32Array(n);
  if (v.fLow !== undefined) {
    const d = numericValues(c, n, v.label);
    const L = v.levels!.length;
    for (let i = 0; i < n; i++) {
      const k = Math.floor(d[i]!) - v.fLow;
      out[i] = Number.isFinite(d[i]!) && k >= 0 && k < L ? k : -1;
    }
    return out;
  }
  // map the chunk's level strings to the design's level indices
  const map = new Map(v.levels!.map((l, i) => [l, i]));
  const lookup = (s: string | null, i: number): number => {
    if (s === null) return -1;
    const k = map.get(s);
    if (k === undefined) {
      if (checkLevels) throw new RxError('RX_SCHEMA', `Level '${s}' of '${v.label}' was not seen when the model was fitted`, { column: v.label, row: chunk.startRow + i + 1, text: s });
      return -1;
    }
    return k;
  };
  if (c.type === 'factor') {
    const codes = c.data as Int32Array;
    const lv = c.levels ?? [];
    const cmap = lv.map((l) => map.get(l));
    for (let i = 0; i < n; i++) {
      if (c.valid && c.valid[i] === 0) out[i] = -1;
      else {
        const k = cmap[codes[i]!];
        out[i] = k === undefined ? lookup(lv[codes[i]!] ?? null, i) : k;
      }
    }
  } else if (c.type === 'string') {
    const d = c.data as Array<string | null>;
    for (let i = 0; i < n; i++) out[i] = lookup(d[i] ?? null, i);
  } else {
    const d = numericValues(c, n, v.label);
    for (let i = 0; i < n; i++) out[i] = Number.isNaN(d[i]!) ? -1 : lookup(String(d[i]), i);
  }
  return out;
}

/** Response values: numeric, or for binary responses 0/1 (second level / TRUE / 1 = success). */
export function responseValues(spec: DesignSpec, chunk: Chunk, n: number): Float64Array {
  const c = evalExpr(spec.response, chunk);
  if (spec.responseLevels || c.type === 'factor' || c.type === 'string') {
    const levels = spec.responseLevels ?? c.levels ?? [];
    const out = new Float64Array(n);
    const getS = (i: number): string | null =>
      c.valid && c.valid[i] === 0 ? null : c.type === 'factor' ? (c.levels![(c.data as Int32Array)[i]!] ?? null) : (c.data as Array<string | null>)[i] ?? null;
    for (let i = 0; i < n; i++) {
      const s = getS(i);
      const k = s === null ? -1 : levels.indexOf(s);
      out[i] = k < 0 ? Number.NaN : k;
    }
    return out;
  }
  return numericValues(c, n, spec.responseLabel);
}

/** Builds X, y, w, offset over the complete rows of a chunk. */
export function buildDesign(spec: DesignSpec, chunk: Chunk, opts: { needY?: boolean; checkLevels?: boolean } = {}): DesignChunk {
  const n0 = chunk.numRows;
  const needY = opts.needY ?? true;
  const vals = spec.variables.map((v) => evalVariable(v, chunk, n0, opts.checkLevels ?? false));
  const y = needY ? responseValues(spec, chunk, n0) : null;
  const w = spec.weightVar ? numericValues(chunk.columns[spec.weightVar]!, n0, spec.weightVar) : null;
  let off: Float64Array | null = null;
  for (const o of spec.offsets) {
    const ov = numericValues(evalExpr(o, chunk), n0, deparse(o));
    if (!off) off = ov;
    else for (let i = 0; i < n0; i++) off[i]! += ov[i]!;
  }
  // complete rows
  const keep = new Uint8Array(n0).fill(1);
  for (const v of vals) {
    if (v instanceof Int32Array) {
      for (let i = 0; i < n0; i++) if (v[i]! < 0) keep[i] = 0;
    } else for (let i = 0; i < n0; i++) if (!Number.isFinite(v[i]!)) keep[i] = 0;
  }
  if (y) for (let i = 0; i < n0; i++) if (!Number.isFinite(y[i]!)) keep[i] = 0;
  if (w) for (let i = 0; i < n0; i++) if (!Number.isFinite(w[i]!)) keep[i] = 0;
  if (off) for (let i = 0; i < n0; i++) if (!Number.isFinite(off[i]!)) keep[i] = 0;
  let n = 0;
  for (let i = 0; i < n0; i++) n += keep[i]!;
  const rowIndex = new Int32Array(n);
  for (let i = 0, j = 0; i < n0; i++) if (keep[i]) rowIndex[j++] = i;
  const p = spec.xCols.length;
  const X = new Float64Array(n * p);
  for (let jj = 0; jj < p; jj++) {
    const coef = spec.coefs[spec.xCols[jj]!]!;
    const col = X.subarray(jj * n, (jj + 1) * n);
    col.fill(1);
    for (const part of coef.parts) {
      const v = vals[part.v]!;
      if (part.level < 0) {
        const d = v as Float64Array;
        for (let r = 0; r < n; r++) col[r]! *= d[rowIndex[r]!]!;
      } else {
        const d = v as Int32Array;
        for (let r = 0; r < n; r++) if (d[rowIndex[r]!] !== part.level) col[r] = 0;
      }
    }
  }
  const pick = (a: Float64Array | null) => {
    if (!a) return null;
    const o = new Float64Array(n);
    for (let r = 0; r < n; r++) o[r] = a[rowIndex[r]!]!;
    return o;
  };
  return { n, p, X, y: pick(y) ?? new Float64Array(0), w: pick(w), offset: pick(off), rowIndex, nMissing: n0 - n };
}
