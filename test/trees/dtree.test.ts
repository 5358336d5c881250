import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RxError } from '../../lib/errors.js';
import { RxTreeModel, dtreeFrame, dtreeToString, rxDTree, rxPredictTrees, rxPrune, rxVarImpPlot } from '../../lib/trees/index.js';

const dir = join(__dirname, '../fixtures/trees');
const ref = JSON.parse(readFileSync(join(dir, 'rpart_kyphosis.json'), 'utf8'));

function kyphosis() {
  const lines = readFileSync(join(dir, 'kyphosis.csv'), 'utf8').trim().split('\n').slice(1);
  const rows = lines.map((l) => l.split(','));
  return {
    Kyphosis: rows.map((r) => r[0]!.replace(/"/g, '')),
    Age: rows.map((r) => Number(r[1])),
    Number: rows.map((r) => Number(r[2])),
    Start: rows.map((r) => Number(r[3])),
  };
}

// rpart parity: exact binning (maxNumBins >= distinct values) makes the candidate splits
// identical to rpart's, so splits, frame and cp table (incl. cross-validated xerror with
// R's own fold assignment) must match R to rounding: tolerance 1e-6.
describe('rxDTree vs rpart on kyphosis', () => {
  for (const [key, split, cp] of [
    ['gini', 'gini', 0],
    ['information', 'information', 0],
    ['gini_cp01', 'gini', 0.01],
    ['gini_cost', 'gini', 0],
  ] as const) {
    it(`${key}: same tree, frame and cp table`, async () => {
      const r = ref[key];
      const m = await rxDTree('Kyphosis ~ Age + Number + Start', kyphosis(), { cp, minSplit: 20, minBucket: 7, maxDepth: 30, xVal: ref.xgroups, parms: { split }, maxNumBins: 200, ...(key === 'gini_cost' ? { cost: [1, 1, 3] } : {}) });
      expect(dtreeToString(m)).toBe(r.print);
      const fr = dtreeFrame(m);
      expect(fr.map((x) => x.node)).toEqual(r.node);
      fr.forEach((row, i) => {
        expect(row.n).toBe(r.n[i]);
        expect(row.dev).toBeCloseTo(r.dev[i], 6);
        expect(row.complexity).toBeCloseTo(r.complexity[i], 6);
      });
      const cpt = m.extra.cptable as { CP: number; nsplit: number; relError: number; xerror: number; xstd: number }[];
      expect(cpt.length).toBe(r.cp.length);
      cpt.forEach((row, i) => {
        expect(row.CP).toBeCloseTo(r.cp[i], 6);
        expect(row.nsplit).toBe(r.nsplit[i]);
        expect(row.relError).toBeCloseTo(r.relError[i], 6);
        expect(row.xerror).toBeCloseTo(r.xerror[i], 6);
        expect(row.xstd).toBeCloseTo(r.xstd[i], 6);
      });
    });
  }

  it('anova: same tree and cp table', async () => {
    const r = ref.anova;
    const m = await rxDTree('Start ~ Age + Number', kyphosis(), { cp: 0, minSplit: 20, minBucket: 7, maxDepth: 30, xVal: ref.xgroups, maxNumBins: 200 });
    expect(dtreeToString(m)).toBe(r.print);
    const fr = dtreeFrame(m);
    expect(fr.map((x) => x.node)).toEqual(r.node);
    expect(fr.map((x) => x.var)).toEqual(r.var);
    fr.forEach((row, i) => {
      expect(row.dev).toBeCloseTo(r.dev[i], 6);
      expect(row.yval as number).toBeCloseTo(r.yval[i], 6);
    });
    const cpt = m.extra.cptable as { CP: number; xerror: number; xstd: number }[];
    cpt.forEach((row, i) => {
      expect(row.CP).toBeCloseTo(r.cp[i], 6);
      expect(row.xerror).toBeCloseTo(r.xerror[i], 6);
      expect(row.xstd).toBeCloseTo(r.xstd[i], 6);
    });
  });

  it('prunes, predicts, serialises and plots', async () => {
    const d = kyphosis();
    const m = await rxDTree('Kyphosis ~ Age + Number + Start', d, { cp: 0, xVal: ref.xgroups, maxNumBins: 200 });
    const p = rxPrune(m, 0.05);
    expect(dtreeFrame(p).length).toBe(3);
    const pr = await rxPredictTrees(p, d, { type: 'class' });
    const cls = pr.Kyphosis_Pred as string[];
    // one split (Start) left: misclassified = rel error 14/17 of the root risk 17
    expect(cls.filter((c, i) => c !== d.Kyphosis[i]).length).toBe(14);
    const probs = await rxPredictTrees(m, d, { type: 'prob' });
    expect((probs.absent_prob as Float64Array)[0]! + (probs.present_prob as Float64Array)[0]!).toBeCloseTo(1, 12);
    const back = RxTreeModel.fromJSON(JSON.parse(JSON.stringify(m)));
    expect(dtreeToString(back)).toBe(dtreeToString(m));
    expect(rxVarImpPlot(m)).toMatch(/^<svg[\s\S]*Start[\s\S]*<\/svg>$/);
  });

  it('rejects bad input', async () => {
    const d = kyphosis();
    await expect(rxDTree('Kyphosis ~ Age', { Kyphosis: d.Kyphosis.map(() => 'a'), Age: d.Age })).rejects.toMatchObject({ code: 'RX_ARG' });
    await expect(rxDTree('Kyphosis ~ Nope', d)).rejects.toBeInstanceOf(RxError);
    await expect(rxDTree('Start ~ Age', { Start: d.Start.map((v, i) => (i === 3 ? Infinity : v)), Age: d.Age })).rejects.toMatchObject({ code: 'RX_ARG', row: 4 });
  });
});
