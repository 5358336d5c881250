/**
 * Partitioned cross-products and solve for rxLinMod's cube models (RevoScaleR's cube: the
 * first term is a factor, no intercept). With the cube factor's L levels first and the pd
 * other columns after them,
 *
 *   X'WX = [[D, B], [B', C]]
 *
 * where D is diagonal (the weighted counts per level: the level indicators are mutually
 * exclusive), B is L x pd and C is pd x pd. The pass accumulates D, B, C and X'Wy in that
 * partition by indexed adds on the level code (no dense L x L matrix), and the solve works
 * on the Schur complement S = C - B'D^-1 B, so a cube with 10,000 levels costs O(L pd^2)
 * memory and time instead of O(L^2) memory and O(L^3) time.
 */
import { RxError } from '../errors.js';
import type { DesignChunk, GroupedDesign } from './design.js';
import { nestedRss } from './solve.js';

/** Levels above which rxLinMod's cube uses the partitioned solve by default. */
export const CUBE_PARTITIONED_MIN_LEVELS = 256;
/** Most X columns for which the partitioned solve builds the full unscaled covariance. */
export const CUBE_FULL_COV_MAX = 2048;

export interface CubeState {
  /** Cube levels (X columns 0..L-1). */
  L: number;
  /** Other X columns (X columns L..L+po-1). */
  po: number;
  /** Diagonal of the level block: sum of w per level. */
  d: Float64Array;
  /** X'Wy of the level columns. */
  dy: Float64Array;
  /** L x po, row-major by level: B[i * po + o]. */
  B: Float64Array;
  /** po x po column-major (full, symmetric). */
  C: Float64Array;
  /** X'Wy of the other columns. */
  cy: Float64Array;
}

export function newCubeState(L: number, po: number): CubeState {
  return { L, po, d: new Float64Array(L), dy: new Float64Array(L), B: new Float64Array(L * po), C: new Float64Array(po * po), cy: new Float64Array(po) };
}

/** a += b. */
export function mergeCube(a: CubeState, b: CubeState): void {
  const add = (x: Float64Array, y: Float64Array) => {
    for (let i = 0; i < x.length; i++) x[i]! += y[i]!;
  };
  add(a.d, b.d);
  add(a.dy, b.dy);
  add(a.B, b.B);
  add(a.C, b.C);
  add(a.cy, b.cy);
}

/** One row: level c, other-column entries (idx, val) k of them, weight w, response y. */
function addRow(cs: CubeState, c: number, idx: Int32Array, val: Float64Array, k: number, w: number, y: number): void {
  const po = cs.po;
  const wy = w * y;
  if (c >= 0) {
    cs.d[c]! += w;
    cs.dy[c]! += wy;
  }
  const C = cs.C;
  const B = cs.B;
  for (let a = 0; a < k; a++) {
    const o = idx[a]!;
    const wv = w * val[a]!;
    cs.cy[o]! += wv * y;
    if (c >= 0) B[c * po + o]! += wv;
    for (let b = 0; b < k; b++) C[idx[b]! * po + o]! += wv * val[b]!;
  }
}

/**
 * Accumulates a grouped design block (group 0 is the cube term, whose X columns are its
 * level codes). acc += [sum w, y'Wy, rows].
 */
export function cubeAccumulateGrouped(cs: CubeState, g: GroupedDesign, acc: Float64Array): void {
  const n = g.n;
  const L = cs.L;
  const y = g.y!;
  const w = g.w;
  const kmax = g.pd + Math.max(0, g.ng - 1);
  const idx = new Int32Array(kmax);
  const val = new Float64Array(kmax);
  let sw = 0;
  let syy = 0;
  for (let r = 0; r < n; r++) {
    const wr = w ? w[r]! : 1;
    const yr = y[r]!;
    sw += wr;
    syy += wr * yr * yr;
    if (wr === 0) continue;
    let k = 0;
    for (let j = 0; j < g.pd; j++) {
      idx[k] = g.dcols[j]! - L;
      val[k++] = g.D[j * n + r]!;
    }
    for (let q = 1; q < g.ng; q++) {
      const col = g.gcols[q * n + r]!;
      if (col < 0) continue;
      idx[k] = col - L;
      val[k++] = g.gvals ? g.gvals[q * n + r]! : 1;
    }
    addRow(cs, g.ng > 0 ? g.gcols[r]! : -1, idx, val, k, wr, yr);
  }
  acc[0]! += sw;
  acc[1]! += syy;
  acc[2]! += n;
}

/** Accumulates a dense design block (the fallback of blocks with a missing weight). */
export function cubeAccumulateDense(cs: CubeState, d: DesignChunk, acc: Float64Array): void {
  const n = d.n;
  const L = cs.L;
  const po = cs.po;
  const idx = new Int32Array(po);
  const val = new Float64Array(po);
  let sw = 0;
  let syy = 0;
  for (let r = 0; r < n; r++) {
    const wr = d.w ? d.w[r]! : 1;
    const yr = d.y[r]!;
    sw += wr;
    syy += wr * yr * yr;
    if (wr === 0) continue;
    let c = -1;
    for (let j = 0; j < L; j++)
      if (d.X[j * n + r] !== 0) {
        c = j;
        break;
      }
    let k = 0;
    for (let o = 0; o < po; o++) {
      const v = d.X[(L + o) * n + r]!;
      if (v === 0) continue;
      idx[k] = o;
      val[k++] = v;
    }
    addRow(cs, c, idx, val, k, wr, yr);
  }
  acc[0]! += sw;
  acc[1]! += syy;
  acc[2]! += n;
}

export interface CubeSolution {
  /** Coefficients (levels, then the other columns; NaN where aliased). */
  coef: Float64Array;
  aliased: Uint8Array;
  rank: number;
  rss: number;
  /** Diagonal of (X'WX)^-1 (NaN where aliased). */
  varDiag: Float64Array;
  /** Full (X'WX)^-1 (column-major, NaN rows/columns where aliased), only when asked. */
  inverse?: Float64Array;
  /** Residual sums of squares of the nested models over the kept columns in X order. */
  nested: number[];
  /** 1-norm condition number of the correlation-scaled X'WX over the kept columns. */
  kappa: number;
}

/**
 * Sweep of a small symmetric system with the dense path's aliasing rule (a pivot is
 * aliased when its swept diagonal is at most tol times the reference diagonal `ref`).
 * M is (p+1) x (p+1) column-major with the response in row/column p; swept in place.
 */
function sweepSmall(M: Float64Array, ref: Float64Array, p: number, tol: number): Uint8Array {
  const q = p + 1;
  const aliased = new Uint8Array(p);
  for (let k = 0; k < p; k++) {
    const d0 = ref[k]!;
    const d = M[k * q + k]!;
    if (!(d0 > 0) || !(d > tol * d0)) {
      aliased[k] = 1;
      continue;
    }
    for (let j = 0; j < q; j++) {
      if (j === k) continue;
      const mkj = M[j * q + k]! / d;
      if (mkj === 0) continue;
      for (let i = 0; i < q; i++) if (i !== k) M[j * q + i]! -= M[k * q + i]! * mkj;
    }
    for (let i = 0; i < q; i++)
      if (i !== k) {
        M[k * q + i]! /= d;
        M[i * q + k]! /= d;
      }
    M[k * q + k] = -1 / d;
  }
  return aliased;
}

/**
 * Solves the cube model by the Schur complement: empty cells (D_i = 0) are aliased (NA);
 * the other columns are swept on S = C - B'D^-1 B with the tolerance relative to C's
 * diagonal, as the dense sweep does after the level columns.
 */
export function cubeSolve(cs: CubeState, tol: number, yty: number, opts: { inverse?: boolean } = {}): CubeSolution {
  const { L, po, d, dy, B, C, cy } = cs;
  const p = L + po;
  const q = po + 1;
  // Schur complement with the response: [[S, sy], [sy', syy]]
  const M = new Float64Array(q * q);
  for (let j = 0; j < po; j++) {
    for (let i = 0; i < po; i++) M[j * q + i] = 0.5 * (C[j * po + i]! + C[i * po + j]!);
    M[po * q + j] = M[j * q + po] = cy[j]!;
  }
  M[q * q - 1] = yty;
  const keptLevels: number[] = [];
  for (let l = 0; l < L; l++) {
    const dl = d[l]!;
    if (!(dl > 0)) continue;
    keptLevels.push(l);
    const row = B.subarray(l * po, l * po + po);
    const dyl = dy[l]!;
    for (let j = 0; j < po; j++) {
      const bj = row[j]! / dl;
      if (bj !== 0) for (let i = 0; i < po; i++) M[j * q + i]! -= row[i]! * bj;
      M[po * q + j]! -= bj * dyl;
    }
    M[q * q - 1]! -= (dyl * dyl) / dl;
  }
  for (let j = 0; j < po; j++) M[j * q + po] = M[po * q + j]!;
  const S0 = M.slice();
  const refDiag = new Float64Array(po);
  for (let o = 0; o < po; o++) refDiag[o] = C[o * po + o]!;
  const alO = sweepSmall(M, refDiag, po, tol);
  const keepO: number[] = [];
  for (let o = 0; o < po; o++) if (!alO[o]) keepO.push(o);
  // S^-1 over the kept other columns (0 elsewhere) and their coefficients
  const Sinv = new Float64Array(po * po);
  const bO = new Float64Array(po);
  for (const j of keepO) {
    bO[j] = M[po * q + j]!;
    for (const i of keepO) Sinv[j * po + i] = -0.5 * (M[j * q + i]! + M[i * q + j]!);
  }
  const rss = M[q * q - 1]!;
  const coef = new Float64Array(p).fill(Number.NaN);
  const varDiag = new Float64Array(p).fill(Number.NaN);
  const aliased = new Uint8Array(p);
  // u_l = B_l / d_l; v_l = S^-1 u_l (kept columns)
  const U = new Float64Array(L * po);
  const V = new Float64Array(L * po);
  for (let l = 0; l < L; l++) {
    const dl = d[l]!;
    if (!(dl > 0)) {
      aliased[l] = 1;
      continue;
    }
    let s = dy[l]!;
    for (const o of keepO) s -= B[l * po + o]! * bO[o]!;
    coef[l] = s / dl;
    for (const o of keepO) U[l * po + o] = B[l * po + o]! / dl;
    let quad = 0;
    for (const i of keepO) {
      let t = 0;
      for (const j of keepO) t += Sinv[j * po + i]! * U[l * po + j]!;
      V[l * po + i] = t;
      quad += U[l * po + i]! * t;
    }
    varDiag[l] = 1 / dl + quad;
  }
  for (let o = 0; o < po; o++) {
    if (alO[o]) {
      aliased[L + o] = 1;
      continue;
    }
    coef[L + o] = bO[o]!;
    varDiag[L + o] = Sinv[o * po + o]!;
  }
  const rank = keptLevels.length + keepO.length;
  // nested rss: the kept levels one by one, then the other columns on the Schur system
  const nested: number[] = [yty];
  let acc = yty;
  for (const l of keptLevels) {
    acc -= (dy[l]! * dy[l]!) / d[l]!;
    nested.push(acc);
  }
  if (keepO.length > 0) {
    const Sxx = new Float64Array(po * po);
    const Sxy = new Float64Array(po);
    for (let j = 0; j < po; j++) {
      for (let i = 0; i < po; i++) Sxx[j * po + i] = S0[j * q + i]!;
      Sxy[j] = S0[po * q + j]!;
    }
    const tail = nestedRss(Sxx, Sxy, S0[q * q - 1]!, po, keepO);
    for (let k = 1; k < tail.length; k++) nested.push(tail[k]!);
  }
  const kappa = cubeConditionNumber(cs, keptLevels, keepO, U, V, Sinv);
  const out: CubeSolution = { coef, aliased, rank, rss, varDiag, nested, kappa };
  if (opts.inverse) out.inverse = cubeInverse(cs, aliased, U, V, Sinv);
  return out;
}

/** Full (X'WX)^-1 from the partition (column-major p x p, NaN rows/columns where aliased). */
function cubeInverse(cs: CubeState, aliased: Uint8Array, U: Float64Array, V: Float64Array, Sinv: Float64Array): Float64Array {
  const { L, po, d } = cs;
  const p = L + po;
  if (p > CUBE_FULL_COV_MAX)
    throw new RxError('RX_MODEL', `rxLinMod: the coefficient covariance of a cube with ${L} levels (${p} x ${p}) is too large to build; at most ${CUBE_FULL_COV_MAX} columns are supported (standard errors are available without covCoef)`);
  const inv = new Float64Array(p * p).fill(Number.NaN);
  for (let a = 0; a < p; a++) {
    if (aliased[a]) continue;
    for (let b = 0; b < p; b++) {
      if (aliased[b]) continue;
      let v: number;
      if (a < L && b < L) {
        v = a === b ? 1 / d[a]! : 0;
        for (let o = 0; o < po; o++) v += U[a * po + o]! * V[b * po + o]!;
      } else if (a < L) v = -V[a * po + (b - L)]!;
      else if (b < L) v = -V[b * po + (a - L)]!;
      else v = Sinv[(b - L) * po + (a - L)]!;
      inv[b * p + a] = v;
    }
  }
  return inv;
}

/**
 * 1-norm condition number of the correlation-scaled X'WX over the kept columns (the
 * dense path's conditionNumber), from the partition: O(L^2 pd) time, O(L pd) memory.
 */
function cubeConditionNumber(cs: CubeState, keptLevels: number[], keepO: number[], U: Float64Array, V: Float64Array, Sinv: Float64Array): number {
  const { po, d, B, C } = cs;
  const ko = keepO.filter((o) => C[o * po + o]! > 0);
  if (keptLevels.length + ko.length === 0) return Number.NaN;
  const sc = ko.map((o) => Math.sqrt(C[o * po + o]!));
  const sl = keptLevels.map((l) => Math.sqrt(d[l]!));
  let nA = 0;
  let nI = 0;
  // packed, scaled u_l and S^-1 u_l over the kept other columns (the O(L^2 pd) loop below)
  const nl = keptLevels.length;
  const K = keepO.length;
  const Up = new Float64Array(nl * K);
  const Vp = new Float64Array(nl * K);
  for (let a = 0; a < nl; a++) {
    const l = keptLevels[a]!;
    for (let k = 0; k < K; k++) {
      Up[a * K + k] = U[l * po + keepO[k]!]! * sl[a]!;
      Vp[a * K + k] = V[l * po + keepO[k]!]! * sl[a]!;
    }
  }
  // level rows
  for (let a = 0; a < keptLevels.length; a++) {
    const l = keptLevels[a]!;
    let sA = 1;
    let sI = 0;
    for (let b = 0; b < ko.length; b++) {
      const o = ko[b]!;
      sA += Math.abs(B[l * po + o]!) / (sl[a]! * sc[b]!);
      sI += Math.abs(V[l * po + o]!) * sl[a]! * sc[b]!;
    }
    // level-level block of the scaled inverse: delta + (sqrt(d_l) u_l)' (sqrt(d_m) S^-1 u_m)
    const ua = a * K;
    let diag = 0;
    for (let c = 0; c < nl; c++) {
      const vc = c * K;
      let v = 0;
      for (let k = 0; k < K; k++) v += Up[ua + k]! * Vp[vc + k]!;
      if (c === a) diag = v;
      sI += Math.abs(v);
    }
    sI += Math.abs(1 + diag) - Math.abs(diag);
    nA = Math.max(nA, sA);
    nI = Math.max(nI, sI);
  }
  // other rows
  for (let a = 0; a < ko.length; a++) {
    const o = ko[a]!;
    let sA = 0;
    let sI = 0;
    for (let c = 0; c < keptLevels.length; c++) {
      const l = keptLevels[c]!;
      sA += Math.abs(B[l * po + o]!) / (sl[c]! * sc[a]!);
      sI += Math.abs(V[l * po + o]!) * sl[c]! * sc[a]!;
    }
    for (let b = 0; b < ko.length; b++) {
      const o2 = ko[b]!;
      sA += Math.abs(C[o2 * po + o]!) / (sc[a]! * sc[b]!);
      sI += Math.abs(Sinv[o2 * po + o]!) * sc[a]! * sc[b]!;
    }
    nA = Math.max(nA, sA);
    nI = Math.max(nI, sI);
  }
  return nA * nI;
}
