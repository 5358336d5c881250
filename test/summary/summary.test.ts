/**
 * rxSummary parity with R 4 (fixtures/summary/r_reference.json, made by make_fixtures.R).
 * Tolerance 1e-10 relative for moments (R uses two-pass sums; we use shifted two-pass
 * blocks merged by Chan's formula, both accurate to ~1e-15 here), exact for counts.
 */
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { summaryAccumulator, rxSummary } from '../../lib/summary/summary.js';
import { RxMemoryData } from '../../lib/data/memory.js';
import { RxXdfData } from '../../lib/data/xdf.js';
import { RxError } from '../../lib/errors.js';
import { parseFormula, termLabels } from '../../lib/formula/index.js';
import { FIX, csvData } from './helpers.js';

const R = JSON.parse(readFileSync(join(FIX, 'r_reference.json'), 'utf8'));
const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

function close(a: number, b: number, rel = 1e-10) {
  expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(b)));
}

describe('rxSummary parity with R', () => {
  it('iris ~ . : mean, sd, min, max, counts', async () => {
    for (const rowsPerRead of [13, 1000]) {
      const r = await rxSummary('~ .', csvData('iris.csv', { rowsPerRead }));
      expect(r.sDataFrame.map((x) => x.Name)).toEqual(['Sepal.Length', 'Sepal.Width', 'Petal.Length', 'Petal.Width']);
      for (const row of r.sDataFrame) {
        const ref = R.iris.numeric[row.Name];
        close(row.Mean, ref.mean);
        close(row.StdDev, ref.sd);
        expect(row.Min).toBe(ref.min);
        expect(row.Max).toBe(ref.max);
        expect(row.ValidObs).toBe(ref.n);
        expect(row.MissingObs).toBe(0);
      }
      expect(r.categorical[0]!.counts).toEqual(R.iris.species);
      expect(r.categorical[0]!.levels[0]).toEqual(['setosa', 'versicolor', 'virginica']);
      expect(r.nobsValid).toBe(150);
    }
  });

  it('y ~ F and ~ y:F give by-category statistics like tapply', async () => {
    const a = await rxSummary('Sepal.Length ~ Species', csvData('iris.csv', { rowsPerRead: 11 }));
    const b = await rxSummary('~ Sepal.Length:Species', csvData('iris.csv'));
    for (const r of [a, b]) {
      const t = r.byCategory[0]!;
      const ref = R.iris.sepalBySpecies;
      expect(t.rows.map((x) => x.levels[0])).toEqual(ref.levels);
      t.rows.forEach((row, i) => {
        close(row.Means, ref.mean[i]);
        close(row.StdDev, ref.sd[i]);
        expect(row.Min).toBe(ref.min[i]);
        expect(row.Max).toBe(ref.max[i]);
        expect(row.ValidObs).toBe(ref.n[i]);
      });
      expect(t.rows[0]!.Category).toBe('Sepal.Length for Species=setosa');
    }
  });

  it('airline: ArrDelay:DayOfWeek with schema levels, removeZeroCounts, F(x)', async () => {
    const data = csvData('AirlineDemo1kNoMissing.csv', { rowsPerRead: 97, levels: { DayOfWeek: DAYS } });
    const r = await rxSummary('~ ArrDelay:DayOfWeek + DayOfWeek + F(CRSDepTime)', data, { removeZeroCounts: true });
    close(r.sDataFrame[0]!.Mean, R.airline.arrDelay.mean);
    close(r.sDataFrame[0]!.StdDev, R.airline.arrDelay.sd);
    const by = r.byCategory[0]!;
    expect(by.rows.map((x) => x.levels[0])).toEqual(R.airline.delayByDay.levels);
    by.rows.forEach((row, i) => {
      close(row.Means, R.airline.delayByDay.mean[i]);
    });
    expect(r.categorical[0]!.counts).toEqual(R.airline.dayOfWeek.filter((x: number) => x > 0));
    const full = await rxSummary('~ DayOfWeek', data);
    expect(full.categorical[0]!.counts).toEqual(R.airline.dayOfWeek);
    const f = r.categorical[1]!;
    expect(f.factors).toEqual(['F_CRSDepTime']);
    expect(f.counts.reduce((s, x) => s + x, 0)).toBe(1010);
  });

  it('prints like RevoScaleR', async () => {
    const r = await rxSummary('~ Sepal.Length + Species', csvData('iris.csv'), { dataName: 'iris' });
    const s = r.toString();
    expect(s).toContain('Summary Statistics Results for: ~ Sepal.Length + Species');
    expect(s).toContain('Number of valid observations: 150');
    expect(s).toMatch(/Name +Mean +StdDev +Min +Max +ValidObs +MissingObs/);
    expect(s).toMatch(/Sepal\.Length 5\.843333 0\.8280661 4\.3 7\.9 150 +0/);
    expect(s).toContain('Category Counts for Species');
    expect(s).toMatch(/setosa +50/);
  });
});

describe('rxSummary options', () => {
  it('function terms like log(x) are computed by the expression language (RevoScaleR ~ log(incwage))', async () => {
    const r = await rxSummary('~ log(Sepal.Length) + I(Petal.Width * 10):Species', csvData('iris.csv', { rowsPerRead: 50 }));
    expect(r.sDataFrame.map((x) => x.Name)).toEqual(['log(Sepal.Length)', 'I(Petal.Width * 10):Species']);
    const logs = (csvData('iris.csv').columns['Sepal.Length']!.data as Float64Array).map(Math.log);
    const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
    close(r.sDataFrame[0]!.Mean, mean, 1e-13);
    close(r.sDataFrame[1]!.Mean, 10 * R.iris.numeric['Petal.Width'].mean, 1e-13);
  });

  it('formulas go through the shared R formula engine: a*b, (a+b)^2, - x, cbind, `.`, F(x, low, high)', async () => {
    // term structure as R's terms(f, keep.order = TRUE)
    expect(termLabels(parseFormula('~ a:b + c + a', { keepOrder: true }))).toEqual(['a:b', 'c', 'a']);
    expect(termLabels(parseFormula('~ a:b + c + a'))).toEqual(['c', 'a', 'a:b']);
    const d = csvData('iris.csv', { rowsPerRead: 40 });
    const star = await rxSummary('~ Sepal.Length*Species', d);
    expect(star.sDataFrame.map((r) => r.Name)).toEqual(['Sepal.Length', 'Sepal.Length:Species']);
    expect(star.categorical.map((c) => c.name)).toEqual(['Species']);
    const pow = await rxSummary('~ (Sepal.Length + Species + Petal.Width)^2 - Sepal.Length:Petal.Width', d);
    expect(pow.sDataFrame.map((r) => r.Name)).toEqual(['Sepal.Length', 'Petal.Width', 'Sepal.Length:Species', 'Species:Petal.Width']);
    const dot = await rxSummary('~ . - Sepal.Width - 1', d);
    expect(dot.sDataFrame.map((r) => r.Name)).toEqual(['Sepal.Length', 'Petal.Length', 'Petal.Width']);
    const cb = await rxSummary('cbind(Sepal.Length, Petal.Width) ~ Species', d);
    expect(cb.byCategory.map((b) => b.name)).toEqual(['Sepal.Length:Species', 'Petal.Width:Species']);
    close(cb.byCategory[0]!.rows[0]!.Means, R.iris.sepalBySpecies.mean[0]);
    const byDot = await rxSummary('Sepal.Length ~ .', d);
    expect(byDot.byCategory.map((b) => b.name)).toEqual(['Sepal.Length:Species']);
    const k = await rxSummary('~ F(Petal.Length, 1, 3) + F(Petal.Length, low = 2)', d, { summaryStats: ['ValidObs'] });
    expect(k.categorical.map((c) => [c.name, c.factors[0]])).toEqual([
      ['F(Petal.Length, low = 1, high = 3)', 'F_Petal.Length_1_3_T'],
      ['F(Petal.Length, low = 2)', 'F_Petal.Length_2__T'],
    ]);
    expect(k.categorical[0]!.levels[0]).toEqual(['1', '2', '3']);
    await expect(rxSummary('~ F(Petal.Length, low = "a")', d)).rejects.toMatchObject({ code: 'RX_FORMULA', text: 'F(Petal.Length, low = "a")' });
    await expect(rxSummary('~ Sepal.Length + "x"', d)).rejects.toMatchObject({ code: 'RX_FORMULA' });
    await expect(rxSummary('~ -1', d)).rejects.toMatchObject({ code: 'RX_FORMULA' });
  });

  it('fweights equal repeating rows; pweights give the same point estimates', async () => {
    const x = [1, 2, 3, 4, 10];
    const w = [1, 2, 3, 1, 2];
    const rep = x.flatMap((v, i) => new Array(w[i]).fill(v));
    const a = await rxSummary('~ x', new RxMemoryData({ x, w }), { fweights: 'w', summaryStats: ['Mean', 'StdDev', 'Sum', 'SumOfWeights'] });
    const b = await rxSummary('~ x', new RxMemoryData({ x: rep }));
    close(a.sDataFrame[0]!.Mean, b.sDataFrame[0]!.Mean, 1e-14);
    close(a.sDataFrame[0]!.StdDev, b.sDataFrame[0]!.StdDev, 1e-14);
    expect(a.sDataFrame[0]!.SumOfWeights).toBe(9);
    close(a.sDataFrame[0]!.Sum!, rep.reduce((s, v) => s + v, 0), 1e-14);
    expect(a.toString()).toContain('Frequency weights: w');
    const p = await rxSummary('~ x', new RxMemoryData({ x, w }), { pweights: 'w' });
    close(p.sDataFrame[0]!.Mean, b.sDataFrame[0]!.Mean, 1e-14);
  });

  it('byTerm false drops rows with any missing term variable', async () => {
    const d = new RxMemoryData({ a: [1, 2, null, 4], b: [10, null, 30, 40] });
    const t = await rxSummary('~ a + b', d);
    expect(t.sDataFrame.map((r) => r.ValidObs)).toEqual([3, 3]);
    expect(t.sDataFrame.map((r) => r.MissingObs)).toEqual([1, 1]);
    const f = await rxSummary('~ a + b', d, { byTerm: false });
    expect(f.sDataFrame.map((r) => r.Mean)).toEqual([2.5, 25]);
  });

  it('factor interactions count cells; string columns become sorted factors', async () => {
    const d = new RxMemoryData({ s: ['b', 'a', 'b', 'c', 'a', 'b'], g: ['x', 'x', 'y', 'y', 'y', null] }, { stringsAsFactors: false, rowsPerRead: 2 });
    const r = await rxSummary('~ s:g', d);
    const c = r.categorical[0]!;
    expect(c.levels).toEqual([
      ['a', 'b', 'c', 'a', 'b', 'c'],
      ['x', 'x', 'x', 'y', 'y', 'y'],
    ]);
    expect(c.counts).toEqual([1, 1, 0, 1, 1, 1]);
    expect(c.missingObs).toBe(1);
  });

  it('byGroupOutFile writes one row per group', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rxsum-'));
    const file = join(dir, 'by.csv');
    const r = await rxSummary('~ Sepal.Length:Species', csvData('iris.csv'), { byGroupOutFile: file, summaryStats: ['Mean', 'StdDev', 'ValidObs'] });
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('Species,Sepal.Length_Mean,Sepal.Length_StdDev,Sepal.Length_ValidObs');
    expect(lines).toHaveLength(4);
    expect(Number(lines[1]!.split(',')[1])).toBeCloseTo(R.iris.sepalBySpecies.mean[0], 12);
    expect(r.toString()).toContain(`By-group statistics for Sepal.Length:Species contained in ${file}`);
  });

  it('byGroupOutFile accepts a plain .xdf path; progress goes to progressStream', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rxsum-'));
    const file = join(dir, 'by.xdf');
    const r = await rxSummary('~ Sepal.Length:Species', csvData('iris.csv'), { byGroupOutFile: file, summaryStats: ['Mean', 'ValidObs'] });
    expect(r.byGroupOutFile).toBe(file);
    const back = new RxXdfData(file);
    const sch = await back.schema();
    expect(sch.columns.map((c) => c.name)).toEqual(['Species', 'Sepal.Length_Mean', 'Sepal.Length_ValidObs']);
    const chunks = [];
    for await (const ch of back.chunks()) chunks.push(ch);
    const mean = chunks[0]!.columns['Sepal.Length_Mean']!.data as Float64Array;
    expect(chunks[0]!.numRows).toBe(3);
    R.iris.sepalBySpecies.mean.forEach((m: number, i: number) => {
      close(mean[i]!, m, 1e-14);
    });
    await expect(rxSummary('~ Sepal.Length:Species', csvData('iris.csv'), { byGroupOutFile: 42 as unknown as string })).rejects.toMatchObject({ code: 'RX_ARG' });
    let out = '';
    const stream = { isTTY: true, columns: 80, write: (t: string) => (out += t) };
    await rxSummary('~ Sepal.Length', csvData('iris.csv', { rowsPerRead: 30 }), { reportProgress: 1, progressStream: stream });
    expect(out).toMatch(/150/);
  });

  it('merge is associative: state merged from parts equals one pass', async () => {
    const data = csvData('iris.csv', { rowsPerRead: 20 });
    const schema = await data.schema();
    const spec = { items: [{ kind: 'numby' as const, label: 'Sepal.Width:Species', x: 'Sepal.Width', factors: [{ name: 'Species', label: 'Species', outName: 'Species' }] }], byTerm: true, pass: 'main' as const, rangeVars: [], ranges: {} };
    const parts = [];
    for await (const ch of data.chunks()) parts.push(await summaryAccumulator.process(spec, summaryAccumulator.init(spec, schema), ch));
    const tree = summaryAccumulator.merge(spec, summaryAccumulator.merge(spec, parts[0]!, parts[1]!), parts.slice(2).reduce((a, b) => summaryAccumulator.merge(spec, a, b)));
    const one = await rxSummary('~ Sepal.Width:Species', csvData('iris.csv'));
    const cells = tree.items[0]!.cells!;
    one.byCategory[0]!.rows.forEach((row, i) => {
      close(cells.k[i]! + cells.mean[i]!, row.Means, 1e-14);
      close(Math.sqrt(cells.m2[i]! / (cells.w[i]! - 1)), row.StdDev, 1e-13);
    });
  });
});

describe('rxSummary bad and degenerate input', () => {
  it('unknown variables and factors where numeric is required name the term', async () => {
    const d = csvData('iris.csv');
    await expect(rxSummary('~ Sepal.Length + nope', d)).rejects.toMatchObject({ code: 'RX_FORMULA', column: 'nope', text: 'nope' });
    await expect(rxSummary('~ F(Species)', d)).rejects.toMatchObject({ code: 'RX_FORMULA', text: 'F(Species)' });
    await expect(rxSummary('~ Sepal.Length:Petal.Length', d)).rejects.toThrow(/at most one numeric/);
    await expect(rxSummary('~ nosuchfn(Sepal.Length)', d)).rejects.toBeInstanceOf(RxError);
    await expect(rxSummary('~ log(nope)', d)).rejects.toBeInstanceOf(RxError);
    await expect(rxSummary('~ x', d, { fweights: 'Species' })).rejects.toMatchObject({ code: 'RX_FORMULA' });
  });

  it('all-missing column, zero rows and a single row give defined output', async () => {
    const allNa = await rxSummary('~ x', new RxMemoryData({ x: [null, null, null] }));
    expect(allNa.sDataFrame[0]).toMatchObject({ ValidObs: 0, MissingObs: 3 });
    expect(allNa.sDataFrame[0]!.Mean).toBeNaN();
    expect(allNa.toString()).toMatch(/x +NA +NA +NA +NA +0 +3/);
    const zero = await rxSummary('~ x + f', new RxMemoryData({ x: new Float64Array(0), f: { type: 'factor', data: new Int32Array(0), levels: ['a', 'b'] } }));
    expect(zero.nobsValid).toBe(0);
    expect(zero.sDataFrame[0]!.ValidObs).toBe(0);
    expect(zero.categorical[0]!.counts).toEqual([0, 0]);
    const one = await rxSummary('~ x', new RxMemoryData({ x: [42] }));
    expect(one.sDataFrame[0]).toMatchObject({ Mean: 42, Min: 42, Max: 42, ValidObs: 1 });
    expect(one.sDataFrame[0]!.StdDev).toBeNaN();
  });
});
