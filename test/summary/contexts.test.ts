/**
 * Every summary accumulator gives the same answer in RxLocalSeq and RxLocalParallel
 * (workers rebuild the accumulators from dist/lib/index.js), over different chunkings;
 * rowSelection / transforms go through lib/expr.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RxLocalSeq } from '../../lib/compute/context.js';
import { RxLocalParallel } from '../../lib/compute/parallel.js';
import { rxCrossTabs, rxCube, type RxCubeResult } from '../../lib/summary/crosstabs.js';
import { rxCovCor } from '../../lib/summary/covcor.js';
import { rxQuantile } from '../../lib/summary/quantile.js';
import { rxSummary } from '../../lib/summary/summary.js';
import { rxKendallCor } from '../../lib/summary/kendall.js';
import { rxHistogram } from '../../lib/plot/histogram.js';
import { rxLinePlot } from '../../lib/plot/lineplot.js';
import { rxRoc } from '../../lib/plot/roc.js';
import { csvData } from './helpers.js';
import { ensureDist } from './ensure-dist.js';

const seq = new RxLocalSeq();
let par: RxLocalParallel;

beforeAll(() => {
  ensureDist();
  par = new RxLocalParallel({ numWorkers: 2 });
}, 180_000);

afterAll(async () => {
  await par?.close();
});

function close(a: number, b: number, rel = 1e-12) {
  if (Number.isNaN(b)) expect(a).toBeNaN();
  else expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(b)));
}

describe('summaries in RxLocalSeq and RxLocalParallel', () => {
  it('rxSummary, rxCube, rxCrossTabs, rxQuantile, rxCovCor agree', async () => {
    const o = { reportProgress: 0 as const };
    const d = (rowsPerRead: number) => csvData('AirlineDemo1kNoMissing.csv', { rowsPerRead });
    const s1 = await rxSummary('~ ArrDelay:DayOfWeek + CRSDepTime + F(CRSDepTime)', d(1010), { ...o, computeContext: seq });
    const s2 = await rxSummary('~ ArrDelay:DayOfWeek + CRSDepTime + F(CRSDepTime)', d(37), { ...o, computeContext: par });
    s1.sDataFrame.forEach((r, i) => {
      const q = s2.sDataFrame[i]!;
      close(q.Mean, r.Mean);
      close(q.StdDev, r.StdDev);
      expect([q.Min, q.Max, q.ValidObs]).toEqual([r.Min, r.Max, r.ValidObs]);
    });
    s1.byCategory[0]!.rows.forEach((r, i) => {
      close(s2.byCategory[0]!.rows[i]!.Means, r.Means);
    });
    expect(s2.categorical).toEqual(s1.categorical);

    const c1 = (await rxCube('ArrDelay ~ DayOfWeek:F(CRSDepTime)', d(1010), { ...o, computeContext: seq })) as RxCubeResult;
    const c2 = (await rxCube('ArrDelay ~ DayOfWeek:F(CRSDepTime)', d(50), { ...o, computeContext: par })) as RxCubeResult;
    expect(c2.columns.Counts).toEqual(c1.columns.Counts);
    (c1.columns.ArrDelay as number[]).forEach((v, i) => {
      close(c2.columns.ArrDelay![i] as number, v);
    });
    const x1 = await rxCrossTabs('~ DayOfWeek:F(CRSDepTime)', d(1010), { ...o, computeContext: seq });
    const x2 = await rxCrossTabs('~ DayOfWeek:F(CRSDepTime)', d(64), { ...o, computeContext: par });
    expect(x2.tables[0]!.values).toEqual(x1.tables[0]!.values);
    close(x2.tables[0]!.chiSquare!.statistic, x1.tables[0]!.chiSquare!.statistic);

    const q1 = await rxQuantile('ArrDelay', d(1010), { ...o, computeContext: seq, probs: [0.1, 0.5, 0.9] });
    const q2 = await rxQuantile('ArrDelay', d(33), { ...o, computeContext: par, probs: [0.1, 0.5, 0.9], maxInMemory: 20, bins: 4 });
    expect(q2.values).toEqual(q1.values);

    const v1 = await rxCovCor('~ ArrDelay + CRSDepTime', d(1010), { ...o, computeContext: seq, type: 'Cov' });
    const v2 = await rxCovCor('~ ArrDelay + CRSDepTime', d(29), { ...o, computeContext: par, type: 'Cov' });
    v1.CovCor.flat().forEach((v, i) => {
      close(v2.CovCor.flat()[i]!, v);
    });
  });

  it('rxHistogram, rxRoc, rxKendallCor, rxLinePlot agree', async () => {
    const o = { reportProgress: 0 as const };
    const k = (rowsPerRead: number) => csvData('kyphosis.csv', { rowsPerRead });
    const h1 = await rxHistogram('~ Age | Kyphosis', k(100), { ...o, computeContext: seq });
    const h2 = await rxHistogram('~ Age | Kyphosis', k(9), { ...o, computeContext: par });
    expect(h2.bars).toEqual(h1.bars);
    const r1 = await rxRoc('Kyphosis', ['Age', 'Start'], k(100), { ...o, computeContext: seq });
    const r2 = await rxRoc('Kyphosis', ['Age', 'Start'], k(7), { ...o, computeContext: par });
    expect(r2.auc).toEqual(r1.auc);
    expect(r2.points).toEqual(r1.points);
    const t1 = await rxKendallCor('~ Age + Start + Number', k(100), { ...o, computeContext: seq });
    const t2 = await rxKendallCor('~ Age + Start + Number', k(11), { ...o, computeContext: par });
    expect(t2.tau).toEqual(t1.tau);
    const l2 = await rxLinePlot('Start ~ Age | Kyphosis', k(13), { ...o, computeContext: par, type: 'p' });
    expect(l2.points).toBe(81);
    expect(l2.panels).toEqual(['Kyphosis = absent', 'Kyphosis = present']);
  });

  it('rowSelection and transforms', async () => {
    const all = await rxSummary('~ Sepal.Length', csvData('iris.csv'));
    const sel = await rxSummary('~ Sepal.Length + ratio', csvData('iris.csv', { rowsPerRead: 40 }), {
      rowSelection: 'Sepal.Width > 3',
      transforms: { ratio: 'Petal.Length / Petal.Width' },
      computeContext: par,
      reportProgress: 0,
    });
    expect(sel.nobsValid).toBeLessThan(all.nobsValid);
    expect(sel.sDataFrame[0]!.ValidObs).toBe(67); // sum(iris$Sepal.Width > 3) in R
    expect(sel.sDataFrame[1]!.Name).toBe('ratio');
    expect(sel.sDataFrame[1]!.Min).toBeGreaterThan(0);
  });
});
