import { describe, expect, it } from 'vitest';
import { RxError } from '../../lib/errors.js';
import { rxGlm, rxLinMod, rxLogit, rxPredict } from '../../lib/models/index.js';
import { readCsv } from './helpers.js';

const bres = readCsv('breslow.dat.csv');
const kyph = readCsv('kyphosis.csv');

function rel(a: number[], b: number[]) {
  return Math.max(...a.map((x, i) => (Number.isNaN(x) && Number.isNaN(b[i]!) ? 0 : Math.abs(x - b[i]!) / Math.max(Math.abs(b[i]!), 1e-300))));
}

describe('chunking and bad input', () => {
  it('rxPredict on one chunk of 300,000 rows returns every row (no argument-spread limit)', async () => {
    const n = 300_000;
    const x = Float64Array.from({ length: n }, (_, i) => i % 97);
    const y = x.map((v, i) => 2 * v + 1 + (i % 3));
    const data = { x, y };
    const m = await rxLinMod('y ~ x', data, { rowsPerRead: n });
    const p = await rxPredict(m, data, { computeResiduals: true, interval: 'confidence', computeStdErrors: true, rowsPerRead: n });
    for (const k of ['y_Pred', 'y_Resid', 'y_StdErr', 'y_Lower', 'y_Upper']) expect((p[k] as ArrayLike<number>).length, k).toBe(n);
    const pred = p.y_Pred as ArrayLike<number>;
    const resid = p.y_Resid as ArrayLike<number>;
    expect(pred[n - 1]! + resid[n - 1]!).toBeCloseTo(y[n - 1]!, 9);
    expect(pred[5]).toBeCloseTo(m.coefficients[0]! + m.coefficients[1]! * 5, 9);
  });

  it('same results for any rowsPerRead (1e-10)', async () => {
    const a = await rxLinMod('sumY ~ Base * Trt + Age', bres);
    const b = await rxLinMod('sumY ~ Base * Trt + Age', bres, { rowsPerRead: 7 });
    expect(rel(b.coefficients, a.coefficients)).toBeLessThan(1e-10);
    expect(rel(b.stdErrors, a.stdErrors)).toBeLessThan(1e-10);
    const g1 = await rxGlm('sumY ~ Base + Age + Trt', bres, { family: 'poisson' });
    const g2 = await rxGlm('sumY ~ Base + Age + Trt', bres, { family: 'poisson', rowsPerRead: 5 });
    expect(rel(g2.coefficients, g1.coefficients)).toBeLessThan(1e-10);
    expect(Math.abs(g2.deviance - g1.deviance) / g1.deviance).toBeLessThan(1e-10);
  });

  it('RevoScaleR coding: last level dropped, printed as Dropped', async () => {
    const m = await rxLinMod('sumY ~ Base + Trt', bres);
    expect(m.design.coefs.map((c) => c.name)).toEqual(['(Intercept)', 'Base', 'Trt=placebo', 'Trt=progabide']);
    expect(m.coefNames).toEqual(['(Intercept)', 'Base', 'Trt=placebo']);
    expect(m.summary().toString()).toMatch(/Trt=progabide +Dropped +Dropped +Dropped +Dropped/);
    expect(m.summary().toString()).toContain('Total independent variables: 4 (Including number dropped: 1)');
  });

  it('collinear column -> NA coefficient and aliased, not an exception', async () => {
    const x = [1, 2, 3, 4, 5, 6, 7, 8];
    const m = await rxLinMod('y ~ x + z', { x, z: x.map((v) => 2 * v), y: [1.1, 2.3, 2.9, 4.2, 5.1, 5.8, 7.2, 7.9] });
    expect(m.aliased).toEqual([false, false, true]);
    expect(Number.isNaN(m.coefficients[2]!)).toBe(true);
    expect(m.rank).toBe(2);
  });

  it('missing and non-finite predictors drop rows and are counted', async () => {
    const m = await rxLinMod('y ~ x', { x: [1, 2, Number.NaN, 4, Number.POSITIVE_INFINITY, 6], y: [1, 2.1, 3, 3.9, 5, 6.2] });
    expect(m.nValidObs).toBe(4);
    expect(m.nMissingObs).toBe(2);
  });

  it('zero residual df -> NaN statistics with a warning', async () => {
    const m = await rxLinMod('y ~ x', { x: [1, 2], y: [3, 5] });
    expect(Number.isNaN(m.stdErrors[0]!)).toBe(true);
    expect(m.warnings.join()).toMatch(/Zero residual degrees of freedom/);
  });

  it('single-class response in rxLogit -> RxError', async () => {
    await expect(rxLogit('y ~ x', { x: [1, 2, 3, 4], y: [1, 1, 1, 1] })).rejects.toMatchObject({ code: 'RX_MODEL' });
  });

  it('formula typos name the bad term', async () => {
    const e = await rxLinMod('sumY ~ Bsae', bres).catch((x) => x);
    expect(e).toBeInstanceOf(RxError);
    expect(e.message).toContain('"Bsae"');
  });

  it('cube: level coefficients are cell means, countDF counts the cells', async () => {
    const m = await rxLinMod('sumY ~ Trt', bres, { cube: true });
    expect(m.coefNames).toEqual(['Trt=placebo', 'Trt=progabide']);
    const trt = bres.Trt as string[];
    const y = bres.sumY as number[];
    for (const [j, lv] of ['placebo', 'progabide'].entries()) {
      const ys = y.filter((_, i) => trt[i] === lv);
      expect(Math.abs(m.coefficients[j]! - ys.reduce((a, b) => a + b, 0) / ys.length)).toBeLessThan(1e-10);
      expect(m.countDF!.Counts![j]).toBe(ys.length);
    }
    expect(m.countDF!.Trt).toEqual(['placebo', 'progabide']);
    // with a covariate: the same fit as the no-intercept model
    const c = await rxLinMod('sumY ~ Trt + Age', bres, { cube: true });
    const d = await rxLinMod('sumY ~ Trt + Age - 1', bres);
    expect(rel(c.coefficients, d.coefficients)).toBeLessThan(1e-10);
    await expect(rxLinMod('sumY ~ Age + Trt', bres, { cube: true })).rejects.toMatchObject({ code: 'RX_FORMULA' });
  });

  it('checkFactorLevels at predict time: error by default, NA when false', async () => {
    const m = await rxLinMod('sumY ~ Base + Trt', bres);
    const nd = { Base: [11, 20], Trt: ['placebo', 'other'], sumY: [1, 2] };
    await expect(rxPredict(m, nd)).rejects.toMatchObject({ code: 'RX_MODEL' });
    const p = await rxPredict(m, nd, { checkFactorLevels: false });
    const pr = p.sumY_Pred as Float64Array;
    expect(Number.isNaN(pr[1]!)).toBe(true);
    expect(Math.abs(pr[0]! - (m.coefficients[0]! + 11 * m.coefficients[1]! + m.coefficients[2]!))).toBeLessThan(1e-9);
  });

  it('models round-trip through JSON', async () => {
    const m = await rxLogit('Kyphosis ~ Age + Start + Number', kyph);
    const back = JSON.parse(JSON.stringify(m));
    expect(back.coefficients).toEqual(m.coefficients);
    expect(back.kind).toBe('logit');
  });
});
