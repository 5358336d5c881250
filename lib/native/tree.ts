/** Typed mirror of the tree engine's native exports (native/binding/tree.cpp). */
import { addon } from './loader.js';

export interface BinnedDataNative {
  binned: Uint8Array | Uint16Array;
  n: number;
  p: number;
  nbins: Int32Array;
  categorical: Uint8Array;
  lo: Float64Array;
  hi: Float64Array;
}

/** Flattened trees: node arrays concatenated, `nodeOffset[t]..nodeOffset[t+1]` are tree t's nodes. */
export interface FlatTreesNative {
  K: number;
  nodeOffset: Int32Array;
  feature: Int32Array;
  threshold: Float64Array;
  splitBin: Int32Array;
  left: Int32Array;
  right: Int32Array;
  defaultLeft: Uint8Array;
  catOffset: Int32Array;
  catWords: Int32Array;
  catBits: Int32Array;
  value: Float64Array;
  gain: Float64Array;
  cover: Float64Array;
  count: Float64Array;
  treeClass: Int32Array;
  treeWeight: Float64Array;
}

export interface GrowParamsNative {
  maxDepth?: number;
  maxLeaves?: number;
  lambda?: number;
  minHess?: number;
  minLeaf?: number;
  minSplit?: number;
  minGain?: number;
  mTry?: number;
  featureFraction?: number;
  maxUnorderedLevels?: number;
  criterion?: number;
}

export interface BoostParamsNative extends GrowParamsNative {
  objective: number;
  numClass: number;
  nTrees: number;
  learningRate: number;
  sampRate: number;
  seed: number;
  init?: Float64Array;
  /** return the final raw training scores (n x outputs) as `trainScore` */
  returnScores?: boolean;
}

export interface ForestParamsNative extends GrowParamsNative {
  task: number;
  numClass: number;
  nTrees: number;
  sampRate: number;
  replace: boolean;
  seed: number;
  computeOob: boolean;
  cutoff: number;
  /** index of the first tree in the whole forest (a part trained elsewhere: seeds and bags follow it) */
  firstTree?: number;
  /** trees in the whole forest (each tree's weight is 1 / totalTrees; default nTrees) */
  totalTrees?: number;
}

export interface RpartParamsNative {
  method: number;
  numClass: number;
  split: number;
  prior?: Float64Array;
  loss?: Float64Array;
  minSplit: number;
  minBucket: number;
  maxDepth: number;
  cp: number;
  maxUnorderedLevels: number;
  maxCompete?: number;
  maxSurrogate?: number;
  useSurrogate?: number;
  cost?: Float64Array;
}

export interface RpartResultNative extends FlatTreesNative {
  risk: Float64Array;
  complexity: Float64Array;
  wt: Float64Array;
  yval: Float64Array;
  nobs: Int32Array;
  swap: Uint8Array;
  classWt: Float64Array;
  improve: Float64Array;
  cpTable: Float64Array;
  rootRisk: number;
  /** rpart's splits matrix in preorder: node i owns splits [splitStart[i], splitStart[i+1]) (primary, competitors, surrogates) */
  splitStart: Int32Array;
  nCompete: Int32Array;
  nSurrogate: Int32Array;
  /** majority direction per node: -1 left, 1 right, 0 none (rpart orientation) */
  lastDir: Int32Array;
  splitVar: Int32Array;
  /** numeric: -1 (x < index goes left) or 1; factor: number of levels */
  splitNcat: Int32Array;
  splitCount: Int32Array;
  splitCatOffset: Int32Array;
  splitImprove: Float64Array;
  splitIndex: Float64Array;
  splitAdj: Float64Array;
  /** factor splits: per level -1 left, 1 right, 0 not present */
  catDir: Int32Array;
}

export interface TreeNative {
  treeSketchAdd(
    values: Float64Array,
    valid: Uint8Array | undefined,
    sketchValues: Float64Array,
    sketchCounts: Float64Array,
    missing: number,
    full: boolean,
    k: number,
  ): { values: Float64Array; counts: Float64Array; missing: number; full: boolean };
  /** sketch updates of several columns at once (one thread per column; NaN = missing) */
  treeSketchAddMany(
    columns: Float64Array[],
    states: { values: Float64Array; counts: Float64Array; missing: number; full: boolean }[],
    k: number,
  ): { values: Float64Array; counts: Float64Array; missing: number; full: boolean }[];
  treeSketchBins(values: Float64Array, counts: Float64Array, maxBins: number): { lo: Float64Array; hi: Float64Array };
  treeBinNumeric(
    values: Float64Array,
    valid: Uint8Array | undefined,
    lo: Float64Array,
    hi: Float64Array,
    out: Uint8Array | Uint16Array,
    offset: number,
  ): void;
  treeTrainBoost(
    data: BinnedDataNative,
    y: Float64Array,
    w: Float64Array,
    params: BoostParamsNative,
  ): Promise<FlatTreesNative & { init: Float64Array; trainLoss: Float64Array; trainScore?: Float64Array }>;
  treeTrainForest(
    data: BinnedDataNative,
    y: Float64Array,
    w: Float64Array,
    params: ForestParamsNative,
    strata?: Int32Array,
  ): Promise<FlatTreesNative & { oobError: Float64Array; oobPred: Float64Array }>;
  /** OOB predictions and error by number of trees for a forest's trees (bags recomputed from the params). */
  treeForestOob(
    data: BinnedDataNative,
    y: Float64Array,
    w: Float64Array,
    model: FlatTreesNative,
    params: Omit<ForestParamsNative, 'nTrees' | 'computeOob'>,
    strata?: Int32Array,
  ): Promise<{ oobError: Float64Array; oobPred: Float64Array }>;
  treeTrainRpart(
    data: BinnedDataNative,
    y: Float64Array,
    w: Float64Array,
    params: RpartParamsNative,
    xgroups?: Int32Array,
  ): Promise<RpartResultNative>;
  treePredict(model: FlatTreesNative, x: Float64Array, n: number, p: number, outputs: number): Promise<Float64Array>;
  treePredictSync(model: FlatTreesNative, x: Float64Array, n: number, p: number, outputs: number): Float64Array;
}

export const treeExports = [
  'treeSketchAdd',
  'treeSketchAddMany',
  'treeSketchBins',
  'treeBinNumeric',
  'treeTrainBoost',
  'treeTrainForest',
  'treeForestOob',
  'treeTrainRpart',
  'treePredict',
  'treePredictSync',
] as const satisfies readonly (keyof TreeNative)[];

export const treeNative = (): TreeNative => addon<TreeNative>();
