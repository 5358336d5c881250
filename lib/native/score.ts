/** Typed mirror of the real-time scorer's native exports (native/binding/score.cpp). */
import { addon } from './loader.js';
import type { FlatTreesNative } from './tree.js';

/** Opaque handle of a compiled scorer (an N-API External). */
export type ScorerHandle = { readonly __scorer: unique symbol };

/** Tree post-processing codes (native/src/score/scorer.h TreePost). */
export const TREE_POST = { raw: 0, exp: 1, sigmoidPair: 2, softmax: 3, pair: 4, sigmoidTriple: 5 } as const;
/** Functions of one numeric input the linear scorer applies (native/src/score/scorer.h NumFn). */
export const NUM_FN = { log: 1, exp: 2, sqrt: 3, abs: 4, log10: 5, log2: 6, log1p: 7, expm1: 8 } as const;
/** Link codes (native/src/score/scorer.h Link). */
export const LINK_CODE = { identity: 0, log: 1, logit: 2, probit: 3, cloglog: 4, inverse: 5, '1/mu^2': 6, sqrt: 7, power: 8 } as const;

export interface LinearSpecNative {
  nInputs: number;
  intercept: number;
  numOff: Int32Array;
  numIdx: Int32Array;
  facOff: Int32Array;
  facIdx: Int32Array;
  facSize: Int32Array;
  slot: Int32Array;
  /** Per numIdx entry: NUM_FN code applied to the input first (absent = none). */
  numFn?: Int32Array;
  beta: Float64Array;
  offsets: Int32Array;
  link: number;
  linkPower: number;
}

export interface ScoreNative {
  scoreTreesCreate(trees: FlatTreesNative, p: number, outputs: number, post: number, init?: Float64Array): ScorerHandle;
  scoreLinearCreate(spec: LinearSpecNative): ScorerHandle;
  scoreInfo(h: ScorerHandle): { inputs: number; width: number };
  /** One row, synchronous, no allocation: x[inputs] -> out[width]. */
  scoreRow(h: ScorerHandle, x: Float64Array, out: Float64Array): void;
  /** A function bound to the handle and two arrays: each call scores x's current contents into out (no arguments, no allocation). */
  scoreRowBind(h: ScorerHandle, x: Float64Array, out: Float64Array): () => void;
  /** Column-major x (n x inputs) -> row-major n x width, on the libuv pool. */
  scoreBatch(h: ScorerHandle, x: Float64Array, n: number): Promise<Float64Array>;
  scoreBatchSync(h: ScorerHandle, x: Float64Array, n: number): Float64Array;
  scoreFree(h: ScorerHandle): void;
}

export const scoreExports = [
  'scoreTreesCreate',
  'scoreLinearCreate',
  'scoreInfo',
  'scoreRow',
  'scoreRowBind',
  'scoreBatch',
  'scoreBatchSync',
  'scoreFree',
] as const satisfies readonly (keyof ScoreNative)[];

export const scoreNative = (): ScoreNative => addon<ScoreNative>();
