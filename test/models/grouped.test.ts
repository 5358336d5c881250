// rxLinMod's cross-product pass keeps factor terms as one-hot groups (indexed adds,
// native xtwxGrouped) instead of dense indicator columns. It must accumulate the same X'WX,
// X'Wy and sums as the dense kernel on the dense model matrix (1e-12 relative: same
// products, different summation order), for factor main effects, factor x numeric and
// factor x factor terms, two factors, missing values, weights, and RevoScaleR's cube.
import { describe, expect, it } from 'vitest';
import { resolveSource } from '../../lib/data/resolve.js';
import { buildGroupedMatrix, buildModelMatrix } from '../../lib/formula/matrix.js';
import { createModelSpec } from '../../lib/formula/spec.js';
import { xtwxAccumulate, xtwxGrouped } from '../../lib/native/linalg.js';
import { rxLinMod } from '../../lib/models/index.js';

const N = 3000;

function data() {
  let s = 5;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const x: number[] = [];
  const z: number[] = [];
  const w: number[] = [];
  const f: string[] = [];
  const g: string[] = [];
  const y: number[] = [];
  for (let i = 0; i < N; i++) {
    x.push(i % 97 === 0 ? Number.NaN : rnd() * 2 - 1);
    z.push(rnd());
    w.push(0.5 + rnd());
    f.push(`f${Math.floor(rnd() * 7)}`);
    g.push(`g${Math.floor(rnd() * 4)}`);
    y.push(1 + 2 * (x[i] ?? 0) + z[i]! + rnd());
  }
  return { x, z, w, f, g, y };
}

const close = (a: Float64Array, b: Float64Array) => {
  let scale = 0;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(1e-12 * scale);
};

describe('grouped cross-products (factor terms as one-hot groups)', () => {
  const cases: Array<[string, { dropFirst?: boolean; cube?: boolean }, boolean]> = [
    ['y ~ x + f', {}, false],
    ['y ~ x + f + g + z', { dropFirst: true }, true],
    ['y ~ x * f + g:z', {}, true],
    ['y ~ f:g + x', { dropFirst: true }, false],
    ['y ~ f + x + g', { cube: true }, true],
    ['y ~ f', { cube: true }, false],
    ['y ~ f:x + g', {}, true],
  ];
  for (const [formula, o, weighted] of cases) {
    it(`${formula} ${JSON.stringify(o)}${weighted ? ' weighted' : ''}: same sums as the dense kernel`, async () => {
      const d = data();
      const src = resolveSource(d);
      const spec = await createModelSpec(formula, src, o);
      let chunk = null;
      for await (const c of src.chunks()) chunk = c;
      const dense = buildModelMatrix(spec, chunk!, {});
      const grp = buildGroupedMatrix(spec, chunk!, {});
      expect(grp.n).toBe(dense.n);
      const p = spec.p;
      const wv = weighted ? Float64Array.from(dense.rowIndex, (i) => d.w[i]!) : null;
      const a = { xtx: new Float64Array(p * p), xty: new Float64Array(p), acc: new Float64Array(3) };
      const b = { xtx: new Float64Array(p * p), xty: new Float64Array(p), acc: new Float64Array(3) };
      xtwxAccumulate(dense.X, dense.n, p, wv, dense.y, a.xtx, a.xty, a.acc);
      xtwxGrouped(grp.D, grp.n, grp.pd, grp.dcols, grp.ng, grp.ng > 0 ? grp.gcols : null, grp.gvals, wv, grp.y, p, b.xtx, b.xty, b.acc);
      close(b.xtx, a.xtx);
      close(b.xty, a.xty);
      close(b.acc, a.acc);
    });
  }

  it('rxLinMod with a factor gives the same fit as without the grouped path (cube counts included)', async () => {
    const d = data();
    const m = await rxLinMod('y ~ f + x + g', d, { cube: true, weights: 'w' });
    // the same model with the factor as numeric indicator columns goes through the dense kernel
    const ind: Record<string, number[]> = {};
    for (let l = 0; l < 7; l++) ind[`F${l}`] = d.f.map((v) => (v === `f${l}` ? 1 : 0));
    for (let l = 0; l < 3; l++) ind[`G${l}`] = d.g.map((v) => (v === `g${l}` ? 1 : 0));
    const m2 = await rxLinMod('y ~ F0 + F1 + F2 + F3 + F4 + F5 + F6 + x + G0 + G1 + G2 - 1', { ...d, ...ind }, { weights: 'w' });
    for (let j = 0; j < m.coefficients.length; j++) {
      const b = m.coefficients[j]!;
      expect(Math.abs(b - m2.coefficients[j]!)).toBeLessThan(1e-10 * Math.max(1, Math.abs(b)));
    }
    expect(m.countDF!.Counts.reduce((s, c) => s + c, 0)).toBe(m.nValidObs);
  });
});
