/**
 * rxNeuralNet (MicrosoftML / revoscalepy microsoftml rx_neural_network): MicrosoftML's default
 * net, one fully connected sigmoid hidden layer of `numHiddenNodes` units, output sigmoid
 * (binary), softmax (multiClass) or linear (regression), trained by back-propagation on
 * mini-batches (cross-entropy / squared error, averaged over the batch) with
 *  - optimizer 'sgd' (learningRate 0.001, momentum 0, nag false, weightDecay 0,
 *    lRateRedRatio 1 every lRateRedFreq epochs), MicrosoftML's sgd() defaults, or
 *  - optimizer 'adaptive' (AdaDelta: decay 0.95, conditioningConst 1e-6), MicrosoftML's adaDeltaSgd().
 * Weights start uniform in [-initWtsDiameter/2, initWtsDiameter/2] (default 0.1); maxNorm > 0 caps
 * the norm of every unit's incoming weights (in the normalised space) after each update; rows are
 * shuffled every epoch; everything is driven by `seed`, so training is deterministic per seed.
 * Features are MinMax-normalised by default (normalize = 'auto'); the scales are folded into
 * the input weights. Training runs in the native kernel (native/src/ml/nn.cpp) on the libuv pool. `acceleration` accepts 'sse' (the CPU path); there is no GPU path.
 */
import type { TransformOptions } from '../expr/source.js';
import type { Chunk } from '../data/types.js';
import { OnnxGraph } from '../onnx/builder.js';
import type { DesignSpec } from '../models/design.js';
import { buildDesign } from '../models/design.js';
import type { ScoreColumns } from '../scoring/registry.js';
import { argError, expectBoolean, expectNumber, expectOneOf, optional } from '../validate.js';
import { type MlDesign, type NormalizeMode, loadMlData, resolveNormalize } from './data.js';
import { type MlPredictOptions, labelColumn, predictChunks, sigmoid } from './model.js';
import { neuralNetTrain } from '../native/ml.js';
import { designTensor, mlOutputs } from './onnx.js';

export interface NeuralNetOptimizer {
  kind: 'sgd' | 'adaptive';
  /** sgd: learning rate (default 0.001). */
  learningRate?: number;
  /** sgd: momentum (default 0). */
  momentum?: number;
  /** sgd: Nesterov momentum (default false). */
  nag?: boolean;
  /** sgd: L2 weight decay (default 0). */
  weightDecay?: number;
  /** sgd: multiply the learning rate by this every lRateRedFreq epochs (default 1: no reduction). */
  lRateRedRatio?: number;
  lRateRedFreq?: number;
  /** adaptive (AdaDelta): decay rate (default 0.95). */
  decay?: number;
  /** adaptive (AdaDelta): conditioning constant (default 1e-6). */
  conditioningConst?: number;
}

export interface RxNeuralNetOptions extends TransformOptions {
  type?: 'binary' | 'multiClass' | 'regression';
  numHiddenNodes?: number;
  numIterations?: number;
  optimizer?: NeuralNetOptimizer;
  initWtsDiameter?: number;
  /** Max-norm constraint on each unit's incoming weight vector (default 0: none). */
  maxNorm?: number;
  miniBatchSize?: number;
  acceleration?: 'sse';
  normalize?: NormalizeMode;
  seed?: number;
  cacheBytes?: number;
}

export interface NeuralNetData {
  kind: 'rxNeuralNet';
  type: 'binary' | 'multiClass' | 'regression';
  design: DesignSpec;
  classes: string[] | null;
  labelKind: MlDesign['labelKind'];
  /** Inputs = the design's X columns (the intercept column's weights are 0). */
  p: number;
  hidden: number;
  outputs: number;
  /** p x hidden, row-major, raw (un-normalised) scale. */
  w1: number[];
  b1: number[];
  /** hidden x outputs, row-major. */
  w2: number[];
  b2: number[];
  params: Record<string, unknown>;
  stats: Record<string, number | boolean>;
}

export class RxNeuralNetModel {
  readonly modelKind = 'rxNeuralNet';
  readonly isMlModel = true;
  constructor(readonly data: NeuralNetData) {}
  /** The call, the network's shape, the classes and the training statistics. */
  toString(): string {
    const d = this.data;
    const lines = [`Call: rxNeuralNet(formula = ${d.design.formula}, type = '${d.type}')`, `Network: ${d.p} inputs -> ${d.hidden} sigmoid hidden nodes -> ${d.outputs} outputs`];
    if (d.classes) lines.push(`Classes: ${d.classes.join(', ')}`);
    for (const [k, v] of Object.entries(d.stats)) lines.push(`${k}: ${v}`);
    return lines.join('\n');
  }
  get design(): DesignSpec {
    return this.data.design;
  }

  scoreChunk(chunk: Chunk, checkLevels = true): ScoreColumns {
    const d = this.data;
    const dc = buildDesign(d.design, chunk, { needY: false, checkLevels });
    const n0 = chunk.numRows;
    const { p, hidden: H, outputs: K } = d;
    const out = new Float64Array(n0 * K).fill(Number.NaN);
    const h = new Float64Array(H);
    for (let r = 0; r < dc.n; r++) {
      for (let u = 0; u < H; u++) h[u] = d.b1[u]!;
      for (let j = 0; j < p; j++) {
        const x = dc.X[j * dc.n + r]!;
        if (x === 0) continue;
        const row = j * H;
        for (let u = 0; u < H; u++) h[u]! += x * d.w1[row + u]!;
      }
      for (let u = 0; u < H; u++) h[u] = sigmoid(h[u]!);
      const i = dc.rowIndex[r]!;
      for (let k = 0; k < K; k++) {
        let o = d.b2[k]!;
        for (let u = 0; u < H; u++) o += h[u]! * d.w2[u * K + k]!;
        out[i * K + k] = o;
      }
    }
    if (d.type === 'regression') return { Score: out };
    if (d.type === 'binary') {
      const idx = Float64Array.from(out, (e) => (Number.isNaN(e) ? Number.NaN : e > 0 ? 1 : 0));
      return { PredictedLabel: labelColumn(d.classes!, d.labelKind, idx), Score: out, Probability: Float64Array.from(out, sigmoid) };
    }
    const idx = new Float64Array(n0).fill(Number.NaN);
    const probs = d.classes!.map(() => new Float64Array(n0).fill(Number.NaN));
    for (let i = 0; i < n0; i++) {
      if (Number.isNaN(out[i * K]!)) continue;
      let mx = Number.NEGATIVE_INFINITY;
      let arg = 0;
      for (let k = 0; k < K; k++)
        if (out[i * K + k]! > mx) {
          mx = out[i * K + k]!;
          arg = k;
        }
      let s = 0;
      for (let k = 0; k < K; k++) s += Math.exp(out[i * K + k]! - mx);
      for (let k = 0; k < K; k++) probs[k]![i] = Math.exp(out[i * K + k]! - mx) / s;
      idx[i] = arg;
    }
    const res: ScoreColumns = { PredictedLabel: labelColumn(d.classes!, d.labelKind, idx) };
    for (const [k, c] of d.classes!.entries()) res[`Score.${c}`] = probs[k]!;
    return res;
  }

  predict(data: unknown, opts: MlPredictOptions = {}): Promise<Record<string, ArrayLike<unknown>>> {
    return predictChunks(this, this.data.design, data, opts, (c) => this.scoreChunk(c, opts.checkFactorLevels ?? true));
  }

  /** ONNX: X -> MatMul/Add -> Sigmoid -> MatMul/Add -> MicrosoftML outputs. */
  toOnnx(opts: { opset?: number } = {}): Uint8Array {
    const d = this.data;
    const g = new OnnxGraph(`rxNeuralNet_${d.design.responseLabel}`);
    const { X, des } = designTensor(g, d.design);
    const h = g.op('Sigmoid', [
      g.op('Add', [g.op('MatMul', [X, g.constant('W1', { type: 'double', dims: [d.p, d.hidden], data: d.w1 })]), g.constant('b1', { type: 'double', dims: [d.hidden], data: d.b1 })]),
    ]);
    const o = g.op('Add', [g.op('MatMul', [h, g.constant('W2', { type: 'double', dims: [d.hidden, d.outputs], data: d.w2 })]), g.constant('b2', { type: 'double', dims: [d.outputs], data: d.b2 })]);
    mlOutputs(g, o, d.type, d.classes, d.labelKind, null, des.dbl);
    return g.toBytes({ opset: opts.opset ?? 21, docString: `rxscale rxNeuralNet (${d.type}): ${d.design.formula}`, metadata: { rxscale_kind: 'rxNeuralNet', formula: d.design.formula } });
  }

  toJSON(): NeuralNetData {
    return this.data;
  }
  static fromJSON(j: NeuralNetData): RxNeuralNetModel {
    return new RxNeuralNetModel(j);
  }
}

function resolveOptimizer(o: unknown): Required<NeuralNetOptimizer> {
  const opt = (o ?? { kind: 'sgd' }) as NeuralNetOptimizer;
  if (typeof opt !== 'object' || opt === null) throw argError("an optimizer object ({ kind: 'sgd' | 'adaptive', ... })", 'optimizer', o);
  const kind = expectOneOf(opt.kind, ['sgd', 'adaptive'] as const, 'optimizer.kind');
  return {
    kind,
    learningRate: optional(opt.learningRate, 0.001, (v) => expectNumber(v, 'optimizer.learningRate', { min: 0 })),
    momentum: optional(opt.momentum, 0, (v) => expectNumber(v, 'optimizer.momentum', { min: 0, max: 1 })),
    nag: optional(opt.nag, false, (v) => expectBoolean(v, 'optimizer.nag')),
    weightDecay: optional(opt.weightDecay, 0, (v) => expectNumber(v, 'optimizer.weightDecay', { min: 0 })),
    lRateRedRatio: optional(opt.lRateRedRatio, 1, (v) => expectNumber(v, 'optimizer.lRateRedRatio', { min: 0, max: 1 })),
    lRateRedFreq: optional(opt.lRateRedFreq, 100, (v) => expectNumber(v, 'optimizer.lRateRedFreq', { min: 1, integer: true })),
    decay: optional(opt.decay, 0.95, (v) => expectNumber(v, 'optimizer.decay', { min: 0, max: 1 })),
    conditioningConst: optional(opt.conditioningConst, 1e-6, (v) => expectNumber(v, 'optimizer.conditioningConst', { min: 0 })),
  };
}

export async function rxNeuralNet(formula: string, data: unknown, options: RxNeuralNetOptions = {}): Promise<RxNeuralNetModel> {
  const learner = 'rxNeuralNet';
  if (typeof options !== 'object' || options === null) throw argError('an options object', 'options', options);
  const type = optional(options.type, 'binary', (v) => expectOneOf(v, ['binary', 'multiClass', 'regression'] as const, 'type'));
  const H = optional(options.numHiddenNodes, 100, (v) => expectNumber(v, 'numHiddenNodes', { min: 1, integer: true }));
  const epochs = optional(options.numIterations, 100, (v) => expectNumber(v, 'numIterations', { min: 1, integer: true }));
  const opt = resolveOptimizer(options.optimizer);
  const diam = optional(options.initWtsDiameter, 0.1, (v) => expectNumber(v, 'initWtsDiameter', { min: 0 }));
  const maxNorm = optional(options.maxNorm, 0, (v) => expectNumber(v, 'maxNorm', { min: 0 }));
  const batch = optional(options.miniBatchSize, 1, (v) => expectNumber(v, 'miniBatchSize', { min: 1, integer: true }));
  optional(options.acceleration, 'sse', (v) => expectOneOf(v, ['sse'] as const, 'acceleration'));
  const normalizeMode = optional(options.normalize, 'auto', (v) => expectOneOf(v, ['auto', 'no', 'yes', 'warn'] as const, 'normalize'));
  const seed = optional(options.seed, 1, (v) => expectNumber(v, 'seed', { integer: true }));
  if (options.cacheBytes !== undefined) expectNumber(options.cacheBytes, 'cacheBytes', { min: 0 });
  const normalize = resolveNormalize(normalizeMode, true, learner);
  const {
    type: _t,
    numHiddenNodes: _h,
    numIterations: _i,
    optimizer: _o,
    initWtsDiameter: _d,
    maxNorm: _mn,
    miniBatchSize: _b,
    acceleration: _a,
    normalize: _n,
    seed: _s,
    ...rest
  } = options;
  const md = await loadMlData(formula, data, type, learner, { ...rest, normalize, needCache: true });
  const { n, p } = md;
  const { X, y } = md.cached!;
  const K = type === 'multiClass' ? md.design.classes!.length : 1;
  const ic = md.design.interceptCol;
  // parameters in one vector: W1 (p x H), b1 (H), W2 (H x K), b2 (K); drawn and trained natively
  const nW1 = p * H;
  const oB1 = nW1;
  const oW2 = oB1 + H;
  const oB2 = oW2 + H * K;
  const theta = new Float64Array(oB2 + K);
  const lastLoss = await neuralNetTrain(
    X,
    y,
    {
      n,
      p,
      hidden: H,
      outputs: K,
      task: type === 'binary' ? 0 : type === 'multiClass' ? 1 : 2,
      interceptCol: ic,
      epochs,
      batch,
      optimizer: opt.kind === 'sgd' ? 0 : 1,
      learningRate: opt.learningRate,
      momentum: opt.momentum,
      weightDecay: opt.weightDecay,
      lRateRedRatio: opt.lRateRedRatio,
      lRateRedFreq: opt.lRateRedFreq,
      nag: opt.nag,
      decay: opt.decay,
      conditioningConst: opt.conditioningConst,
      maxNorm,
      initWtsDiameter: diam,
      seed,
    },
    theta,
  );
  const w1 = new Array<number>(nW1);
  for (let j = 0; j < p; j++) for (let u = 0; u < H; u++) w1[j * H + u] = theta[j * H + u]! * md.scale[j]!;
  return new RxNeuralNetModel({
    kind: 'rxNeuralNet',
    type,
    design: md.design.spec,
    classes: md.design.classes,
    labelKind: md.design.labelKind,
    p,
    hidden: H,
    outputs: K,
    w1,
    b1: Array.from(theta.subarray(oB1, oB1 + H)),
    w2: Array.from(theta.subarray(oW2, oW2 + H * K)),
    b2: Array.from(theta.subarray(oB2, oB2 + K)),
    params: { type, numHiddenNodes: H, numIterations: epochs, optimizer: opt, initWtsDiameter: diam, maxNorm, miniBatchSize: batch, acceleration: 'sse', normalize: normalizeMode, seed },
    stats: { epochs, trainingRows: n, missingRows: md.nMissing, lastEpochLoss: lastLoss },
  });
}
