import { describe, expect, it } from 'vitest';
import { RxError } from '../../lib/errors.js';
import { rxNativeInfo } from '../../lib/native/info.js';
import { rxOptions } from '../../lib/options.js';
import {
  blasThreads,
  cholInverse,
  cholSolve,
  qrSolveR,
  qrUpdate,
  qrUpdateAsync,
  sweepSolve,
  xtwxAccumulate,
  xtwxAccumulateAsync,
  xtwxAccumulateBuiltin,
} from '../../lib/native/linalg.js';
// seeded generator (mulberry32) so every failure reproduces
import { mulberry32 as rng } from '../../lib/ml/rng.js';


function randomX(n: number, p: number, seed: number): Float64Array {
  const r = rng(seed);
  const X = new Float64Array(n * p);
  for (let i = 0; i < n; i++) X[i] = 1; // intercept
  for (let k = n; k < n * p; k++) X[k] = r() * 4 - 2;
  return X;
}

function naiveXtwx(X: Float64Array, n: number, p: number, w: Float64Array | null, y: Float64Array | null) {
  const xtx = new Float64Array(p * p);
  const xty = new Float64Array(p);
  let sw = 0;
  let yy = 0;
  for (let r = 0; r < n; r++) {
    const wr = w ? w[r] : 1;
    sw += wr;
    for (let j = 0; j < p; j++) {
      const xj = X[r + j * n] * wr;
      for (let i = 0; i < p; i++) xtx[i + j * p] += X[r + i * n] * xj;
      if (y) xty[j] += xj * y[r];
    }
    if (y) yy += wr * y[r] * y[r];
  }
  return { xtx, xty, acc: [sw, yy, n] };
}

/** Max |a-b| / (1 + max|b|): relative-to-scale error. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) s = Math.max(s, Math.abs(b[i]));
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m / (1 + s);
}

function matVec(A: Float64Array, p: number, x: Float64Array): Float64Array {
  const out = new Float64Array(p);
  for (let j = 0; j < p; j++) for (let i = 0; i < p; i++) out[i] += A[i + j * p] * x[j];
  return out;
}

// Tolerance for cross-products: sums of n=3000 products of O(1) values; different summation
// orders (BLAS blocking vs sequential JS) differ by ~n*eps*scale, so 1e-12 relative is ample.
const XTX_TOL = 1e-12;

describe('xtwxAccumulate', () => {
  const n = 3000;
  const p = 7;
  const X = randomX(n, p, 1);
  const r = rng(2);
  const y = Float64Array.from({ length: n }, () => r() * 10 - 5);
  const w = Float64Array.from({ length: n }, () => r() * 3);
  const wneg = Float64Array.from(w, (v, i) => (i % 97 === 0 ? -v : v));

  for (const [label, ww, yy] of [
    ['unweighted, no y', null, null],
    ['unweighted with y', null, y],
    ['weighted with y', w, y],
    ['negative weights with y', wneg, y],
    ['weighted, no y', w, null],
  ] as const) {
    it(`matches a naive implementation (${label}), BLAS and builtin paths`, () => {
      const ref = naiveXtwx(X, n, p, ww, yy);
      for (const fn of [xtwxAccumulate, xtwxAccumulateBuiltin]) {
        const xtx = new Float64Array(p * p);
        const xty = new Float64Array(p);
        const acc = new Float64Array(3);
        fn(X, n, p, ww, yy, xtx, xty, acc);
        expect(relErr(xtx, ref.xtx)).toBeLessThan(XTX_TOL);
        if (yy) {
          expect(relErr(xty, ref.xty)).toBeLessThan(XTX_TOL);
          expect(Math.abs(acc[1] - ref.acc[1]) / ref.acc[1]).toBeLessThan(XTX_TOL);
        } else {
          expect(Array.from(xty)).toEqual(new Array(p).fill(0));
          expect(acc[1]).toBe(0);
        }
        expect(acc[0]).toBeCloseTo(ref.acc[0], 8);
        expect(acc[2]).toBe(n);
        // full symmetric output
        for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) expect(xtx[i + j * p]).toBe(xtx[j + i * p]);
      }
    });
  }

  it('accumulates: chunks add up to the whole (merge by addition)', () => {
    const xtx = new Float64Array(p * p);
    const xty = new Float64Array(p);
    const acc = new Float64Array(3);
    const cut = 1234;
    const col = (from: number, to: number) => {
      const m = to - from;
      const out = new Float64Array(m * p);
      for (let j = 0; j < p; j++) out.set(X.subarray(j * n + from, j * n + to), j * m);
      return out;
    };
    xtwxAccumulate(col(0, cut), cut, p, w.subarray(0, cut), y.subarray(0, cut), xtx, xty, acc);
    xtwxAccumulate(col(cut, n), n - cut, p, w.subarray(cut), y.subarray(cut), xtx, xty, acc);
    const ref = naiveXtwx(X, n, p, w, y);
    expect(relErr(xtx, ref.xtx)).toBeLessThan(XTX_TOL);
    expect(relErr(xty, ref.xty)).toBeLessThan(XTX_TOL);
    expect(acc[2]).toBe(n);
  });

  it('async variant gives the same result', async () => {
    const a = { xtx: new Float64Array(p * p), xty: new Float64Array(p), acc: new Float64Array(3) };
    const b = { xtx: new Float64Array(p * p), xty: new Float64Array(p), acc: new Float64Array(3) };
    xtwxAccumulate(X, n, p, w, y, a.xtx, a.xty, a.acc);
    await xtwxAccumulateAsync(X, n, p, w, y, b.xtx, b.xty, b.acc);
    expect(Array.from(b.xtx)).toEqual(Array.from(a.xtx));
    expect(Array.from(b.xty)).toEqual(Array.from(a.xty));
  });

  it('rejects bad arguments with RX_ARG "Expected X for Y but received Z"', () => {
    const xtx = new Float64Array(p * p);
    const xty = new Float64Array(p);
    const acc = new Float64Array(3);
    expect(() => xtwxAccumulate(X.subarray(0, 10), n, p, null, null, xtx, xty, acc)).toThrow(
      expect.objectContaining({ code: 'RX_ARG', message: `Expected Float64Array of length >= ${n * p} (n*p) for X but received Float64Array of length 10` }),
    );
    expect(() => xtwxAccumulate([1, 2] as unknown as Float64Array, 1, 2, null, null, xtx, xty, acc)).toThrow(
      expect.objectContaining({ code: 'RX_ARG', message: 'Expected Float64Array for X but received Array' }),
    );
    expect(() => xtwxAccumulate(X, -1, p, null, null, xtx, xty, acc)).toThrow(expect.objectContaining({ code: 'RX_ARG' }));
    expect(() => xtwxAccumulate(X, n, p, null, null, xtx, xty, new Float64Array(2))).toThrow(RxError);
  });
});

describe('Cholesky', () => {
  const p = 6;
  const n = 200;
  const X = randomX(n, p, 5);
  const xtx = new Float64Array(p * p);
  xtwxAccumulate(X, n, p, null, null, xtx, new Float64Array(p), new Float64Array(3));

  it('cholSolve solves A x = b (single and multiple right-hand sides)', () => {
    const xTrue = Float64Array.from({ length: p }, (_, i) => i - 2.5);
    const b = matVec(xtx, p, xTrue);
    expect(relErr(cholSolve(xtx, p, b), xTrue)).toBeLessThan(1e-12);
    const b2 = new Float64Array(2 * p);
    b2.set(b);
    b2.set(matVec(xtx, p, Float64Array.from(xTrue, (v) => 2 * v)), p);
    const x2 = cholSolve(xtx, p, b2);
    expect(relErr(x2.subarray(p), Float64Array.from(xTrue, (v) => 2 * v))).toBeLessThan(1e-12);
  });

  it('cholInverse gives A^-1 with A A^-1 = I', () => {
    const inv = cholInverse(xtx, p);
    for (let j = 0; j < p; j++) {
      const col = matVec(xtx, p, inv.subarray(j * p, (j + 1) * p));
      for (let i = 0; i < p; i++) expect(col[i]).toBeCloseTo(i === j ? 1 : 0, 10);
    }
  });

  it('throws RX_SINGULAR for a matrix that is not positive definite', () => {
    const A = Float64Array.from([1, 2, 2, 1]); // eigenvalues 3, -1
    expect(() => cholSolve(A, 2, new Float64Array(2))).toThrow(expect.objectContaining({ code: 'RX_SINGULAR' }));
    expect(() => cholInverse(A, 2)).toThrow(expect.objectContaining({ code: 'RX_SINGULAR', message: expect.stringMatching(/order 2/) }));
    expect(() => cholInverse(Float64Array.from([1, Number.NaN, Number.NaN, 1]), 2)).toThrow(expect.objectContaining({ code: 'RX_ARG' }));
  });
});

describe('rank-revealing solves', () => {
  const n = 500;
  const r = rng(9);
  // columns: 1, a, b, a+2b (aliased), c, 0 (aliased)
  const p = 6;
  const X = new Float64Array(n * p);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = r() * 2 - 1;
    const b = r() * 5;
    const c = r() - 0.5;
    X[i] = 1;
    X[i + n] = a;
    X[i + 2 * n] = b;
    X[i + 3 * n] = a + 2 * b;
    X[i + 4 * n] = c;
    X[i + 5 * n] = 0;
    y[i] = 3 + 1.5 * a - 2 * b + 0.5 * c + 0.1 * (r() - 0.5);
  }
  const xtx = new Float64Array(p * p);
  const xty = new Float64Array(p);
  const acc = new Float64Array(3);
  xtwxAccumulate(X, n, p, null, y, xtx, xty, acc);

  // Reference: the same model without the aliased columns, solved by Cholesky.
  const keep = [0, 1, 2, 4];
  const k = keep.length;
  const sub = new Float64Array(k * k);
  const subY = new Float64Array(k);
  keep.forEach((cj, j) => {
    subY[j] = xty[cj];
    keep.forEach((ci, i) => {
      sub[i + j * k] = xtx[ci + cj * p];
    });
  });
  const refCoef = cholSolve(sub, k, subY);
  const refInv = cholInverse(sub, k);

  it('sweepSolve reports aliased columns in order (like R/RevoScaleR) and matches the reduced fit', () => {
    const s = sweepSolve(xtx, xty, p, undefined, acc[1]);
    expect(Array.from(s.aliased)).toEqual([0, 0, 0, 1, 0, 1]);
    expect(s.rank).toBe(4);
    expect(Number.isNaN(s.coef[3]) && Number.isNaN(s.coef[5])).toBe(true);
    keep.forEach((c, j) => {
      expect(s.coef[c]).toBeCloseTo(refCoef[j], 9);
      keep.forEach((c2, i) => {
        expect(s.inverse[c2 + c * p]).toBeCloseTo(refInv[i + j * k], 9);
      });
    });
    expect(Number.isNaN(s.inverse[3 + 0 * p])).toBe(true);
    expect(Array.from(s.pivot)).toEqual([0, 1, 2, 4, 3, 5]);
    expect(s.rss).toBeGreaterThan(0);
    expect(s.rss).toBeLessThan(n * 0.01);
  });

  it('qrUpdate over chunks + qrSolveR agrees with the sweep and reports the same aliasing', () => {
    // [X | y] split into 3 chunks, R factors merged.
    const q = p + 1;
    const chunk = (from: number, to: number) => {
      const m = to - from;
      const out = new Float64Array(m * q);
      for (let j = 0; j < p; j++) out.set(X.subarray(j * n + from, j * n + to), j * m);
      out.set(y.subarray(from, to), p * m);
      return out;
    };
    const R1 = qrUpdate(null, chunk(0, 3), 3, q); // fewer rows than columns
    const R2 = qrUpdate(R1, chunk(3, 200), 197, q);
    const R3 = qrUpdate(null, chunk(200, n), n - 200, q);
    const R = qrUpdate(R2, R3, q, q); // merge two partial factors
    // R'R equals [X y]'[X y]
    for (let i = 0; i < p; i++)
      for (let j = 0; j < p; j++) {
        let s = 0;
        for (let l = 0; l < q; l++) s += R[l + i * q] * R[l + j * q];
        expect(s).toBeCloseTo(xtx[i + j * p], 7);
      }
    const s = qrSolveR(R, p);
    expect(Array.from(s.aliased)).toEqual([0, 0, 0, 1, 0, 1]);
    expect(s.rank).toBe(4);
    keep.forEach((c, j) => {
      expect(s.coef[c]).toBeCloseTo(refCoef[j], 9);
      keep.forEach((c2, i) => {
        expect(s.unscaledCov[c2 + c * p]).toBeCloseTo(refInv[i + j * k], 9);
      });
    });
    const sw = sweepSolve(xtx, xty, p, undefined, acc[1]);
    expect(Math.abs(s.rss - sw.rss) / s.rss).toBeLessThan(1e-6);
    expect(Array.from(s.pivot)).toEqual([0, 1, 2, 4, 3, 5]);
  });

  it('qrUpdateAsync equals qrUpdate', async () => {
    const q = p + 1;
    const Xy = new Float64Array(n * q);
    Xy.set(X);
    Xy.set(y, p * n);
    const a = qrUpdate(null, Xy, n, q);
    const b = await qrUpdateAsync(null, Xy, n, q);
    expect(Array.from(b)).toEqual(Array.from(a));
  });

  it('validates tol and sizes', () => {
    expect(() => sweepSolve(xtx, xty, p, -1)).toThrow(expect.objectContaining({ code: 'RX_ARG', message: 'Expected finite number >= 0 for tol but received number -1.000000' }));
    expect(() => qrSolveR(new Float64Array(4), p)).toThrow(expect.objectContaining({ code: 'RX_ARG', message: expect.stringMatching(/^Expected Float64Array of length >= 49 \(\(p\+1\)\*\(p\+1\)\) for R but received Float64Array of length 4$/) }));
  });
});

describe('one thread budget', () => {
  it('rxOptions({ numThreads }) also sets the BLAS library threads', () => {
    const before = rxOptions().numThreads;
    try {
      rxOptions({ numThreads: 1 });
      expect(blasThreads()).toBe(1);
      rxOptions({ numThreads: 2 });
      expect(blasThreads()).toBe(2);
      expect(rxNativeInfo().threads).toBe(2);
    } finally {
      rxOptions({ numThreads: before });
    }
  });
});
