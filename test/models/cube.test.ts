// rxLinMod cube models solved in the partition [[D, B], [B', C]] (D the diagonal level
// block) by the Schur complement (lib/models/cube.ts): the same fit as the dense sweep for
// small cubes, empty cells aliased with their counts kept, and a 10,000-level cube checked
// against an independent within-level (demeaned) least-squares computation.
import { describe, expect, it } from 'vitest';
import { RxError } from '../../lib/errors.js';
import { rxLinMod } from '../../lib/models/index.js';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function small(n: number, levels: number) {
  const rnd = rng(11);
  const f: string[] = [];
  const g: string[] = [];
  const x: number[] = [];
  const w: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const l = Math.floor(rnd() * levels);
    f.push(`f${String(l).padStart(3, '0')}`);
    g.push(`g${Math.floor(rnd() * 4)}`);
    x.push(i % 53 === 0 ? Number.NaN : rnd() * 4 - 2);
    w.push(0.5 + rnd());
    y.push(l * 0.1 + 1.5 * (x[i] ?? 0) + rnd());
  }
  return { f, g, x, w, y };
}

const relDiff = (a: number, b: number) => (Number.isNaN(a) && Number.isNaN(b) ? 0 : Math.abs(a - b) / Math.max(1, Math.abs(b)));
const maxRel = (a: number[], b: number[]) => {
  expect(a.length).toBe(b.length);
  return a.reduce((m, v, i) => Math.max(m, relDiff(v, b[i]!)), 0);
};

describe('rxLinMod cube: partitioned solve', () => {
  it('equals the dense sweep for a 50-level cube (coefficients, errors, anova, covariance, empty cells)', async () => {
    const d = small(4000, 50);
    const opts = { cube: true, weights: 'w', covCoef: true, rowSelection: "f != 'f007' & f != 'f031'" } as const;
    const dense = await rxLinMod('y ~ f + x + g', d, { ...opts, cubeSolver: 'dense' });
    const part = await rxLinMod('y ~ f + x + g', d, { ...opts, cubeSolver: 'partitioned' });
    expect(dense.solver).toBe('xtx');
    expect(part.coefNames).toEqual(dense.coefNames);
    expect(maxRel(part.coefficients, dense.coefficients)).toBeLessThan(1e-10);
    expect(maxRel(part.stdErrors, dense.stdErrors)).toBeLessThan(1e-10);
    expect(part.aliased).toEqual(dense.aliased);
    expect(part.rank).toBe(dense.rank);
    for (const k of ['rss', 'sigma', 'rSquared', 'adjRSquared', 'fStatistic', 'conditionNumber', 'nValidObs', 'nMissingObs'] as const) expect(relDiff(part[k], dense[k])).toBeLessThan(1e-10);
    expect(part.anova.map((r) => r.term)).toEqual(dense.anova.map((r) => r.term));
    expect(
      maxRel(
        part.anova.map((r) => r.sumSq),
        dense.anova.map((r) => r.sumSq),
      ),
    ).toBeLessThan(1e-9);
    expect(maxRel(part.covCoef!.flat(), dense.covCoef!.flat())).toBeLessThan(1e-9);
    expect(maxRel(part.unscaledCov.flat(), dense.unscaledCov.flat())).toBeLessThan(1e-9);
    // the empty cells: NA coefficients, zero counts, as the dense path
    const names = part.countDF!.f as string[];
    for (const lv of ['f007', 'f031']) {
      const j = names.indexOf(lv);
      expect(Number.isNaN(part.coefficients[j]!)).toBe(true);
      expect(part.aliased[j]).toBe(true);
      expect(part.countDF!.Counts[j]).toBe(0);
    }
    expect(part.countDF).toEqual(dense.countDF);
    // unweighted and a cube alone
    const a = await rxLinMod('y ~ f', d, { cube: true, cubeSolver: 'dense' });
    const b = await rxLinMod('y ~ f', d, { cube: true, cubeSolver: 'partitioned' });
    expect(maxRel(b.coefficients, a.coefficients)).toBeLessThan(1e-12);
    expect(maxRel(b.stdErrors, a.stdErrors)).toBeLessThan(1e-10);
    expect(relDiff(b.fStatistic, a.fStatistic)).toBeLessThan(1e-10);
  });

  it('fits a 10,000-level cube with 2 covariates on 200,000 rows (within-level reference)', async () => {
    const L = 10_000;
    const n = 200_000;
    const rnd = rng(7);
    const f: string[] = new Array(n);
    const x1 = new Float64Array(n);
    const x2 = new Float64Array(n);
    const y = new Float64Array(n);
    const code = new Int32Array(n);
    const names = Array.from({ length: L }, (_, l) => `L${String(l).padStart(5, '0')}`);
    for (let i = 0; i < n; i++) {
      // levels 0..L-1, level 9 never drawn (an empty cell, kept through a declared level set)
      let l = Math.floor(rnd() * L);
      if (l === 9) l = 10;
      code[i] = l;
      f[i] = names[l]!;
      x1[i] = rnd() * 2 + l * 1e-4;
      x2[i] = rnd() - 0.5;
      y[i] = Math.sin(l) + 0.7 * x1[i]! - 1.3 * x2[i]! + (rnd() - 0.5);
    }
    const fCol = { type: 'factor' as const, data: code, levels: names };
    const data = { f: fCol, x1: Array.from(x1), x2: Array.from(x2), y: Array.from(y) };
    const m = await rxLinMod('y ~ f + x1 + x2', data, { cube: true });
    expect(m.coefficients.length).toBe(L + 2);
    // independent reference: demean by level, 2 x 2 least squares, level means adjusted
    const cnt = new Float64Array(L);
    const my = new Float64Array(L);
    const m1 = new Float64Array(L);
    const m2 = new Float64Array(L);
    for (let i = 0; i < n; i++) {
      const l = code[i]!;
      cnt[l]! += 1;
      my[l]! += y[i]!;
      m1[l]! += x1[i]!;
      m2[l]! += x2[i]!;
    }
    for (let l = 0; l < L; l++)
      if (cnt[l]! > 0) {
        my[l]! /= cnt[l]!;
        m1[l]! /= cnt[l]!;
        m2[l]! /= cnt[l]!;
      }
    let s11 = 0;
    let s12 = 0;
    let s22 = 0;
    let s1y = 0;
    let s2y = 0;
    for (let i = 0; i < n; i++) {
      const l = code[i]!;
      const a = x1[i]! - m1[l]!;
      const b = x2[i]! - m2[l]!;
      const c = y[i]! - my[l]!;
      s11 += a * a;
      s12 += a * b;
      s22 += b * b;
      s1y += a * c;
      s2y += b * c;
    }
    const det = s11 * s22 - s12 * s12;
    const b1 = (s22 * s1y - s12 * s2y) / det;
    const b2 = (s11 * s2y - s12 * s1y) / det;
    expect(relDiff(m.coefficients[L]!, b1)).toBeLessThan(1e-9);
    expect(relDiff(m.coefficients[L + 1]!, b2)).toBeLessThan(1e-9);
    let rss = 0;
    for (let i = 0; i < n; i++) {
      const l = code[i]!;
      rss += (y[i]! - my[l]! - b1 * (x1[i]! - m1[l]!) - b2 * (x2[i]! - m2[l]!)) ** 2;
    }
    const nonEmpty = cnt.reduce((s, c) => s + (c > 0 ? 1 : 0), 0);
    expect(relDiff(m.rss, rss)).toBeLessThan(1e-9);
    expect(m.dfResidual).toBe(n - nonEmpty - 2);
    const s2 = rss / (n - nonEmpty - 2);
    // standard errors: diagonal of the inverse of [[D, B], [B', C]]
    const i11 = s22 / det;
    const i12 = -s12 / det;
    const i22 = s11 / det;
    expect(relDiff(m.stdErrors[L]!, Math.sqrt(s2 * i11))).toBeLessThan(1e-9);
    expect(relDiff(m.stdErrors[L + 1]!, Math.sqrt(s2 * i22))).toBeLessThan(1e-9);
    let worstB = 0;
    let worstSe = 0;
    for (let l = 0; l < L; l++) {
      if (cnt[l] === 0) {
        expect(Number.isNaN(m.coefficients[l]!)).toBe(true);
        expect(m.countDF!.Counts[l]).toBe(0);
        continue;
      }
      const ref = my[l]! - b1 * m1[l]! - b2 * m2[l]!;
      worstB = Math.max(worstB, relDiff(m.coefficients[l]!, ref));
      const v = 1 / cnt[l]! + m1[l]! * m1[l]! * i11 + 2 * m1[l]! * m2[l]! * i12 + m2[l]! * m2[l]! * i22;
      worstSe = Math.max(worstSe, relDiff(m.stdErrors[l]!, Math.sqrt(s2 * v)));
      expect(m.countDF!.Counts[l]).toBe(cnt[l]);
    }
    expect(worstB).toBeLessThan(1e-9);
    expect(worstSe).toBeLessThan(1e-9);
    expect(Number.isNaN(m.coefficients[9]!)).toBe(true);
    // the full covariance of 10,002 columns is refused with a clear error
    const e = await rxLinMod('y ~ f + x1 + x2', data, { cube: true, covCoef: true }).catch((x) => x);
    expect(e).toBeInstanceOf(RxError);
    expect(e.message).toContain('10000 levels');
    // the cube alone: level coefficients are the cell means
    const c = await rxLinMod('y ~ f', data, { cube: true });
    let worst = 0;
    for (let l = 0; l < L; l++) if (cnt[l]! > 0) worst = Math.max(worst, relDiff(c.coefficients[l]!, my[l]!));
    expect(worst).toBeLessThan(1e-12);
  });
});
