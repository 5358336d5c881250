/**
 * rxLogisticRegression (MicrosoftML / revoscalepy microsoftml rx_logistic_regression):
 * binary or multinomial logistic regression by L-BFGS (OWL-QN when l1Weight > 0).
 *
 * Objective (as MicrosoftML / ML.NET's L-BFGS logistic regression: summed loss, biases not
 * regularised), in the normalised feature space:
 *   sum_i loss_i + l2Weight / 2 * ||W||^2 + l1Weight * ||W||_1
 * binary: loss = log(1 + exp(-(2y-1) (w.x + b))); multiClass: softmax cross-entropy with one
 * weight vector and bias per class. With l1Weight = 0 this is scikit-learn's
 * LogisticRegression(C = 1 / l2Weight) (its objective is C * sum loss + ||W||^2 / 2).
 *
 * Passes over the data go through the in-memory model matrix when it fits `cacheBytes`,
 * else each function evaluation re-reads the source chunk by chunk; the loss and gradient of
 * each block run in the native kernel (native/src/ml/logistic.cpp) over the thread budget.
 */
import { RxError } from '../errors.js';
import { accumulateXtwx, sweepSolve } from '../models/solve.js';
import { logisticLossGrad } from '../native/ml.js';
import { pnorm } from '../stats/distributions.js';
import type { TransformOptions } from '../expr/source.js';
import { argError, expectBoolean, expectNumber, expectOneOf, optional } from '../validate.js';
import { type MlData, type NormalizeMode, loadMlData, resolveNormalize } from './data.js';
import { minimizeLbfgs } from './lbfgs.js';
import { type CoefficientStat, RxMlLinearModel } from './model.js';
import { mulberry32 } from './rng.js';

export interface RxLogisticRegressionOptions extends TransformOptions {
  type?: 'binary' | 'multiClass';
  l2Weight?: number;
  l1Weight?: number;
  optTol?: number;
  memorySize?: number;
  /** Default 2147483647 (MicrosoftML): the tolerance stops training. */
  maxIterations?: number;
  /** Initial weights uniform in [-d/2, d/2] (default 0: all zero). */
  initWtsDiameter?: number;
  /** Keep the training statistics (count, deviances, AIC) in the model (default false). */
  showTrainingStats?: boolean;
  normalize?: NormalizeMode;
  /** Seed of the initial weights (with initWtsDiameter > 0). */
  seed?: number;
  /** Model-matrix memory budget in bytes (default 1 GiB); beyond it, every pass re-reads the data. */
  cacheBytes?: number;
  /** Accepted for API compatibility; JavaScript passes run on one thread. */
  trainThreads?: number;
}

/** Summed loss and gradient (no regularisation) of the logistic models at theta (K x p, class-major), natively per block. */
export async function logisticLoss(data: MlData, K: number, theta: Float64Array, grad: Float64Array | null): Promise<number> {
  const g = grad ?? new Float64Array(theta.length);
  g.fill(0);
  let loss = 0;
  await data.forEach(async (b) => {
    loss += await logisticLossGrad(b.X, b.y, K, theta, g);
  });
  return loss;
}

export async function rxLogisticRegression(formula: string, data: unknown, options: RxLogisticRegressionOptions = {}): Promise<RxMlLinearModel> {
  const learner = 'rxLogisticRegression';
  if (typeof options !== 'object' || options === null) throw argError('an options object', 'options', options);
  const type = optional(options.type, 'binary', (v) => expectOneOf(v, ['binary', 'multiClass'] as const, 'type'));
  const l2 = optional(options.l2Weight, 1, (v) => expectNumber(v, 'l2Weight', { min: 0 }));
  const l1 = optional(options.l1Weight, 1, (v) => expectNumber(v, 'l1Weight', { min: 0 }));
  const optTol = optional(options.optTol, 1e-7, (v) => expectNumber(v, 'optTol', { min: 0 }));
  const memorySize = optional(options.memorySize, 20, (v) => expectNumber(v, 'memorySize', { min: 1, integer: true }));
  const maxIterations = optional(options.maxIterations, 2147483647, (v) => expectNumber(v, 'maxIterations', { min: 1, integer: true }));
  const initWtsDiameter = optional(options.initWtsDiameter, 0, (v) => expectNumber(v, 'initWtsDiameter', { min: 0 }));
  const showTrainingStats = optional(options.showTrainingStats, false, (v) => expectBoolean(v, 'showTrainingStats'));
  const normalizeMode = optional(options.normalize, 'auto', (v) => expectOneOf(v, ['auto', 'no', 'yes', 'warn'] as const, 'normalize'));
  const seed = optional(options.seed, 1, (v) => expectNumber(v, 'seed', { integer: true }));
  if (options.cacheBytes !== undefined) expectNumber(options.cacheBytes, 'cacheBytes', { min: 0 });
  if (options.trainThreads !== undefined) expectNumber(options.trainThreads, 'trainThreads', { min: 1, integer: true });
  const normalize = resolveNormalize(normalizeMode, true, learner);
  const { type: _t, l2Weight: _a, l1Weight: _b, optTol: _c, memorySize: _d, maxIterations: _e, initWtsDiameter: _f, showTrainingStats: _g, normalize: _h, seed: _s, trainThreads: _tt, ...rest } = options;
  const md = await loadMlData(formula, data, type, learner, { ...rest, normalize, needCache: false });
  const p = md.p;
  const K = type === 'binary' ? 1 : md.design.classes!.length;
  const bias = md.design.interceptCol;
  const penalised = new Uint8Array(K * p).fill(1);
  if (bias >= 0) for (let k = 0; k < K; k++) penalised[k * p + bias] = 0;
  const x0 = new Float64Array(K * p);
  if (initWtsDiameter > 0) {
    const rand = mulberry32(seed);
    for (let i = 0; i < x0.length; i++) x0[i] = (rand() - 0.5) * initWtsDiameter;
  }
  const fn = async (theta: Float64Array, grad: Float64Array): Promise<number> => {
    let f = await logisticLoss(md, K, theta, grad);
    if (l2 > 0)
      for (let i = 0; i < theta.length; i++)
        if (penalised[i]) {
          f += 0.5 * l2 * theta[i]! * theta[i]!;
          grad[i]! += l2 * theta[i]!;
        }
    return f;
  };
  const res = await minimizeLbfgs(fn, x0, { m: memorySize, tol: optTol, maxIterations, l1, penalised });
  if (!res.x.every(Number.isFinite)) throw new RxError('RX_CONVERGENCE', `${learner}: the optimisation diverged (non-finite weights)`);
  const weights: number[][] = [];
  for (let k = 0; k < K; k++) weights.push(Array.from({ length: p }, (_, j) => res.x[k * p + j]! * md.scale[j]!));
  const stats: Record<string, number | boolean> = { iterations: res.iterations, converged: res.converged, objective: res.value, trainingRows: md.n, missingRows: md.nMissing };
  if (showTrainingStats) {
    const loss = await logisticLoss(md, K, res.x, null);
    const counts = new Float64Array(type === 'binary' ? 2 : K);
    await md.forEach((b) => {
      for (let i = 0; i < b.n; i++) counts[b.y[i]!]!++;
    });
    let nullDev = 0;
    for (const c of counts) if (c > 0) nullDev -= 2 * c * Math.log(c / md.n);
    let nonZero = 0;
    for (const v of res.x) if (v !== 0) nonZero++;
    stats.residualDeviance = 2 * loss;
    stats.nullDeviance = nullDev;
    stats.aic = 2 * loss + 2 * nonZero;
    stats.nonZeroWeights = nonZero;
  }
  const coefficientStats = showTrainingStats && type === 'binary' ? await coefficientStatistics(md, res.x, l2, penalised) : undefined;
  return new RxMlLinearModel({
    kind: learner,
    type,
    design: md.design.spec,
    classes: md.design.classes,
    labelKind: md.design.labelKind,
    interceptCol: bias,
    weights,
    calibrator: null,
    params: { type, l2Weight: l2, l1Weight: l1, optTol, memorySize, maxIterations, initWtsDiameter, showTrainingStats, normalize: normalizeMode, seed },
    stats,
    ...(coefficientStats ? { coefficientStats } : {}),
  });
}

/**
 * Standard errors of the binary model's non-zero weights (as ML.NET's LR training statistics):
 * the inverse of the penalised Hessian X'WX + l2Weight I (W = p(1-p); bias unpenalised) at the
 * optimum, restricted to the non-zero weights, mapped to the raw scale; z = w / se and
 * Pr(>|z|) from the normal distribution.
 */
async function coefficientStatistics(md: MlData, theta: Float64Array, l2: number, penalised: Uint8Array): Promise<CoefficientStat[]> {
  const p = md.p;
  const keep: number[] = [];
  for (let j = 0; j < p; j++) if (theta[j] !== 0) keep.push(j);
  const q = keep.length;
  const xtx = new Float64Array(q * q);
  const xty = new Float64Array(q);
  const acc = new Float64Array(3);
  await md.forEach((b) => {
    const Xc = new Float64Array(b.n * q);
    const w = new Float64Array(b.n);
    for (let i = 0; i < b.n; i++) {
      let e = 0;
      for (let j = 0; j < p; j++) e += theta[j]! * b.X[i * p + j]!;
      const pr = 1 / (1 + Math.exp(-e));
      w[i] = pr * (1 - pr);
      for (let k = 0; k < q; k++) Xc[k * b.n + i] = b.X[i * p + keep[k]!]!;
    }
    accumulateXtwx(Xc, b.n, q, w, new Float64Array(b.n), xtx, xty, acc);
  });
  for (let k = 0; k < q; k++) if (penalised[keep[k]!]) xtx[k * q + k]! += l2;
  const sol = sweepSolve(xtx, new Float64Array(q), q, 1e-12, 0);
  const spec = md.design.spec;
  return keep.map((j, k) => {
    const s = md.scale[j]!;
    const estimate = theta[j]! * s;
    const stdError = sol.aliased[k] ? Number.NaN : s * Math.sqrt(sol.inverse[k * q + k]!);
    const zValue = estimate / stdError;
    const c = spec.coefs[spec.xCols[j]!]!;
    return { name: c.term === -1 ? '(Bias)' : c.name, estimate, stdError, zValue, pValue: 2 * pnorm(-Math.abs(zValue)) };
  });
}
