import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dtreeToString, rxDTree, rxPredictTrees } from '../../lib/trees/index.js';
import { fixtureDir } from './helpers.js';

// Tree formulas go through lib/formula (createModelSpec): `.`, `-`, transforms and F().
function kyphosis() {
  const rows = readFileSync(join(fixtureDir, 'kyphosis.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  return {
    Kyphosis: rows.map((r) => r[0]!.replace(/"/g, '')),
    Age: rows.map((r) => Number(r[1])),
    Number: rows.map((r) => Number(r[2])),
    Start: rows.map((r) => Number(r[3])),
  };
}
const opts = { cp: 0, xVal: 0, maxNumBins: 200 } as const;

describe('rxDTree formulas (lib/formula)', () => {
  it('`.` and `- x` resolve against the data', async () => {
    const d = kyphosis();
    const all = await rxDTree('Kyphosis ~ .', d, opts);
    const named = await rxDTree('Kyphosis ~ Age + Number + Start', d, opts);
    expect(dtreeToString(all)).toBe(dtreeToString(named));
    const minus = await rxDTree('Kyphosis ~ . - Number', d, opts);
    expect(minus.features.map((f) => f.name)).toEqual(['Age', 'Start']);
  });

  it('transforms are evaluated in training and in prediction', async () => {
    const d = kyphosis();
    const m = await rxDTree('Kyphosis ~ log(Age) + Start', d, opts);
    expect(m.features.map((f) => f.name)).toEqual(['log(Age)', 'Start']);
    const ref = await rxDTree('Kyphosis ~ logAge + Start', { ...d, logAge: d.Age.map(Math.log) }, opts);
    expect(dtreeToString(m).replace(/log\(Age\)/g, 'logAge')).toBe(dtreeToString(ref));
    const p = await rxPredictTrees(m, d, { type: 'prob' });
    const q = await rxPredictTrees(ref, { ...d, logAge: d.Age.map(Math.log) }, { type: 'prob' });
    expect(Array.from(p.present_prob as Float64Array)).toEqual(Array.from(q.present_prob as Float64Array));
  });

  it('F() makes a numeric column a factor predictor', async () => {
    const d = kyphosis();
    const m = await rxDTree('Kyphosis ~ F(Number) + Start', d, opts);
    const f = m.features[0]!;
    expect(f.name).toBe('F(Number)');
    expect(f.type).toBe('factor');
    expect(f.levels).toEqual(['2', '3', '4', '5', '6', '7', '8', '9', '10']);
    const p = await rxPredictTrees(m, d, { type: 'prob' });
    const probs = Array.from(p.present_prob as Float64Array);
    expect(probs.every((v) => v >= 0 && v <= 1)).toBe(true);
    // the tree's predictions on its training rows reproduce its leaves' class shares
    const fitted = await rxPredictTrees(m, d, { type: 'class' });
    expect((fitted.Kyphosis_Pred as string[]).length).toBe(81);
  });
});
