/**
 * Typed mirror of the linear-algebra exports of the native addon (native/binding/linalg.cpp,
 * kernels in native/src/linalg). Layout conventions:
 *  - Matrices are column-major Float64Arrays: element (i, j) of an r x c matrix is at i + j * r.
 *  - X (n x p): column j occupies X[j*n .. (j+1)*n).
 *  - Symmetric outputs (xtx, inverse, unscaledCov) are full (both triangles).
 *  - R factors are k x k upper-triangular, column-major, zeros below the diagonal.
 * Errors: RxError RX_ARG ("Expected X for Y but received Z") for bad arguments,
 * RX_SINGULAR when a Cholesky factorisation meets a non positive-definite matrix.
 * The async variants run on the libuv pool; do not transfer/detach their buffers while pending.
 * The exported async wrappers never throw: argument errors come back as rejected promises.
 */
import { addon } from './loader.js';

/** Result of a rank-revealing solve (sweepSolve / qrSolveR). */
export interface RankRevealingSolve {
  /** p coefficients in the original column order; NaN for aliased columns. */
  coef: Float64Array;
  /** Number of non-aliased columns. */
  rank: number;
  /** p flags, 1 = column aliased (linearly dependent on kept columns). */
  aliased: Uint8Array;
  /** Column order used: kept columns first (in elimination order), then aliased ones. */
  pivot: Int32Array;
  /** Residual sum of squares (qrSolveR always; sweepSolve only when yty was given, else NaN). */
  rss: number;
}

export interface SweepSolveResult extends RankRevealingSolve {
  /** p x p inv(X'WX) over the non-aliased columns; rows/columns of aliased columns are NaN. */
  inverse: Float64Array;
}

export interface QrSolveResult extends RankRevealingSolve {
  /** p x p (R'R)^-1 = inv(X'X) over the non-aliased columns (unscaled covariance); aliased rows/cols NaN. */
  unscaledCov: Float64Array;
}

/** Raw addon signatures (argument checking is done natively). */
export interface LinalgNative {
  /**
   * Accumulates in place, over X (n x p): xtx (p*p) += X'WX, xty (p) += X'Wy,
   * acc[0] += sum w (n if unweighted), acc[1] += y'Wy, acc[2] += n.
   * w, y may be null (then xty / acc[1] are untouched). Negative weights are allowed.
   */
  xtwxAccumulate(X: Float64Array, n: number, p: number, w: Float64Array | null, y: Float64Array | null, xtx: Float64Array, xty: Float64Array, acc: Float64Array): void;
  /** Same as xtwxAccumulate on the libuv pool; the event loop keeps running. */
  xtwxAccumulateAsync(X: Float64Array, n: number, p: number, w: Float64Array | null, y: Float64Array | null, xtx: Float64Array, xty: Float64Array, acc: Float64Array): Promise<void>;
  /** Same computation, forced through the built-in portable kernels (for tests/benchmarks). */
  xtwxAccumulateBuiltin(X: Float64Array, n: number, p: number, w: Float64Array | null, y: Float64Array | null, xtx: Float64Array, xty: Float64Array, acc: Float64Array): void;
  /** Solves A x = b for SPD A (p x p; upper triangle read). b holds p x nrhs values. */
  cholSolve(A: Float64Array, p: number, b: Float64Array): Float64Array;
  /** inv(A) (full symmetric) for SPD A. */
  cholInverse(A: Float64Array, p: number): Float64Array;
  /**
   * Sweep operator on X'X with tolerance (RevoScaleR style). Column k is aliased when its
   * pivot (residual SS of x_k on the kept earlier columns) <= tol * xtx[k,k], i.e. 1 - R^2_k <= tol.
   * Default tol 1e-10 (this is on the squared scale: equivalent to a QR norm ratio of 1e-5).
   * yty (optional) = y'Wy gives rss.
   */
  sweepSolve(xtx: Float64Array, xty: Float64Array, p: number, tol?: number, yty?: number): SweepSolveResult;
  /**
   * Mergeable tall-skinny QR: R (k x k upper, or null) and X (n x k) -> R' (k x k upper) with
   * R''R' = R'R + X'X. Merge two partial factors with qrUpdate(R1, R2, k, k). To solve least
   * squares, append y as the last column (k = p + 1) and call qrSolveR(R, p).
   */
  qrUpdate(R: Float64Array | null, X: Float64Array, n: number, p: number): Float64Array;
  qrUpdateAsync(R: Float64Array | null, X: Float64Array, n: number, p: number): Promise<Float64Array>;
  /**
   * Least squares from R of [X | y] ((p+1) x (p+1)): Householder QR of R[0:p,0:p] with R lm's
   * limited column pivoting (LINPACK dqrdc2): a column whose remaining norm falls below
   * tol x its original norm is moved to the end and reported aliased. Default tol 1e-7 (as lm).
   */
  qrSolveR(R: Float64Array, p: number, tol?: number): QrSolveResult;
  /**
   * One fused IRLS pass of a logistic regression over X (n x p): eta = X beta (+ offset), or
   * R's binomial mustart when beta is null; accumulates xtx += X'WX, xty += X'Wz,
   * acc += [sum W, z'Wz, n] with R's working weights W and response z, and adds to s (11):
   * s[0] deviance, s[1] null deviance at wtdmu (skipped when wtdmu is NaN), s[2] sum pw y,
   * s[3] sum pw, s[5] sum log-likelihood (valid for unit prior weights), s[8] rows with pw > 0,
   * s[9]/s[10] min/max y. Multithreaded. gram: false (default true) leaves xtx, xty and acc
   * alone (a pass that only evaluates the deviance). Returns -1, or the first row whose y is
   * not 0/1 (then nothing is accumulated).
   */
  irlsLogit(X: Float64Array, n: number, p: number, y: Float64Array, pw: Float64Array | null, offset: Float64Array | null, beta: Float64Array | null, wtdmu: number, xtx: Float64Array, xty: Float64Array, acc: Float64Array, s: Float64Array, gram?: boolean): number;
  /**
   * Cross-products of a model matrix given as dense columns D (n x pd, at X columns dcols)
   * plus ng one-hot groups (factor terms): row r of group g has value gvals[g*n + r] (1 when
   * gvals is null) in X column gcols[g*n + r] (-1: none). Accumulates exactly what
   * xtwxAccumulate would on the dense X (p x p, p <= 4096): xtx += X'WX, xty += X'Wy,
   * acc += [sum w, y'Wy, n]; factor columns cost an indexed add per row. Multithreaded.
   */
  xtwxGrouped(D: Float64Array, n: number, pd: number, dcols: Int32Array, ng: number, gcols: Int32Array | null, gvals: Float64Array | null, w: Float64Array | null, y: Float64Array | null, p: number, xtx: Float64Array, xty: Float64Array, acc: Float64Array): void;
  /**
   * A zero-filled ArrayBuffer of `bytes` for large long-lived arrays: on Linux mapped with
   * transparent huge pages requested (one page fault per 2 MiB when filled), else plain.
   */
  hugeBuffer(bytes: number): ArrayBuffer;
  /** Benchmark helper: one syrk C = A'A (A k x n) on the linked BLAS; returns seconds. */
  blasSyrkBench(A: Float64Array, k: number, n: number, C: Float64Array): number;
  /** Benchmark helper: one gemm C = A'A (A k x n) on the linked BLAS; returns seconds. */
  blasGemmBench(A: Float64Array, k: number, n: number, C: Float64Array): number;
  /** Thread count the linked BLAS currently uses (set with the shared budget, rxOptions({ numThreads })). */
  blasThreads(): number;
}

export const linalgExports = [
  'xtwxAccumulate',
  'xtwxAccumulateAsync',
  'xtwxAccumulateBuiltin',
  'cholSolve',
  'cholInverse',
  'sweepSolve',
  'qrUpdate',
  'qrUpdateAsync',
  'qrSolveR',
  'irlsLogit',
  'hugeBuffer',
  'xtwxGrouped',
  'blasSyrkBench',
  'blasGemmBench',
  'blasThreads',
] as const satisfies readonly (keyof LinalgNative)[];

const la = () => addon<LinalgNative>();

/** X'WX, X'Wy, [sum w, y'Wy, rows] accumulated in place (see LinalgNative.xtwxAccumulate). */
export function xtwxAccumulate(X: Float64Array, n: number, p: number, w: Float64Array | null, y: Float64Array | null, xtx: Float64Array, xty: Float64Array, acc: Float64Array): void {
  la().xtwxAccumulate(X, n, p, w, y, xtx, xty, acc);
}

/** Async xtwxAccumulate for big chunks (runs off the JS thread). */
export function xtwxAccumulateAsync(X: Float64Array, n: number, p: number, w: Float64Array | null, y: Float64Array | null, xtx: Float64Array, xty: Float64Array, acc: Float64Array): Promise<void> {
  try {
    return la().xtwxAccumulateAsync(X, n, p, w, y, xtx, xty, acc);
  } catch (e) {
    return Promise.reject(e);
  }
}

/** xtwxAccumulate through the built-in portable kernels regardless of the linked BLAS. */
export function xtwxAccumulateBuiltin(X: Float64Array, n: number, p: number, w: Float64Array | null, y: Float64Array | null, xtx: Float64Array, xty: Float64Array, acc: Float64Array): void {
  la().xtwxAccumulateBuiltin(X, n, p, w, y, xtx, xty, acc);
}

export function cholSolve(A: Float64Array, p: number, b: Float64Array): Float64Array {
  return la().cholSolve(A, p, b);
}

export function cholInverse(A: Float64Array, p: number): Float64Array {
  return la().cholInverse(A, p);
}

export function sweepSolve(xtx: Float64Array, xty: Float64Array, p: number, tol?: number, yty?: number): SweepSolveResult {
  return la().sweepSolve(xtx, xty, p, tol, yty);
}

export function qrUpdate(R: Float64Array | null, X: Float64Array, n: number, p: number): Float64Array {
  return la().qrUpdate(R, X, n, p);
}

export function qrUpdateAsync(R: Float64Array | null, X: Float64Array, n: number, p: number): Promise<Float64Array> {
  try {
    return la().qrUpdateAsync(R, X, n, p);
  } catch (e) {
    return Promise.reject(e);
  }
}

export function qrSolveR(R: Float64Array, p: number, tol?: number): QrSolveResult {
  return la().qrSolveR(R, p, tol);
}

/** One fused native IRLS pass of a logistic regression (see LinalgNative.irlsLogit). */
export function irlsLogit(X: Float64Array, n: number, p: number, y: Float64Array, pw: Float64Array | null, offset: Float64Array | null, beta: Float64Array | null, wtdmu: number, xtx: Float64Array, xty: Float64Array, acc: Float64Array, s: Float64Array, gram = true): number {
  return la().irlsLogit(X, n, p, y, pw, offset, beta, wtdmu, xtx, xty, acc, s, gram);
}

/** Cross-products of a dense + one-hot-groups model matrix; see LinalgNative.xtwxGrouped. */
export function xtwxGrouped(D: Float64Array, n: number, pd: number, dcols: Int32Array, ng: number, gcols: Int32Array | null, gvals: Float64Array | null, w: Float64Array | null, y: Float64Array | null, p: number, xtx: Float64Array, xty: Float64Array, acc: Float64Array): void {
  la().xtwxGrouped(D, n, pd, dcols, ng, gcols, gvals, w, y, p, xtx, xty, acc);
}

/** A zero-filled (huge-page backed on Linux) ArrayBuffer; see LinalgNative.hugeBuffer. */
export function hugeBuffer(bytes: number): ArrayBuffer {
  return la().hugeBuffer(bytes);
}

export function blasSyrkBench(A: Float64Array, k: number, n: number, C: Float64Array): number {
  return la().blasSyrkBench(A, k, n, C);
}

export function blasGemmBench(A: Float64Array, k: number, n: number, C: Float64Array): number {
  return la().blasGemmBench(A, k, n, C);
}

/** Thread count the linked BLAS currently uses (follows rxOptions({ numThreads })). */
export function blasThreads(): number {
  return la().blasThreads();
}
