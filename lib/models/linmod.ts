/**
 * rxLinMod: linear models in one chunked pass over the data.
 *
 * Pass 1 accumulates X'WX, X'Wy and weighted moments of y with the native kernel and
 * solves by the sweep operator (aliased terms -> NA). When the problem is ill-conditioned
 * (condition number of the correlation-scaled X'X above 1e4, or the fit so close that
 * y'Wy - b'X'Wy would lose digits) the accumulator asks for a second pass that builds a
 * mergeable tall-skinny QR factor of [X | y] chunk by chunk and solves from it, which is
 * what gets NIST's Filip and Wampler sets to full accuracy. Well-conditioned problems
 * keep the single cross-product pass.
 */
import { type AccumulatorDef, type PassResult, registerAccumulator } from '../compute/pema.js';
import { RxLocalSeq } from '../compute/context.js';
import { type RxRunOptions, resolveRunOptions, runAccumulator } from '../compute/run.js';
import type { Chunk, DataSource, Schema } from '../data/types.js';
import { resolveSource } from '../data/resolve.js';
import { RxError } from '../errors.js';
import { withTransforms } from '../expr/source.js';
import { pf, pt } from '../stats/distributions.js';
import { argError, expectString } from '../validate.js';
import { type DesignChunk, type DesignOptions, type DesignSpec, type GroupedDesign, createDesign, forEachDesignBlock, forEachGroupedBlock, transientChunkSource, useGrouped } from './design.js';
import { xtwxGrouped } from '../native/linalg.js';
import { type DD, add, ddAddTo, ddCholSolve, ddCholesky, twoProd } from './dd.js';
import { LinModResult } from './results.js';
import { applyPweights } from './sandwich.js';
import { CUBE_FULL_COV_MAX, CUBE_PARTITIONED_MIN_LEVELS, type CubeState, cubeAccumulateDense, cubeAccumulateGrouped, cubeSolve, mergeCube, newCubeState } from './cube.js';
import { type SolveOut, accumulateXtwx, conditionNumber, nestedRss, nestedRssFromR, reportedConditionNumber, qrAccumulate, qrMerge, qrSolve, sweepSolve } from './solve.js';

export interface LinModSpec {
  design: DesignSpec;
  mode: 'xtx' | 'qr' | 'refine';
  tol: number;
  /**
   * cube: accumulate X'WX in the partition [[D, B], [B', C]] (D the diagonal level block)
   * and solve by the Schur complement (lib/models/cube.ts) instead of the dense sweep.
   */
  cubeParts?: boolean;
  fweights: boolean;
  /** State of the cross-product pass, carried into the QR pass. */
  xtxState?: LinModState;
  /** QR pass state and solution, carried into the refinement passes. */
  qrState?: LinModState;
  qrSol?: SolveOut;
  /** Refinement: current coefficients as double-double (hi, lo; aliased columns 0). */
  beta?: Float64Array;
  betaLo?: Float64Array;
  /** Refinement: accumulate the dd Gram matrix and solve the correction in dd. */
  gram?: boolean;
  refineIter?: number;
  /** Largest relative correction of the last refinement step. */
  lastCorrection?: number;
}

export interface LinModState {
  xtx: Float64Array;
  xty: Float64Array;
  /** [sum w, y'Wy, rows] */
  acc: Float64Array;
  /** weighted mean / M2 of y (Chan merge), rows with w > 0 */
  yMean: number;
  yM2: number;
  yW: number;
  nPos: number;
  nMissing: number;
  R: Float64Array | null;
  /** Refinement pass: X'W(y - Xb) and r'Wr in double-double, optionally X'WX in dd. */
  gHi?: Float64Array;
  gLo?: Float64Array;
  GHi?: Float64Array;
  GLo?: Float64Array;
  rss2?: Float64Array;
  /** cube: rows (or frequency weights) per level of the first factor. */
  counts?: Float64Array;
  /** Partitioned cube cross-products (spec.cubeParts; xtx and xty are then empty). */
  cube?: CubeState;
}

export interface LinModRaw {
  spec: LinModSpec;
  state: LinModState;
  /** State of the xtx pass when the QR pass was taken. */
  xtxState?: LinModState;
}

function newState(p: number, spec?: LinModSpec): LinModState {
  const parts = spec?.cubeParts === true && spec.mode === 'xtx' && spec.design.cube !== undefined;
  const s: LinModState = { xtx: new Float64Array(parts ? 0 : p * p), xty: new Float64Array(parts ? 0 : p), acc: new Float64Array(3), yMean: 0, yM2: 0, yW: 0, nPos: 0, nMissing: 0, R: null };
  if (parts) {
    const L = spec.design.cube!.levels.length;
    s.cube = newCubeState(L, p - L);
  }
  if (spec?.design.cube && spec.mode === 'xtx') s.counts = new Float64Array(spec.design.cube.levels.length);
  if (spec?.mode === 'refine') {
    s.gHi = new Float64Array(p);
    s.gLo = new Float64Array(p);
    s.rss2 = new Float64Array(2);
    if (spec.gram) {
      s.GHi = new Float64Array(p * p);
      s.GLo = new Float64Array(p * p);
    }
  }
  return s;
}

/**
 * Refinement pass over one chunk: r = y - Xb exactly to ~32 digits (b in dd, products
 * split exactly), then g += X'Wr, rss += r'Wr and (gram) G += X'WX, all in double-double.
 */
function refineChunk(spec: LinModSpec, state: LinModState, X: Float64Array, n: number, p: number, y: Float64Array, w: Float64Array | null): void {
  const bh = spec.beta!;
  const bl = spec.betaLo!;
  const keep: number[] = [];
  for (let j = 0; j < p; j++) if (!spec.qrSol!.aliased[j]) keep.push(j);
  const gHi = state.gHi!;
  const gLo = state.gLo!;
  const GHi = state.GHi;
  const GLo = state.GLo;
  const rs = state.rss2!;
  const t = new Float64Array(2);
  const wx = new Float64Array(2 * p);
  for (let i = 0; i < n; i++) {
    const wi = w ? w[i]! : 1;
    if (wi === 0) continue;
    // r = y - sum_j x_ij (bh_j + bl_j), summed in dd (sh, sl)
    let sh = y[i]!;
    let sl = 0;
    for (const j of keep) {
      const x = X[j * n + i]!;
      twoProd(x, bh[j]!, t);
      const ah = -t[0]!;
      const s = sh + ah;
      const bb = s - sh;
      sl += sh - (s - bb) + (ah - bb) - t[1]! - x * bl[j]!;
      sh = s;
    }
    const rh = sh + sl;
    const rl = sl - (rh - sh);
    // u = w * r (dd)
    twoProd(rh, wi, t);
    let uh = t[0]!;
    let ul = t[1]! + rl * wi;
    const q = uh + ul;
    ul -= q - uh;
    uh = q;
    // rss += u * r
    twoProd(uh, rh, t);
    ddAddTo(rs, rs.subarray(1), 0, t[0]!, t[1]! + uh * rl + ul * rh);
    for (const j of keep) {
      const x = X[j * n + i]!;
      twoProd(x, uh, t);
      ddAddTo(gHi, gLo, j, t[0]!, t[1]! + x * ul);
    }
    if (GHi && GLo) {
      for (const j of keep) {
        twoProd(X[j * n + i]!, wi, t);
        wx[2 * j] = t[0]!;
        wx[2 * j + 1] = t[1]!;
      }
      for (const j of keep) {
        const xh = wx[2 * j]!;
        const xl = wx[2 * j + 1]!;
        for (const k of keep) {
          if (k < j) continue;
          const xk = X[k * n + i]!;
          twoProd(xh, xk, t);
          ddAddTo(GHi, GLo, k * p + j, t[0]!, t[1]! + xl * xk);
        }
      }
    }
  }
}

/** Weighted moments of y over a block, Chan-merged into the state. */
function yMoments(state: LinModState, y: Float64Array, w: Float64Array | null, n: number): void {
  let sw = 0;
  let swy = 0;
  let npos = 0;
  if (w) {
    for (let i = 0; i < n; i++) {
      const wi = w[i]!;
      if (wi !== 0) npos++;
      sw += wi;
      swy += wi * y[i]!;
    }
  } else {
    for (let i = 0; i < n; i++) swy += y[i]!;
    sw = npos = n;
  }
  if (sw !== 0) {
    const mean = swy / sw;
    let m2 = 0;
    if (w) for (let i = 0; i < n; i++) m2 += w[i]! * (y[i]! - mean) ** 2;
    else for (let i = 0; i < n; i++) m2 += (y[i]! - mean) ** 2;
    chanMerge(state, sw, mean, m2);
  }
  state.nPos += npos;
}

/**
 * The cross-product pass over one block in grouped form: factor columns contribute by
 * indexed adds (native xtwxGrouped) instead of dense multiplies of indicator columns.
 */
function processGrouped(spec: LinModSpec, state: LinModState, g: GroupedDesign): void {
  state.nMissing += g.nMissing;
  if (g.n === 0) return;
  const y = g.y!;
  if (state.cube) cubeAccumulateGrouped(state.cube, g, state.acc);
  else xtwxGrouped(g.D, g.n, g.pd, g.dcols, g.ng, g.ng > 0 ? g.gcols : null, g.gvals, g.w, y, g.p, state.xtx, state.xty, state.acc);
  if (state.counts) {
    // cube: the first term is a pure factor, group 0, whose X columns are its levels
    const fw = spec.fweights ? g.w : null;
    const gc = g.gcols;
    const counts = state.counts;
    for (let k = 0; k < g.n; k++) {
      const c = gc[k]!;
      if (c >= 0) counts[c]! += fw ? fw[k]! : 1;
    }
  }
  yMoments(state, y, g.w, g.n);
}

/** One design block of a pass (X is the shared block buffer: used here, never kept). */
function processBlock(spec: LinModSpec, state: LinModState, d: DesignChunk): void {
  const p = d.p;
  state.nMissing += d.nMissing;
  if (d.n === 0) return;
  if (spec.mode === 'xtx') {
    if (state.cube) cubeAccumulateDense(state.cube, d, state.acc);
    else accumulateXtwx(d.X, d.n, p, d.w, d.y, state.xtx, state.xty, state.acc);
    if (state.counts) {
      const fw = spec.fweights ? d.w : null;
      for (let j = 0; j < state.counts.length; j++) {
        const col = d.X.subarray(j * d.n, (j + 1) * d.n);
        let c = 0;
        for (let i = 0; i < d.n; i++) c += fw ? col[i]! * fw[i]! : col[i]!;
        state.counts[j]! += c;
      }
    }
    yMoments(state, d.y, d.w, d.n);
  } else if (spec.mode === 'qr') {
    state.R = qrAccumulate(state.R, d.X, d.n, p, d.w, d.y);
  } else {
    refineChunk(spec, state, d.X, d.n, p, d.y, d.w);
  }
}

function chanMerge(a: LinModState, wB: number, meanB: number, m2B: number): void {
  if (wB === 0) return;
  const w = a.yW + wB;
  const delta = meanB - a.yMean;
  a.yMean += (delta * wB) / w;
  a.yM2 += m2B + (delta * delta * a.yW * wB) / w;
  a.yW = w;
}

export const linModAccumulator: AccumulatorDef<LinModSpec, LinModState, LinModRaw> = registerAccumulator({
  name: 'rxLinMod',
  columns: (spec) => spec.design.columns,
  init: (spec) => newState(spec.design.xCols.length, spec),
  process(spec, state, chunk: Chunk) {
    if (spec.mode === 'xtx' && (state.cube !== undefined || useGrouped(spec.design)))
      forEachGroupedBlock(
        spec.design,
        chunk,
        (g) => processGrouped(spec, state, g),
        (d) => processBlock(spec, state, d),
      );
    else forEachDesignBlock(spec.design, chunk, (d) => processBlock(spec, state, d));
    return state;
  },
  merge(spec, a, b) {
    const p = spec.design.xCols.length;
    for (let i = 0; i < a.xtx.length; i++) a.xtx[i]! += b.xtx[i]!;
    for (let i = 0; i < a.xty.length; i++) a.xty[i]! += b.xty[i]!;
    if (a.cube && b.cube) mergeCube(a.cube, b.cube);
    for (let i = 0; i < 3; i++) a.acc[i]! += b.acc[i]!;
    chanMerge(a, b.yW, b.yMean, b.yM2);
    a.nPos += b.nPos;
    a.nMissing += b.nMissing;
    a.R = qrMerge(a.R, b.R, p + 1);
    if (a.counts && b.counts) for (let j = 0; j < a.counts.length; j++) a.counts[j]! += b.counts[j]!;
    if (a.gHi && b.gHi) {
      for (let j = 0; j < p; j++) ddAddTo(a.gHi, a.gLo!, j, b.gHi[j]!, b.gLo![j]!);
      ddAddTo(a.rss2!, a.rss2!.subarray(1), 0, b.rss2![0]!, b.rss2![1]!);
      if (a.GHi && b.GHi) for (let j = 0; j < p * p; j++) ddAddTo(a.GHi, a.GLo!, j, b.GHi[j]!, b.GLo![j]!);
    }
    return a;
  },
  finalize(spec, state) {
    const p = spec.design.xCols.length;
    if (spec.mode === 'qr') return afterQr(spec, state, p);
    if (spec.mode === 'refine') return afterRefine(spec, state, p);
    if (state.acc[2] === 0) throw new RxError('RX_MODEL', `rxLinMod: no valid observations for ${spec.design.formula} (${state.nMissing} rows had missing values)`);
    // partitioned cube: solved by the Schur complement in linModFromState (no QR pass)
    if (state.cube) return { done: true, result: { spec, state } };
    const s = sweepSolve(state.xtx, state.xty, p, spec.tol, state.acc[1]!);
    const kappa = conditionNumber(state.xtx, s.inverse, p, s.aliased);
    const yty = state.acc[1]!;
    const tight = s.rss < 1e-6 * (spec.design.intercept ? state.yM2 : yty);
    if (kappa > 1e4 || tight || !Number.isFinite(kappa)) {
      return { done: false, spec: { ...spec, mode: 'qr', xtxState: state } };
    }
    return { done: true, result: { spec, state } };
  },
});

const EPS = 2.220446049250313e-16;
/** Most refinement passes (each one pass over the data). */
const MAX_REFINE = 6;

/**
 * After the TSQR pass: estimate the relative error of the QR solution,
 * eps * (kappa(X) + kappa(X)^2 tan(theta)) (Golub & Van Loan 5.3.8; kappa(X)^2 is the
 * correlation-scaled condition number of X'X, tan(theta) = |r| / |Xb|), and when it
 * exceeds 1e-13 ask for refinement passes whose residuals and X'r are computed in
 * double-double. The correction is solved with (X'X)^-1 from R (seminormal equations,
 * contraction ~ eps kappa(X)^2) or, when that would not contract fast enough, from an
 * X'WX accumulated and factored in double-double.
 */
function afterQr(spec: LinModSpec, state: LinModState, p: number): PassResult<LinModSpec, LinModRaw> {
  const sol = qrSolve(state.R!, p, Math.min(spec.tol, 1e-11));
  const xs = spec.xtxState ?? state;
  const k2 = conditionNumber(xs.xtx, sol.inverse, p, sol.aliased);
  const yty = xs.acc[1]!;
  const fitted = Math.max(yty - sol.rss, 0);
  const tanTheta = fitted > 0 ? Math.sqrt(sol.rss / fitted) : Number.POSITIVE_INFINITY;
  const est = EPS * (Math.sqrt(k2) + k2 * tanTheta);
  if (!(est > 1e-13) || sol.rank === 0) return { done: true, result: { spec, state } };
  const beta = new Float64Array(p);
  for (let j = 0; j < p; j++) beta[j] = sol.aliased[j] ? 0 : sol.coef[j]!;
  return {
    done: false,
    spec: { ...spec, mode: 'refine', qrState: state, qrSol: sol, beta, betaLo: new Float64Array(p), gram: !(k2 * EPS < 1e-3), refineIter: 0 },
  };
}

function afterRefine(spec: LinModSpec, state: LinModState, p: number): PassResult<LinModSpec, LinModRaw> {
  const sol = spec.qrSol!;
  const keep: number[] = [];
  for (let j = 0; j < p; j++) if (!sol.aliased[j]) keep.push(j);
  const m = keep.length;
  const d: DD[] = [];
  let inverse: Float64Array | undefined;
  let L: DD[] | null = null;
  if (spec.gram) {
    const Gh = new Float64Array(m * m);
    const Gl = new Float64Array(m * m);
    for (let a = 0; a < m; a++)
      for (let b = a; b < m; b++) {
        const src = keep[b]! * p + keep[a]!;
        Gh[a * m + b] = Gh[b * m + a] = state.GHi![src]!;
        Gl[a * m + b] = Gl[b * m + a] = state.GLo![src]!;
      }
    L = ddCholesky(Gh, Gl, m);
  }
  if (L) {
    const z = ddCholSolve(
      L,
      m,
      keep.map((j) => [state.gHi![j]!, state.gLo![j]!] as DD),
    );
    d.push(...z);
    // unscaled covariance (X'WX)^-1 from the dd factor
    inverse = new Float64Array(p * p).fill(Number.NaN);
    for (let a = 0; a < m; a++) {
      const e: DD[] = keep.map((_, b) => [b === a ? 1 : 0, 0] as DD);
      const col = ddCholSolve(L, m, e);
      for (let b = 0; b < m; b++) inverse[keep[a]! * p + keep[b]!] = col[b]![0];
    }
  } else {
    for (const a of keep) {
      let s = 0;
      for (const b of keep) s += sol.inverse[b * p + a]! * (state.gHi![b]! + state.gLo![b]!);
      d.push([s, 0]);
    }
  }
  const beta = spec.beta!.slice();
  const betaLo = spec.betaLo!.slice();
  let maxRel = 0;
  keep.forEach((j, a) => {
    const nb = add([beta[j]!, betaLo[j]!], d[a]!);
    maxRel = Math.max(maxRel, Math.abs(d[a]![0]) / Math.max(Math.abs(nb[0]), Number.MIN_VALUE));
    beta[j] = nb[0];
    betaLo[j] = nb[1];
  });
  const iter = (spec.refineIter ?? 0) + 1;
  const next: LinModSpec = { ...spec, beta, betaLo, refineIter: iter, lastCorrection: maxRel };
  if (inverse) next.qrSol = { ...sol, inverse };
  if (maxRel <= 4 * EPS || iter >= MAX_REFINE || !Number.isFinite(maxRel)) return { done: true, result: { spec: next, state } };
  // contraction too slow with the seminormal equations: switch to the dd Gram matrix
  const prev = spec.lastCorrection;
  if (!spec.gram && prev !== undefined && maxRel > 0.1 * prev) next.gram = true;
  return { done: false, spec: next };
}

export interface RxLinModOptions extends RxRunOptions {
  /** Analytic (precision) weights variable. */
  weights?: string;
  /**
   * Probability (sampling) weights: the point estimates are the weighted fit's; standard
   * errors, tests and covCoef are the HC0 sandwich ones (one more pass; result covType 'HC0').
   */
  pweights?: string;
  /** Frequency weights: each row counts w times. */
  fweights?: string;
  dropFirst?: boolean;
  /**
   * RevoScaleR's cube: the first term must be a factor; no intercept, one indicator per
   * level, so its coefficients are cell means (adjusted for the other terms); the result
   * has countDF (rows per cell).
   */
  cube?: boolean;
  /** Drop main effects of variables that appear in interactions. */
  dropMain?: boolean;
  /** Tolerance for declaring a column aliased (default 1e-7 as lm). */
  tolerance?: number;
  covCoef?: boolean;
  /**
   * cube: how X'WX is solved. 'partitioned' keeps the level block as a diagonal and solves
   * by the Schur complement (memory and time linear in the levels); 'dense' builds the full
   * matrix (with the QR fallback for ill-conditioned fits). Default: 'partitioned' above
   * 256 levels.
   */
  cubeSolver?: 'auto' | 'dense' | 'partitioned';
  rowSelection?: string;
  transforms?: Record<string, string>;
}

/** Prepares the source (rowSelection / transforms) and the design. */
export async function prepareModel(
  formula: unknown,
  data: unknown,
  opts: { rowSelection?: string; transforms?: Record<string, string>; dropFirst?: boolean; cube?: boolean; dropMain?: boolean; weights?: string; binaryResponse?: boolean },
) {
  const f = expectString(formula, 'formula');
  let source = resolveSource(data);
  if (opts.rowSelection !== undefined || opts.transforms !== undefined) {
    const t: Parameters<typeof withTransforms>[1] = {};
    if (opts.rowSelection !== undefined) t.rowSelection = opts.rowSelection;
    if (opts.transforms !== undefined) t.transforms = opts.transforms;
    source = withTransforms(source, t);
  }
  const schema: Schema = await source.schema();
  const dOpts: DesignOptions = { dropFirst: opts.dropFirst ?? false };
  if (opts.cube) dOpts.cube = true;
  if (opts.dropMain) dOpts.dropMain = true;
  if (opts.weights !== undefined) dOpts.weights = opts.weights;
  if (opts.binaryResponse) dOpts.binaryResponse = true;
  const design = await createDesign(f, source, dOpts);
  return { source, schema, design };
}

/**
 * The source handed to the compute context: in the in-process context every chunk is
 * consumed (its design built and accumulated) before the next is read and none is kept,
 * so the source may reuse its read buffers.
 */
export function passSource(source: DataSource, opts: RxRunOptions): DataSource {
  return resolveRunOptions(opts).ctx instanceof RxLocalSeq ? transientChunkSource(source) : source;
}

function runOpts(opts: RxRunOptions): RxRunOptions {
  const o: RxRunOptions = {};
  if (opts.computeContext) o.computeContext = opts.computeContext;
  if (opts.rowsPerRead !== undefined) o.rowsPerRead = opts.rowsPerRead;
  if (opts.signal) o.signal = opts.signal;
  if (opts.reportProgress !== undefined) o.reportProgress = opts.reportProgress;
  if (opts.progressStream) o.progressStream = opts.progressStream;
  return o;
}
export { runOpts as modelRunOptions };

/** Fits a linear model. */
export async function rxLinMod(formula: string, data: unknown, opts: RxLinModOptions = {}): Promise<LinModResult> {
  if (typeof opts !== 'object' || opts === null) throw argError('an options object', 'options', opts);
  const wNames = [opts.weights, opts.pweights, opts.fweights].filter((x) => x !== undefined);
  if (wNames.length > 1) throw new RxError('RX_ARG', 'rxLinMod: give only one of weights, pweights, fweights');
  const weights = wNames[0];
  const { source, design } = await prepareModel(formula, data, {
    ...(opts.rowSelection !== undefined ? { rowSelection: opts.rowSelection } : {}),
    ...(opts.transforms !== undefined ? { transforms: opts.transforms } : {}),
    dropFirst: opts.dropFirst ?? false,
    ...(opts.cube ? { cube: true } : {}),
    ...(opts.dropMain ? { dropMain: true } : {}),
    ...(weights !== undefined ? { weights } : {}),
  });
  const spec: LinModSpec = { design, mode: 'xtx', tol: opts.tolerance ?? 1e-7, fweights: opts.fweights !== undefined };
  const solver = opts.cubeSolver ?? 'auto';
  if (!['auto', 'dense', 'partitioned'].includes(solver)) throw argError("'auto', 'dense' or 'partitioned'", 'cubeSolver', solver);
  if (design.cube && (solver === 'partitioned' || (solver === 'auto' && design.cube.levels.length > CUBE_PARTITIONED_MIN_LEVELS))) {
    spec.cubeParts = true;
    const p = design.xCols.length;
    if (opts.pweights !== undefined && p > CUBE_FULL_COV_MAX)
      throw new RxError('RX_MODEL', `rxLinMod: pweights need the full coefficient covariance, too large for a cube with ${design.cube.levels.length} levels (${p} columns; at most ${CUBE_FULL_COV_MAX})`);
  }
  const raw = await runAccumulator(linModAccumulator, spec, passSource(source, opts), runOpts(opts));
  const res = linModFromState(raw, opts);
  if (opts.pweights !== undefined) await applyPweights(res, passSource(source, opts), runOpts(opts), null, false, opts.covCoef === true);
  if (source.describe) res.dataDescription = source.describe();
  return res;
}

/** Turns the accumulated state into the result object. */
export function linModFromState(raw: LinModRaw, opts: { covCoef?: boolean } = {}): LinModResult {
  const spec = raw.spec;
  const design = spec.design;
  const p = design.xCols.length;
  const xs = spec.mode === 'xtx' ? raw.state : (spec.xtxState ?? spec.qrState ?? raw.state);
  let sol: SolveOut;
  let nested: number[];
  let varDiag: Float64Array | null = null;
  let cubeKappa: number | undefined;
  if (xs.cube) {
    // partitioned cube: the full inverse only when small enough (or asked: then an error if too large)
    const c = cubeSolve(xs.cube, spec.tol, xs.acc[1]!, { inverse: opts.covCoef === true || p <= CUBE_FULL_COV_MAX });
    sol = { coef: c.coef, inverse: c.inverse ?? new Float64Array(0), rank: c.rank, aliased: c.aliased, rss: c.rss };
    nested = c.nested;
    varDiag = c.varDiag;
    cubeKappa = c.kappa;
  } else if (spec.mode === 'refine') {
    const q = spec.qrSol!;
    const coef = new Float64Array(p);
    for (let j = 0; j < p; j++) coef[j] = spec.beta![j]! + spec.betaLo![j]!;
    sol = { ...q, coef, rss: raw.state.rss2![0]! + raw.state.rss2![1]! };
    nested = nestedRssFromR(spec.qrState!.R!, p);
  } else if (spec.mode === 'qr') {
    // R's dqrdc2 tolerance is relative to column norms; a smaller tolerance keeps Filip's x^10
    sol = qrSolve(raw.state.R!, p, Math.min(spec.tol, 1e-11));
    nested = nestedRssFromR(raw.state.R!, p);
  } else {
    sol = sweepSolve(xs.xtx, xs.xty, p, spec.tol, xs.acc[1]!);
    const keep: number[] = [];
    for (let j = 0; j < p; j++) if (!sol.aliased[j]) keep.push(j);
    nested = nestedRss(xs.xtx, xs.xty, xs.acc[1]!, p, keep);
  }
  const nObs = spec.fweights ? xs.acc[0]! : xs.nPos;
  const rank = sol.rank;
  const intercept = design.intercept;
  const dfResid = nObs - rank;
  const rss = sol.rss;
  const sigma = dfResid > 0 ? Math.sqrt(rss / dfResid) : Number.NaN;
  const warnings: string[] = [];
  if (dfResid <= 0) warnings.push('Zero residual degrees of freedom: standard errors and tests are NaN');
  const coef = new Array<number>(p);
  const se = new Array<number>(p);
  for (let j = 0; j < p; j++) {
    coef[j] = sol.aliased[j] ? Number.NaN : sol.coef[j]!;
    se[j] = sol.aliased[j] ? Number.NaN : sigma * Math.sqrt(varDiag ? varDiag[j]! : sol.inverse[j * p + j]!);
  }
  const tv = coef.map((b, j) => b / se[j]!);
  const pv = tv.map((t) => (Number.isNaN(t) ? Number.NaN : 2 * pt(Math.abs(t), dfResid, false)));
  // cube: R^2 and F "as if intercept included" (RevoScaleR)
  const centred = intercept || design.cube !== undefined;
  const tss = centred ? xs.yM2 : xs.acc[1]!;
  const r2 = dfResid >= 0 ? 1 - rss / tss : Number.NaN;
  const dfInt = centred ? 1 : 0;
  const adjR2 = 1 - ((1 - r2) * (nObs - dfInt)) / dfResid;
  const dfModel = rank - dfInt;
  const fStat = dfModel > 0 ? (tss - rss) / dfModel / (rss / dfResid) : Number.NaN;
  const fP = dfModel > 0 ? pf(fStat, dfModel, dfResid, false) : Number.NaN;
  const kappa = cubeKappa ?? reportedConditionNumber(xs.xtx, sol.inverse, p, sol.aliased, design.intercept ? 0 : -1);
  // sequential anova: per term, the drop in rss when its columns are added
  const anova = anovaTable(design, sol.aliased, nested, rss, dfResid, sigma);
  const cov: number[][] | undefined = opts.covCoef
    ? Array.from({ length: p }, (_, i) => Array.from({ length: p }, (_, j) => (sol.aliased[i] || sol.aliased[j] ? Number.NaN : sigma * sigma * sol.inverse[j * p + i]!)))
    : undefined;
  // (a partitioned cube above CUBE_FULL_COV_MAX columns has no full inverse: empty)
  const unscaled = sol.inverse.length === p * p ? Array.from({ length: p }, (_, i) => Array.from({ length: p }, (_, j) => sol.inverse[j * p + i]!)) : [];
  return new LinModResult({
    kind: 'linmod',
    formula: design.formula,
    design,
    coefNames: design.xCols.map((c) => design.coefs[c]!.name),
    rNames: design.xCols.map((c) => design.coefs[c]!.rName),
    coefficients: coef,
    stdErrors: se,
    tValues: tv,
    pValues: pv,
    aliased: Array.from(sol.aliased, (a) => a === 1),
    rank,
    sigma,
    dfResidual: dfResid,
    rSquared: r2,
    adjRSquared: adjR2,
    fStatistic: fStat,
    fDf: [dfModel, dfResid],
    fPValue: fP,
    conditionNumber: kappa,
    rss,
    nValidObs: nObs,
    nMissingObs: xs.nMissing,
    unscaledCov: unscaled,
    ...(cov ? { covCoef: cov } : {}),
    anova,
    ...(design.cube && xs.counts ? { countDF: { [design.cube.name]: design.cube.levels.slice(), Counts: Array.from(xs.counts) } } : {}),
    solver: spec.mode,
    ...(spec.mode === 'refine' ? { refinePasses: spec.refineIter! } : {}),
    warnings,
  });
}

export interface AnovaRow {
  term: string;
  df: number;
  sumSq: number;
  meanSq: number;
  fValue: number;
  pValue: number;
}

function anovaTable(design: DesignSpec, aliased: Uint8Array, nested: number[], rss: number, dfResid: number, sigma: number): AnovaRow[] {
  // nested[k] = rss with the first k kept columns; group kept columns by term (in X order)
  const rows: AnovaRow[] = [];
  let k = 0;
  const keptTerm: number[] = [];
  design.xCols.forEach((c, j) => {
    if (!aliased[j]) keptTerm.push(design.coefs[c]!.term);
  });
  // intercept is not reported
  while (k < keptTerm.length && keptTerm[k] === -1) k++;
  let start = k;
  while (start < keptTerm.length) {
    const t = keptTerm[start]!;
    let end = start;
    while (end < keptTerm.length && keptTerm[end] === t) end++;
    const ss = nested[start]! - nested[end]!;
    const df = end - start;
    const ms = ss / df;
    const F = ms / (sigma * sigma);
    rows.push({ term: design.termLabels[t]!, df, sumSq: ss, meanSq: ms, fValue: F, pValue: pf(F, df, dfResid, false) });
    start = end;
  }
  rows.push({ term: 'Residuals', df: dfResid, sumSq: rss, meanSq: rss / dfResid, fValue: Number.NaN, pValue: Number.NaN });
  return rows;
}
