/** rxFastTrees, rxBTrees, rxFastForest, rxDForest: ensembles on the histogram engine. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type ComputeContext, rxGetComputeContext, toComputeContext } from '../compute/context.js';
import { RxError } from '../errors.js';
import { packageRoot } from '../native/loader.js';
import { type FlatTreesNative, treeNative } from '../native/tree.js';
import { rxOptions } from '../options.js';
import { argError, expectBoolean, expectNumber, expectOneOf } from '../validate.js';
import { type PreparedData, prepareTreeData } from './data.js';
import { RxTreeModel, type TreeTask } from './model.js';

const OBJ = { gaussian: 0, bernoulli: 1, multinomial: 2, poisson: 3 } as const;

function num(v: unknown, dflt: number, what: string, o: { min?: number; max?: number; integer?: boolean } = {}): number {
  return v === undefined ? dflt : expectNumber(v, what, o);
}

function classes(pd: PreparedData, fn: string): number {
  const lv = pd.response.levels ?? [];
  const seen = new Set<number>();
  for (let i = 0; i < pd.n; i++) if (pd.w[i]! > 0) seen.add(pd.y[i]!);
  if (seen.size < 2) throw new RxError('RX_ARG', `${fn}: the response "${pd.response.name}" has only one class in the data`, { column: pd.response.name });
  return lv.length;
}

function checkRows(pd: PreparedData, fn: string): void {
  let any = false;
  for (let i = 0; i < pd.n && !any; i++) if (pd.w[i]! > 0) any = true;
  if (!any) throw new RxError('RX_ARG', `${fn}: no rows with a non-missing response and positive weight`);
}

/** Numeric 0/1 or two-level factor response -> 0/1 labels and the level names. */
function binaryLabels(pd: PreparedData, fn: string): string[] {
  if (pd.response.type === 'factor') {
    const L = classes(pd, fn);
    if (L !== 2) throw new RxError('RX_ARG', `${fn}: method 'binary' needs a response with 2 levels; "${pd.response.name}" has ${L}`, { column: pd.response.name });
    return pd.response.levels!;
  }
  for (let i = 0; i < pd.n; i++)
    if (pd.w[i]! > 0 && pd.y[i] !== 0 && pd.y[i] !== 1)
      throw new RxError('RX_ARG', `${fn}: a numeric response for binary classification must be 0/1 (row ${i + 1} has ${pd.y[i]})`, { row: i + 1 });
  pd.response = { name: pd.response.name, type: 'factor', levels: ['0', '1'] };
  return ['0', '1'];
}

export interface FastTreesOptions {
  method?: 'binary' | 'regression';
  numTrees?: number;
  numLeaves?: number;
  learningRate?: number;
  minSplit?: number;
  exampleFraction?: number;
  featureFraction?: number;
  splitFraction?: number;
  numBins?: number;
  /** binary: weight positives by #neg/#pos */
  unbalancedSets?: boolean;
  randomSeed?: number;
  trainThreads?: number;
  maxDepth?: number;
  l2Regularization?: number;
  /** minimum sum of hessians per leaf (default 1e-3) */
  minChildWeight?: number;
  weights?: string;
  rowsPerRead?: number;
}


/**
 * Platt scaling (as MicrosoftML calibrates FastTree's binary output): fits
 * P(y = 1 | s) = 1 / (1 + exp(a s + b)) to the training scores s by maximum likelihood with
 * Platt's smoothed targets ((N+ + 1) / (N+ + 2) for positives, 1 / (N- + 2) for negatives),
 * Newton's method with backtracking (Lin, Lin & Weng 2007). Rows weighted by `w`.
 */
export function plattFit(s: ArrayLike<number>, y: ArrayLike<number>, w: ArrayLike<number>): { a: number; b: number; iterations: number } {
  let prior1 = 0;
  let prior0 = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    if (!(w[i]! > 0)) continue;
    if (y[i] === 1) prior1 += w[i]!;
    else prior0 += w[i]!;
  }
  const hi = (prior1 + 1) / (prior1 + 2);
  const lo = 1 / (prior0 + 2);
  const obj = (A: number, B: number): number => {
    let f = 0;
    for (let i = 0; i < n; i++) {
      const wi = w[i]!;
      if (!(wi > 0)) continue;
      const t = y[i] === 1 ? hi : lo;
      const z = s[i]! * A + B;
      f += wi * (z >= 0 ? t * z + Math.log1p(Math.exp(-z)) : (t - 1) * z + Math.log1p(Math.exp(z)));
    }
    return f;
  };
  let a = 0;
  let b = Math.log((prior0 + 1) / (prior1 + 1));
  let f = obj(a, b);
  let it = 0;
  for (; it < 100; it++) {
    let h11 = 1e-12;
    let h22 = 1e-12;
    let h21 = 0;
    let g1 = 0;
    let g2 = 0;
    for (let i = 0; i < n; i++) {
      const wi = w[i]!;
      if (!(wi > 0)) continue;
      const si = s[i]!;
      const t = y[i] === 1 ? hi : lo;
      const z = si * a + b;
      // p = 1 / (1 + exp(z)), q = 1 - p, computed without overflow
      const e = Math.exp(-Math.abs(z));
      const p = z >= 0 ? e / (1 + e) : 1 / (1 + e);
      const q = 1 - p;
      const d2 = p * q * wi;
      h11 += si * si * d2;
      h22 += d2;
      h21 += si * d2;
      const d1 = (t - p) * wi;
      g1 += si * d1;
      g2 += d1;
    }
    if (Math.abs(g1) < 1e-5 * Math.max(1, prior0 + prior1) && Math.abs(g2) < 1e-5 * Math.max(1, prior0 + prior1)) break;
    const det = h11 * h22 - h21 * h21;
    const dA = -(h22 * g1 - h21 * g2) / det;
    const dB = -(-h21 * g1 + h11 * g2) / det;
    const gd = g1 * dA + g2 * dB;
    let step = 1;
    let moved = false;
    while (step >= 1e-10) {
      const na = a + step * dA;
      const nb = b + step * dB;
      const nf = obj(na, nb);
      if (nf < f + 1e-4 * step * gd) {
        a = na;
        b = nb;
        f = nf;
        moved = true;
        break;
      }
      step /= 2;
    }
    if (!moved) break;
  }
  return { a, b, iterations: it };
}

async function boost(
  kind: 'rxFastTrees' | 'rxBTrees',
  formula: string,
  pd: PreparedData,
  task: TreeTask,
  prm: {
    nTrees: number;
    learningRate: number;
    maxLeaves: number;
    maxDepth: number;
    minLeaf: number;
    sampRate: number;
    featureFraction: number;
    mTry: number;
    seed: number;
    lambda: number;
    minHess?: number;
    init?: number[];
    unbalanced?: boolean;
    /** binary: Platt-calibrate the output on the training scores */
    calibrate?: boolean;
  },
  params: Record<string, unknown>,
): Promise<RxTreeModel> {
  const nc = task === 'multinomial' ? classes(pd, kind) : 1;
  let w = pd.w;
  if (prm.unbalanced && task === 'bernoulli') {
    let pos = 0;
    let neg = 0;
    for (let i = 0; i < pd.n; i++) {
      if (pd.w[i]! <= 0) continue;
      if (pd.y[i] === 1) pos += pd.w[i]!;
      else neg += pd.w[i]!;
    }
    w = new Float64Array(pd.w);
    if (pos > 0) for (let i = 0; i < pd.n; i++) if (pd.y[i] === 1) w[i]! *= neg / pos;
  }
  const res = await treeNative().treeTrainBoost(pd.data, pd.y, w, {
    objective: OBJ[task as keyof typeof OBJ],
    numClass: nc,
    nTrees: prm.nTrees,
    learningRate: prm.learningRate,
    sampRate: prm.sampRate,
    seed: prm.seed,
    maxDepth: prm.maxDepth,
    maxLeaves: prm.maxLeaves,
    minLeaf: prm.minLeaf,
    minSplit: 2 * prm.minLeaf,
    lambda: prm.lambda,
    minHess: prm.minHess ?? 1e-3,
    mTry: prm.mTry,
    featureFraction: prm.featureFraction,
    ...(prm.init ? { init: Float64Array.from(prm.init) } : {}),
    ...(prm.calibrate ? { returnScores: true } : {}),
  });
  const { init, trainLoss, trainScore, ...trees } = res;
  const extra: Record<string, unknown> = { trainLoss: Array.from(trainLoss), nObs: pd.n - pd.droppedMissingY, droppedMissingResponse: pd.droppedMissingY };
  if (prm.calibrate && trainScore) {
    // Platt calibration folded into the ensemble: leaf values and the initial score are
    // mapped through s -> -(a s + b), so Score is the calibrated log-odds and every scorer
    // (rxPredict, native, ONNX) gives Probability = 1 / (1 + exp(a * raw + b)).
    const c = plattFit(trainScore, pd.y, w);
    if (Number.isFinite(c.a) && Number.isFinite(c.b) && c.a < 0) {
      for (let i = 0; i < trees.value.length; i++) trees.value[i]! *= -c.a;
      for (let k = 0; k < init.length; k++) init[k] = -(c.a * init[k]! + c.b);
      extra.calibration = { method: 'platt', a: c.a, b: c.b };
    }
  }
  return new RxTreeModel({
    kind,
    formula,
    task,
    response: pd.response,
    features: pd.features,
    trees,
    init: Array.from(init),
    learningRate: prm.learningRate,
    params,
    extra,
  });
}

/** MicrosoftML FastTree: leaf-wise boosted trees (binary: logistic loss; regression: squared error). */
export async function rxFastTrees(formula: string, data: unknown, options: FastTreesOptions = {}): Promise<RxTreeModel> {
  const method = options.method === undefined ? 'binary' : expectOneOf(options.method, ['binary', 'regression'] as const, 'method');
  const numTrees = num(options.numTrees, 100, 'numTrees', { min: 1, integer: true });
  const numLeaves = num(options.numLeaves, 20, 'numLeaves', { min: 2, integer: true });
  const learningRate = num(options.learningRate, 0.2, 'learningRate', { min: 0 });
  const minSplit = num(options.minSplit, 10, 'minSplit', { min: 1, integer: true });
  const exampleFraction = num(options.exampleFraction, 0.7, 'exampleFraction', { min: 0, max: 1 });
  const featureFraction = num(options.featureFraction, 1, 'featureFraction', { min: 0, max: 1 });
  const splitFraction = num(options.splitFraction, 1, 'splitFraction', { min: 0, max: 1 });
  const numBins = num(options.numBins, 255, 'numBins', { min: 2, max: 65535, integer: true });
  const seed = num(options.randomSeed, 1, 'randomSeed', { integer: true });
  const unbalanced = options.unbalancedSets === undefined ? false : expectBoolean(options.unbalancedSets, 'unbalancedSets');
  const pd = await prepareTreeData(formula, data, { maxBins: numBins, ...(options.weights ? { weights: options.weights } : {}), ...(options.rowsPerRead ? { rowsPerRead: options.rowsPerRead } : {}) });
  checkRows(pd, 'rxFastTrees');
  const task: TreeTask = method === 'binary' ? 'bernoulli' : 'gaussian';
  if (method === 'binary') binaryLabels(pd, 'rxFastTrees');
  else if (pd.response.type === 'factor') throw new RxError('RX_ARG', "rxFastTrees: method 'regression' needs a numeric response", { column: pd.response.name });
  const p = pd.features.length;
  const mTry = splitFraction < 1 ? Math.max(1, Math.round(splitFraction * Math.ceil(featureFraction * p))) : 0;
  if (options.trainThreads !== undefined) expectNumber(options.trainThreads, 'trainThreads', { min: 1, integer: true });
  return (
    boost('rxFastTrees', formula, pd, task, {
      nTrees: numTrees,
      learningRate,
      maxLeaves: numLeaves,
      maxDepth: options.maxDepth ?? -1,
      minLeaf: minSplit,
      sampRate: exampleFraction,
      featureFraction,
      mTry,
      seed,
      lambda: options.l2Regularization ?? 0,
      ...(options.minChildWeight !== undefined ? { minHess: expectNumber(options.minChildWeight, 'minChildWeight', { min: 0 }) } : {}),
      unbalanced,
      calibrate: method === 'binary',
    }, { method, numTrees, numLeaves, learningRate, minSplit, exampleFraction, featureFraction, splitFraction, numBins, randomSeed: seed, unbalancedSets: unbalanced })
  );
}

export interface BTreesOptions {
  lossFunction?: 'bernoulli' | 'gaussian' | 'multinomial';
  learningRate?: number;
  nTree?: number;
  maxDepth?: number;
  minSplit?: number;
  minBucket?: number;
  sampRate?: number;
  mTry?: number;
  seed?: number;
  initPred?: number | number[];
  maxNumBins?: number;
  maxLeaves?: number;
  lambda?: number;
  /** minimum sum of hessians per leaf (default 1e-3) */
  minChildWeight?: number;
  weights?: string;
  rowsPerRead?: number;
}

/** RevoScaleR rxBTrees: depth-limited stochastic gradient boosting. */
export async function rxBTrees(formula: string, data: unknown, options: BTreesOptions = {}): Promise<RxTreeModel> {
  const nTree = num(options.nTree, 10, 'nTree', { min: 1, integer: true });
  const learningRate = num(options.learningRate, 0.1, 'learningRate', { min: 0 });
  const maxDepth = num(options.maxDepth, 1, 'maxDepth', { min: 1, integer: true });
  const sampRate = num(options.sampRate, 0.5, 'sampRate', { min: 0, max: 1 });
  const seed = num(options.seed, 1, 'seed', { integer: true });
  const maxNumBins = num(options.maxNumBins, 255, 'maxNumBins', { min: 2, max: 65535, integer: true });
  const minBucket = num(options.minBucket, options.minSplit !== undefined ? Math.max(1, Math.round(options.minSplit / 3)) : 1, 'minBucket', { min: 1 });
  const pd = await prepareTreeData(formula, data, { maxBins: maxNumBins, ...(options.weights ? { weights: options.weights } : {}), ...(options.rowsPerRead ? { rowsPerRead: options.rowsPerRead } : {}) });
  checkRows(pd, 'rxBTrees');
  let loss = options.lossFunction;
  if (loss === undefined) loss = pd.response.type === 'factor' ? (pd.response.levels!.length > 2 ? 'multinomial' : 'bernoulli') : 'gaussian';
  loss = expectOneOf(loss, ['bernoulli', 'gaussian', 'multinomial'] as const, 'lossFunction');
  if (loss === 'bernoulli') binaryLabels(pd, 'rxBTrees');
  if (loss === 'multinomial' && pd.response.type !== 'factor') throw new RxError('RX_ARG', "rxBTrees: lossFunction 'multinomial' needs a factor response", { column: pd.response.name });
  if (loss === 'gaussian' && pd.response.type === 'factor') throw new RxError('RX_ARG', "rxBTrees: lossFunction 'gaussian' needs a numeric response", { column: pd.response.name });
  const p = pd.features.length;
  const mTry = options.mTry === undefined ? 0 : Math.min(p, expectNumber(options.mTry, 'mTry', { min: 1, integer: true }));
  let init: number[] | undefined;
  if (options.initPred !== undefined) {
    init = Array.isArray(options.initPred) ? options.initPred : [options.initPred];
    if (init.some((v) => typeof v !== 'number' || !Number.isFinite(v))) throw argError('finite number(s)', 'initPred', options.initPred);
  }
  return boost('rxBTrees', formula, pd, loss, {
    nTrees: nTree,
    learningRate,
    maxLeaves: options.maxLeaves ?? 0,
    maxDepth,
    minLeaf: minBucket,
    sampRate,
    featureFraction: 1,
    mTry,
    seed,
    lambda: options.lambda ?? 0,
    ...(options.minChildWeight !== undefined ? { minHess: expectNumber(options.minChildWeight, 'minChildWeight', { min: 0 }) } : {}),
    ...(init ? { init } : {}),
  }, { lossFunction: loss, learningRate, nTree, maxDepth, sampRate, mTry, seed, minBucket, maxNumBins, ...(init ? { initPred: init } : {}) });
}

export interface DForestOptions {
  method?: 'class' | 'anova';
  nTree?: number;
  mTry?: number;
  replace?: boolean;
  sampRate?: number;
  importance?: boolean;
  seed?: number;
  computeOobError?: boolean;
  cutoff?: number;
  /** factor column: bootstrap within each stratum */
  strata?: string;
  maxDepth?: number;
  minSplit?: number;
  minBucket?: number;
  maxNumBins?: number;
  maxLeaves?: number;
  weights?: string;
  rowsPerRead?: number;
  /** RxLocalParallel: trees are split among the workers (same model as RxLocalSeq for the same seed) */
  computeContext?: ComputeContext | 'local' | 'localpar';
}

async function forest(kind: 'rxDForest' | 'rxFastForest', formula: string, data: unknown, o: DForestOptions, dfl: { maxDepth: number; minSplit: number; nTree: number; maxNumBins: number }): Promise<RxTreeModel> {
  const nTree = num(o.nTree, dfl.nTree, 'nTree', { min: 1, integer: true });
  const replace = o.replace === undefined ? true : expectBoolean(o.replace, 'replace');
  const sampRate = num(o.sampRate, replace ? 1 : 0.632, 'sampRate', { min: 0, max: 1 });
  const seed = num(o.seed, 1, 'seed', { integer: true });
  const maxDepth = num(o.maxDepth, dfl.maxDepth, 'maxDepth', { min: 1, integer: true });
  const minSplit = num(o.minSplit, dfl.minSplit, 'minSplit', { min: 1 });
  const minBucket = num(o.minBucket, Math.max(1, Math.round(minSplit / 3)), 'minBucket', { min: 1 });
  const maxNumBins = num(o.maxNumBins, dfl.maxNumBins, 'maxNumBins', { min: 2, max: 65535, integer: true });
  const computeOob = o.computeOobError === undefined ? true : expectBoolean(o.computeOobError, 'computeOobError');
  const cutoff = num(o.cutoff, 0.5, 'cutoff', { min: 0, max: 1 });
  const pd = await prepareTreeData(formula, data, { maxBins: maxNumBins, ...(o.weights ? { weights: o.weights } : {}), ...(o.rowsPerRead ? { rowsPerRead: o.rowsPerRead } : {}) });
  checkRows(pd, kind);
  let method = o.method ?? (pd.response.type === 'factor' ? 'class' : 'anova');
  method = expectOneOf(method, ['class', 'anova'] as const, 'method');
  if (kind === 'rxFastForest' && method === 'class') binaryLabels(pd, kind);
  if (method === 'class' && pd.response.type !== 'factor') throw new RxError('RX_ARG', `${kind}: method 'class' needs a factor response`, { column: pd.response.name });
  if (method === 'anova' && pd.response.type === 'factor') throw new RxError('RX_ARG', `${kind}: method 'anova' needs a numeric response`, { column: pd.response.name });
  const nc = method === 'class' ? classes(pd, kind) : 1;
  const p = pd.features.length;
  const mTry = o.mTry === undefined ? (method === 'class' ? Math.max(1, Math.floor(Math.sqrt(p))) : Math.max(1, Math.floor(p / 3))) : Math.min(p, expectNumber(o.mTry, 'mTry', { min: 1, integer: true }));
  let strata: Int32Array | undefined;
  if (o.strata !== undefined) {
    // strata by the factor's codes (read directly)
    strata = await strataCodes(data, o.strata, pd.n);
  }
  const fp = {
    task: method === 'class' ? 1 : 0,
    numClass: nc,
    nTrees: nTree,
    sampRate,
    replace,
    seed,
    computeOob,
    cutoff,
    maxDepth,
    maxLeaves: o.maxLeaves ?? 0,
    minSplit,
    minLeaf: minBucket,
    mTry,
  };
  const ctx = o.computeContext === undefined ? rxGetComputeContext() : toComputeContext(o.computeContext);
  let trees: FlatTreesNative;
  let oobError: Float64Array;
  let oobPred: Float64Array;
  if (ctx.name === 'RxLocalParallel' && typeof ctx.exec === 'function' && nTree > 1) {
    // trees split among the workers in contiguous index ranges; each tree's seed and bag
    // follow its index in the whole forest, so the model equals RxLocalSeq's
    const workers = Math.max(1, Math.min(nTree, (ctx as { numWorkers?: number }).numWorkers ?? rxOptions().numThreads));
    const module = join(packageRoot(), 'dist', 'lib', 'trees', 'forest-worker.js');
    if (!existsSync(module)) throw new RxError('RX_INTERNAL', `${kind} on RxLocalParallel needs the compiled worker task ${module}: run \`npm run build:ts\``, { file: module });
    const tasks = Array.from({ length: workers }, (_, i) => {
      const a = Math.floor((i * nTree) / workers);
      const b = Math.floor(((i + 1) * nTree) / workers);
      return { fn: { module, exportName: 'trainForestPart' }, args: [pd.data, pd.y, pd.w, { ...fp, nTrees: b - a, firstTree: a, totalTrees: nTree, computeOob: false }, strata] };
    }).filter((t) => (t.args[3] as { nTrees: number }).nTrees > 0);
    const outcomes = await ctx.exec(tasks, {});
    const parts: FlatTreesNative[] = [];
    for (const oc of outcomes) {
      if (oc.status !== 'OK') throw oc.error instanceof RxError ? oc.error : new RxError('RX_INTERNAL', `${kind}: a worker failed: ${oc.error?.message}`, { cause: oc.error });
      parts.push(oc.result as FlatTreesNative);
    }
    trees = concatTrees(parts);
    if (computeOob) {
      const { nTrees: _n, computeOob: _c, ...op } = fp;
      ({ oobError, oobPred } = await treeNative().treeForestOob(pd.data, pd.y, pd.w, trees, op, strata));
    } else {
      oobError = new Float64Array(0);
      oobPred = new Float64Array(0);
    }
  } else {
    ({ oobError, oobPred, ...trees } = await treeNative().treeTrainForest(pd.data, pd.y, pd.w, fp, strata));
  }
  const extra: Record<string, unknown> = { nObs: pd.n - pd.droppedMissingY, droppedMissingResponse: pd.droppedMissingY };
  if (computeOob) {
    extra.oobError = Array.from(oobError);
    if (method === 'class') {
      const lv = pd.response.levels!;
      const cm = lv.map(() => lv.map(() => 0));
      const K = trees.K;
      for (let i = 0; i < pd.n; i++) {
        if (pd.w[i]! <= 0 || Number.isNaN(oobPred[i * K]!)) continue;
        let b = 0;
        if (K === 1) b = oobPred[i]! >= cutoff ? 1 : 0;
        else for (let k = 1; k < K; k++) if (oobPred[i * K + k]! > oobPred[i * K + b]!) b = k;
        cm[pd.y[i]!]![b]! += 1;
      }
      extra.confusion = { levels: lv, counts: cm };
    }
  }
  const model = new RxTreeModel({
    kind,
    formula,
    task: method === 'class' ? 'classification' : 'regression',
    response: pd.response,
    features: pd.features,
    trees,
    params: { method, nTree, mTry, replace, sampRate, seed, maxDepth, minSplit, minBucket, maxNumBins, cutoff, ...(o.strata ? { strata: o.strata } : {}) },
    extra,
  });
  if (o.importance) extra.importance = model.importance();
  return model;
}

/** Concatenates flat tree sets (same K) in order. */
export function concatTrees(parts: FlatTreesNative[]): FlatTreesNative {
  const cat = <T extends Int32Array | Float64Array | Uint8Array>(C: { new (n: number): T }, pick: (p: FlatTreesNative) => T): T => {
    const len = parts.reduce((a, p) => a + pick(p).length, 0);
    const out = new C(len);
    let o = 0;
    for (const p of parts) {
      out.set(pick(p) as never, o);
      o += pick(p).length;
    }
    return out;
  };
  const nodeOffset = new Int32Array(parts.reduce((a, p) => a + p.nodeOffset.length - 1, 0) + 1);
  const catOffset = cat(Int32Array, (p) => p.catOffset);
  let t = 0;
  let nodes = 0;
  let bits = 0;
  let at = 0;
  for (const p of parts) {
    for (let i = 1; i < p.nodeOffset.length; i++) nodeOffset[++t] = nodes + p.nodeOffset[i]!;
    for (let i = 0; i < p.catOffset.length; i++) if (p.catOffset[i]! >= 0) catOffset[at + i] = p.catOffset[i]! + bits;
    at += p.catOffset.length;
    nodes += p.feature.length;
    bits += p.catBits.length;
  }
  return {
    K: parts[0]?.K ?? 1,
    nodeOffset,
    feature: cat(Int32Array, (p) => p.feature),
    threshold: cat(Float64Array, (p) => p.threshold),
    splitBin: cat(Int32Array, (p) => p.splitBin),
    left: cat(Int32Array, (p) => p.left),
    right: cat(Int32Array, (p) => p.right),
    defaultLeft: cat(Uint8Array, (p) => p.defaultLeft),
    catOffset,
    catWords: cat(Int32Array, (p) => p.catWords),
    catBits: cat(Int32Array, (p) => p.catBits),
    value: cat(Float64Array, (p) => p.value),
    gain: cat(Float64Array, (p) => p.gain),
    cover: cat(Float64Array, (p) => p.cover),
    count: cat(Float64Array, (p) => p.count),
    treeClass: cat(Int32Array, (p) => p.treeClass),
    treeWeight: cat(Float64Array, (p) => p.treeWeight),
  };
}

async function strataCodes(data: unknown, name: string, n: number): Promise<Int32Array> {
  const { resolveSource } = await import('../data/resolve.js');
  const src = resolveSource(data);
  const out = new Int32Array(n);
  let r = 0;
  for await (const c of src.chunks({ columns: [name] })) {
    const col = c.columns[name]!;
    if (col.type !== 'factor') throw new RxError('RX_ARG', `strata column "${name}" must be a factor`, { column: name });
    const d = col.data as Int32Array;
    for (let i = 0; i < c.numRows; i++) out[r++] = col.valid && col.valid[i] === 0 ? 0 : d[i]!;
  }
  return out;
}

/** RevoScaleR rxDForest: bootstrap forest of depth-limited trees (gini / variance). */
export function rxDForest(formula: string, data: unknown, options: DForestOptions = {}): Promise<RxTreeModel> {
  return forest('rxDForest', formula, data, options, { maxDepth: 10, minSplit: 2, nTree: 10, maxNumBins: 255 });
}

/** MicrosoftML FastForest: random forest on the same engine (binary / regression). */
export function rxFastForest(
  formula: string,
  data: unknown,
  options: Omit<DForestOptions, 'method'> & { numTrees?: number; numLeaves?: number; method?: 'binary' | 'regression'; randomSeed?: number } = {},
): Promise<RxTreeModel> {
  const { method: fm, ...rest } = options;
  const o: DForestOptions = { ...rest };
  o.method = expectOneOf(fm ?? 'binary', ['binary', 'regression'] as const, 'method') === 'binary' ? 'class' : 'anova';
  if (options.numTrees !== undefined) o.nTree = options.numTrees;
  if (options.randomSeed !== undefined) o.seed = options.randomSeed;
  o.maxLeaves = options.numLeaves ?? 20;
  return forest('rxFastForest', formula, data, o, { maxDepth: 100, minSplit: 2, nTree: 100, maxNumBins: 255 });
}
