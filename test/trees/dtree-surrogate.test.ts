import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RxTreeModel, dtreeFrame, dtreeImportance, dtreeSummary, dtreeToString, rxDTree, rxPredictTrees, rxPrune } from '../../lib/trees/index.js';
import type { DTreeNodeSplits } from '../../lib/trees/index.js';
import { fixtureDir, readCsv } from './helpers.js';

// rpart parity with competitor and surrogate splits (fixtures from rpart_surrogates.R).
// Binning is exact (maxNumBins >= distinct values), so candidate splits are rpart's: splits,
// improvements, agreements, the printed tree and summary, and predictions for rows with
// missing split variables (useSurrogate 0, 1, 2) must match R; numbers to 1e-6 (relative),
// text exactly.
const ref = JSON.parse(readFileSync(join(fixtureDir, 'rpart_surrogates.json'), 'utf8'));

function data(file: string): Record<string, unknown[]> {
  const raw = readCsv(file);
  const out: Record<string, unknown[]> = {};
  for (const [k, v] of Object.entries(raw)) out[k] = typeof v.find((x) => x !== null) === 'number' ? v.map((x) => (x === null ? Number.NaN : x)) : v;
  return out;
}

const cases = [
  { key: 'kyphosis', file: 'kyphosis.csv', formula: 'Kyphosis ~ Age + Number + Start', opts: { maxCompete: 4, maxSurrogate: 5 } },
  { key: 'na_sur0', file: 'rpart_kyphosis_na.csv', formula: 'Kyphosis ~ Age + Number + Start', opts: { maxCompete: 4, maxSurrogate: 5, useSurrogate: 0 } },
  { key: 'na_sur1', file: 'rpart_kyphosis_na.csv', formula: 'Kyphosis ~ Age + Number + Start', opts: { maxCompete: 4, maxSurrogate: 5, useSurrogate: 1 } },
  { key: 'na_sur2', file: 'rpart_kyphosis_na.csv', formula: 'Kyphosis ~ Age + Number + Start', opts: { maxCompete: 4, maxSurrogate: 5, useSurrogate: 2 } },
  { key: 'na_nosur', file: 'rpart_kyphosis_na.csv', formula: 'Kyphosis ~ Age + Number + Start', opts: {} },
  { key: 'na_anova', file: 'rpart_kyphosis_na.csv', formula: 'Start ~ Age + Number', opts: { maxCompete: 4, maxSurrogate: 5 } },
  {
    key: 'airline',
    file: 'rpart_airline.csv',
    formula: 'IsArrDelayed ~ Month + DayOfWeek + DepTime + CRSDepTime + CRSElapsedTime + Distance + TaxiIn + TaxiOut + UniqueCarrier',
    opts: { maxCompete: 4, maxSurrogate: 5, cp: 0.003, maxDepth: 6 },
  },
  {
    key: 'iris',
    file: '../../../data/r_builtin/iris.csv',
    formula: 'Species ~ .',
    opts: { maxCompete: 4, maxSurrogate: 5, parms: { split: 'information' as const } },
  },
] as const;

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));

describe('rxDTree competitors and surrogates vs rpart', () => {
  for (const c of cases) {
    it(`${c.key}: same splits, summary and predictions`, async () => {
      const r = ref[c.key];
      const d = data(c.file);
      const m = await rxDTree(c.formula, d, { cp: 0, minSplit: 20, minBucket: 7, maxDepth: 30, xVal: 0, maxNumBins: 4000, ...c.opts });
      expect(dtreeToString(m)).toBe(r.print);
      const fr = dtreeFrame(m);
      expect(fr.map((x) => x.node)).toEqual(r.node);
      expect(fr.map((x) => x.n)).toEqual(r.n);
      expect(fr.map((x) => x.ncompete)).toEqual(r.ncompete);
      expect(fr.map((x) => x.nsurrogate)).toEqual(r.nsurrogate);
      // splits matrix in rpart's order (preorder nodes; primary, competitors, surrogates)
      const rows = (m.extra.nodeSplits as DTreeNodeSplits[]).flatMap((ns) => ns.splits);
      const order: number[] = [];
      const t = m.trees;
      const sw = m.extra.swap as number[];
      const walk = (nd: number) => {
        order.push(nd);
        if (t.feature[nd]! < 0) return;
        walk(sw[nd] ? t.right[nd]! : t.left[nd]!);
        walk(sw[nd] ? t.left[nd]! : t.right[nd]!);
      };
      walk(0);
      const inOrder = order.flatMap((nd) => (m.extra.nodeSplits as DTreeNodeSplits[])[nd]!.splits);
      expect(inOrder.length).toBe(rows.length);
      expect(inOrder.map((s) => m.features[s.var]!.name)).toEqual(r.splitVar);
      inOrder.forEach((s, i) => {
        expect(s.count, `count ${i}`).toBe(r.count[i]);
        expect(s.ncat, `ncat ${i}`).toBe(r.ncat[i]);
        expect(close(s.improve, r.improve[i]), `improve ${i}: ${s.improve} vs ${r.improve[i]}`).toBe(true);
        expect(close(s.adj, r.adj[i]), `adj ${i}: ${s.adj} vs ${r.adj[i]}`).toBe(true);
        if (!s.dirs) expect(close(s.index, r.index[i]), `index ${i}: ${s.index} vs ${r.index[i]}`).toBe(true);
      });
      expect(dtreeSummary(m)).toBe(r.summary);
      const imp = dtreeImportance(m);
      for (const [k, v] of Object.entries(r.importance as Record<string, number>)) expect(close(imp[k] ?? 0, v), `importance ${k}`).toBe(true);
      // predictions on the training rows (with their missing values)
      const p = await rxPredictTrees(m, d, { type: m.task === 'class' ? 'prob' : 'vector' });
      const cols = Object.values(p) as Float64Array[];
      const K = cols.length;
      const got: number[] = [];
      for (let i = 0; i < cols[0]!.length; i++) for (let k = 0; k < K; k++) got.push(cols[k]![i]!);
      expect(got.length).toBe(r.pred.length);
      got.forEach((v, i) => {
        expect(close(v, r.pred[i]), `pred ${i}: ${v} vs ${r.pred[i]}`).toBe(true);
      });
    });
  }

  it('surrogates survive serialisation and pruning', async () => {
    const d = data('rpart_kyphosis_na.csv');
    const m = await rxDTree('Kyphosis ~ Age + Number + Start', d, { cp: 0, xVal: 0, maxNumBins: 4000, maxCompete: 4, maxSurrogate: 5, useSurrogate: 1 });
    const back = RxTreeModel.fromJSON(JSON.parse(JSON.stringify(m)));
    expect(dtreeSummary(back)).toBe(dtreeSummary(m));
    const a = await rxPredictTrees(m, d, { type: 'prob' });
    const b = await rxPredictTrees(back, d, { type: 'prob' });
    expect(Array.from(b.present_prob as Float64Array)).toEqual(Array.from(a.present_prob as Float64Array));
    // pruned to the root split: the summary shows one split node with its surrogates
    const k = data('kyphosis.csv');
    const full = await rxDTree('Kyphosis ~ Age + Number + Start', k, { cp: 0, xVal: 0, maxNumBins: 4000, maxCompete: 4, maxSurrogate: 5 });
    const root = rxPrune(full, (full.extra.cptable as { CP: number }[])[1]!.CP);
    expect(dtreeFrame(root).length).toBe(3);
    expect(dtreeSummary(root)).toMatch(/^Node number 1: 81 observations[\s\S]*Surrogate splits:\n {6}Number < 6\.5 {2}to the left, {2}agree=0\.802, adj=0\.158, \(0 split\)[\s\S]*Node number 3:/);
  });

  it('an all-missing predictor and zero-weight rows take no part', async () => {
    const d = data('rpart_kyphosis_na.csv') as Record<string, unknown[]>;
    const n = d.Age!.length;
    const withNa = { ...d, Empty: new Array(n).fill(Number.NaN), w: Array.from({ length: n }, (_, i) => (i % 10 === 3 ? 0 : 1)) };
    const o = { cp: 0, xVal: 0, maxNumBins: 4000, maxCompete: 4, maxSurrogate: 5 } as const;
    const m = await rxDTree('Kyphosis ~ Age + Number + Start + Empty', withNa, { ...o, weights: 'w' });
    const names = (m.extra.nodeSplits as DTreeNodeSplits[]).flatMap((ns) => ns.splits.map((sp) => m.features[sp.var]!.name));
    expect(names).not.toContain('Empty');
    // the same tree as without the zero-weight rows and the empty column
    const keep = Array.from({ length: n }, (_, i) => i).filter((i) => i % 10 !== 3);
    const sub = Object.fromEntries(Object.entries(d).map(([k, v]) => [k, keep.map((i) => v[i])]));
    const ref = await rxDTree('Kyphosis ~ Age + Number + Start', sub, o);
    expect(dtreeSummary(m)).toBe(dtreeSummary(ref));
  });
});

