/**
 * Double-double ("compensated") arithmetic for the refinement pass of ill-conditioned
 * least squares: a value is hi + lo with |lo| <= ulp(hi)/2, about 32 significant digits.
 * Products use Veltkamp/Dekker splitting (exact a*b = p + e), sums Knuth's two-sum, so
 * residuals y - Xb and X'r are computed to ~1e-32 relative and rounded only at the end.
 * Arrays of dd values are stored as two Float64Arrays (hi, lo) so states stay
 * structured-cloneable and mergeable.
 */

const SPLIT = 134217729; // 2^27 + 1

/** Exact a*b = [p, e]; written into out[0..1]. */
export function twoProd(a: number, b: number, out: Float64Array): void {
  const p = a * b;
  let c = SPLIT * a;
  const ah = c - (c - a);
  const al = a - ah;
  c = SPLIT * b;
  const bh = c - (c - b);
  const bl = b - bh;
  out[0] = p;
  out[1] = ah * bh - p + ah * bl + al * bh + al * bl;
}

/** (hi, lo) += (bh, bl); returns nothing, writes arr[i] / lo[i]. */
export function ddAddTo(hi: Float64Array, lo: Float64Array, i: number, bh: number, bl: number): void {
  const ah = hi[i]!;
  const s = ah + bh;
  const bb = s - ah;
  let e = ah - (s - bb) + (bh - bb);
  e += lo[i]! + bl;
  const r = s + e;
  hi[i] = r;
  lo[i] = e - (r - s);
}

/** Small dd value type for solves. */
export type DD = [number, number];

export function dd(x: number): DD {
  return [x, 0];
}

function quick(s: number, e: number): DD {
  const r = s + e;
  return [r, e - (r - s)];
}

export function add(a: DD, b: DD): DD {
  const s = a[0] + b[0];
  const bb = s - a[0];
  let e = a[0] - (s - bb) + (b[0] - bb);
  e += a[1] + b[1];
  return quick(s, e);
}

export function neg(a: DD): DD {
  return [-a[0], -a[1]];
}

export function sub(a: DD, b: DD): DD {
  return add(a, neg(b));
}

const tp = new Float64Array(2);

export function mul(a: DD, b: DD): DD {
  twoProd(a[0], b[0], tp);
  const e = tp[1]! + (a[0] * b[1] + a[1] * b[0]);
  return quick(tp[0]!, e);
}

export function div(a: DD, b: DD): DD {
  const q1 = a[0] / b[0];
  const r = sub(a, mul([q1, 0], b));
  const q2 = r[0] / b[0];
  const r2 = sub(r, mul([q2, 0], b));
  const q3 = r2[0] / b[0];
  return add(quick(q1, q2), [q3, 0]);
}

export function sqrt(a: DD): DD {
  if (!(a[0] > 0)) return [a[0] === 0 ? 0 : Number.NaN, 0];
  const x = Math.sqrt(a[0]);
  // one Newton step in dd: x + (a - x^2) / (2x)
  const r = sub(a, mul([x, 0], [x, 0]));
  return add([x, 0], [r[0] / (2 * x), 0]);
}

/**
 * Cholesky factor (lower, column-major, dd) of the symmetric p x p dd matrix G
 * (hi/lo column-major). Returns null when G is not numerically positive definite.
 */
export function ddCholesky(Ghi: Float64Array, Glo: Float64Array, p: number): DD[] | null {
  const L: DD[] = Array.from({ length: p * p }, () => [0, 0] as DD);
  for (let j = 0; j < p; j++) {
    let s: DD = [Ghi[j * p + j]!, Glo[j * p + j]!];
    for (let k = 0; k < j; k++) s = sub(s, mul(L[k * p + j]!, L[k * p + j]!));
    if (!(s[0] > 0)) return null;
    const d = sqrt(s);
    L[j * p + j] = d;
    for (let i = j + 1; i < p; i++) {
      let t: DD = [Ghi[j * p + i]!, Glo[j * p + i]!];
      for (let k = 0; k < j; k++) t = sub(t, mul(L[k * p + i]!, L[k * p + j]!));
      L[j * p + i] = div(t, d);
    }
  }
  return L;
}

/** Solves L L' x = b in dd. */
export function ddCholSolve(L: DD[], p: number, b: DD[]): DD[] {
  const z: DD[] = b.slice();
  for (let i = 0; i < p; i++) {
    let s = z[i]!;
    for (let k = 0; k < i; k++) s = sub(s, mul(L[k * p + i]!, z[k]!));
    z[i] = div(s, L[i * p + i]!);
  }
  for (let i = p - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let k = i + 1; k < p; k++) s = sub(s, mul(L[i * p + k]!, z[k]!));
    z[i] = div(s, L[i * p + i]!);
  }
  return z;
}
