/**
 * Model matrix and raw predictor columns for one chunk, from a ModelSpec.
 *
 * Rows with a missing value in any used variable (response, predictors, offsets; a
 * non-finite number counts as missing) are dropped and counted. X is column-major
 * (n x p, column j at X[j*n .. j*n+n)). Factor values outside the spec's levels (new
 * levels at predict time) raise RX_MODEL with `checkFactorLevels: true` (the default),
 * otherwise the row is treated as missing.
 */
import type { Chunk } from '../data/types.js';
import { RxError } from '../errors.js';
import { type Val, evalVal } from '../expr/eval.js';
import { formatR } from '../expr/format.js';
import type { CallNode } from '../expr/ast.js';
import type { ModelSpec, VariableSpec } from './spec.js';

export interface BuildOptions {
  /** Unknown factor level: true -> RxError, false -> row treated as missing. Default true. */
  checkFactorLevels?: boolean;
  /** Build y (default: true when the spec has a response and the chunk has its columns). */
  response?: boolean;
  /**
   * Reusable buffer for X across chunks (avoids allocating and page-faulting a fresh
   * n x p array per chunk). When given and large enough, X is a zero-filled view of it,
   * valid until the next call with the same scratch; it is grown when too small.
   */
  scratch?: { X?: Float64Array };
}

export interface ModelMatrix {
  n: number;
  p: number;
  /** Column-major n x p. */
  X: Float64Array;
  y: Float64Array | null;
  offset: Float64Array | null;
  /** Chunk rows kept (0-based within the chunk). */
  rowIndex: Int32Array;
  nMissing: number;
}

type Evaluated = { kind: 'numeric'; d: Float64Array } | { kind: 'factor'; d: Int32Array };

function env(spec: ModelSpec) {
  return spec.objects ? { objects: spec.objects } : {};
}

function levelMap(levels: string[]): Map<string, number> {
  const m = new Map<string, number>();
  levels.forEach((l, i) => {
    m.set(l, i);
  });
  return m;
}

function unknownLevel(what: string, value: string, row: number): RxError {
  return new RxError('RX_MODEL', `Factor "${what}" has level "${value}" (row ${row + 1} of the chunk) that the model did not see; pass checkFactorLevels: false to treat such rows as missing`, {
    column: what,
    row: row + 1,
    text: value,
  });
}

/** Codes of a value against fixed levels; -1 = missing; -2 = unknown level. */
function toCodes(v: Val, levels: string[], n: number): Int32Array {
  const out = new Int32Array(n);
  const idx = levelMap(levels);
  if (v.t === 'fac') {
    const remap = v.levels.map((l) => idx.get(l) ?? -2);
    const d = v.d;
    const s = d.length === 1 ? 0 : 1;
    for (let i = 0; i < n; i++) {
      const c = d[i * s]!;
      out[i] = c < 0 ? -1 : remap[c]!;
    }
    return out;
  }
  if (v.t === 'str') {
    const s = v.d.length === 1 ? 0 : 1;
    for (let i = 0; i < n; i++) {
      const x = v.d[i * s]!;
      out[i] = x === null ? -1 : (idx.get(x) ?? -2);
    }
    return out;
  }
  if (v.t === 'lgl') {
    const s = v.d.length === 1 ? 0 : 1;
    const f = idx.get('FALSE') ?? -2;
    const t = idx.get('TRUE') ?? -2;
    for (let i = 0; i < n; i++) {
      const x = v.d[i * s]!;
      out[i] = x === 2 ? -1 : x ? t : f;
    }
    return out;
  }
  if (v.t === 'num') {
    const s = v.d.length === 1 ? 0 : 1;
    const numIdx = new Map<number, number>();
    levels.forEach((l, i) => {
      numIdx.set(Number(l), i);
    });
    for (let i = 0; i < n; i++) {
      const x = v.d[i * s]!;
      out[i] = Number.isNaN(x) ? -1 : (idx.get(formatR(x)) ?? numIdx.get(x) ?? -2);
    }
    return out;
  }
  out.fill(-1);
  return out;
}

function levelName(v: Val, i: number): string {
  if (v.t === 'fac') return v.levels[v.d[v.d.length === 1 ? 0 : i]!] ?? '';
  if (v.t === 'str') return String(v.d[v.d.length === 1 ? 0 : i]);
  if (v.t === 'num') return formatR(v.d[v.d.length === 1 ? 0 : i]!);
  return String(v.t === 'lgl' ? v.d[i] === 1 : '');
}

function evalVariable(spec: ModelSpec, vs: VariableSpec, chunk: Chunk, check: boolean): Evaluated {
  const n = chunk.numRows;
  if (vs.fRange) {
    const call = vs.expr as CallNode;
    const arg = call.args.find((a) => a.name === 'x') ?? call.args.find((a) => a.name === undefined)!;
    const v = evalVal(arg.value, chunk, env(spec));
    if (v.t !== 'num' && v.t !== 'lgl') throw new RxError('RX_MODEL', `F() needs a numeric argument in "${vs.label}"`, { column: vs.label });
    const { low, high } = vs.fRange;
    const out = new Int32Array(n);
    const s = v.d.length === 1 ? 0 : 1;
    for (let i = 0; i < n; i++) {
      const raw = v.d[i * s]!;
      const x = v.t === 'lgl' ? (raw === 2 ? Number.NaN : raw) : raw;
      if (Number.isNaN(x)) out[i] = -1;
      else {
        const k = Math.floor(x);
        if (k < low || k > high) {
          if (check) throw unknownLevel(vs.label, formatR(x), i);
          out[i] = -1;
        } else out[i] = k - low;
      }
    }
    return { kind: 'factor', d: out };
  }
  const v = evalVal(vs.expr, chunk, env(spec));
  if (vs.kind === 'numeric') {
    if (v.t === 'num') return { kind: 'numeric', d: v.d.length === n ? v.d : new Float64Array(n).fill(v.d[0]!) };
    if (v.t === 'lgl') {
      const d = new Float64Array(n);
      const s = v.d.length === 1 ? 0 : 1;
      for (let i = 0; i < n; i++) {
        const x = v.d[i * s]!;
        d[i] = x === 2 ? Number.NaN : x;
      }
      return { kind: 'numeric', d };
    }
    throw new RxError('RX_MODEL', `Variable "${vs.label}" was numeric when the model was specified but is a ${v.t === 'fac' ? 'factor' : 'string'} in this data`, { column: vs.label });
  }
  const codes = toCodes(v, vs.levels!, n);
  for (let i = 0; i < n; i++) {
    if (codes[i] === -2) {
      if (check) throw unknownLevel(vs.label, levelName(v, i), i);
      codes[i] = -1;
    }
  }
  return { kind: 'factor', d: codes };
}

function evalResponse(spec: ModelSpec, chunk: Chunk, check: boolean): Float64Array {
  const r = spec.response!;
  const n = chunk.numRows;
  const v = evalVal(r.expr, chunk, env(spec));
  if (r.kind === 'factor') {
    const codes = toCodes(v, r.levels!, n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const c = codes[i]!;
      if (c === -2 && check) throw unknownLevel(r.label, levelName(v, i), i);
      y[i] = c < 0 ? Number.NaN : c;
    }
    return y;
  }
  if (v.t === 'num') return v.d.length === n ? v.d : new Float64Array(n).fill(v.d[0]!);
  if (v.t === 'lgl') {
    const y = new Float64Array(n);
    const s = v.d.length === 1 ? 0 : 1;
    for (let i = 0; i < n; i++) {
      const x = v.d[i * s]!;
      y[i] = x === 2 ? Number.NaN : x;
    }
    return y;
  }
  throw new RxError('RX_MODEL', `Response "${r.label}" must be numeric, logical or a factor`, { column: r.label });
}

function hasColumns(spec: ModelSpec, chunk: Chunk, e: import('../expr/ast.js').ExprNode): boolean {
  // response columns may be absent at predict time
  const walk = (x: import('../expr/ast.js').ExprNode): boolean => {
    switch (x.type) {
      case 'name':
        return x.name in chunk.columns || (spec.objects !== undefined && Object.hasOwn(spec.objects, x.name));
      case 'paren':
      case 'unary':
        return walk(x.arg);
      case 'binary':
        return walk(x.left) && walk(x.right);
      case 'call':
        return x.args.every((a) => walk(a.value));
      default:
        return true;
    }
  };
  return walk(e);
}

// Small monomorphic kernels (kept separate so V8 optimizes each loop on its own).
function maskNonFinite(d: Float64Array, ok: Uint8Array): void {
  for (let i = 0; i < ok.length; i++) if (!Number.isFinite(d[i]!)) ok[i] = 0;
}
function maskNegative(d: Int32Array, ok: Uint8Array): void {
  for (let i = 0; i < ok.length; i++) if (d[i]! < 0) ok[i] = 0;
}
function gather(d: Float64Array, rows: Int32Array | null, out: Float64Array): void {
  if (rows === null) out.set(d.subarray(0, out.length));
  else for (let k = 0; k < out.length; k++) out[k] = d[rows[k]!]!;
}
function mulGather(out: Float64Array, d: Float64Array, rows: Int32Array | null): void {
  if (rows === null) for (let k = 0; k < out.length; k++) out[k]! *= d[k]!;
  else for (let k = 0; k < out.length; k++) out[k]! *= d[rows[k]!]!;
}
function addScaled(out: Int32Array, codes: Int32Array, stride: number): void {
  for (let i = 0; i < out.length; i++) out[i]! += codes[i]! * stride;
}
/** X[map[combo[r]] * m + k] = w[k] (or 1) for each kept row k = r's position. */
function scatter(X: Float64Array, m: number, map: Int32Array, combo: Int32Array, rows: Int32Array | null, w: Float64Array | null): void {
  for (let k = 0; k < m; k++) {
    const c = map[combo[rows === null ? k : rows[k]!]!]!;
    if (c >= 0) X[c * m + k] = w === null ? 1 : w[k]!;
  }
}

/** A term's numeric variables' values and its factors' codes and level counts. */
function termParts(spec: ModelSpec, vars: readonly number[], vals: Evaluated[]): { nums: Float64Array[]; facs: Int32Array[]; sizes: number[] } {
  const nums: Float64Array[] = [];
  const facs: Int32Array[] = [];
  const sizes: number[] = [];
  for (const v of vars) {
    const e = vals[v]!;
    if (e.kind === 'numeric') nums.push(e.d);
    else {
      facs.push(e.d);
      sizes.push(spec.variables[v]!.levels!.length);
    }
  }
  return { nums, facs, sizes };
}

interface PreparedRows {
  vals: Evaluated[];
  y0: Float64Array | null;
  off0: Float64Array | null;
  m: number;
  rowIndex: Int32Array;
  /** null when every row is kept. */
  rows: Int32Array | null;
}

/** Evaluates the variables, response and offsets of a chunk and finds the complete rows. */
function prepareRows(spec: ModelSpec, chunk: Chunk, opts: BuildOptions): PreparedRows {
  const check = opts.checkFactorLevels ?? true;
  const n = chunk.numRows;
  const vals = spec.variables.map((vs) => evalVariable(spec, vs, chunk, check));
  const wantY = spec.response !== null && (opts.response ?? hasColumns(spec, chunk, spec.response.expr));
  const y0 = wantY ? evalResponse(spec, chunk, check) : null;
  let off0: Float64Array | null = null;
  for (const o of spec.offsets) {
    const v = evalVal(o, chunk, env(spec));
    if (v.t !== 'num' && v.t !== 'lgl') throw new RxError('RX_MODEL', 'offset must be numeric');
    const s = v.d.length === 1 ? 0 : 1;
    if (!off0) off0 = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const x = v.d[i * s]!;
      off0[i] += v.t === 'lgl' ? (x === 2 ? Number.NaN : x) : x;
    }
  }
  // row mask
  const ok = new Uint8Array(n).fill(1);
  for (const e of vals) {
    if (e.kind === 'numeric') maskNonFinite(e.d, ok);
    else maskNegative(e.d, ok);
  }
  if (y0) maskNonFinite(y0, ok);
  if (off0) maskNonFinite(off0, ok);
  let m = 0;
  for (let i = 0; i < n; i++) m += ok[i]!;
  const rowIndex = new Int32Array(m);
  for (let i = 0, k = 0; i < n; i++) if (ok[i]) rowIndex[k++] = i;
  const rows = m === n ? null : rowIndex;
  return { vals, y0, off0, m, rowIndex, rows };
}

/** X column of every coefficient slot (-1 = dropped reference level). */
function xColumns(spec: ModelSpec): Int32Array {
  const xcol = new Int32Array(spec.columns.length);
  for (let j = 0, c = 0; j < spec.columns.length; j++) xcol[j] = spec.columns[j]!.dropped ? -1 : c++;
  return xcol;
}

/** Combined level code of a term's factors (a single factor: its own codes). */
function termCombo(facs: Int32Array[], sizes: number[], n: number): Int32Array {
  if (facs.length === 1) return facs[0]!;
  const combo = new Int32Array(n);
  let stride = 1;
  for (let j = 0; j < facs.length; j++) {
    addScaled(combo, facs[j]!, stride);
    stride *= sizes[j]!;
  }
  return combo;
}

/** Builds X (column-major), y, offset for one chunk; rows with missing values are dropped. */
export function buildModelMatrix(spec: ModelSpec, chunk: Chunk, opts: BuildOptions = {}): ModelMatrix {
  const n = chunk.numRows;
  const { vals, y0, off0, m, rowIndex, rows } = prepareRows(spec, chunk, opts);
  const p = spec.p;
  let X: Float64Array;
  if (opts.scratch) {
    if (!opts.scratch.X || opts.scratch.X.length < m * p) opts.scratch.X = new Float64Array(m * p);
    X = opts.scratch.X.subarray(0, m * p);
    X.fill(0);
  } else X = new Float64Array(m * p);
  const xcol = xColumns(spec);
  if (spec.intercept) X.fill(1, 0, m);
  let prod: Float64Array | null = null;
  for (const t of spec.terms) {
    const { nums, facs, sizes } = termParts(spec, t.vars, vals);
    // product of the numeric variables (null = all ones)
    let w: Float64Array | null = null;
    if (facs.length === 0 && nums.length === 1) {
      gather(nums[0]!, rows, X.subarray(xcol[t.start]! * m, xcol[t.start]! * m + m));
      continue;
    }
    if (nums.length > 0) {
      prod ??= new Float64Array(m);
      gather(nums[0]!, rows, prod);
      for (let q = 1; q < nums.length; q++) mulGather(prod, nums[q]!, rows);
      w = prod;
    }
    if (facs.length === 0) {
      X.set(w!, xcol[t.start]! * m);
      continue;
    }
    const map = xcol.subarray(t.start, t.start + t.size);
    scatter(X, m, map, termCombo(facs, sizes, n), rows, w);
  }
  let y: Float64Array | null = null;
  if (y0) gather(y0, rows, (y = new Float64Array(m)));
  let offset: Float64Array | null = null;
  if (off0) gather(off0, rows, (offset = new Float64Array(m)));
  return { n: m, p, X, y, offset, rowIndex, nMissing: n - m };
}

/**
 * The model matrix of a chunk with its factor terms kept as one-hot groups (see
 * xtwxGrouped in lib/native/linalg.ts): numeric columns (and the intercept) are dense in D,
 * and each term with a factor is one group giving, per row, the X column of its non-zero
 * entry (gcols, -1 for a dropped reference level) and its value (gvals: the product of the
 * term's numeric variables; null when no group has numeric variables, i.e. all ones).
 * With opts.scratch, D, gcols, gvals and y are views of its reused arrays (valid until the
 * next call with the same scratch).
 */
export interface GroupedMatrix {
  n: number;
  p: number;
  /** Dense columns, n x pd column-major. */
  D: Float64Array;
  pd: number;
  /** X column of each dense column. */
  dcols: Int32Array;
  ng: number;
  /** ng x n: X column of row r's non-zero entry in group g at gcols[g*n + r] (-1: none). */
  gcols: Int32Array;
  /** ng x n values (null: all ones). */
  gvals: Float64Array | null;
  y: Float64Array | null;
  offset: Float64Array | null;
  rowIndex: Int32Array;
  nMissing: number;
}

/** Builds the grouped model matrix of a chunk (same rows, columns and values as buildModelMatrix). */
export function buildGroupedMatrix(spec: ModelSpec, chunk: Chunk, opts: BuildOptions & { scratch?: { D?: Float64Array; G?: Int32Array; V?: Float64Array; Y?: Float64Array; P?: Float64Array } } = {}): GroupedMatrix {
  const n = chunk.numRows;
  const { vals, y0, off0, m, rowIndex, rows } = prepareRows(spec, chunk, opts);
  const xcol = xColumns(spec);
  const dense: number[] = [];
  const groupTerms: number[] = [];
  let anyVals = false;
  if (spec.intercept) dense.push(0);
  spec.terms.forEach((t, ti) => {
    const hasFac = t.vars.some((v) => vals[v]!.kind === 'factor');
    if (hasFac) {
      groupTerms.push(ti);
      if (t.vars.some((v) => vals[v]!.kind === 'numeric')) anyVals = true;
    } else if (xcol[t.start]! >= 0) dense.push(xcol[t.start]!);
  });
  const pd = dense.length;
  const ng = groupTerms.length;
  const sc = opts.scratch ?? {};
  if (!sc.D || sc.D.length < m * pd) sc.D = new Float64Array(m * pd);
  if (!sc.G || sc.G.length < m * ng) sc.G = new Int32Array(m * ng);
  if (anyVals && (!sc.V || sc.V.length < m * ng)) sc.V = new Float64Array(m * ng);
  const D = sc.D.subarray(0, m * pd);
  const gcols = sc.G.subarray(0, m * ng);
  const gvals = anyVals ? sc.V!.subarray(0, m * ng) : null;
  let di = 0;
  if (spec.intercept) {
    D.fill(1, 0, m);
    di++;
  }
  let gi = 0;
  let prod: Float64Array | null = null;
  for (const t of spec.terms) {
    const { nums, facs, sizes } = termParts(spec, t.vars, vals);
    if (facs.length === 0) {
      // numeric term: the product of its variables straight into its dense column
      if (xcol[t.start]! < 0) continue;
      const col = D.subarray(di * m, di * m + m);
      di++;
      gather(nums[0]!, rows, col);
      for (let q = 1; q < nums.length; q++) mulGather(col, nums[q]!, rows);
      continue;
    }
    let w: Float64Array | null = null;
    if (nums.length > 0) {
      if (!prod) {
        if (!sc.P || sc.P.length < m) sc.P = new Float64Array(m);
        prod = sc.P.subarray(0, m);
      }
      gather(nums[0]!, rows, prod);
      for (let q = 1; q < nums.length; q++) mulGather(prod, nums[q]!, rows);
      w = prod;
    }
    const map = xcol.subarray(t.start, t.start + t.size);
    const combo = termCombo(facs, sizes, n);
    const gc = gcols.subarray(gi * m, gi * m + m);
    for (let k = 0; k < m; k++) gc[k] = map[combo[rows === null ? k : rows[k]!]!]!;
    if (gvals) {
      const gv = gvals.subarray(gi * m, gi * m + m);
      if (w) gv.set(w);
      else gv.fill(1);
    }
    gi++;
  }
  let y: Float64Array | null = null;
  if (y0) {
    if (!sc.Y || sc.Y.length < m) sc.Y = new Float64Array(m);
    y = sc.Y.subarray(0, m);
    gather(y0, rows, y);
  }
  let offset: Float64Array | null = null;
  if (off0) gather(off0, rows, (offset = new Float64Array(m)));
  return { n: m, p: spec.p, D, pd, dcols: Int32Array.from(dense), ng, gcols, gvals, y, offset, rowIndex, nMissing: n - m };
}

export interface PredictorInfo {
  name: string;
  label: string;
  type: 'numeric' | 'factor';
  levels?: string[];
  expr: import('../expr/ast.js').ExprNode;
}

/** Raw predictors (no dummies) for trees and similar learners. */
export function modelVariables(spec: ModelSpec): { response: { name: string; type: 'numeric' | 'factor' | 'logical'; levels?: string[] } | null; predictors: PredictorInfo[] } {
  const used = new Set(spec.terms.flatMap((t) => t.vars));
  const predictors = spec.variables
    .map((v, i) => ({ v, i }))
    .filter(({ i }) => used.has(i))
    .map(({ v }) => {
      const out: PredictorInfo = { name: v.name, label: v.label, type: v.kind, expr: v.expr };
      if (v.levels) out.levels = v.levels;
      return out;
    });
  const r = spec.response;
  const response = r ? { name: r.label, type: r.kind, ...(r.levels ? { levels: r.levels } : {}) } : null;
  return { response, predictors };
}

export interface PredictorColumns {
  n: number;
  /** One per predictor of modelVariables(): Float64Array (NaN missing) or Int32Array codes (-1 missing). */
  columns: Array<Float64Array | Int32Array>;
  y: Float64Array | null;
  rowIndex: Int32Array;
  nMissing: number;
}

/**
 * Predictor columns for a chunk. Rows with a missing response are dropped (and counted);
 * missing predictor values are kept (NaN / -1) unless `dropMissing: true`.
 */
export function buildPredictorColumns(spec: ModelSpec, chunk: Chunk, opts: BuildOptions & { dropMissing?: boolean } = {}): PredictorColumns {
  const check = opts.checkFactorLevels ?? true;
  const n = chunk.numRows;
  const used = new Set(spec.terms.flatMap((t) => t.vars));
  const vals = spec.variables.filter((_, i) => used.has(i)).map((vs) => evalVariable(spec, vs, chunk, check));
  const wantY = spec.response !== null && (opts.response ?? hasColumns(spec, chunk, spec.response.expr));
  const y0 = wantY ? evalResponse(spec, chunk, check) : null;
  const ok = new Uint8Array(n).fill(1);
  if (y0) for (let i = 0; i < n; i++) if (!Number.isFinite(y0[i]!)) ok[i] = 0;
  if (opts.dropMissing) {
    for (const e of vals) {
      if (e.kind === 'numeric') for (let i = 0; i < n; i++) { if (!Number.isFinite(e.d[i]!)) ok[i] = 0; }
      else for (let i = 0; i < n; i++) if (e.d[i]! < 0) ok[i] = 0;
    }
  }
  let m = 0;
  for (let i = 0; i < n; i++) m += ok[i]!;
  const rowIndex = new Int32Array(m);
  for (let i = 0, k = 0; i < n; i++) if (ok[i]) rowIndex[k++] = i;
  const pick = <T extends Float64Array | Int32Array>(d: T): T => {
    if (m === n) return d;
    const C = d.constructor as new (n: number) => T;
    const out = new C(m);
    for (let k = 0; k < m; k++) out[k] = d[rowIndex[k]!]!;
    return out;
  };
  return { n: m, columns: vals.map((e) => pick(e.d)), y: y0 ? pick(y0) : null, rowIndex, nMissing: n - m };
}
