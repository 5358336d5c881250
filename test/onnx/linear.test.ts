/**
 * Parity of the linear-model exporters: onnxruntime-node on the exported graph vs
 * rxPredict (response scale) on held-out rows, with factors (one-hot), interactions,
 * expression terms (log, I(x^2), log1p), missing values and unknown levels (NaN out).
 * Tolerance 1e-9 (identity / log / logit / cloglog / inverse links: double arithmetic,
 * the same formula up to the order of additions), 1e-6 for probit (onnxruntime has Erf
 * in float32 only, so probabilities carry ~1e-7 absolute error).
 */
import { describe, expect, it } from 'vitest';
import { rxGlm, rxLinMod, rxLogit, rxPredict } from '../../lib/models/index.js';
import { rxToOnnx } from '../../lib/onnx/index.js';
import { type Table, maxAbsDiff, readCsv, runOnnx, sliceTable } from './helpers.js';

function adult(): { train: Table; test: Table } {
  const t = readCsv('adult.csv');
  const test = sliceTable(t, 1000, 1500);
  (test.occupation as Array<string | null>)[3] = 'Martian';
  (test.sex as Array<string | null>)[7] = null;
  (test.age as Array<number | null>)[11] = null;
  return { train: sliceTable(t, 0, 1000), test };
}

type Fitted = Awaited<ReturnType<typeof rxLinMod>> | Awaited<ReturnType<typeof rxGlm>>;

async function check(model: Fitted, test: Table, tol = 1e-9): Promise<Float64Array> {
  const out = await runOnnx(model.toOnnx(), test);
  const name = `${model.design.responseLabel}_Pred`;
  expect(Object.keys(out)).toEqual([name]);
  const ref = (await rxPredict(model, test, { checkFactorLevels: false }))[name] as Float64Array;
  const got = out[name]!.data as Float64Array;
  expect(maxAbsDiff(got, ref)).toBeLessThanOrEqual(tol);
  // rows with a missing value or unknown level predict NaN in both
  expect(got.filter((v) => Number.isNaN(v)).length).toBeGreaterThan(0);
  return got;
}

describe('ONNX export of linear models: parity with rxPredict (onnxruntime-node)', () => {
  const a = adult();
  it('rxLinMod with factors, interactions and expressions (both factor codings)', async () => {
    const f = 'hours_per_week ~ age + I(age^2) + log(fnlwgt) + sex * education_num + occupation + race:sex';
    await check(await rxLinMod(f, a.train), a.test);
    await check(await rxLinMod(f, a.train, { dropFirst: true }), a.test);
  });
  it('rxLogit (logit link)', async () => {
    const m = await rxLogit('y ~ age + education_num + sex + marital_status + log1p(capital_gain) + hours_per_week', a.train);
    const p = await check(m, a.test);
    expect(p.every((v) => Number.isNaN(v) || (v > 0 && v < 1))).toBe(true);
  });
  it('rxGlm: binomial probit and cloglog, poisson log, Gamma inverse, gaussian identity', async () => {
    const x = 'age + education_num + sex + hours_per_week';
    await check(await rxGlm(`y ~ ${x}`, a.train, { family: 'binomial', link: 'probit' }), a.test, 1e-6);
    await check(await rxGlm(`y ~ ${x}`, a.train, { family: 'binomial', link: 'cloglog' }), a.test);
    await check(await rxGlm('education_num ~ age + sex + race', a.train, { family: 'poisson' }), a.test);
    await check(await rxGlm('hours_per_week ~ age + sex + education_num', a.train, { family: 'Gamma', link: 'inverse' }), a.test);
    await check(await rxGlm('hours_per_week ~ age * sex + occupation', a.train, { family: 'gaussian' }), a.test);
  });
  it('inputs are the data columns: double for numbers, string for factors', async () => {
    const ort = await import('onnxruntime-node');
    const m = await rxLinMod('hours_per_week ~ log(age) + sex', a.train);
    const s = await ort.InferenceSession.create(rxToOnnx(m));
    expect([...s.inputNames].sort()).toEqual(['age', 'sex']);
    const out = await s.run({ age: new ort.Tensor('float64', Float64Array.of(30, 30), [2, 1]), sex: new ort.Tensor('string', ['Male', 'Female'], [2, 1]) });
    const cf = m.coefficients;
    const names = m.coefNames;
    const b = (n: string) => cf[names.indexOf(n)] ?? 0;
    const male = b('(Intercept)') + b('log(age)') * Math.log(30) + b('sex=Male');
    expect((out.hours_per_week_Pred!.data as Float64Array)[0]).toBeCloseTo(male, 10);
  });
});
