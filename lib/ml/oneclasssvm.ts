/**
 * rxOneClassSvm (MicrosoftML / revoscalepy microsoftml rx_one_class_svm): libsvm's one-class
 * SVM (Schölkopf et al. 2001), solved as libsvm does: SMO with second-order working-set
 * selection (Fan, Chen & Lin 2005) on
 *   min 1/2 a'Qa  s.t.  0 <= a_i <= 1, sum a_i = nu n,     Q_ij = K(x_i, x_j)
 * from libsvm's starting point, stopping when the maximal KKT violation < epsilon; rho as
 * libsvm's calculate_rho. Kernel rows are cached (LRU) within cacheSize MB. libsvm's shrinking
 * only speeds the solver up (the solution is the same), so `shrink` is accepted and recorded
 * but this solver always works on the full set.
 *
 * Score = sum_i a_i K(sv_i, x) - rho (libsvm / scikit-learn decision value: negative = outlier).
 * Kernels (MicrosoftML's rbfKernel, linearKernel, polynomialKernel, sigmoidKernel; gamma
 * default 1 / number of features, as libsvm): rbf exp(-gamma |x - y|^2), linear x.y,
 * polynomial (gamma x.y + coef0)^degree, sigmoid tanh(gamma x.y + coef0). Features are
 * MinMax-normalised by default (normalize = 'auto').
 */
import type { Chunk } from '../data/types.js';
import { RxError } from '../errors.js';
import type { TransformOptions } from '../expr/source.js';
import type { DesignSpec } from '../models/design.js';
import { buildDesign } from '../models/design.js';
import { OnnxGraph } from '../onnx/builder.js';
import type { ScoreColumns } from '../scoring/registry.js';
import { argError, expectBoolean, expectNumber, expectOneOf, optional } from '../validate.js';
import { type NormalizeMode, loadMlData, resolveNormalize } from './data.js';
import { type MlPredictOptions, predictChunks } from './model.js';
import { designTensor } from './onnx.js';

export type SvmKernelName = 'rbf' | 'linear' | 'polynomial' | 'sigmoid';

export interface SvmKernel {
  kind: SvmKernelName;
  /** rbf, polynomial, sigmoid (default 1 / number of features). */
  gamma?: number;
  /** polynomial, sigmoid (default 0). */
  coef0?: number;
  /** polynomial (default 3). */
  degree?: number;
}

export interface RxOneClassSvmOptions extends TransformOptions {
  /** Kernel name or object (default rbf). */
  kernel?: SvmKernelName | SvmKernel;
  nu?: number;
  /** Stopping tolerance (libsvm's eps, default 0.001). */
  epsilon?: number;
  /** Kernel cache in MB (default 100). */
  cacheSize?: number;
  shrink?: boolean;
  normalize?: NormalizeMode;
  /** Iteration cap of the SMO solver (default max(10^7, 100 n)). */
  maxIterations?: number;
  cacheBytes?: number;
}

export interface OneClassSvmData {
  kind: 'rxOneClassSvm';
  design: DesignSpec;
  kernel: Required<SvmKernel>;
  /** Per X column: scale applied before the kernel (0 for the intercept column). */
  scale: number[];
  /** Support vectors (scaled space), row-major nSv x p. */
  sv: number[];
  nSv: number;
  p: number;
  alpha: number[];
  rho: number;
  params: Record<string, unknown>;
  stats: Record<string, number | boolean>;
}

function kernelFn(k: Required<SvmKernel>): (dot: number, xx: number, yy: number) => number {
  switch (k.kind) {
    case 'linear':
      return (d) => d;
    case 'polynomial':
      return (d) => (k.gamma * d + k.coef0) ** k.degree;
    case 'sigmoid':
      return (d) => Math.tanh(k.gamma * d + k.coef0);
    default:
      return (d, xx, yy) => Math.exp(-k.gamma * Math.max(0, xx + yy - 2 * d));
  }
}

export class RxOneClassSvmModel {
  readonly modelKind = 'rxOneClassSvm';
  readonly isMlModel = true;
  constructor(readonly data: OneClassSvmData) {}
  /** The call, the kernel, the support vectors and the training statistics. */
  toString(): string {
    const d = this.data;
    const lines = [`Call: rxOneClassSvm(formula = ${d.design.formula}, kernel = '${d.kernel.kind}')`, `Support vectors: ${d.nSv}; rho: ${d.rho}`];
    for (const [k, v] of Object.entries(d.stats)) lines.push(`${k}: ${v}`);
    return lines.join('\n');
  }
  get design(): DesignSpec {
    return this.data.design;
  }

  scoreChunk(chunk: Chunk, checkLevels = true): ScoreColumns {
    const d = this.data;
    const dc = buildDesign(d.design, chunk, { needY: false, checkLevels });
    const out = new Float64Array(chunk.numRows).fill(Number.NaN);
    const kf = kernelFn(d.kernel);
    const p = d.p;
    const svn = new Float64Array(d.nSv);
    for (let s = 0; s < d.nSv; s++) {
      let q = 0;
      for (let j = 0; j < p; j++) q += d.sv[s * p + j]! ** 2;
      svn[s] = q;
    }
    const x = new Float64Array(p);
    for (let r = 0; r < dc.n; r++) {
      let xx = 0;
      for (let j = 0; j < p; j++) {
        x[j] = dc.X[j * dc.n + r]! * d.scale[j]!;
        xx += x[j]! * x[j]!;
      }
      let f = -d.rho;
      for (let s = 0; s < d.nSv; s++) {
        let dot = 0;
        for (let j = 0; j < p; j++) dot += x[j]! * d.sv[s * p + j]!;
        f += d.alpha[s]! * kf(dot, xx, svn[s]!);
      }
      out[dc.rowIndex[r]!] = f;
    }
    return { Score: out };
  }

  predict(data: unknown, opts: MlPredictOptions = {}): Promise<Record<string, ArrayLike<unknown>>> {
    return predictChunks(this, this.data.design, data, opts, (c) => this.scoreChunk(c, opts.checkFactorLevels ?? true));
  }

  /** ONNX in double precision with plain ops: scaled X, X SV' (+ squared norms for rbf), kernel, alpha, - rho. */
  toOnnx(opts: { opset?: number } = {}): Uint8Array {
    const d = this.data;
    const g = new OnnxGraph('rxOneClassSvm');
    const { X: X0, des } = designTensor(g, d.design);
    const p = d.p;
    const X = g.op('Mul', [X0, g.constant('scale', { type: 'double', dims: [1, p], data: d.scale })]);
    const svT = new Array<number>(p * d.nSv);
    for (let s = 0; s < d.nSv; s++) for (let j = 0; j < p; j++) svT[j * d.nSv + s] = d.sv[s * p + j]!;
    const dot = g.op('MatMul', [X, g.constant('svT', { type: 'double', dims: [p, d.nSv], data: svT })]);
    const k = d.kernel;
    let K: string;
    if (k.kind === 'linear') K = dot;
    else if (k.kind === 'polynomial') K = g.op('Pow', [g.op('Add', [g.op('Mul', [dot, des.dbl(k.gamma)]), des.dbl(k.coef0)]), des.dbl(k.degree)]);
    else if (k.kind === 'sigmoid') K = g.op('Tanh', [g.op('Add', [g.op('Mul', [dot, des.dbl(k.gamma)]), des.dbl(k.coef0)])]);
    else {
      const xx = g.op('ReduceSum', [g.op('Mul', [X, X]), g.constant('axes', { type: 'int64', dims: [1], data: [1] })], { keepdims: { int: 1 } });
      const svn = Array.from({ length: d.nSv }, (_, s) => {
        let q = 0;
        for (let j = 0; j < p; j++) q += d.sv[s * p + j]! ** 2;
        return q;
      });
      const dist = g.op('Add', [g.op('Sub', [xx, g.op('Mul', [dot, des.dbl(2)])]), g.constant('svn', { type: 'double', dims: [1, d.nSv], data: svn })]);
      K = g.op('Exp', [g.op('Mul', [g.op('Max', [dist, des.dbl(0)]), des.dbl(-k.gamma)])]);
    }
    const f = g.op('Sub', [g.op('MatMul', [K, g.constant('alpha', { type: 'double', dims: [d.nSv, 1], data: d.alpha })]), des.dbl(d.rho)]);
    g.op('Identity', [f], undefined, undefined, 'Score');
    g.output({ name: 'Score', type: 'double', shape: [null, 1] });
    return g.toBytes({ opset: opts.opset ?? 21, docString: `rxscale rxOneClassSvm (${k.kind}): ${d.design.formula}`, metadata: { rxscale_kind: 'rxOneClassSvm', formula: d.design.formula } });
  }

  toJSON(): OneClassSvmData {
    return this.data;
  }
  static fromJSON(j: OneClassSvmData): RxOneClassSvmModel {
    return new RxOneClassSvmModel(j);
  }
}

function resolveKernel(k: unknown, nFeatures: number): Required<SvmKernel> {
  const obj = (typeof k === 'string' ? { kind: k } : (k ?? { kind: 'rbf' })) as SvmKernel;
  if (typeof obj !== 'object' || obj === null) throw argError("a kernel name or object ({ kind: 'rbf' | 'linear' | 'polynomial' | 'sigmoid', ... })", 'kernel', k);
  const kind = expectOneOf(obj.kind, ['rbf', 'linear', 'polynomial', 'sigmoid'] as const, 'kernel');
  return {
    kind,
    gamma: optional(obj.gamma, 1 / Math.max(1, nFeatures), (v) => expectNumber(v, 'kernel.gamma', { min: 0 })),
    coef0: optional(obj.coef0, 0, (v) => expectNumber(v, 'kernel.coef0')),
    degree: optional(obj.degree, 3, (v) => expectNumber(v, 'kernel.degree', { min: 1, integer: true })),
  };
}

const TAU = 1e-12;

export async function rxOneClassSvm(formula: string, data: unknown, options: RxOneClassSvmOptions = {}): Promise<RxOneClassSvmModel> {
  const learner = 'rxOneClassSvm';
  if (typeof options !== 'object' || options === null) throw argError('an options object', 'options', options);
  const nu = optional(options.nu, 0.1, (v) => expectNumber(v, 'nu', { min: Number.MIN_VALUE, max: 1 }));
  const eps = optional(options.epsilon, 0.001, (v) => expectNumber(v, 'epsilon', { min: Number.MIN_VALUE }));
  const cacheSize = optional(options.cacheSize, 100, (v) => expectNumber(v, 'cacheSize', { min: 0 }));
  const shrink = optional(options.shrink, true, (v) => expectBoolean(v, 'shrink'));
  const normalizeMode = optional(options.normalize, 'auto', (v) => expectOneOf(v, ['auto', 'no', 'yes', 'warn'] as const, 'normalize'));
  if (options.cacheBytes !== undefined) expectNumber(options.cacheBytes, 'cacheBytes', { min: 0 });
  if (options.kernel !== undefined) resolveKernel(options.kernel, 1);
  const normalize = resolveNormalize(normalizeMode, true, learner);
  const { kernel: _k, nu: _nu, epsilon: _e, cacheSize: _c, shrink: _s, normalize: _n, maxIterations: _m, ...rest } = options;
  const md = await loadMlData(formula, data, 'anomaly', learner, { ...rest, normalize, needCache: true });
  const { n, p } = md;
  const ic = md.design.interceptCol;
  const kernel = resolveKernel(options.kernel, ic >= 0 ? p - 1 : p);
  const maxIter = optional(options.maxIterations, Math.max(10_000_000, 100 * n), (v) => expectNumber(v, 'maxIterations', { min: 1, integer: true }));
  // the cached X is already scaled; the intercept column takes no part in the kernel
  const X = md.cached!.X;
  if (ic >= 0) for (let i = 0; i < n; i++) X[i * p + ic] = 0;
  const scale = Array.from(md.scale, (s, j) => (j === ic ? 0 : s));
  const sq = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let q = 0;
    for (let j = 0; j < p; j++) q += X[i * p + j]! ** 2;
    sq[i] = q;
  }
  const kf = kernelFn(kernel);
  const kij = (i: number, j: number): number => {
    let dot = 0;
    const a = i * p;
    const b = j * p;
    for (let t = 0; t < p; t++) dot += X[a + t]! * X[b + t]!;
    return kf(dot, sq[i]!, sq[j]!);
  };
  const maxRows = Math.max(2, Math.floor((cacheSize * (1 << 20)) / (8 * n)));
  const cache = new Map<number, Float64Array>();
  const row = (i: number): Float64Array => {
    const hit = cache.get(i);
    if (hit) {
      cache.delete(i);
      cache.set(i, hit);
      return hit;
    }
    const r = new Float64Array(n);
    for (let j = 0; j < n; j++) r[j] = kij(i, j);
    if (cache.size >= maxRows) cache.delete(cache.keys().next().value as number);
    cache.set(i, r);
    return r;
  };
  const QD = Float64Array.from({ length: n }, (_, i) => kij(i, i));
  // libsvm's starting point: the first floor(nu n) alphas at 1, the next one the remainder
  const alpha = new Float64Array(n);
  const nOnes = Math.floor(nu * n);
  for (let i = 0; i < nOnes && i < n; i++) alpha[i] = 1;
  if (nOnes < n) alpha[nOnes] = nu * n - nOnes;
  const G = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (alpha[i] === 0) continue;
    const Qi = row(i);
    for (let j = 0; j < n; j++) G[j]! += alpha[i]! * Qi[j]!;
  }
  let iter = 0;
  let converged = false;
  while (iter < maxIter) {
    // working set: i maximises -G over alpha < 1, j minimises the second-order objective over alpha > 0
    let Gmax = Number.NEGATIVE_INFINITY;
    let gi = -1;
    for (let t = 0; t < n; t++)
      if (alpha[t]! < 1 && -G[t]! >= Gmax) {
        Gmax = -G[t]!;
        gi = t;
      }
    let Gmax2 = Number.NEGATIVE_INFINITY;
    let gj = -1;
    let best = Number.POSITIVE_INFINITY;
    const Qi = gi >= 0 ? row(gi) : null;
    for (let t = 0; t < n; t++) {
      if (!(alpha[t]! > 0)) continue;
      if (G[t]! >= Gmax2) Gmax2 = G[t]!;
      const diff = Gmax + G[t]!;
      if (diff > 0 && Qi) {
        let quad = QD[gi]! + QD[t]! - 2 * Qi[t]!;
        if (quad <= 0) quad = TAU;
        const obj = -(diff * diff) / quad;
        if (obj <= best) {
          best = obj;
          gj = t;
        }
      }
    }
    if (Gmax + Gmax2 < eps || gj < 0 || gi < 0) {
      converged = true;
      break;
    }
    iter++;
    const i = gi;
    const j = gj;
    const Qj = row(j);
    const Qrow = row(i);
    const oldI = alpha[i]!;
    const oldJ = alpha[j]!;
    let quad = QD[i]! + QD[j]! - 2 * Qrow[j]!;
    if (quad <= 0) quad = TAU;
    const delta = (G[i]! - G[j]!) / quad;
    const sum = oldI + oldJ;
    let ai = oldI - delta;
    let aj = oldJ + delta;
    if (sum > 1) {
      if (ai > 1) {
        ai = 1;
        aj = sum - 1;
      }
    } else if (aj < 0) {
      aj = 0;
      ai = sum;
    }
    if (sum > 1) {
      if (aj > 1) {
        aj = 1;
        ai = sum - 1;
      }
    } else if (ai < 0) {
      ai = 0;
      aj = sum;
    }
    alpha[i] = ai;
    alpha[j] = aj;
    const di = ai - oldI;
    const dj = aj - oldJ;
    for (let t = 0; t < n; t++) G[t]! += Qrow[t]! * di + Qj[t]! * dj;
  }
  // rho (libsvm calculate_rho with y = +1)
  let ub = Number.POSITIVE_INFINITY;
  let lb = Number.NEGATIVE_INFINITY;
  let nFree = 0;
  let sumFree = 0;
  for (let t = 0; t < n; t++) {
    if (alpha[t]! >= 1) lb = Math.max(lb, G[t]!);
    else if (alpha[t]! <= 0) ub = Math.min(ub, G[t]!);
    else {
      nFree++;
      sumFree += G[t]!;
    }
  }
  const rho = nFree > 0 ? sumFree / nFree : (ub + lb) / 2;
  const sv: number[] = [];
  const alphaSv: number[] = [];
  for (let t = 0; t < n; t++)
    if (alpha[t]! > 0) {
      for (let j = 0; j < p; j++) sv.push(X[t * p + j]!);
      alphaSv.push(alpha[t]!);
    }
  if (!Number.isFinite(rho)) throw new RxError('RX_CONVERGENCE', `${learner}: the solver produced a non-finite offset`);
  let obj = 0;
  for (let t = 0; t < n; t++) obj += 0.5 * alpha[t]! * G[t]!;
  return new RxOneClassSvmModel({
    kind: 'rxOneClassSvm',
    design: md.design.spec,
    kernel,
    scale,
    sv,
    nSv: alphaSv.length,
    p,
    alpha: alphaSv,
    rho,
    params: { kernel, nu, epsilon: eps, cacheSize, shrink, normalize: normalizeMode, maxIterations: maxIter },
    stats: { iterations: iter, converged, objective: obj, supportVectors: alphaSv.length, trainingRows: n, missingRows: md.nMissing },
  });
}
