/**
 * The native real-time scorer (native/src/score via lib/onnx/scorer.ts) against the
 * JavaScript prediction paths (rxPredictTrees / rxPredict) on held-out rows with factors,
 * missing values and unknown levels; the ONNX engine through the same entry points; and
 * rxSerializeModel round trips for every tree kind. Tolerance 1e-12: the same decisions
 * and the same order of additions; only exp() in sigmoid / softmax / links may differ
 * by an ulp between V8 and the C library.
 */
import { describe, expect, it } from 'vitest';
import { rxLinMod, rxLogit, rxGlm, rxPredict } from '../../lib/models/index.js';
import { scoreNative } from '../../lib/native/score.js';
import { createScorer, rxScore } from '../../lib/onnx/scorer.js';
import { rxSerializeModel, rxUnserializeModel } from '../../lib/scoring/serialize.js';
import { type RxTreeModel, rxBTrees, rxDForest, rxDTree, rxFastForest, rxFastTrees, rxPredictTrees } from '../../lib/trees/index.js';
import { type Table, maxAbsDiff, readCsv, sliceTable } from '../onnx/helpers.js';

const TOL = 1e-12;

function adult(): { train: Table; test: Table } {
  const t = readCsv('adult.csv');
  t.income = (t.y as number[]).map((v) => (v === 1 ? 'gt50K' : 'le50K'));
  const test = sliceTable(t, 1000, 1300);
  (test.occupation as Array<string | null>)[3] = 'Martian';
  (test.age as Array<number | null>)[8] = null;
  (test.workclass as Array<string | null>)[9] = null;
  return { train: sliceTable(t, 0, 1000), test };
}

function expectTablesClose(a: Record<string, unknown>, b: Record<string, unknown>, keys: string[]): void {
  for (const k of keys) {
    const x = a[k];
    const y = b[k];
    if (x instanceof Float64Array) expect(maxAbsDiff(x, y as Float64Array), k).toBeLessThanOrEqual(TOL);
    else expect(x, k).toEqual(y);
  }
}

async function jsReference(m: RxTreeModel, test: Table): Promise<Record<string, unknown>> {
  if (m.kind === 'rxFastTrees' || m.kind === 'rxFastForest') return rxPredictTrees(m, test);
  if (!m.levels) return rxPredictTrees(m, test);
  return { ...(await rxPredictTrees(m, test, { type: 'prob' })), ...(await rxPredictTrees(m, test, { type: m.kind === 'rxDTree' ? 'class' : 'response' })) };
}

const X = 'age + workclass + education_num + marital_status + occupation + sex + capital_gain + hours_per_week';

describe('native scorer', () => {
  const a = adult();
  const models: Array<[string, () => Promise<RxTreeModel>]> = [
    ['rxDTree class', () => rxDTree(`income ~ ${X}`, a.train, { cp: 0.002 })],
    ['rxDTree anova', () => rxDTree('hours_per_week ~ age + sex + occupation', a.train, { cp: 0.005 })],
    ['rxDForest class', () => rxDForest(`income ~ ${X}`, a.train, { nTree: 12, seed: 1, maxDepth: 8 })],
    ['rxDForest 3-class', () => rxDForest(`marital_status ~ age + sex + hours_per_week + education_num`, a.train, { nTree: 8, seed: 1 })],
    ['rxBTrees bernoulli', () => rxBTrees(`income ~ ${X}`, a.train, { lossFunction: 'bernoulli', nTree: 25, maxDepth: 4, seed: 2 })],
    ['rxBTrees multinomial', () => rxBTrees('race ~ age + sex + hours_per_week + occupation', a.train, { lossFunction: 'multinomial', nTree: 10, maxDepth: 3, seed: 3 })],
    ['rxBTrees gaussian', () => rxBTrees('hours_per_week ~ age + sex + occupation', a.train, { lossFunction: 'gaussian', nTree: 20, maxDepth: 3, seed: 3 })],
    ['rxFastTrees binary', () => rxFastTrees(`income ~ ${X}`, a.train, { numTrees: 20, numLeaves: 15, randomSeed: 4 })],
    ['rxFastTrees regression', () => rxFastTrees('hours_per_week ~ age + sex + occupation', a.train, { method: 'regression', numTrees: 15, randomSeed: 5 })],
    ['rxFastForest binary', () => rxFastForest(`income ~ ${X}`, a.train, { numTrees: 10, randomSeed: 6 })],
    ['rxFastForest regression', () => rxFastForest('hours_per_week ~ age + sex + occupation', a.train, { method: 'regression', numTrees: 8, randomSeed: 7 })],
  ];
  for (const [name, train] of models) {
    it(`${name}: native and onnx engines equal rxPredictTrees; serialize round trip`, async () => {
      const m = await train();
      const ref = await jsReference(m, a.test);
      const keys = Object.keys(ref);
      const nat = await rxPredictTrees(m, a.test, { engine: 'native' });
      expect(Object.keys(nat).sort()).toEqual([...keys].sort());
      expectTablesClose(nat, ref, keys);
      const onnx = await rxPredictTrees(m, a.test, { engine: 'onnx' });
      for (const k of keys) {
        if (onnx[k] instanceof Float64Array) expect(maxAbsDiff(onnx[k] as Float64Array, ref[k] as Float64Array), k).toBeLessThanOrEqual(1e-9);
        else expect(onnx[k], k).toEqual(ref[k]);
      }
      // single rows give the batch's values
      const s = createScorer(m);
      const { x, n } = await import('../../lib/onnx/scorer.js').then((mod) => mod.readScorerInputs(a.test, s.inputs));
      const batch = s.scoreBatchSync(x, n);
      const row = new Float64Array(s.inputs.length);
      for (let i = 0; i < n; i += 7) {
        for (let j = 0; j < row.length; j++) row[j] = x[j * n + i]!;
        const r = s.scoreRow(row);
        if (typeof r === 'number') expect(r).toBe(batch[i]);
        else expect(Array.from(r)).toEqual(Array.from(batch.subarray(i * s.width, (i + 1) * s.width)));
        // the bound input row gives the same values
        s.input.set(row);
        const b = s.score();
        if (typeof b === 'number') expect(b).toBe(batch[i]);
        else expect(Array.from(b)).toEqual(Array.from(batch.subarray(i * s.width, (i + 1) * s.width)));
      }
      expect(await s.scoreBatch(x, n)).toEqual(batch);
      // a batch big enough to be split over threads and blocks gives the same rows
      const reps = 23;
      const big = new Float64Array(x.length * reps);
      for (let j = 0; j < s.inputs.length; j++) for (let r = 0; r < reps; r++) big.set(x.subarray(j * n, (j + 1) * n), j * n * reps + r * n);
      const bigOut = await s.scoreBatch(big, n * reps);
      for (let r = 0; r < reps; r += 11) expect(bigOut.subarray(r * n * s.width, (r + 1) * n * s.width)).toEqual(batch);
      s.dispose();
      expect(() => s.scoreRow(row)).toThrow(/freed/);
      expect(() => s.score()).toThrow(expect.objectContaining({ code: 'RX_ARG' }));
      // rxSerializeModel round trip
      const back = rxUnserializeModel(rxSerializeModel(m)) as RxTreeModel;
      expect(back.kind).toBe(m.kind);
      expect(back.toJSON()).toEqual(m.toJSON());
      expectTablesClose(await jsReference(back, a.test), ref, keys);
    });
  }

  it('linear models: native and onnx engines equal rxPredict', async () => {
    const fits = [
      await rxLinMod('hours_per_week ~ age + sex * education_num + occupation + race:sex', a.train),
      await rxLinMod('hours_per_week ~ age + sex + occupation', a.train, { dropFirst: true }),
      await rxLogit('y ~ age + education_num + sex + marital_status + hours_per_week', a.train),
      await rxGlm('y ~ age + education_num + sex', a.train, { family: 'binomial', link: 'probit' }),
      await rxGlm('education_num ~ age + sex + race', a.train, { family: 'poisson' }),
    ];
    for (const m of fits) {
      const name = `${m.design.responseLabel}_Pred`;
      const ref = (await rxPredict(m, a.test, { checkFactorLevels: false }))[name] as Float64Array;
      const nat = (await rxPredict(m, a.test, { engine: 'native' }))[name] as Float64Array;
      expect(maxAbsDiff(nat, ref)).toBeLessThanOrEqual(TOL);
      expect(nat.some((v) => Number.isNaN(v))).toBe(true);
      const onnx = (await rxPredict(m, a.test, { engine: 'onnx' }))[name] as Float64Array;
      expect(maxAbsDiff(onnx, ref)).toBeLessThanOrEqual(m.toJSON().kind === 'glm' ? 1e-6 : 1e-9);
    }
  });

  it('linear scoreRow takes inputs in order, factors as level indices', async () => {
    const m = await rxLinMod('hours_per_week ~ age + sex', a.train);
    const s = createScorer(m);
    expect(s.inputs.map((i) => i.name)).toEqual(['age', 'sex']);
    const male = s.inputs[1]!.levels!.indexOf('Male');
    const ref = (await rxPredict(m, { age: [40], sex: ['Male'] }))['hours_per_week_Pred'] as Float64Array;
    expect(s.scoreRow(Float64Array.of(40, male))).toBeCloseTo(ref[0]!, 12);
    expect(s.scoreRow(Float64Array.of(Number.NaN, male))).toBeNaN();
    expect(s.scoreRow(Float64Array.of(40, 99))).toBeNaN();
  });

  it('functions of one column (log, sqrt, exp ...) score natively; other expressions are refused with RX_MODEL, onnx scores them', async () => {
    const m = await rxLinMod('hours_per_week ~ log(age) + sqrt(education_num) + log1p(capital_gain) + sex + log(age):sex', a.train);
    const ref = (await rxPredict(m, a.test, { checkFactorLevels: false }))['hours_per_week_Pred'] as Float64Array;
    const s = createScorer(m);
    expect(s.inputs.map((i) => i.name)).toEqual(['age', 'education_num', 'capital_gain', 'sex']);
    expect(maxAbsDiff((await rxScore(m, a.test))['hours_per_week_Pred'] as Float64Array, ref)).toBeLessThanOrEqual(TOL);
    // log of a negative input: the row is missing, as in rxPredict
    const neg = { age: [-3, 30], education_num: [9, 9], capital_gain: [0, 0], sex: ['Male', 'Male'] };
    const refNeg = (await rxPredict(m, neg))['hours_per_week_Pred'] as Float64Array;
    const natNeg = (await rxScore(m, neg))['hours_per_week_Pred'] as Float64Array;
    expect(natNeg[0]).toBeNaN();
    expect(Number.isNaN(refNeg[0]!) || refNeg[0] === null).toBe(true);
    expect(Math.abs(natNeg[1]! - refNeg[1]!)).toBeLessThanOrEqual(TOL);
    s.dispose();
    const m2 = await rxLinMod('hours_per_week ~ I(age^2) + sex', a.train);
    expect(() => createScorer(m2)).toThrow(expect.objectContaining({ code: 'RX_MODEL' }));
    const ref2 = (await rxPredict(m2, a.test, { checkFactorLevels: false }))['hours_per_week_Pred'] as Float64Array;
    expect(maxAbsDiff((await rxScore(m2, a.test, { engine: 'onnx' }))['hours_per_week_Pred'] as Float64Array, ref2)).toBeLessThanOrEqual(1e-9);
  });

  it('rejects malformed tree arrays with RX_MODEL and bad handles with RX_ARG', async () => {
    const m = await rxDTree('hours_per_week ~ age', a.train, { maxDepth: 2 });
    const t = m.trees;
    const bad = { ...t, left: Int32Array.from(t.left, (v, i) => (t.feature[i]! >= 0 ? 10_000 : v)) };
    expect(() => scoreNative().scoreTreesCreate(bad, 1, 1, 0)).toThrow(expect.objectContaining({ code: 'RX_MODEL' }));
    const cyc = { ...t, left: Int32Array.from(t.left, (v, i) => (i > 0 && t.feature[i]! >= 0 ? 1 : v)) };
    if (Array.from(t.feature).filter((f) => f >= 0).length > 1) expect(() => scoreNative().scoreTreesCreate(cyc, 1, 1, 0)).toThrow(expect.objectContaining({ code: 'RX_MODEL' }));
    expect(() => scoreNative().scoreTreesCreate(t, 0, 1, 0)).toThrow(expect.objectContaining({ code: 'RX_MODEL' }));
    expect(() => scoreNative().scoreRow({} as never, new Float64Array(1), new Float64Array(1))).toThrow(expect.objectContaining({ code: 'RX_ARG' }));
    const s = createScorer(m);
    expect(() => s.scoreRow(new Float64Array(0))).toThrow(expect.objectContaining({ code: 'RX_ARG' }));
    expect(() => createScorer({ kind: 'what' })).toThrow(/No native scorer/);
  });
});
