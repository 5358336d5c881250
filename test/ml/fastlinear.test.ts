/**
 * rxFastLinear (SDCA): the optimum of the regularised objective vs references from
 * test/fixtures/ml/make_fixtures.py (scikit-learn for the log-loss, the ridge closed form for the
 * squared loss), ML.NET/TLC's baseline of the same learner, the duality-gap certificate with L1,
 * rxPredict / rxSerializeModel / ONNX (onnxruntime-node) round trips.
 */
import { describe, expect, it } from 'vitest';
import { type RxMlLinearModel, rxFastLinear } from '../../lib/ml/index.js';
import { rxToOnnx } from '../../lib/onnx/index.js';
import { rxPredict } from '../../lib/predict.js';
import { getModelKind } from '../../lib/scoring/registry.js';
import { rxSerializeModel, rxUnserializeModel } from '../../lib/scoring/serialize.js';
import { RxMemoryData } from '../../lib/data/memory.js';
import { type Table, maxAbsDiff, runOnnx } from '../onnx/helpers.js';
import { auc, readJson, readMlCsv } from './helpers.js';

interface Ref {
  logLoss: { l2: number; primal: number; score: number[] };
  squaredLoss: { l2: number; primal: number; score: number[] };
  mlnet: { default: { maxIterations: number; auc: number; accuracy: number; logLossBits: number; autoL2: number } };
}
const ref = readJson<Ref>('fastlinear.json');
const bc = readMlCsv('breast_cancer.csv');
const housing = readMlCsv('housing.csv');
const feats = ['thickness', 'size', 'shape', 'adhesion', 'epithelial', 'nuclei', 'chromatin', 'nucleoli', 'mitoses'];
const bcFormula = `label ~ ${feats.join(' + ')}`;

function complete(t: Table): Table {
  const keep = (t.nuclei as Array<number | null>).map((v) => v !== null);
  const o: Table = {};
  for (const [k, v] of Object.entries(t)) o[k] = v.filter((_, i) => keep[i]) as Table[string];
  return o;
}
const cc = complete(bc);

describe('rxFastLinear', () => {
  it('reaches the log-loss optimum of scikit-learn (C = 1 / (n l2Weight), bias as a regularised feature)', async () => {
    const m = await rxFastLinear(bcFormula, bc, { l2Weight: ref.logLoss.l2, convergenceTolerance: 1e-13, maxIterations: 10000 });
    // duality gap < 1e-13 relative: the primal value agrees to ~1e-12; scores to 1e-6
    expect(Math.abs((m.data.stats.primal as number) - ref.logLoss.primal)).toBeLessThan(1e-10);
    const s = (await rxPredict(m, cc)).Score as Float64Array;
    expect(maxAbsDiff(s.slice(0, 50), ref.logLoss.score)).toBeLessThan(1e-6);
    expect(m.data.stats.converged).toBe(true);
  });

  it('reaches the ridge closed form with squaredLoss (regression on housing)', async () => {
    const f = `MedianHomeValue ~ ${Object.keys(housing)
      .filter((k) => k !== 'MedianHomeValue')
      .join(' + ')}`;
    const m = await rxFastLinear(f, housing, { type: 'regression', l2Weight: ref.squaredLoss.l2, convergenceTolerance: 1e-14, maxIterations: 100000, shuffle: true });
    // relative gap 1e-14 of a primal ~12.6: 1e-9 on the value; predictions (scale ~20) to 1e-5
    expect(Math.abs((m.data.stats.primal as number) - ref.squaredLoss.primal)).toBeLessThan(1e-9);
    const pred = await rxPredict(m, housing);
    expect(Object.keys(pred)).toEqual(['Score']);
    expect(maxAbsDiff((pred.Score as Float64Array).slice(0, 50), ref.squaredLoss.score)).toBeLessThan(1e-5);
    const out = await runOnnx(rxToOnnx(m), housing);
    expect(maxAbsDiff(out.Score!.data as Float64Array, pred.Score as Float64Array)).toBeLessThan(1e-9);
  });

  it('reproduces ML.NET/TLC SDCA on breast-cancer with default settings (auto L2, MinMax, 5 epochs)', async () => {
    const r = ref.mlnet.default;
    const m = await rxFastLinear(bcFormula, bc, { maxIterations: r.maxIterations, convergenceTolerance: 0 });
    expect(Math.abs((m.data.params.l2Weight as number) - r.autoL2)).toBeLessThan(1e-8);
    const pred = await rxPredict(m, cc);
    const y = cc.label as number[];
    const prob = pred.Probability as Float64Array;
    let hit = 0;
    let ll = 0;
    for (let i = 0; i < y.length; i++) {
      if ((pred.PredictedLabel as Float64Array)[i] === y[i]) hit++;
      ll -= Math.log2(y[i] === 1 ? prob[i]! : 1 - prob[i]!);
    }
    // the shuffling order differs from TLC's, so 5 epochs end at a slightly different point:
    // accuracy to one row, AUC to 5e-4, log-loss (bits) to 1e-3
    expect(Math.abs(hit / y.length - r.accuracy)).toBeLessThanOrEqual(1 / 683 + 1e-9);
    expect(Math.abs(auc(pred.Score as Float64Array, y) - r.auc)).toBeLessThan(5e-4);
    expect(Math.abs(ll / y.length - r.logLossBits)).toBeLessThan(1e-3);
  });

  it('smoothHingeLoss with L1: certified optimum (duality gap), sparsity, Platt probabilities, ONNX and serialisation', async () => {
    const t: Table = { ...bc, diagnosis: (bc.label as number[]).map((v) => (v === 1 ? 'malignant' : 'benign')) };
    const m = await rxFastLinear(`diagnosis ~ ${feats.join(' + ')}`, t, { lossFunction: 'smoothHingeLoss', l2Weight: 1e-3, l1Weight: 2e-2, convergenceTolerance: 1e-10, maxIterations: 20000 });
    const st = m.data.stats;
    expect(st.converged).toBe(true);
    expect(st.dualityGap as number).toBeLessThanOrEqual(1e-10 * (st.primal as number));
    expect(st.nonZeroWeights as number).toBeLessThan(10); // the L1 term zeroes some weights
    // recompute the primal from the model's scores (raw-scale weights = scaled ones / max|x|)
    const pred = await rxPredict(m, t);
    const s = pred.Score as Float64Array;
    const lab = t.diagnosis as string[];
    let lsum = 0;
    let n = 0;
    for (let i = 0; i < s.length; i++) {
      if (Number.isNaN(s[i]!)) continue;
      const z = (lab[i] === 'malignant' ? 1 : -1) * s[i]!;
      lsum += z >= 1 ? 0 : z <= 0 ? 0.5 - z : 0.5 * (1 - z) ** 2;
      n++;
    }
    const w = m.coef() as Record<string, number>;
    let reg = 0.5 * 1e-3 * w['(Bias)']! ** 2;
    for (const f of feats) reg += 0.5 * 1e-3 * (w[f]! * 10) ** 2 + 2e-2 * Math.abs(w[f]! * 10); // max|x| = 10 for every feature
    expect(Math.abs(lsum / n + reg - (st.primal as number))).toBeLessThan(1e-12);
    const prob = pred.Probability as Float64Array;
    let hit = 0;
    for (let i = 0; i < s.length; i++) if ((pred.PredictedLabel as Array<string | null>)[i] === lab[i]) hit++;
    expect(hit / n).toBeGreaterThan(0.95);
    expect(m.data.calibrator!.a).toBeGreaterThan(0);
    expect(prob.every((v) => Number.isNaN(v) || (v > 0 && v < 1))).toBe(true);
    const back = rxUnserializeModel<RxMlLinearModel>(rxSerializeModel(m));
    expect(maxAbsDiff((await rxPredict(back, t)).Probability as Float64Array, prob)).toBe(0);
    const out = await runOnnx(rxToOnnx(back), t);
    expect(maxAbsDiff(out.Score!.data as Float64Array, s)).toBeLessThan(1e-9);
    expect(maxAbsDiff(out.Probability!.data as Float64Array, prob)).toBeLessThan(1e-9);
  });

  it('model-kind registry (scoring server / CLI path): inputs and chunk scoring', async () => {
    const t: Table = { ...bc, grade: (bc.thickness as Array<number | null>).map((v) => (v !== null && v > 5 ? 'high' : 'low')) };
    const m = await rxFastLinear('label ~ size + shape + grade', t);
    const kind = getModelKind('rxFastLinear');
    expect(kind.inputs!(m)).toEqual([
      { name: 'size', type: 'float64' },
      { name: 'shape', type: 'float64' },
      { name: 'grade', type: 'factor', levels: ['high', 'low'] },
    ]);
    const src = new RxMemoryData({ size: [1, 10], shape: [1, 10], grade: ['low', 'unseen'] });
    for await (const chunk of src.chunks()) {
      const s = await kind.score!(m, chunk);
      expect(Object.keys(s)).toEqual(['PredictedLabel', 'Score', 'Probability']);
      expect((s.Score as Float64Array)[0]).toBeLessThan(0);
      expect(Number.isNaN((s.Score as Float64Array)[1]!)).toBe(true); // unseen level: NA, no error
    }
    for (const k of ['rxLogisticRegression', 'rxNeuralNet', 'rxOneClassSvm']) expect(getModelKind(k).version).toBe(1);
  });

  it('hingeLoss is deterministic per seed and validates its options', async () => {
    const a = await rxFastLinear(bcFormula, bc, { lossFunction: 'hingeLoss', maxIterations: 3, convergenceTolerance: 0, seed: 7 });
    const b = await rxFastLinear(bcFormula, bc, { lossFunction: 'hingeLoss', maxIterations: 3, convergenceTolerance: 0, seed: 7 });
    expect(a.data.weights).toEqual(b.data.weights);
    await expect(rxFastLinear(bcFormula, bc, { lossFunction: 'squaredLoss' })).rejects.toThrow(/lossFunction/);
    await expect(rxFastLinear(bcFormula, bc, { l2Weight: 0 })).rejects.toThrow(/l2Weight/);
    await expect(rxFastLinear(bcFormula, bc, { cacheBytes: 100 })).rejects.toThrow(/cacheBytes/);
  });
});
