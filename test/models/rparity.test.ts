import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { anova, rxGlm, rxLinMod, rxLogit, rxPredict } from '../../lib/models/index.js';
import { readCsv } from './helpers.js';

// Reference: R 4 lm / glm / predict / anova, test/fixtures/models/make_fixtures.R.
// Tolerance 1e-8 relative: both sides solve the same least-squares problems in double
// precision (IRLS stops with R's own rule, so the iterates are the same).
const ref = JSON.parse(readFileSync(new URL('../fixtures/models/r_reference.json', import.meta.url), 'utf8'));
const cars = readCsv('cars.csv');
const kyph = readCsv('kyphosis.csv');
const bres = readCsv('breslow.dat.csv');

function close(got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-8) {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    expect(Math.abs(got[i]! - w) / Math.max(Math.abs(w), 1e-300), `element ${i}: ${got[i]} vs ${w}`).toBeLessThan(tol);
  }
}

function checkFit(m: { rNames: string[]; coefficients: number[]; stdErrors: number[]; tValues: number[]; pValues: number[] }, r: any) {
  expect(m.rNames).toEqual(r.names);
  close(m.coefficients, r.coef);
  close(m.stdErrors, r.se);
  close(m.tValues, r.stat);
  close(m.pValues, r.p, 1e-7);
}

describe('R parity (dropFirst: true)', () => {
  it('lm: cars', async () => {
    const m = await rxLinMod('dist ~ speed', cars, { dropFirst: true });
    checkFit(m, ref.cars_lm);
    close([m.sigma, m.rSquared, m.adjRSquared, m.fStatistic], [ref.cars_lm.sigma, ref.cars_lm.r2, ref.cars_lm.adjr2, ref.cars_lm.F]);
  });
  it('lm with a factor interaction: breslow', async () => {
    const m = await rxLinMod('sumY ~ Base * Trt + Age', bres, { dropFirst: true });
    checkFit(m, ref.breslow_lm_int);
  });
  it('predict with intervals and se.fit', async () => {
    const m = await rxLinMod('dist ~ speed', cars, { dropFirst: true });
    const five = { speed: (cars.speed as number[]).slice(0, 5), dist: (cars.dist as number[]).slice(0, 5) };
    const p = await rxPredict(m, five, { interval: 'prediction', computeStdErrors: true, computeResiduals: true });
    close(p.dist_Pred as Float64Array, ref.cars_pred.fit);
    close(p.dist_StdErr as Float64Array, ref.cars_pred.se);
    close(p.dist_Lower as Float64Array, ref.cars_pred.plwr);
    close(p.dist_Upper as Float64Array, ref.cars_pred.pupr);
    close(p.dist_Resid as Float64Array, five.dist.map((d, i) => d - ref.cars_pred.fit[i]));
    const c = await rxPredict(m, five, { interval: 'confidence', confidenceLevel: 0.9 });
    close(c.dist_Lower as Float64Array, ref.cars_pred.clwr90);
    close(c.dist_Upper as Float64Array, ref.cars_pred.cupr90);
  });
  it('anova: sequential sums of squares', async () => {
    const m = await rxLinMod('sumY ~ Base + Age + Trt', bres, { dropFirst: true });
    const a = anova(m);
    close(a.map((r) => r.df), ref.breslow_lm_anova.df);
    close(a.map((r) => r.sumSq), ref.breslow_lm_anova.ss);
    close(a.slice(0, -1).map((r) => r.fValue), ref.breslow_lm_anova.F.slice(0, -1));
  });
  for (const [key, fitModel] of [
    ['kyphosis_logit', () => rxLogit('Kyphosis ~ Age + Start + Number', kyph)],
    ['kyphosis_probit', () => rxGlm('Kyphosis ~ Age + Start + Number', kyph, { family: 'binomial', link: 'probit' })],
    ['breslow_poisson', () => rxGlm('sumY ~ Base + Age + Trt', bres, { family: 'poisson', dropFirst: true })],
    ['cars_gamma_log', () => rxGlm('dist ~ speed', cars, { family: 'Gamma', link: 'log' })],
    ['cars_gamma_inverse', () => rxGlm('dist ~ speed', cars, { family: 'Gamma' })],
    ['cars_invgauss', () => rxGlm('dist ~ speed', cars, { family: 'inverse.gaussian', link: 'log' })],
    // null deviance as R: an offset with an intercept refits the intercept-only model with the
    // offset; without an intercept the null model is mu = linkinv(offset)
    ['breslow_poisson_offset', () => rxGlm('sumY ~ Trt + Age + offset(log(Base))', bres, { family: 'poisson', dropFirst: true })],
    ['kyphosis_logit_offset', () => rxLogit('Kyphosis ~ Age + Number + offset(Start / 10)', kyph)],
    ['kyphosis_logit_noint', () => rxLogit('Kyphosis ~ Age + Start - 1', kyph)],
    ['cars_gamma_offset', () => rxGlm('dist ~ speed + offset(log(speed))', cars, { family: 'Gamma', link: 'log' })],
  ] as const) {
    it(`glm: ${key}`, async () => {
      const m = await fitModel();
      const r = ref[key];
      checkFit(m, r);
      close([m.deviance, m.nullDeviance, m.aic, m.dispersion], [r.deviance, r.nullDeviance, r.aic, r.dispersion]);
      expect(m.iterations).toBe(r.iter);
    });
  }
});
