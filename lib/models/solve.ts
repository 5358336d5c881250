/**
 * Numeric core shared by rxLinMod and the IRLS fits: typed access to the native
 * cross-product / sweep / TSQR kernels, chunk-state merging, and condition numbers.
 */
import { addon } from '../native/loader.js';

export interface SolveOut {
  coef: Float64Array;
  /** p x p unscaled covariance (X'WX)^-1, NaN rows/columns for aliased terms. */
  inverse: Float64Array;
  rank: number;
  aliased: Uint8Array;
  rss: number;
}

interface LinalgAddon {
  xtwxAccumulate(X: Float64Array, n: number, p: number, w: Float64Array | null, y: Float64Array | null, xtx: Float64Array, xty: Float64Array, acc: Float64Array): void;
  sweepSolve(xtx: Float64Array, xty: Float64Array, p: number, tol: number, yty?: number): { coef: Float64Array; inverse: Float64Array; rank: number; aliased: Uint8Array; rss: number };
  qrUpdate(R: Float64Array | null, X: Float64Array, n: number, p: number): Float64Array;
  qrSolveR(R: Float64Array, p: number, tol: number): { coef: Float64Array; unscaledCov: Float64Array; rank: number; aliased: Uint8Array; rss: number; pivot: Int32Array };
}

const la = (): LinalgAddon => addon<LinalgAddon>();

/** xtx += X'WX, xty += X'Wz, acc += [sum w, z'Wz, n]. */
export function accumulateXtwx(X: Float64Array, n: number, p: number, w: Float64Array | null, z: Float64Array, xtx: Float64Array, xty: Float64Array, acc: Float64Array): void {
  if (n === 0) return;
  la().xtwxAccumulate(X, n, p, w, z, xtx, xty, acc);
}

/** Sweep solve of the normal equations with RevoScaleR's tolerance rule. */
export function sweepSolve(xtx: Float64Array, xty: Float64Array, p: number, tol: number, yty: number): SolveOut {
  const r = la().sweepSolve(xtx, xty, p, tol, yty);
  return { coef: r.coef, inverse: r.inverse, rank: r.rank, aliased: r.aliased, rss: r.rss };
}

/**
 * Updates the TSQR factor R ((p+1) x (p+1), of [sqrt(w) X | sqrt(w) z]) with a chunk.
 * Returns the new R.
 */
export function qrAccumulate(R: Float64Array | null, X: Float64Array, n: number, p: number, w: Float64Array | null, z: Float64Array): Float64Array {
  const q = p + 1;
  if (n === 0) return R ?? new Float64Array(q * q);
  const M = new Float64Array(n * q);
  M.set(X.subarray(0, n * p));
  M.set(z.subarray(0, n), n * p);
  if (w) {
    for (let j = 0; j < q; j++) {
      const off = j * n;
      for (let i = 0; i < n; i++) M[off + i]! *= Math.sqrt(w[i]!);
    }
  }
  return la().qrUpdate(R, M, n, q);
}

/** Merges two TSQR factors (R'R = Ra'Ra + Rb'Rb). */
export function qrMerge(a: Float64Array | null, b: Float64Array | null, q: number): Float64Array | null {
  if (!a) return b;
  if (!b) return a;
  return la().qrUpdate(a, b, q, q);
}

/** Least squares from the TSQR factor with R's pivoting tolerance. */
export function qrSolve(R: Float64Array, p: number, tol: number): SolveOut {
  const r = la().qrSolveR(R, p, tol);
  return { coef: r.coef, inverse: r.unscaledCov, rank: r.rank, aliased: r.aliased, rss: r.rss };
}

/** Cholesky of a small SPD matrix (column-major), lower factor; null if not PD. */
function cholesky(A: Float64Array, p: number): Float64Array | null {
  const L = new Float64Array(p * p);
  for (let j = 0; j < p; j++) {
    let s = A[j * p + j]!;
    for (let k = 0; k < j; k++) s -= L[k * p + j]! ** 2;
    if (!(s > 0)) return null;
    const d = Math.sqrt(s);
    L[j * p + j] = d;
    for (let i = j + 1; i < p; i++) {
      let t = A[j * p + i]!;
      for (let k = 0; k < j; k++) t -= L[k * p + i]! * L[k * p + j]!;
      L[j * p + i] = t / d;
    }
  }
  return L;
}

/**
 * 1-norm condition number of the correlation-scaled cross-product matrix over the
 * non-aliased columns (1 for orthogonal designs such as cube models).
 */
export function conditionNumber(xtx: Float64Array, inverse: Float64Array, p: number, aliased: Uint8Array): number {
  const keep: number[] = [];
  for (let j = 0; j < p; j++) if (!aliased[j] && xtx[j * p + j]! > 0) keep.push(j);
  if (keep.length === 0) return Number.NaN;
  const d = keep.map((j) => Math.sqrt(xtx[j * p + j]!));
  let nA = 0;
  let nI = 0;
  for (let a = 0; a < keep.length; a++) {
    let sA = 0;
    let sI = 0;
    for (let b = 0; b < keep.length; b++) {
      const i = keep[a]!;
      const j = keep[b]!;
      sA += Math.abs(xtx[j * p + i]!) / (d[a]! * d[b]!);
      sI += Math.abs(inverse[j * p + i]!) * d[a]! * d[b]!;
    }
    nA = Math.max(nA, sA);
    nI = Math.max(nI, sI);
  }
  return nA * nI;
}

/**
 * RevoScaleR's "condition number" (verified against its printed rxGlm output on breslow):
 * the 1-norm condition number of the correlation matrix of the predictors after the
 * intercept (column `icpt`, -1 for none) is swept out, i.e. of the weighted, centred
 * cross-products. Its inverse is the corresponding block of (X'WX)^-1 (Schur complement).
 */
export function reportedConditionNumber(xtx: Float64Array, inverse: Float64Array, p: number, aliased: Uint8Array, icpt: number): number {
  if (icpt < 0 || aliased[icpt] || !(xtx[icpt * p + icpt]! > 0)) return conditionNumber(xtx, inverse, p, aliased);
  const a00 = xtx[icpt * p + icpt]!;
  const B = new Float64Array(p * p);
  for (let j = 0; j < p; j++) for (let i = 0; i < p; i++) B[j * p + i] = xtx[j * p + i]! - (xtx[icpt * p + i]! * xtx[j * p + icpt]!) / a00;
  const al = Uint8Array.from(aliased);
  al[icpt] = 1;
  let any = false;
  for (let j = 0; j < p; j++) if (!al[j]) any = true;
  return any ? conditionNumber(B, inverse, p, al) : 1;
}

/** Residual sums of squares of the nested models using the first k columns, k = 0..p (via Cholesky of [X'X X'y; y'X y'y]). */
export function nestedRss(xtx: Float64Array, xty: Float64Array, yty: number, p: number, cols: number[]): number[] {
  const q = cols.length + 1;
  const A = new Float64Array(q * q);
  for (let a = 0; a < cols.length; a++) {
    for (let b = 0; b < cols.length; b++) A[b * q + a] = xtx[cols[b]! * p + cols[a]!]!;
    A[(q - 1) * q + a] = xty[cols[a]!]!;
    A[a * q + q - 1] = xty[cols[a]!]!;
  }
  A[q * q - 1] = yty;
  const L = cholesky(A, q);
  const out = new Array<number>(cols.length + 1);
  if (!L) return out.fill(Number.NaN);
  // rss_k = sum_{i >= k} L[q-1, i]^2 (effects)
  let tail = L[(q - 1) * q + q - 1]! ** 2;
  out[cols.length] = tail;
  for (let k = cols.length - 1; k >= 0; k--) {
    tail += L[k * q + q - 1]! ** 2;
    out[k] = tail;
  }
  return out;
}

/** Squared effects from a TSQR factor of [X | y]: rss of nested models in column order. */
export function nestedRssFromR(R: Float64Array, p: number): number[] {
  const q = p + 1;
  const out = new Array<number>(p + 1);
  let tail = R[p * q + p]! ** 2;
  out[p] = tail;
  for (let k = p - 1; k >= 0; k--) {
    tail += R[p * q + k]! ** 2;
    out[k] = tail;
  }
  return out;
}
