/**
 * rxCovCor parity with R's cov / cor / crossprod (fixtures, 1e-10 relative: both are
 * centred two-pass computations; entries near 0 compared with an absolute 1e-12 floor).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RxMemoryData } from '../../lib/data/memory.js';
import { rxCor, rxCov, rxCovCor, rxSSCP } from '../../lib/summary/covcor.js';
import { FIX, csvData } from './helpers.js';

const R = JSON.parse(readFileSync(join(FIX, 'r_reference.json'), 'utf8'));
const F = '~ Sepal.Length + Sepal.Width + Petal.Length + Petal.Width';

function matClose(a: number[][], b: number[][], rel = 1e-10) {
  expect(a.length).toBe(b.length);
  a.forEach((r, i) => {
    r.forEach((x, j) => {
      expect(Math.abs(x - b[i]![j]!)).toBeLessThanOrEqual(rel * Math.max(1e-2, Math.abs(b[i]![j]!)));
    });
  });
}

describe('rxCovCor', () => {
  it('iris covariance, correlation and SSCP match R in any chunking', async () => {
    for (const rowsPerRead of [1, 17, 1000]) {
      const d = csvData('iris.csv', { rowsPerRead });
      matClose((await rxCov(F, d)).CovCor, R.iris.cov);
      matClose((await rxCor(F, d)).CovCor, R.iris.cor);
      const s = await rxSSCP(F, d);
      expect(s.names[0]).toBe('(Intercept)');
      matClose(s.CovCor, R.iris.sscp);
    }
    const c = await rxCovCor(F, csvData('iris.csv'));
    expect(c.type).toBe('Cor');
    expect(c.Means[0]).toBeCloseTo(R.iris.numeric['Sepal.Length'].mean, 12);
    expect(c.StdDevs[3]).toBeCloseTo(R.iris.numeric['Petal.Width'].sd, 12);
    expect(c.validObs).toBe(150);
    expect(c.toString()).toMatch(/Sepal\.Length +1\.0000000 +-0\.1175698/);
    const a = await rxCor('~ ArrDelay + CRSDepTime', csvData('AirlineDemo1kNoMissing.csv', { rowsPerRead: 100 }));
    expect(Math.abs(a.CovCor[0]![1]! - R.airline.cor)).toBeLessThanOrEqual(1e-12);
  });

  it('keeps digits for large offsets, drops constant variables from Cor, listwise missing, weights', async () => {
    const n = 1001;
    const x = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = 1e9 + (i % 2 ? 0.25 : -0.25);
      y[i] = 3 * (i % 2 ? 1 : -1);
    }
    const d = new RxMemoryData({ x, y, k: new Float64Array(n).fill(7) }, { rowsPerRead: 100 });
    const c = await rxCov('~ x + y', d);
    // deviations from 1e9 are exactly +-0.25 (501 negative, 500 positive): var = (sum d^2 - (sum d)^2 / n) / (n - 1)
    const exactVar = (n * 0.0625 - 0.0625 / n) / (n - 1);
    expect(Math.abs(c.CovCor[0]![0]! / exactVar - 1)).toBeLessThan(1e-12);
    const r = await rxCor('~ x + y + k', d);
    expect(r.droppedVars).toEqual(['k']);
    expect(r.CovCor[0]![1]!).toBeCloseTo(1, 12);
    const m = await rxCov('~ a + b', new RxMemoryData({ a: [1, 2, null, 4, 5], b: [2, 4, 6, null, 10] }));
    expect(m.validObs).toBe(3);
    expect(m.missingObs).toBe(2);
    expect(m.CovCor[0]![1]).toBeCloseTo(26 / 3, 12); // complete rows (1,2),(2,4),(5,10): cov = 2 var(a) = 26/3
    const w = await rxCov('~ a', new RxMemoryData({ a: [1, 2, 3], w: [2, 1, 1] }), { fweights: 'w' });
    expect(w.CovCor[0]![0]).toBeCloseTo(((1 - 1.75) ** 2 * 2 + (2 - 1.75) ** 2 + (3 - 1.75) ** 2) / 3, 14);
  });

  it('bad input names the term', async () => {
    const d = csvData('iris.csv');
    await expect(rxCor('~ Sepal.Length + Species', d)).rejects.toMatchObject({ code: 'RX_FORMULA', column: 'Species' });
    await expect(rxCor('~ Sepal.Length + nope', d)).rejects.toMatchObject({ code: 'RX_FORMULA', column: 'nope' });
    await expect(rxCovCor(F, d, { type: 'Bad' as 'Cov' })).rejects.toMatchObject({ code: 'RX_ARG' });
    const one = await rxCov('~ a', new RxMemoryData({ a: [3] }));
    expect(one.CovCor[0]![0]).toBeNaN();
  });
});
