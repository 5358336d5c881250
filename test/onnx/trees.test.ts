/**
 * Parity of the tree exporters: onnxruntime-node (the reference ONNX runtime) on the
 * exported graph vs rxPredictTrees on held-out rows, for every tree kind and task, with
 * factor predictors, missing values (NaN, learned default direction) and unknown levels.
 * Tolerance 1e-9 for probabilities / regression: the graph uses double thresholds, double
 * leaf weights and double sums (TreeEnsemble, ai.onnx.ml 5), so only the order of the
 * floating-point additions may differ; classes must be identical.
 */
import { describe, expect, it } from 'vitest';
import { rxToOnnx } from '../../lib/onnx/index.js';
import { type RxTreeModel, rxBTrees, rxDForest, rxDTree, rxFastForest, rxFastTrees, rxPredictTrees } from '../../lib/trees/index.js';
import { type Table, maxAbsDiff, readCsv, runOnnx, sliceTable } from './helpers.js';

const TOL = 1e-9;

function adult(): { train: Table; test: Table } {
  const t = readCsv('adult.csv');
  t.income = (t.y as number[]).map((v) => (v === 1 ? 'gt50K' : 'le50K'));
  delete t.y;
  const test = sliceTable(t, 1000, 1500);
  // unknown levels and missing values at scoring time
  const occ = test.occupation as Array<string | null>;
  const wc = test.workclass as Array<string | null>;
  const age = test.age as Array<number | null>;
  for (let i = 0; i < 500; i += 37) occ[i] = 'Martian';
  for (let i = 5; i < 500; i += 41) wc[i] = null;
  for (let i = 9; i < 500; i += 23) age[i] = null;
  return { train: sliceTable(t, 0, 1000), test };
}

function iris(): { train: Table; test: Table } {
  const t = readCsv('iris.csv');
  // every 3rd row held out (iris is sorted by species)
  const idx = (keep: (i: number) => boolean) => {
    const o: Table = {};
    for (const [k, v] of Object.entries(t)) o[k] = (v as unknown[]).filter((_, i) => keep(i)) as Table[string];
    return o;
  };
  const test = idx((i) => i % 3 === 0);
  (test['Petal.Width'] as Array<number | null>)[4] = null;
  (test['Sepal.Length'] as Array<number | null>)[20] = null;
  return { train: idx((i) => i % 3 !== 0), test };
}

async function checkClassifier(model: RxTreeModel, test: Table): Promise<void> {
  const out = await runOnnx(rxToOnnx(model), test);
  const lv = model.levels!;
  const n = Object.values(test)[0]!.length;
  const probs = out.probabilities!.data as Float64Array;
  expect(out.probabilities!.dims).toEqual([n, lv.length]);
  const y = model.response.name;
  const fast = model.kind === 'rxFastTrees' || model.kind === 'rxFastForest';
  if (fast) {
    const r = await rxPredictTrees(model, test);
    const p1 = Float64Array.from({ length: n }, (_, i) => probs[i * 2 + 1]!);
    expect(maxAbsDiff(p1, r.Probability as Float64Array)).toBeLessThanOrEqual(TOL);
    expect(maxAbsDiff(out.Score!.data as Float64Array, r.Score as Float64Array)).toBeLessThanOrEqual(TOL);
    expect(out.label!.data).toEqual(r.PredictedLabel);
  } else {
    const rp = await rxPredictTrees(model, test, { type: 'prob' });
    lv.forEach((l, k) => {
      const col = Float64Array.from({ length: n }, (_, i) => probs[i * lv.length + k]!);
      expect(maxAbsDiff(col, rp[`${l}_prob`] as Float64Array)).toBeLessThanOrEqual(TOL);
    });
    const rc = await rxPredictTrees(model, test, { type: model.kind === 'rxDTree' ? 'class' : 'response' });
    expect(out.label!.data).toEqual(rc[`${y}_Pred`]);
  }
  // the labels are not all the same (the test would be weak otherwise)
  expect(new Set(out.label!.data as string[]).size).toBeGreaterThan(1);
}

async function checkRegression(model: RxTreeModel, test: Table): Promise<void> {
  const out = await runOnnx(rxToOnnx(model), test);
  const r = await rxPredictTrees(model, test);
  const name = model.kind === 'rxFastTrees' || model.kind === 'rxFastForest' ? 'Score' : `${model.response.name}_Pred`;
  expect(Object.keys(out)).toEqual([name]);
  expect(maxAbsDiff(out[name]!.data as Float64Array, r[name] as Float64Array)).toBeLessThanOrEqual(TOL);
}

const ADULT_X = 'age + workclass + education + education_num + marital_status + occupation + sex + capital_gain + hours_per_week';

describe('ONNX export of tree models: parity with rxPredictTrees (onnxruntime-node)', () => {
  const a = adult();
  const ir = iris();

  it('rxDTree classification (kyphosis, numeric) and (adult: factors, NaN, unknown levels)', async () => {
    const k = readCsv('kyphosis.csv');
    await checkClassifier(await rxDTree('Kyphosis ~ Age + Number + Start', sliceTable(k, 0, 60), { cp: 0, minSplit: 5, minBucket: 2 }), sliceTable(k, 60, 81));
    await checkClassifier(await rxDTree(`income ~ ${ADULT_X}`, a.train, { cp: 0.002 }), a.test);
  });
  it('rxDTree regression and 3-class (iris)', async () => {
    await checkRegression(await rxDTree('Sepal.Length ~ Sepal.Width + Petal.Length + Petal.Width + Species', ir.train, { cp: 0.001, minSplit: 5 }), ir.test);
    await checkClassifier(await rxDTree('Species ~ Sepal.Length + Sepal.Width + Petal.Length + Petal.Width', ir.train, { cp: 0, minSplit: 4, minBucket: 1 }), ir.test);
  });
  it('rxDForest classification (binary adult, 3-class iris) and regression', async () => {
    await checkClassifier(await rxDForest(`income ~ ${ADULT_X}`, a.train, { nTree: 15, seed: 1, maxDepth: 8 }), a.test);
    await checkClassifier(await rxDForest('Species ~ Sepal.Length + Sepal.Width + Petal.Length + Petal.Width', ir.train, { nTree: 20, seed: 2 }), ir.test);
    await checkRegression(await rxDForest(`hours_per_week ~ age + sex + occupation + education_num`, a.train, { nTree: 10, seed: 3, maxDepth: 6 }), a.test);
  });
  it('rxBTrees bernoulli, multinomial and gaussian', async () => {
    await checkClassifier(await rxBTrees(`income ~ ${ADULT_X}`, a.train, { lossFunction: 'bernoulli', nTree: 30, maxDepth: 4, seed: 4 }), a.test);
    await checkClassifier(await rxBTrees('Species ~ Sepal.Length + Sepal.Width + Petal.Length + Petal.Width', ir.train, { lossFunction: 'multinomial', nTree: 15, maxDepth: 3, seed: 5 }), ir.test);
    await checkRegression(await rxBTrees('Sepal.Length ~ Sepal.Width + Petal.Length + Petal.Width + Species', ir.train, { lossFunction: 'gaussian', nTree: 25, maxDepth: 3, seed: 6 }), ir.test);
  });
  it('rxFastTrees binary and regression', async () => {
    await checkClassifier(await rxFastTrees(`income ~ ${ADULT_X}`, a.train, { numTrees: 30, numLeaves: 15, randomSeed: 7 }), a.test);
    await checkRegression(await rxFastTrees(`hours_per_week ~ age + sex + occupation + education_num`, a.train, { method: 'regression', numTrees: 20, numLeaves: 8, randomSeed: 8 }), a.test);
  });
  it('rxFastForest binary and regression', async () => {
    await checkClassifier(await rxFastForest(`income ~ ${ADULT_X}`, a.train, { numTrees: 15, numLeaves: 20, randomSeed: 9 }), a.test);
    await checkRegression(await rxFastForest(`hours_per_week ~ age + sex + occupation + education_num`, a.train, { method: 'regression', numTrees: 10, randomSeed: 10 }), a.test);
  });
  it('missing values follow the learned default direction', async () => {
    // rows with every predictor missing must reach the leaf the learned default directions lead to
    const m = await rxDTree('income ~ age + education_num + hours_per_week', a.train, { maxDepth: 4, cp: 0 });
    const t = m.trees;
    expect(t.feature[0]).toBeGreaterThanOrEqual(0);
    const test: Table = { age: [20, 70, null, null], education_num: [9, 14, null, null], hours_per_week: [40, 50, null, null] };
    const out = await runOnnx(rxToOnnx(m), test);
    const r = await rxPredictTrees(m, test, { type: 'prob' });
    expect(maxAbsDiff(out.probabilities!.data as Float64Array, Float64Array.from([0, 1, 2, 3].flatMap((i) => m.levels!.map((l) => (r[`${l}_prob`] as Float64Array)[i]!))))).toBe(0);
    let nd = 0;
    while (t.feature[nd]! >= 0) nd = t.defaultLeft[nd] ? t.left[nd]! : t.right[nd]!;
    const p1 = t.K === 1 ? t.value[nd]! : t.value[nd * t.K + 1]!;
    expect((out.probabilities!.data as Float64Array)[2 * 2 + 1]).toBe(p1);
    expect((out.probabilities!.data as Float64Array)[3 * 2 + 1]).toBe(p1);
  });
  it('rejects opsets below 21 and objects that are not models', () => {
    const fake = { kind: 'rxBTrees' };
    expect(() => rxToOnnx({ modelKind: 'nope', toJSON: () => ({}) })).toThrow(/No ONNX exporter/);
    expect(() => rxToOnnx(42)).toThrow(/Expected a fitted model/);
    expect(() => rxToOnnx(fake)).toThrow(/not a tree model/);
  });
});
