/**
 * rxCovCor / rxCov / rxCor / rxSSCP: covariance, correlation or SSCP matrix of numeric
 * variables in one chunked pass.
 *
 * Stability: each chunk is centred at its own (weighted) means (corrected two-pass) and
 * its centred cross-product X'WX comes from the native kernel (xtwxAccumulate, BLAS);
 * chunk / worker results are merged with the multivariate Chan update
 *     C = Ca + Cb + (mb - ma)(mb - ma)' Wa Wb / W,
 * so large offsets (values near 1e9 with small spread) keep their digits. Rows with a
 * missing value in any variable (or a missing / negative weight) are dropped (listwise).
 */
import { registerAccumulator } from '../compute/pema.js';
import type { AccumulatorDef } from '../compute/pema.js';
import { RxError } from '../errors.js';
import { xtwxAccumulate } from '../native/linalg.js';
import { expectOneOf, expectString } from '../validate.js';
import { columnInfo, isNumericType, numericOf, weightsOf } from './core.js';
import { formatNumbers, layoutTable } from './format.js';
import { type CommonOptions, dataLabel, runAcc, sourceOf } from './run.js';
import { functionTermNames, parseSummaryFormula, resolveTerms } from './terms.js';

export interface CovCorSpec {
  vars: string[];
  weights?: string;
}

interface CovCorState {
  /** Rows used (unweighted), rows dropped. */
  n: number;
  missing: number;
  /** Sum of weights. */
  w: number;
  /** Shift (first complete row) and mean relative to it. */
  shift: Float64Array;
  mean: Float64Array;
  /** p x p centred cross-products (column-major, full). */
  c: Float64Array;
  shiftSet: boolean;
}

function combine(a: CovCorState, nb: number, wb: number, shiftB: Float64Array, meanB: Float64Array, cb: Float64Array): void {
  const p = a.mean.length;
  if (nb === 0) return;
  if (!a.shiftSet) {
    a.shift.set(shiftB);
    a.shiftSet = true;
  }
  const mb = new Float64Array(p);
  for (let j = 0; j < p; j++) mb[j] = meanB[j]! + (shiftB[j]! - a.shift[j]!);
  if (a.n === 0) {
    a.n = nb;
    a.w = wb;
    a.mean.set(mb);
    a.c.set(cb);
    return;
  }
  const W = a.w + wb;
  const f = W > 0 ? (a.w * wb) / W : 0;
  const d = new Float64Array(p);
  for (let j = 0; j < p; j++) d[j] = mb[j]! - a.mean[j]!;
  for (let j = 0; j < p; j++) for (let i = 0; i < p; i++) a.c[i + j * p] = a.c[i + j * p]! + cb[i + j * p]! + d[i]! * d[j]! * f;
  for (let j = 0; j < p; j++) a.mean[j] = a.mean[j]! + (W > 0 ? (d[j]! * wb) / W : 0);
  a.n += nb;
  a.w = W;
}

/** Per-thread scratch of process(): complete-row indices and the centred block. */
const scratch = { rows: new Int32Array(0), X: new Float64Array(0) };

export const covCorAccumulator: AccumulatorDef<CovCorSpec, CovCorState, CovCorState> = registerAccumulator<CovCorSpec, CovCorState, CovCorState>({
  name: 'rxCovCor',
  columns(spec) {
    return spec.weights ? [...spec.vars, spec.weights] : [...spec.vars];
  },
  init(spec) {
    const p = spec.vars.length;
    return { n: 0, missing: 0, w: 0, shift: new Float64Array(p), mean: new Float64Array(p), c: new Float64Array(p * p), shiftSet: false };
  },
  process(spec, st, chunk) {
    const p = spec.vars.length;
    const n = chunk.numRows;
    const xs = spec.vars.map((v) => numericOf(chunk, v, v));
    const wAll = weightsOf(chunk, spec.weights);
    // complete rows (listwise); none dropped is the common case
    const rows = scratch.rows.length >= n ? scratch.rows : (scratch.rows = new Int32Array(n));
    let m = 0;
    for (let i = 0; i < n; i++) {
      let ok = !wAll || wAll[i]! >= 0;
      for (let j = 0; ok && j < p; j++) if (Number.isNaN(xs[j]![i])) ok = false;
      if (ok) rows[m++] = i;
    }
    st.missing += n - m;
    if (m === 0) return st;
    const dense = m === n;
    if (!st.shiftSet) {
      for (let j = 0; j < p; j++) st.shift[j] = xs[j]![rows[0]!]!;
      st.shiftSet = true;
    }
    let w: Float64Array | null = null;
    if (wAll) {
      w = new Float64Array(m);
      for (let k = 0; k < m; k++) w[k] = wAll[rows[k]!]!;
    }
    let W = 0;
    if (w) for (let k = 0; k < m; k++) W += w[k]!;
    else W = m;
    // centred block: X[k + j m] = x - shift - chunk mean (corrected two-pass), in a scratch
    // buffer kept across chunks (the kernel reads it synchronously)
    if (scratch.X.length < m * p) scratch.X = new Float64Array(m * p);
    const X = scratch.X.length === m * p ? scratch.X : scratch.X.subarray(0, m * p);
    const mean = new Float64Array(p);
    for (let j = 0; j < p; j++) {
      const x = xs[j]!;
      const sh = st.shift[j]!;
      const o = j * m;
      let s = 0;
      if (dense) {
        for (let k = 0; k < m; k++) X[o + k] = x[k]! - sh;
      } else {
        for (let k = 0; k < m; k++) X[o + k] = x[rows[k]!]! - sh;
      }
      if (w) for (let k = 0; k < m; k++) s += w[k]! * X[o + k]!;
      else for (let k = 0; k < m; k++) s += X[o + k]!;
      let mu = W > 0 ? s / W : 0;
      let corr = 0;
      if (w) for (let k = 0; k < m; k++) corr += w[k]! * (X[o + k]! - mu);
      else for (let k = 0; k < m; k++) corr += X[o + k]! - mu;
      mu += W > 0 ? corr / W : 0;
      for (let k = 0; k < m; k++) X[o + k] = X[o + k]! - mu;
      mean[j] = mu;
    }
    const c = new Float64Array(p * p);
    xtwxAccumulate(X, m, p, w, null, c, new Float64Array(p), new Float64Array(3));
    combine(st, m, W, st.shift, mean, c);
    return st;
  },
  merge(_spec, a, b) {
    a.missing += b.missing;
    combine(a, b.n, b.w, b.shift, b.mean, b.c);
    return a;
  },
  finalize(_spec, st) {
    return { done: true, result: st };
  },
});

export type CovCorType = 'Cov' | 'Cor' | 'SSCP';

export interface RxCovCorOptions extends CommonOptions {
  type?: CovCorType;
  fweights?: string;
  pweights?: string;
  dataName?: string;
}

export class RxCovCorResult {
  readonly type: CovCorType;
  /** Row/column names (SSCP: '(Intercept)' first). */
  readonly names: string[];
  /** The matrix, row-major (number[][]). */
  readonly CovCor: number[][];
  readonly StdDevs: number[];
  readonly Means: number[];
  readonly validObs: number;
  readonly missingObs: number;
  readonly sumOfWeights: number;
  /** Variables left out of a correlation matrix because their variance is zero. */
  readonly droppedVars: string[];
  readonly formula: string;
  readonly dataName: string;
  constructor(init: Omit<RxCovCorResult, 'toString'>) {
    this.type = init.type;
    this.names = init.names;
    this.CovCor = init.CovCor;
    this.StdDevs = init.StdDevs;
    this.Means = init.Means;
    this.validObs = init.validObs;
    this.missingObs = init.missingObs;
    this.sumOfWeights = init.sumOfWeights;
    this.droppedVars = init.droppedVars;
    this.formula = init.formula;
    this.dataName = init.dataName;
  }
  toString(): string {
    const out = ['Call:', `rxCovCor(formula = ${this.formula}, data = ${this.dataName}, type = "${this.type}")`, ''];
    out.push(`${this.type === 'Cov' ? 'Covariance' : this.type === 'Cor' ? 'Correlation' : 'SSCP'} matrix (${this.validObs} valid observations, ${this.missingObs} missing)`);
    if (this.droppedVars.length) out.push(`Dropped (constant) variables: ${this.droppedVars.join(', ')}`);
    out.push('');
    const cols = this.names.map((_, j) => formatNumbers(this.CovCor.map((r) => r[j]!)));
    out.push(layoutTable(['', ...this.names], this.names.map((nm, i) => [nm, ...cols.map((c) => c[i]!)]), ['l', ...this.names.map(() => 'r' as const)], '', ['l', ...this.names.map(() => 'r' as const)]));
    return out.join('\n');
  }
}

export async function rxCovCor(formula: string, data: unknown, options: RxCovCorOptions = {}): Promise<RxCovCorResult> {
  expectString(formula, 'formula');
  const type = options.type === undefined ? 'Cor' : expectOneOf(options.type, ['Cov', 'Cor', 'SSCP'] as const, 'type');
  const f = parseSummaryFormula(formula);
  const source = sourceOf(data, options, f);
  const schema = await source.schema();
  const vars: string[] = [];
  const skip = functionTermNames(f);
  const dotCols = schema.columns.filter((c) => isNumericType(c.type) && c.name !== (options.fweights ?? options.pweights) && !skip.has(c.name)).map((c) => c.name);
  for (const t of resolveTerms(f, dotCols)) {
    if (t.vars.length !== 1 || t.vars[0]!.asFactor) throw new RxError('RX_FORMULA', `rxCovCor takes plain numeric variables; term "${t.label}" is not one`, { text: t.label });
    const v = t.vars[0]!;
    const info = columnInfo(schema, v.name, t.label);
    if (!isNumericType(info.type)) throw new RxError('RX_FORMULA', `rxCovCor needs numeric variables but "${v.name}" is ${info.type}`, { column: v.name, text: t.label });
    vars.push(v.name);
  }
  if (vars.length === 0) throw new RxError('RX_FORMULA', `No numeric variables in "${formula}"`, { text: formula });
  if (options.fweights !== undefined && options.pweights !== undefined) throw new RxError('RX_ARG', 'Give fweights or pweights, not both');
  const spec: CovCorSpec = { vars };
  const wname = options.fweights ?? options.pweights;
  if (wname !== undefined) {
    if (!isNumericType(columnInfo(schema, wname, wname).type)) throw new RxError('RX_FORMULA', `Weight variable "${wname}" must be numeric`, { column: wname });
    spec.weights = wname;
  }
  const st = await runAcc(covCorAccumulator, spec, source, options, true);
  const p = vars.length;
  const W = st.w;
  const means = vars.map((_, j) => (st.n > 0 ? st.shift[j]! + st.mean[j]! : Number.NaN));
  const cov = (i: number, j: number) => (W > 1 ? st.c[i + j * p]! / (W - 1) : Number.NaN);
  const sds = vars.map((_, j) => Math.sqrt(cov(j, j)));
  let names = [...vars];
  let M: number[][];
  const dropped: string[] = [];
  if (type === 'SSCP') {
    names = ['(Intercept)', ...vars];
    M = names.map((_, i) =>
      names.map((__, j) => {
        if (i === 0 && j === 0) return W;
        if (i === 0) return W * means[j - 1]!;
        if (j === 0) return W * means[i - 1]!;
        return st.c[i - 1 + (j - 1) * p]! + W * means[i - 1]! * means[j - 1]!;
      }),
    );
  } else if (type === 'Cov') {
    M = vars.map((_, i) => vars.map((__, j) => cov(i, j)));
  } else {
    const keep = vars.map((v, j) => {
      const ok = st.c[j + j * p]! > 0;
      if (!ok) dropped.push(v);
      return ok;
    });
    const idx = vars.map((_, j) => j).filter((j) => keep[j]);
    names = idx.map((j) => vars[j]!);
    M = idx.map((i) => idx.map((j) => (i === j ? 1 : Math.max(-1, Math.min(1, st.c[i + j * p]! / Math.sqrt(st.c[i + i * p]! * st.c[j + j * p]!))))));
  }
  return new RxCovCorResult({
    type,
    names,
    CovCor: M,
    StdDevs: sds,
    Means: means,
    validObs: st.n,
    missingObs: st.missing,
    sumOfWeights: W,
    droppedVars: dropped,
    formula: f.text,
    dataName: options.dataName ?? dataLabel(source),
  });
}

export function rxCov(formula: string, data: unknown, options: Omit<RxCovCorOptions, 'type'> = {}): Promise<RxCovCorResult> {
  return rxCovCor(formula, data, { ...options, type: 'Cov' });
}
export function rxCor(formula: string, data: unknown, options: Omit<RxCovCorOptions, 'type'> = {}): Promise<RxCovCorResult> {
  return rxCovCor(formula, data, { ...options, type: 'Cor' });
}
export function rxSSCP(formula: string, data: unknown, options: Omit<RxCovCorOptions, 'type'> = {}): Promise<RxCovCorResult> {
  return rxCovCor(formula, data, { ...options, type: 'SSCP' });
}
