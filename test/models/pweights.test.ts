// Probability weights: point estimates of the weighted fit, standard errors from the HC0
// sandwich B M B (lib/models/sandwich.ts), against statsmodels WLS / GLM(var_weights)
// cov_type='HC0' (fixture and script: test/fixtures/models/make_pweights.py) and, for a
// non-canonical link (Gamma, log), R's sandwich::vcovHC HC0 formula written in base R
// (expected-information bread; test/fixtures/models/make_fixtures.R, cars_gamma_log_pw).
// Tolerances: 1e-9 relative for the linear model (closed form both sides); 1e-6 for the
// GLMs, fitted here with objectiveFunctionTolerance 1e-14 (R's default 1e-8 stops a few
// 1e-6 away from statsmodels' tol=1e-14 optimum on these small data).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RxLocalParallel } from '../../lib/compute/parallel.js';
import { rxGlm, rxLinMod, rxLogit } from '../../lib/models/index.js';
import { ensureDist } from '../compute/ensure-dist.js';
import { readCsv } from './helpers.js';

const ref = JSON.parse(readFileSync(new URL('../fixtures/models/pweights_reference.json', import.meta.url), 'utf8'));
const rref = JSON.parse(readFileSync(new URL('../fixtures/models/r_reference.json', import.meta.url), 'utf8'));

function withWeights(d: Record<string, number[] | string[]>) {
  const n = (Object.values(d)[0] as unknown[]).length;
  return { ...d, pw: Array.from({ length: n }, (_, i) => 1 + (i % 5) / 2) };
}

const close = (got: number[], want: number[], tol: number) => {
  expect(got.length).toBe(want.length);
  got.forEach((g, j) => {
    expect(Math.abs(g - want[j]!) / Math.abs(want[j]!)).toBeLessThan(tol);
  });
};

describe('pweights: sandwich (HC0) standard errors', () => {
  it('rxLinMod: cars', async () => {
    const m = await rxLinMod('dist ~ speed', withWeights(readCsv('cars.csv')), { pweights: 'pw', covCoef: true });
    expect(m.covType).toBe('HC0');
    expect(m.summary().toString()).toContain('Standard errors: HC0 sandwich (robust), for probability weights');
    close(m.coefficients, ref.cars_lm_pw.coef, 1e-9);
    close(m.stdErrors, ref.cars_lm_pw.se, 1e-9);
    close(m.covCoef!.flat(), ref.cars_lm_pw.cov.flat(), 1e-9);
    // analytic weights: same coefficients, model-based SEs
    const a = await rxLinMod('dist ~ speed', withWeights(readCsv('cars.csv')), { weights: 'pw' });
    expect(a.covType).toBeUndefined();
    close(a.coefficients, ref.cars_lm_pw.coef, 1e-9);
    expect(Math.abs(a.stdErrors[1]! - m.stdErrors[1]!)).toBeGreaterThan(1e-3);
  });

  it('rxLogit: kyphosis', async () => {
    const m = await rxLogit('Kyphosis ~ Age + Start + Number', withWeights(readCsv('kyphosis.csv')), { pweights: 'pw', objectiveFunctionTolerance: 1e-14 });
    expect(m.covType).toBe('HC0');
    close(m.coefficients, ref.kyphosis_logit_pw.coef, 1e-6);
    close(m.stdErrors, ref.kyphosis_logit_pw.se, 1e-6);
  });

  it('rxGlm Gamma(log): cars', async () => {
    const m = await rxGlm('dist ~ speed', withWeights(readCsv('cars.csv')), { family: 'Gamma', link: 'log', pweights: 'pw', objectiveFunctionTolerance: 1e-14 });
    close(m.coefficients, rref.cars_gamma_log_pw.coef, 1e-6);
    close(m.stdErrors, rref.cars_gamma_log_pw.se, 1e-6);
  });

  it('RxLocalParallel gives the same sandwich', async () => {
    ensureDist(['lib']);
    const ctx = new RxLocalParallel({ numWorkers: 2 });
    try {
      const m = await rxLinMod('dist ~ speed', withWeights(readCsv('cars.csv')), { pweights: 'pw', computeContext: ctx, rowsPerRead: 13 });
      close(m.stdErrors, ref.cars_lm_pw.se, 1e-9);
    } finally {
      await ctx.close();
    }
  });
});
