/**
 * rxOneClassSvm: decision values vs scikit-learn's OneClassSVM (libsvm) for every kernel on
 * iris (fixtures from test/fixtures/ml/make_fixtures.py), rxPredict / rxSerializeModel / ONNX
 * (onnxruntime-node) round trips.
 */
import { describe, expect, it } from 'vitest';
import { RxOneClassSvmModel, rxOneClassSvm } from '../../lib/ml/index.js';
import type { SvmKernel } from '../../lib/ml/index.js';
import { rxToOnnx } from '../../lib/onnx/index.js';
import { rxPredict } from '../../lib/predict.js';
import { rxSerializeModel, rxUnserializeModel } from '../../lib/scoring/serialize.js';
import { maxAbsDiff, runOnnx } from '../onnx/helpers.js';
import { readJson, readMlCsv } from './helpers.js';

interface Case {
  params: { kernel: string; gamma?: number; coef0?: number; degree?: number; nu: number };
  decision: number[];
  nSv: number;
  rho: number;
}
const ref = readJson<Record<string, Case>>('oneclasssvm.json');
const iris = readMlCsv('iris.csv');
const formula = '~ Sepal.Length + Sepal.Width + Petal.Length + Petal.Width';

describe('rxOneClassSvm', () => {
  for (const [name, c] of Object.entries(ref)) {
    it(`matches scikit-learn OneClassSVM decision values (${name})`, async () => {
      const kind = (c.params.kernel === 'poly' ? 'polynomial' : c.params.kernel) as SvmKernel['kind'];
      const kernel: SvmKernel = { kind };
      if (c.params.gamma !== undefined) kernel.gamma = c.params.gamma;
      if (c.params.coef0 !== undefined) kernel.coef0 = c.params.coef0;
      if (c.params.degree !== undefined) kernel.degree = c.params.degree;
      const m = await rxOneClassSvm(formula, iris, { kernel, nu: c.params.nu, epsilon: 1e-9, normalize: name.endsWith('raw') ? 'no' : 'auto' });
      expect(m.data.stats.converged).toBe(true);
      const s = (await rxPredict(m, iris)).Score as Float64Array;
      // both solvers stop at a KKT violation < 1e-9; decision values agree to 1e-6 of their scale
      const scale = Math.max(1, Math.abs(c.rho));
      expect(maxAbsDiff(s, c.decision) / scale).toBeLessThan(1e-6);
      expect(Math.abs(m.data.rho - c.rho) / scale).toBeLessThan(1e-6);
      // ONNX in double: 1e-7 relative (required: 1e-5 absolute); onnxruntime's vectorised Tanh
      // differs from Math.tanh by ~1e-9 per kernel value, summed over up to 50 support vectors
      const out = await runOnnx(rxToOnnx(m), iris);
      expect(maxAbsDiff(out.Score!.data as Float64Array, s) / scale).toBeLessThan(1e-7);
    });
  }

  it('defaults (rbf, gamma = 1 / features, nu = 0.1), outliers, missing values, serialisation', async () => {
    const m = await rxOneClassSvm(formula, iris);
    expect(m.data.kernel.gamma).toBe(0.25);
    const s = (await rxPredict(m, iris)).Score as Float64Array;
    const outliers = s.filter((v) => v < 0).length;
    // nu bounds the fraction of training outliers from above (plus rounding of the margin)
    expect(outliers / 150).toBeLessThanOrEqual(0.1 + 0.02);
    expect(outliers).toBeGreaterThan(0);
    const far = await rxPredict(m, { 'Sepal.Length': [30, null], 'Sepal.Width': [30, 3], 'Petal.Length': [30, 1], 'Petal.Width': [30, 0.2] });
    const fs = far.Score as Float64Array;
    expect(fs[0]).toBeLessThan(0);
    expect(Number.isNaN(fs[1]!)).toBe(true);
    const back = rxUnserializeModel<RxOneClassSvmModel>(rxSerializeModel(m));
    expect(back).toBeInstanceOf(RxOneClassSvmModel);
    expect(maxAbsDiff((await rxPredict(back, iris)).Score as Float64Array, s)).toBe(0);
    expect(maxAbsDiff((await rxPredict(back, iris, { engine: 'onnx' })).Score as Float64Array, s)).toBeLessThan(1e-9);
  });

  it('small kernel cache gives the same solution; validates options', async () => {
    const a = await rxOneClassSvm(formula, iris, { epsilon: 1e-6 });
    const b = await rxOneClassSvm(formula, iris, { epsilon: 1e-6, cacheSize: 0.001 });
    expect(b.data.alpha).toEqual(a.data.alpha);
    await expect(rxOneClassSvm(formula, iris, { nu: 0 })).rejects.toThrow(/nu/);
    await expect(rxOneClassSvm(formula, iris, { kernel: 'cubic' as 'rbf' })).rejects.toThrow(/kernel/);
    await expect(rxOneClassSvm('Species ~ Sepal.Length', iris)).rejects.toThrow(/without a response/);
  });
});
