/**
 * rxCube / rxCrossTabs / chi-square / Fisher parity with R 4 (fixtures/summary/r_reference.json):
 * counts and sums exact, statistics and p-values to 1e-10 relative (our incomplete gamma and
 * log-gamma are accurate to ~1e-14; R's pchisq to ~1e-15).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RxMemoryData } from '../../lib/data/memory.js';
import { RxCrossTabsResult, type RxCubeResult, chiSquaredTest, fisherTest, rxChiSquaredTest, rxCrossTabs, rxCube, rxFisherTest } from '../../lib/summary/crosstabs.js';
import { crosstab2 } from '../../lib/native/summary.js';
import { isRxError } from '../../lib/errors.js';
import { pnorm } from '../../lib/summary/dist.js';
import { FIX, csvData, readCsvColumns } from './helpers.js';

const R = JSON.parse(readFileSync(join(FIX, 'r_reference.json'), 'utf8'));
const UCB_LEVELS = { Gender: ['Male', 'Female'], Admit: ['Admitted', 'Rejected'], Dept: ['A', 'B', 'C', 'D', 'E', 'F'] };

function rel(a: number, b: number, tol = 1e-10) {
  expect(Math.abs(a - b)).toBeLessThanOrEqual(tol * Math.abs(b) + 1e-300);
}

describe('rxCube', () => {
  it('Freq ~ Gender:Admit means and counts (RevoScaleR docs example)', async () => {
    const z = (await rxCube('Freq ~ Gender:Admit', csvData('UCBAdmissions_df.csv', { levels: UCB_LEVELS, rowsPerRead: 5 }), { dataName: 'UCBADF' })) as RxCubeResult;
    expect(z.columns.Gender).toEqual(['Male', 'Female', 'Male', 'Female']);
    expect(z.columns.Admit).toEqual(['Admitted', 'Admitted', 'Rejected', 'Rejected']);
    expect(z.columns.Counts).toEqual([6, 6, 6, 6]);
    const ref = R.ucb.freqMeansGenderAdmit; // rows Gender, cols Admit
    [ref[0][0], ref[1][0], ref[0][1], ref[1][1]].forEach((v: number, i: number) => {
      rel(z.columns.Freq![i] as number, v);
    });
    const s = z.toString();
    expect(s).toContain('Cube Results for: Freq ~ Gender:Admit');
    expect(s).toContain('Statistic: Freq means');
    expect(s).toMatch(/1 +Male +Admitted +199\.66667 +6/);
    expect(s).toMatch(/2 +Female +Admitted +92\.83333 +6/);
  });

  it('~ Kyphosis:F(Number) keeps empty cells of the integer range; removeZeroCounts and returnDataFrame', async () => {
    const d = csvData('kyphosis.csv');
    const z = (await rxCube('~ Kyphosis:F(Number)', d)) as RxCubeResult;
    expect(z.columns.F_Number).toEqual(['2', '2', '3', '3', '4', '4', '5', '5', '6', '6', '7', '7', '8', '8', '9', '9', '10', '10']);
    const tab = R.kyphosis.numberTable; // rows absent/present, cols 2..10
    const expected = tab[0].flatMap((_: number, j: number) => [tab[0][j], tab[1][j]]);
    expect(z.columns.Counts).toEqual(expected);
    const df = (await rxCube('~ Kyphosis:F(Number)', d, { removeZeroCounts: true, returnDataFrame: true })) as Record<string, unknown[]>;
    expect(df.Counts).toEqual(expected.filter((x: number) => x > 0));
    expect(df.F_Number).not.toContain('8');
  });

  it('sums instead of means, fweights', async () => {
    const d = new RxMemoryData({ y: [1, 2, 3, 4], g: ['a', 'a', 'b', 'b'], w: [1, 3, 1, 1] });
    const s = (await rxCube('y ~ g', d, { means: false })) as RxCubeResult;
    expect(s.columns.y).toEqual([3, 7]);
    const w = (await rxCube('y ~ g', d, { fweights: 'w' })) as RxCubeResult;
    expect(w.columns.y).toEqual([1.75, 3.5]);
    expect(w.columns.Counts).toEqual([4, 2]);
  });
});

describe('rxCrossTabs and tests', () => {
  it('Freq ~ Gender:Admit:Dept sums per department slice with chi-square like chisq.test', async () => {
    const d = csvData('UCBAdmissions_df.csv', { levels: UCB_LEVELS, rowsPerRead: 7 });
    const z3 = await rxCrossTabs('Freq ~ Gender:Admit:Dept', d, { dataName: 'UCBADF' });
    expect(z3.tables).toHaveLength(6);
    const a = z3.tables[0]!;
    expect(a.slice).toEqual({ Dept: 'A' });
    expect(a.values).toEqual([
      [512, 313],
      [89, 19],
    ]);
    expect(a.rowTotals).toEqual([825, 108]);
    expect(a.grandTotal).toBe(933);
    z3.tables.forEach((t, i) => {
      const ref = R.ucb.byDept[UCB_LEVELS.Dept[i]!];
      expect(t.values).toEqual(ref.table);
      rel(t.chiSquare!.statistic, ref.statistic);
      rel(t.chiSquare!.pValue, ref.p);
      rel(t.chiSquare!.cramersV, ref.cramersV);
      expect(t.chiSquare!.df).toBe(1);
    });
    const s = z3.toString();
    expect(s).toContain('Freq, Dept = A (sums):');
    expect(s).toMatch(/ {2}Male +512 +313/);
    expect(s).toContain(':'.repeat(78));
    const sm = z3.summary();
    expect(sm).toMatch(/Row%\s+62\.060606\s+37\.939394/);
    expect(sm).toContain('Grand Total');
    expect(sm).toContain('Chi-squared test of independence between Gender and Admit');
  });

  it('collapsed Gender x Admit: statistic, p-value, Yates, Cramer V; counts without a dependent', async () => {
    const d = csvData('UCBAdmissions_df.csv', { levels: UCB_LEVELS });
    const x = await rxCrossTabs('Freq ~ Gender:Admit', d);
    const [c] = rxChiSquaredTest(x);
    rel(c!.statistic, R.ucb.genderAdmit.statistic);
    rel(c!.pValue, R.ucb.genderAdmit.p);
    rel(c!.cramersV, R.ucb.genderAdmit.cramersV);
    c!.expected.flat().forEach((e, i) => {
      rel(e, R.ucb.genderAdmit.expected.flat()[i]);
    });
    const [y] = rxChiSquaredTest(x, { correct: true });
    rel(y!.statistic, R.ucb.genderAdmitYates.statistic);
    rel(y!.pValue, R.ucb.genderAdmitYates.p);
    const counts = await rxCrossTabs('~ Gender:Admit', d);
    expect(counts.tables[0]!.values).toEqual([
      [6, 6],
      [6, 6],
    ]);
    expect(counts.statistic).toBe('counts');
  });

  it('r x c table (kyphosis Age groups) and iris Species x (Sepal.Width > 3)', () => {
    for (const ref of [R.kyphosis.ageCut, R.iris.speciesBySepalWidthGt3]) {
      const c = chiSquaredTest(ref.table);
      rel(c.statistic, ref.statistic);
      expect(c.df).toBe(ref.df);
      rel(c.pValue, ref.p);
      rel(c.cramersV, ref.cramersV);
    }
  });

  it('Fisher exact test and conditional MLE odds ratio match fisher.test', async () => {
    const ref = R.kyphosis.fisher;
    const f = fisherTest(ref.table);
    rel(f.pValue, ref.p);
    // R solves E[X; or] = x with uniroot(tol = eps^0.25 ~ 1.2e-4) on or itself, so its estimate is only
    // good to ~1e-4; we bisect on log(or) to full precision. Compare at 1e-3 relative.
    rel(f.oddsRatio, ref.oddsRatio, 1e-3);
    rel(fisherTest(ref.table, { alternative: 'greater' }).pValue, ref.pGreater);
    // through rxCrossTabs on the raw rows
    const cols = readCsvColumns('kyphosis.csv');
    const big = (cols.Number as number[]).map((v) => (v > 4 ? 'TRUE' : 'FALSE'));
    const d = new RxMemoryData({ Kyphosis: cols.Kyphosis as string[], big });
    const x = await rxCrossTabs('~ Kyphosis:big', d);
    expect(x.tables[0]!.values).toEqual(ref.table);
    rel(rxFisherTest(x)[0]!.pValue, ref.p);
    expect(() => fisherTest([[1, 2, 3], [4, 5, 6]])).toThrow(/2x2/);
  });

  it('means tables, zero-margin rows dropped from the test, bad formulas', async () => {
    const d = new RxMemoryData({ y: [1, 2, 3, 5], a: ['p', 'p', 'q', 'q'], b: ['u', 'v', 'u', 'v'] });
    const m = await rxCrossTabs('y ~ a:b', d, { means: true });
    expect(m.tables[0]!.values).toEqual([
      [1, 2],
      [3, 5],
    ]);
    expect(m.tables[0]!.chiSquare).toBeUndefined();
    const c = chiSquaredTest(
      [
        [10, 0, 5],
        [0, 0, 0],
        [3, 0, 9],
      ],
      { dropZeroMargins: true },
    );
    expect(c.df).toBe(1);
    expect(m).toBeInstanceOf(RxCrossTabsResult);
    await expect(rxCrossTabs('y ~ a:y', d)).rejects.toMatchObject({ code: 'RX_FORMULA', text: 'y' });
    await expect(rxCrossTabs('a ~ b', d)).rejects.toMatchObject({ code: 'RX_FORMULA', column: 'a' });
    await expect(rxCube('~ a + b', d)).rejects.toMatchObject({ code: 'RX_FORMULA' });
    const empty = await rxCrossTabs('~ a:b', new RxMemoryData({ a: { type: 'factor', data: new Int32Array(0), levels: ['x', 'y'] }, b: { type: 'factor', data: new Int32Array(0), levels: ['u', 'v'] } }));
    expect(empty.tables[0]!.values).toEqual([
      [0, 0],
      [0, 0],
    ]);
    expect(empty.tables[0]!.chiSquare!.statistic).toBeNaN();
  });

  it('zero row / column totals give NaN as R chisq.test; rxCrossTabs own test drops them', async () => {
    const Z = JSON.parse(readFileSync(join(FIX, 'chisq_zero_margin.json'), 'utf8'));
    const [z] = rxChiSquaredTest(Z.zeroRow.table);
    expect(z!.statistic).toBeNaN();
    expect(z!.pValue).toBeNaN();
    expect(z!.cramersV).toBeNaN();
    expect(z!.df).toBe(Z.zeroRow.df);
    z!.expected.forEach((r, i) => {
      r.forEach((e, j) => {
        rel(e, Z.zeroRow.expected[i][j]);
      });
    });
    const [y] = rxChiSquaredTest(Z.zeroRow2x2Yates.table, { correct: true });
    expect([y!.statistic, y!.df, y!.pValue]).toEqual([Number.NaN, Z.zeroRow2x2Yates.df, Number.NaN]);
    expect(() => rxChiSquaredTest([[0, 0], [0, 0]])).toThrow(/at least one count/);
    // an empty level in the data: the crosstab's own test leaves it out, rxChiSquaredTest follows R
    const d = new RxMemoryData({
      a: { type: 'factor', data: Int32Array.from([0, 0, 0, 1, 1, 1, 0, 1]), levels: ['p', 'q', 'r'] },
      b: { type: 'factor', data: Int32Array.from([0, 1, 0, 1, 1, 0, 0, 1]), levels: ['u', 'v'] },
    });
    const x = await rxCrossTabs('~ a:b', d);
    expect(x.tables[0]!.values).toEqual([
      [3, 1],
      [1, 3],
      [0, 0],
    ]);
    const own = x.tables[0]!.chiSquare!;
    expect(own.df).toBe(1);
    rel(own.statistic, chiSquaredTest([[3, 1], [1, 3]]).statistic);
    expect(rxChiSquaredTest(x)[0]!.statistic).toBeNaN();
    expect(rxChiSquaredTest(x, { dropZeroMargins: true })[0]!.statistic).toBe(own.statistic);
  });

  it('normal tail helper agrees with known values', () => {
    rel(pnorm(-1.959963984540054), 0.025, 1e-12);
    rel(pnorm(-8), 6.22096057427178e-16, 1e-10);
  });

  it('large chunks count two-way tables in the native kernel: the same table as a row-by-row count', async () => {
    const n = 300_001;
    const a = new Int32Array(n);
    const b = new Int32Array(n);
    const want = new Float64Array(7 * 5);
    let missing = 0;
    for (let i = 0; i < n; i++) {
      a[i] = i % 97 === 0 ? -1 : (i * 31) % 7;
      b[i] = i % 89 === 0 ? -1 : (i * 17) % 5;
      if (a[i]! < 0 || b[i]! < 0) missing++;
      else want[a[i]! + 7 * b[i]!]! += 1;
    }
    const got = new Float64Array(35).fill(1);
    expect(crosstab2(a, b, 7, 5, got)).toBe(missing);
    expect(Array.from(got)).toEqual(Array.from(want, (v) => v + 1)); // added to what was there
    const lv = (k: number) => Array.from({ length: k }, (_, j) => `L${j}`);
    const r = await rxCrossTabs('~ A:B', new RxMemoryData({ A: { type: 'factor', data: a.map((v) => Math.max(v, 0)), levels: lv(7), valid: Uint8Array.from(a, (v) => (v < 0 ? 0 : 1)) }, B: { type: 'factor', data: b.map((v) => Math.max(v, 0)), levels: lv(5), valid: Uint8Array.from(b, (v) => (v < 0 ? 0 : 1)) } }, { rowsPerRead: 100_000 }));
    const t = r.tables[0]!.values;
    for (let i = 0; i < 7; i++) for (let j = 0; j < 5; j++) expect(t[i]![j]).toBe(want[i + 7 * j]);
    let err: unknown;
    try {
      crosstab2(Int32Array.of(0, 7), Int32Array.of(0, 0), 7, 5, new Float64Array(35));
    } catch (e) {
      err = e;
    }
    expect(isRxError(err, 'RX_ARG')).toBe(true);
  });
});
