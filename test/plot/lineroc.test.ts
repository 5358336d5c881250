/**
 * rxLinePlot marks, rxRoc / rxAuc: AUC parity with R (Mann-Whitney form of the Wilcoxon
 * statistic computed in make_fixtures.R, 1e-12: both are exact rational counts), the
 * bounded-memory AUC within its reported error bound, and valid SVG plots.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RxMemoryData } from '../../lib/data/memory.js';
import { rxLinePlot } from '../../lib/plot/lineplot.js';
import { rxAuc, rxRoc } from '../../lib/plot/roc.js';
import { FIX, csvData } from '../summary/helpers.js';
import { checkWellFormedXml, countMarks } from './svg.js';

const R = JSON.parse(readFileSync(join(FIX, 'r_reference.json'), 'utf8'));

describe('rxLinePlot', () => {
  it('draws one line per series and one symbol per point', async () => {
    const d = new RxMemoryData({ t: [3, 1, 2, 4], a: [1, 2, 3, 4], b: [4, 3, 2, null] }, { rowsPerRead: 3 });
    const l = await rxLinePlot('a + b ~ t', d, { type: 'b' });
    checkWellFormedXml(l.svg);
    expect(countMarks(l.svg, 'line')).toBe(2);
    expect(countMarks(l.svg, 'symbol')).toBe(7);
    expect(l.points).toBe(7);
    expect(l.svg).toContain('a, b by t');
    const p = await rxLinePlot('Sepal.Length ~ Sepal.Width | Species', csvData('iris.csv', { rowsPerRead: 40 }), { type: 'p' });
    expect(p.panels).toEqual(['Species = setosa', 'Species = versicolor', 'Species = virginica']);
    expect(countMarks(p.svg, 'symbol')).toBe(150);
    await expect(rxLinePlot('Species ~ Sepal.Width', csvData('iris.csv'))).rejects.toMatchObject({ code: 'RX_FORMULA', column: 'Species' });
    await expect(rxLinePlot('a ~ t', d, { maxPoints: 2 })).rejects.toMatchObject({ code: 'RX_ARG' });
  });
});

describe('rxRoc / rxAuc', () => {
  it('AUC equals the Wilcoxon AUC from R; ROC points and plot', async () => {
    const d = csvData('kyphosis.csv', { rowsPerRead: 20 });
    const roc = await rxRoc('Kyphosis', ['Start', 'Number'], d, { numBreaks: 20 });
    const auc = rxAuc(roc);
    expect(Math.abs(auc.Start! - R.kyphosis.aucStart)).toBeLessThan(1e-12);
    expect(Math.abs(auc.Number! - R.kyphosis.aucNumber)).toBeLessThan(1e-12);
    expect(roc.positives).toBe(17);
    expect(roc.negatives).toBe(64);
    const pts = roc.points.filter((p) => p.predVarName === 'Number');
    expect(pts).toHaveLength(21);
    expect(pts[0]!.sensitivity).toBe(1); // threshold = min score: everything predicted positive
    for (let i = 1; i < pts.length; i++) expect(pts[i]!.sensitivity).toBeLessThanOrEqual(pts[i - 1]!.sensitivity);
    const plot = await roc.plot();
    checkWellFormedXml(plot.svg);
    expect(countMarks(plot.svg, 'line')).toBe(3); // diagonal + two curves
    expect(plot.svg).toContain('AUC = ');
    expect(plot.svg).toContain('Sensitivity (true positive rate)');
  });

  it('bounded memory: histogram AUC within the reported bound of the exact AUC', async () => {
    let s = 12345;
    const r = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
    const n = 20_000;
    const y = new Float64Array(n);
    const score = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = r() < 0.3 ? 1 : 0;
      score[i] = Math.min(1, Math.max(0, 0.35 * y[i]! + 0.65 * r()));
    }
    const d = new RxMemoryData({ y, score }, { rowsPerRead: 3000 });
    const exact = await rxRoc('y', 'score', d);
    expect(exact.aucErrorBound[0]).toBe(0);
    const approx = await rxRoc('y', 'score', d, { maxInMemory: 1000, bins: 512 });
    expect(approx.aucErrorBound[0]).toBeGreaterThan(0);
    expect(approx.aucErrorBound[0]).toBeLessThan(0.01);
    expect(Math.abs(approx.auc[0]! - exact.auc[0]!)).toBeLessThanOrEqual(approx.aucErrorBound[0]!);
  });

  it('bad input', async () => {
    const d = csvData('iris.csv');
    await expect(rxRoc('Species', 'Sepal.Length', d)).rejects.toMatchObject({ code: 'RX_FORMULA', column: 'Species' });
    await expect(rxRoc('Sepal.Width', 'nope', d)).rejects.toMatchObject({ code: 'RX_FORMULA', column: 'nope' });
    await expect(rxRoc('y', 's', new RxMemoryData({ y: [1, 1], s: [0.2, 0.4] }))).rejects.toMatchObject({ code: 'RX_ARG' });
  });
});
