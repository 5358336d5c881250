import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rxBTrees, rxDForest, rxFastForest, rxFastTrees, rxPredictTrees } from '../../lib/trees/index.js';
import { auc, fixtureDir, readCsv } from './helpers.js';

const ref = JSON.parse(readFileSync(join(fixtureDir, 'auc_reference.json'), 'utf8'));

// Reference AUCs come from make_auc_fixtures.py (XGBoost 1.7 `hist` with base_score 0.5 (initPred 0 here),
// lambda 1, min_child_weight 1; scikit-learn 1.2 RandomForest, mean of 3 seeds) on seeded
// 8,000 / 4,000-row subsamples of UCI adult and bank marketing (kept small so the file runs in
// seconds). Tolerances and why:
// - boosting: the issue asks >= xgb - 0.002 on full data; on these 4,000-row test sets we allow
//   0.004: AUC moves by ~0.002 from bin boundaries alone (our count quantiles vs XGBoost's
//   hessian-weighted sketch; 255 -> 1000 bins moved ours by 0.0016 on bank), and measured
//   gaps were -0.00003 (adult, depth 6) to -0.0027 (bank, 31 leaves).
// - forests: the mean over 3 seeds (as the fixture) within 0.005 of scikit-learn for rxDForest.
//   rxFastForest is one seed: seed-to-seed spread measured on bank is ~0.006 (sd), so 0.015.
const tolBoost = { adult: 0.004, bank: 0.004 };
for (const name of ['adult', 'bank'] as const) {
  describe(`test AUC on ${name}`, () => {
    const train = readCsv(`${name}_train.csv`);
    const test = readCsv(`${name}_test.csv`);
    const y = test.y as number[];
    const r = ref[name];

    it('rxBTrees depth 6 vs XGBoost hist', async () => {
      const m = await rxBTrees('y ~ .', train, { lossFunction: 'bernoulli', nTree: 100, maxDepth: 6, learningRate: 0.1, sampRate: 1, lambda: 1, minBucket: 1, minChildWeight: 1, initPred: 0 });
      const p = await rxPredictTrees(m, test, { type: 'prob' });
      expect(auc(y, p['1_prob'] as Float64Array)).toBeGreaterThanOrEqual(r.xgb_depth6 - tolBoost[name]);
    });

    it('rxFastTrees 31 leaves vs XGBoost hist lossguide', async () => {
      const m = await rxFastTrees('y ~ .', train, { numTrees: 100, numLeaves: 31, learningRate: 0.1, exampleFraction: 1, minSplit: 1, l2Regularization: 1, minChildWeight: 1 });
      const p = await rxPredictTrees(m, test);
      expect(auc(y, p.Probability as Float64Array)).toBeGreaterThanOrEqual(r.xgb_leaves31 - tolBoost[name]);
      expect(p.PredictedLabel!.length).toBe(y.length);
    });

    it('rxDForest vs scikit-learn RandomForest (mean of 3 seeds)', async () => {
      const yf = { ...train, y: (train.y as number[]).map(String) };
      let s = 0;
      for (const seed of [1, 2, 3]) {
        const m = await rxDForest('y ~ .', yf, { nTree: 100, maxDepth: 30, minSplit: 2, minBucket: 1, seed, computeOobError: false });
        const p = await rxPredictTrees(m, test, { type: 'prob' });
        s += auc(y, p['1_prob'] as Float64Array);
      }
      expect(s / 3).toBeGreaterThanOrEqual(r.sklearn_rf - 0.005);
    }, 60000);

    it('rxFastForest vs scikit-learn RandomForest', async () => {
      const m = await rxFastForest('y ~ .', train, { numTrees: 100, numLeaves: 100000, maxDepth: 30, minSplit: 2, minBucket: 1, randomSeed: 5 });
      const p = await rxPredictTrees(m, test);
      expect(auc(y, p.Probability as Float64Array)).toBeGreaterThanOrEqual(r.sklearn_rf - 0.015);
    }, 30000);
  });
}
