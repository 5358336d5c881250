import { describe, expect, it } from 'vitest';
import { RxMemoryData } from '../../lib/data/memory.js';
import type { Chunk, DataSink } from '../../lib/data/types.js';
import { RxError } from '../../lib/errors.js';
import { RxTreeModel, rxBTrees, rxDForest, rxDTree, rxFastForest, rxFastTrees, rxPredictTrees, rxVarImpPlot } from '../../lib/trees/index.js';
import { auc } from './helpers.js';

/** Seeded synthetic data: numeric x1..x4 (x4 with missing values), factor g, binary/3-class/numeric responses. */
function synth(n: number, seed = 7) {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const x1: number[] = [];
  const x2: number[] = [];
  const x3: number[] = [];
  const x4: (number | null)[] = [];
  const g: string[] = [];
  const yb: string[] = [];
  const y3: string[] = [];
  const yr: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = u() * 4 - 2;
    const b = u() * 4 - 2;
    const c = Math.round(u() * 10);
    const lv = 'abcdefgh'[Math.floor(u() * 8)]!;
    const d = u() < 0.2 ? null : u() * 2;
    const f = Math.sin(2 * a) + b * b * 0.5 - 1 + ('aceg'.includes(lv) ? 0.8 : -0.8) + (d === null ? 0.5 : d * 0.3);
    x1.push(a);
    x2.push(b);
    x3.push(c);
    x4.push(d);
    g.push(lv);
    yb.push(1 / (1 + Math.exp(-2 * f)) > u() ? 'yes' : 'no');
    y3.push(f < -0.5 ? 'lo' : f < 0.7 ? 'mid' : 'hi');
    yr.push(f + 0.3 * (u() - 0.5));
  }
  return { x1, x2, x3, x4, g, yb, y3, yr };
}

const train = synth(3000, 1);
const test = synth(2000, 2);
const yTest = test.yb.map((v) => (v === 'yes' ? 1 : 0));

describe('tree ensembles', () => {
  it('rxFastTrees is deterministic and independent of chunk size', async () => {
    const { yr: _r, y3: _3, ...d } = train;
    const a = await rxFastTrees('yb ~ x1 + x2 + x3 + x4 + g', new RxMemoryData(d, { rowsPerRead: 3000 }), { randomSeed: 3 });
    const b = await rxFastTrees('yb ~ x1 + x2 + x3 + x4 + g', new RxMemoryData(d, { rowsPerRead: 137 }), { randomSeed: 3 });
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    const c = await rxFastTrees('yb ~ x1 + x2 + x3 + x4 + g', d, { randomSeed: 4 });
    expect(JSON.stringify(c)).not.toBe(JSON.stringify(a));
    const p = await rxPredictTrees(a, test);
    expect(auc(yTest, p.Probability as Float64Array)).toBeGreaterThan(0.8);
    for (let i = 0; i < 20; i++) {
      const pr = (p.Probability as Float64Array)[i]!;
      expect(p.PredictedLabel![i]).toBe(pr >= 0.5 ? 'yes' : 'no');
      expect(pr).toBeCloseTo(1 / (1 + Math.exp(-(p.Score as Float64Array)[i]!)), 12);
    }
  });

  it('serialises to JSON and back with identical predictions', async () => {
    const m = await rxBTrees('yb ~ x1 + x2 + g + x4', train, { nTree: 30, maxDepth: 3, seed: 2 });
    const back = RxTreeModel.fromJSON(JSON.stringify(m));
    const p1 = await rxPredictTrees(m, test, { type: 'prob' });
    const p2 = await rxPredictTrees(back, test, { type: 'prob' });
    expect(Array.from(p2.yes_prob as Float64Array)).toEqual(Array.from(p1.yes_prob as Float64Array));
    expect(() => RxTreeModel.fromJSON({ format: 'other' })).toThrow(RxError);
  });

  it('rxBTrees: multinomial, gaussian, training loss decreases', async () => {
    const m3 = await rxBTrees('y3 ~ x1 + x2 + g + x4', train, { lossFunction: 'multinomial', nTree: 40, maxDepth: 3, learningRate: 0.2, seed: 1 });
    expect(m3.numTrees).toBe(120);
    const p = await rxPredictTrees(m3, test, { type: 'response' });
    const acc = (p.y3_Pred as string[]).filter((v, i) => v === test.y3[i]).length / test.y3.length;
    expect(acc).toBeGreaterThan(0.7);
    const pr = await rxPredictTrees(m3, test, { type: 'prob' });
    expect((pr.hi_prob as Float64Array)[0]! + (pr.lo_prob as Float64Array)[0]! + (pr.mid_prob as Float64Array)[0]!).toBeCloseTo(1, 12);
    const loss = m3.extra.trainLoss as number[];
    expect(loss[loss.length - 1]!).toBeLessThan(loss[0]!);
    const mr = await rxBTrees('yr ~ x1 + x2 + g + x4', train, { nTree: 60, maxDepth: 3, learningRate: 0.2 });
    const pg = await rxPredictTrees(mr, test, { computeResiduals: true });
    const res = pg.yr_Resid as Float64Array;
    const mse = res.reduce((a, v) => a + v * v, 0) / res.length;
    const mean = test.yr.reduce((a, b) => a + b, 0) / test.yr.length;
    const v0 = test.yr.reduce((a, b) => a + (b - mean) ** 2, 0) / test.yr.length;
    expect(mse).toBeLessThan(0.3 * v0);
  });

  it('rxPredictTrees writes model variables and to a sink', async () => {
    const m = await rxBTrees('yr ~ x1 + g', train, { nTree: 3, maxDepth: 2 });
    const got: Chunk[] = [];
    let closed = false;
    const sink: DataSink = {
      kind: 'test',
      open: async () => ({
        write: async (c: Chunk) => {
          got.push(c);
        },
        close: async () => {
          closed = true;
        },
        abort: async () => {},
      }),
    };
    const p = await rxPredictTrees(m, test, { writeModelVars: true, outData: sink });
    expect(Object.keys(p)).toEqual(['yr_Pred', 'x1', 'g']);
    expect((p.g as string[])[0]).toBe(test.g[0]);
    expect(closed).toBe(true);
    expect(got[0]!.numRows).toBe(2000);
    expect(got[0]!.columns.yr_Pred!.data).toEqual(p.yr_Pred);
  });

  it('rxBTrees: initPred sets the starting score', async () => {
    const m = await rxBTrees('yr ~ x1', train, { nTree: 1, maxDepth: 1, learningRate: 0, initPred: 5 });
    const p = await rxPredictTrees(m, test);
    expect((p.yr_Pred as Float64Array)[0]).toBe(5);
  });

  it('zero-weight rows take no part', async () => {
    const w = train.x1.map((_, i) => (i % 3 === 0 ? 0 : 1));
    const a = await rxBTrees('yr ~ x1 + x2 + g', { ...train, w }, { weights: 'w', nTree: 5, maxDepth: 3, sampRate: 1 });
    const keep = (arr: unknown[]) => arr.filter((_, i) => i % 3 !== 0);
    const b = await rxBTrees('yr ~ x1 + x2 + g', { x1: keep(train.x1) as number[], x2: keep(train.x2) as number[], g: keep(train.g) as string[], yr: keep(train.yr) as number[] }, { nTree: 5, maxDepth: 3, sampRate: 1 });
    expect(Array.from(a.trees.threshold)).toEqual(Array.from(b.trees.threshold));
    expect(Array.from(a.trees.value)).toEqual(Array.from(b.trees.value));
  });

  it('rxDForest: OOB error by tree count, confusion matrix, importance, votes', async () => {
    const m = await rxDForest('yb ~ x1 + x2 + x3 + x4 + g', train, { nTree: 25, seed: 9, importance: true });
    const oob = m.extra.oobError as number[];
    expect(oob.length).toBe(25);
    expect(oob[24]!).toBeLessThan(0.3);
    const cm = m.extra.confusion as { levels: string[]; counts: number[][] };
    expect(cm.levels).toEqual(['no', 'yes']);
    const tot = cm.counts.flat().reduce((a, b) => a + b, 0);
    expect(tot).toBeGreaterThan(2900);
    expect(tot).toBeLessThanOrEqual(3000);
    const imp = m.extra.importance as Record<string, number>;
    expect(imp.x2!).toBeGreaterThan(imp.x3!);
    const v = await rxPredictTrees(m, test, { type: 'vote' });
    expect((v.no_Vote as Float64Array)[0]! + (v.yes_Vote as Float64Array)[0]!).toBeCloseTo(1, 12);
    const pr = await rxPredictTrees(m, test, { type: 'prob' });
    expect(auc(yTest, pr.yes_prob as Float64Array)).toBeGreaterThan(0.8);
    expect(rxVarImpPlot(m)).toContain('<svg');
    const reg = await rxDForest('yr ~ x1 + x2 + g', train, { nTree: 10, seed: 1, strata: 'g' });
    expect((reg.extra.oobError as number[]).length).toBe(10);
    const again = await rxDForest('yr ~ x1 + x2 + g', train, { nTree: 10, seed: 1, strata: 'g' });
    expect(Array.from(again.trees.value)).toEqual(Array.from(reg.trees.value));
  });

  it('rxFastForest binary with calibrated probabilities in [0, 1]', async () => {
    const m = await rxFastForest('yb ~ x1 + x2 + x3 + x4 + g', train, { numTrees: 20, randomSeed: 2 });
    const p = await rxPredictTrees(m, test);
    const pr = p.Probability as Float64Array;
    expect(pr.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(auc(yTest, pr)).toBeGreaterThan(0.8);
  });

  it('bad input: one class, non-finite response, all-missing predictor, many-level factor', async () => {
    await expect(rxFastTrees('yb ~ x1', { yb: train.yb.map(() => 'yes'), x1: train.x1 })).rejects.toMatchObject({ code: 'RX_ARG' });
    await expect(rxBTrees('yr ~ x1', { yr: train.yr.map((v, i) => (i === 10 ? Number.POSITIVE_INFINITY : v)), x1: train.x1 })).rejects.toMatchObject({ code: 'RX_ARG', row: 11 });
    await expect(rxFastTrees('yb ~ x1', { yb: train.yb, x1: train.x1 }, { numLeaves: 1 })).rejects.toMatchObject({ code: 'RX_ARG' });
    // an all-missing predictor is never split on
    const m = await rxFastTrees('yb ~ x1 + none', { yb: train.yb, x1: train.x1, none: train.x1.map(() => null) }, { numTrees: 5 });
    for (const f of m.trees.feature) expect(f).not.toBe(1);
    // factors with more levels than maxUnorderedLevels are split as ordered codes (documented fallback)
    const many = train.x1.map((v) => `L${Math.floor((v + 2) * 20)}`);
    const t = await rxDTree('yr ~ many', { yr: train.yr, many }, { maxUnorderedLevels: 8, xVal: 0 });
    expect(t.trees.feature[0]).toBe(0);
    await expect(rxDTree('yr ~ x1', { yr: train.yr, x1: train.x1 }, { maxDepth: 0 })).rejects.toMatchObject({ code: 'RX_ARG' });
    await expect(rxPredictTrees(m, { x1: [1, 2] })).rejects.toMatchObject({ code: 'RX_SCHEMA' });
  });
});
