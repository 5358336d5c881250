/**
 * rxFastLinear (MicrosoftML / revoscalepy microsoftml rx_fast_linear): linear binary
 * classification and regression by stochastic dual coordinate ascent (Shalev-Shwartz &
 * Zhang 2013, with the proximal step for the L1 term), stopping on the relative duality gap.
 *
 * Primal objective, in the normalised feature space (the bias is an implicit constant feature,
 * L2-regularised, not L1):
 *   P(w) = (1/n) sum_i loss(w.x_i, y_i) + l2Weight / 2 ||w||^2 + l1Weight ||w_features||_1
 * Losses: binary logLoss (default), hingeLoss, smoothHingeLoss (smoothing 1); regression
 * squaredLoss. Dual: D(a) = (1/n) sum_i -loss*(-a_i) - l2Weight / 2 ||w(a)||^2 with
 * w(a) = prox(v), v = (1 / (l2Weight n)) sum_i a_i x_i. Training stops when
 * (P - D) / |P| < convergenceTolerance (checked every `checkFrequency` epochs) or after
 * maxIterations epochs.
 *
 * Defaults when not given (as TLC's auto-tuning on small data): l2Weight = 10 / n (reproduces TLC's
 * "Auto-tuning parameters: L2 = 0.01464129" on 683 rows), l1Weight = 0, maxIterations = 100
 * (the duality gap normally stops earlier). Binary models trained with a hinge loss get a
 * Platt calibrator (Probability = sigmoid(a Score + b) fitted on the training scores).
 */
import { RxError } from '../errors.js';
import type { TransformOptions } from '../expr/source.js';
import { argError, expectBoolean, expectNumber, expectOneOf, optional } from '../validate.js';
import { type NormalizeMode, loadMlData, resolveNormalize } from './data.js';
import { RxMlLinearModel, sigmoid } from './model.js';
import { mulberry32, shuffleIndex } from './rng.js';

export type FastLinearLoss = 'logLoss' | 'hingeLoss' | 'smoothHingeLoss' | 'squaredLoss';

export interface RxFastLinearOptions extends TransformOptions {
  type?: 'binary' | 'regression';
  /** logLoss (binary default), hingeLoss, smoothHingeLoss; squaredLoss (regression). */
  lossFunction?: FastLinearLoss;
  l2Weight?: number;
  l1Weight?: number;
  /** Accepted for API compatibility; JavaScript training runs on one thread. */
  trainThreads?: number;
  /** Relative duality gap that stops training (default 0.1, as MicrosoftML). */
  convergenceTolerance?: number;
  maxIterations?: number;
  /** Shuffle the rows every epoch (default true). */
  shuffle?: boolean;
  /** Epochs between duality-gap checks (default 1). */
  checkFrequency?: number;
  normalize?: NormalizeMode;
  seed?: number;
  cacheBytes?: number;
}

function xlogx(v: number): number {
  return v > 0 ? v * Math.log(v) : 0;
}

function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

interface Loss {
  /** loss(margin, y) */
  value(a: number, y: number): number;
  /** -loss*(-alpha): the dual term. */
  dual(alpha: number, y: number): number;
  /** Coordinate step: the new alpha given the margin a = w.x, q = ||x||^2 / (lambda n). */
  step(alpha: number, a: number, y: number, q: number): number;
}

const clamp01 = (v: number) => Math.max(0, Math.min(1, v));

function makeLoss(name: FastLinearLoss): Loss {
  switch (name) {
    case 'squaredLoss':
      return {
        value: (a, y) => 0.5 * (a - y) * (a - y),
        dual: (al, y) => al * y - 0.5 * al * al,
        step: (al, a, y, q) => al + (y - a - al) / (1 + q),
      };
    case 'hingeLoss':
      return {
        value: (a, y) => Math.max(0, 1 - y * a),
        dual: (al, y) => al * y,
        step: (al, a, y, q) => (q > 0 ? y * clamp01((1 - y * a) / q + al * y) : al),
      };
    case 'smoothHingeLoss':
      return {
        // smoothing 1: 0 for ya >= 1, 1 - ya - 1/2 for ya <= 0, (1 - ya)^2 / 2 between
        value: (a, y) => {
          const z = y * a;
          return z >= 1 ? 0 : z <= 0 ? 0.5 - z : 0.5 * (1 - z) * (1 - z);
        },
        dual: (al, y) => al * y - 0.5 * al * al,
        step: (al, a, y, q) => y * clamp01((1 - y * a - al * y) / (q + 1) + al * y),
      };
    default:
      return {
        value: (a, y) => softplus(-y * a),
        dual: (al, y) => {
          const b = al * y;
          return -(xlogx(b) + xlogx(1 - b));
        },
        step: (al, a, y, q) => {
          // Newton on b = alpha y in (0, 1): maximise -(b log b + (1-b) log(1-b)) - y (b - b0) a - q/2 (b - b0)^2
          const b0 = al * y;
          let b = Math.min(1 - 1e-12, Math.max(1e-12, b0 === 0 || b0 === 1 ? sigmoid(-y * a) : b0));
          for (let it = 0; it < 20; it++) {
            const g = -Math.log(b / (1 - b)) - y * a - q * (b - b0);
            const h = -1 / (b * (1 - b)) - q;
            let nb = b - g / h;
            if (nb <= 0) nb = b / 2;
            else if (nb >= 1) nb = (1 + b) / 2;
            const done = Math.abs(nb - b) < 1e-14;
            b = nb;
            if (done) break;
          }
          return b * y;
        },
      };
  }
}

/** Platt calibration: a, b minimising the log-loss of sigmoid(a s + b) on the scores (Newton). */
function plattCalibrate(score: Float64Array, y01: Float64Array): { a: number; b: number } {
  let a = 1;
  let b = 0;
  for (let it = 0; it < 100; it++) {
    let ga = 0;
    let gb = 0;
    let haa = 1e-12;
    let hab = 0;
    let hbb = 1e-12;
    for (let i = 0; i < score.length; i++) {
      const p = sigmoid(a * score[i]! + b);
      const r = p - y01[i]!;
      const w = p * (1 - p);
      ga += r * score[i]!;
      gb += r;
      haa += w * score[i]! * score[i]!;
      hab += w * score[i]!;
      hbb += w;
    }
    const det = haa * hbb - hab * hab;
    if (!(det > 0)) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) + Math.abs(db) < 1e-12) break;
  }
  return { a, b };
}

export async function rxFastLinear(formula: string, data: unknown, options: RxFastLinearOptions = {}): Promise<RxMlLinearModel> {
  const learner = 'rxFastLinear';
  if (typeof options !== 'object' || options === null) throw argError('an options object', 'options', options);
  const type = optional(options.type, 'binary', (v) => expectOneOf(v, ['binary', 'regression'] as const, 'type'));
  const lossName = optional(options.lossFunction, type === 'binary' ? 'logLoss' : 'squaredLoss', (v) =>
    expectOneOf(v, (type === 'binary' ? ['logLoss', 'hingeLoss', 'smoothHingeLoss'] : ['squaredLoss']) as FastLinearLoss[], `lossFunction (type '${type}')`),
  );
  const l2Opt = options.l2Weight === undefined || options.l2Weight === null ? undefined : expectNumber(options.l2Weight, 'l2Weight', { min: 0 });
  if (l2Opt === 0) throw argError('a number > 0 (SDCA needs an L2 term)', 'l2Weight', 0);
  const l1 = options.l1Weight === undefined || options.l1Weight === null ? 0 : expectNumber(options.l1Weight, 'l1Weight', { min: 0 });
  const tol = optional(options.convergenceTolerance, 0.1, (v) => expectNumber(v, 'convergenceTolerance', { min: 0 }));
  const maxIterations = options.maxIterations === undefined || options.maxIterations === null ? 100 : expectNumber(options.maxIterations, 'maxIterations', { min: 1, integer: true });
  const shuffle = optional(options.shuffle, true, (v) => expectBoolean(v, 'shuffle'));
  const checkFrequency = optional(options.checkFrequency, 1, (v) => expectNumber(v, 'checkFrequency', { min: 1, integer: true }));
  const normalizeMode = optional(options.normalize, 'auto', (v) => expectOneOf(v, ['auto', 'no', 'yes', 'warn'] as const, 'normalize'));
  const seed = optional(options.seed, 1, (v) => expectNumber(v, 'seed', { integer: true }));
  if (options.trainThreads !== undefined && options.trainThreads !== null) expectNumber(options.trainThreads, 'trainThreads', { min: 1, integer: true });
  if (options.cacheBytes !== undefined) expectNumber(options.cacheBytes, 'cacheBytes', { min: 0 });
  const normalize = resolveNormalize(normalizeMode, true, learner);
  const {
    type: _t,
    lossFunction: _lf,
    l2Weight: _a,
    l1Weight: _b,
    trainThreads: _tt,
    convergenceTolerance: _c,
    maxIterations: _m,
    shuffle: _sh,
    checkFrequency: _cf,
    normalize: _n,
    seed: _s,
    ...rest
  } = options;
  const md = await loadMlData(formula, data, type, learner, { ...rest, normalize, needCache: true });
  const { n, p } = md;
  const { X, y: y0 } = md.cached!;
  const y = type === 'binary' ? Float64Array.from(y0, (v) => (v === 1 ? 1 : -1)) : y0;
  const l2 = l2Opt ?? 10 / n;
  const loss = makeLoss(lossName);
  const bias = md.design.interceptCol;
  const thr = l1 / l2;
  const lambdaN = l2 * n;
  const alpha = new Float64Array(n);
  const v = new Float64Array(p);
  const w = new Float64Array(p);
  const sq = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < p; j++) s += X[i * p + j]! * X[i * p + j]!;
    sq[i] = s / lambdaN;
  }
  const prox = (j: number): number => {
    const vj = v[j]!;
    if (thr === 0 || j === bias) return vj;
    return vj > thr ? vj - thr : vj < -thr ? vj + thr : 0;
  };
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const rand = mulberry32(seed);
  const gapOf = (): { primal: number; dual: number } => {
    let lsum = 0;
    let dsum = 0;
    for (let i = 0; i < n; i++) {
      let a = 0;
      for (let j = 0; j < p; j++) a += w[j]! * X[i * p + j]!;
      lsum += loss.value(a, y[i]!);
      dsum += loss.dual(alpha[i]!, y[i]!);
    }
    let w2 = 0;
    let w1 = 0;
    for (let j = 0; j < p; j++) {
      w2 += w[j]! * w[j]!;
      if (j !== bias) w1 += Math.abs(w[j]!);
    }
    return { primal: lsum / n + 0.5 * l2 * w2 + l1 * w1, dual: dsum / n - 0.5 * l2 * w2 };
  };
  let epochs = 0;
  let converged = false;
  let gap = gapOf();
  for (let ep = 0; ep < maxIterations; ep++) {
    if (shuffle) shuffleIndex(order, rand);
    for (let t = 0; t < n; t++) {
      const i = order[t]!;
      const off = i * p;
      let a = 0;
      for (let j = 0; j < p; j++) a += w[j]! * X[off + j]!;
      const al = alpha[i]!;
      const na = loss.step(al, a, y[i]!, sq[i]!);
      const d = na - al;
      if (d === 0) continue;
      alpha[i] = na;
      const c = d / lambdaN;
      for (let j = 0; j < p; j++) {
        v[j]! += c * X[off + j]!;
        w[j] = prox(j);
      }
    }
    epochs++;
    if (epochs % checkFrequency === 0 || ep === maxIterations - 1) {
      gap = gapOf();
      if (gap.primal - gap.dual <= tol * Math.abs(gap.primal)) {
        converged = true;
        break;
      }
    }
  }
  if (!w.every(Number.isFinite)) throw new RxError('RX_CONVERGENCE', `${learner}: training diverged (non-finite weights)`);
  const weights = [Array.from(w, (wj, j) => wj * md.scale[j]!)];
  let calibrator: { a: number; b: number } | null = null;
  if (type === 'binary' && lossName !== 'logLoss') {
    const score = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let a = 0;
      for (let j = 0; j < p; j++) a += w[j]! * X[i * p + j]!;
      score[i] = a;
    }
    calibrator = plattCalibrate(score, y0);
  }
  let nonZero = 0;
  for (const wj of w) if (wj !== 0) nonZero++;
  return new RxMlLinearModel({
    kind: learner,
    type,
    design: md.design.spec,
    classes: md.design.classes,
    labelKind: md.design.labelKind,
    interceptCol: bias,
    weights,
    calibrator,
    params: { type, lossFunction: lossName, l2Weight: l2, l1Weight: l1, convergenceTolerance: tol, maxIterations, shuffle, checkFrequency, normalize: normalizeMode, seed },
    stats: { epochs, converged, primal: gap.primal, dual: gap.dual, dualityGap: gap.primal - gap.dual, trainingRows: n, missingRows: md.nMissing, nonZeroWeights: nonZero },
  });
}
