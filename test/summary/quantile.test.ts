/**
 * rxQuantile: parity with R's quantile(type = 7) (fixtures, 1e-10 relative: both use
 * (1 - h) x_lo + h x_hi on the same order statistics, so results are normally identical),
 * the bounded-memory refinement (exact, checked against a full sort) and the stated error
 * bound of method 'approx' ((max - min) / bins).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RxMemoryData } from '../../lib/data/memory.js';
import { rxQuantile } from '../../lib/summary/quantile.js';
import { FIX, csvData } from './helpers.js';

const R = JSON.parse(readFileSync(join(FIX, 'r_reference.json'), 'utf8'));
const PROBS = [0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1];

function type7(sorted: Float64Array, p: number): number {
  const index = 1 + (sorted.length - 1) * p;
  const lo = Math.floor(index);
  const h = index - lo;
  const x0 = sorted[lo - 1]!;
  return h <= 0 ? x0 : (1 - h) * x0 + h * sorted[Math.ceil(index) - 1]!;
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    s ^= s >>> 12;
    return (s >>> 0) / 4294967296;
  };
}

describe('rxQuantile', () => {
  it('matches R quantile(type = 7) on iris, airline and kyphosis', async () => {
    const cases: [string, string, number[]][] = [
      ['iris.csv', 'Sepal.Length', R.iris.numeric['Sepal.Length'].quantile],
      ['iris.csv', 'Petal.Width', R.iris.numeric['Petal.Width'].quantile],
      ['AirlineDemo1kNoMissing.csv', 'ArrDelay', R.airline.arrDelay.quantile],
      ['AirlineDemo1kNoMissing.csv', 'CRSDepTime', R.airline.crsDepTime.quantile],
      ['kyphosis.csv', 'Age', R.kyphosis.age.quantile],
    ];
    for (const [file, v, ref] of cases) {
      for (const maxInMemory of [1_000_000, 10]) {
        const q = await rxQuantile(v, csvData(file, { rowsPerRead: 53 }), { probs: PROBS, maxInMemory, bins: 16 });
        q.values.forEach((x, i) => {
          expect(Math.abs(x - ref[i]!)).toBeLessThanOrEqual(1e-10 * Math.max(1, Math.abs(ref[i]!)));
        });
        expect(q.exact).toBe(true);
        if (maxInMemory === 10) expect(q.passes).toBeGreaterThan(1);
      }
    }
  });

  it('bounded memory refinement is exact on skewed data with ties and missing values', async () => {
    const r = rng(7);
    const n = 20_000;
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) x[i] = i % 50 === 0 ? Number.NaN : i % 7 === 0 ? 3 : Math.exp(8 * r()) * (r() < 0.5 ? -1 : 1);
    const sorted = x.filter((v) => !Number.isNaN(v)).sort();
    const probs = [0, 0.001, 0.3, 0.5, 0.5001, 0.999, 1];
    const q = await rxQuantile('x', new RxMemoryData({ x }, { rowsPerRead: 999 }), { probs, maxInMemory: 100, bins: 8 });
    expect(q.n).toBe(sorted.length);
    expect(q.missing).toBe(400);
    expect(q.values).toEqual(probs.map((p) => type7(sorted, p)));
    expect(q.passes).toBeGreaterThan(2);
    expect(q.toObject()['50%']).toBe(type7(sorted, 0.5));
    expect(q.names).toEqual(['0%', '0.1%', '30%', '50%', '50.01%', '99.9%', '100%']);
  });

  it("method 'approx' stays within (max - min) / bins of the exact value", async () => {
    const r = rng(11);
    const n = 50_000;
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) x[i] = r() < 0.9 ? r() * 10 : 10 + r() ** 3 * 1000;
    const sorted = x.slice().sort();
    const bins = 256;
    const bound = (sorted[n - 1]! - sorted[0]!) / bins;
    const probs = [0.05, 0.25, 0.5, 0.75, 0.95, 0.999];
    const q = await rxQuantile('x', new RxMemoryData({ x }, { rowsPerRead: 4096 }), { probs, method: 'approx', bins });
    expect(q.exact).toBe(false);
    expect(q.passes).toBe(2);
    q.values.forEach((v, i) => {
      expect(Math.abs(v - type7(sorted, probs[i]!))).toBeLessThanOrEqual(bound);
    });
  });

  it('fweights are quantile(rep(x, w), type = 7) from R, in memory and by refinement; pweights the same formula', async () => {
    const W = JSON.parse(readFileSync(join(FIX, 'weighted_quantile.json'), 'utf8'));
    const x = csvData('iris.csv').columns['Sepal.Length']!.data as Float64Array;
    const w = Float64Array.from(x, (_, i) => (i + 1) % 4);
    for (const opts of [{ rowsPerRead: 1000 }, { rowsPerRead: 7, maxInMemory: 10, bins: 4 }]) {
      const q = await rxQuantile('Sepal.Length', new RxMemoryData({ 'Sepal.Length': x, w }, { rowsPerRead: opts.rowsPerRead }), { probs: W.probs, fweights: 'w', ...opts });
      q.values.forEach((v, i) => {
        expect(Math.abs(v - W.quantile[i])).toBeLessThanOrEqual(1e-12 * Math.abs(W.quantile[i]));
      });
      expect(q.sumOfWeights).toBe(W.sumOfWeights);
      expect(q.n).toBe(x.length - Math.floor((x.length + 1) / 4));
    }
    // real weights (Hmisc::wtd.quantile(type = 'quantile', normwt = FALSE) worked by hand): values 1, 2, 3
    // with weights 1.5, 2, 0.5 -> cumulative 1.5, 3.5, 4 = N; index = 1 + 3 p; x_(L) = first value with
    // cumulative weight >= L: x_(1) = 1, x_(2) = 2, x_(3) = 2, x_(4) = 3
    const p = await rxQuantile('v', new RxMemoryData({ v: [3, 1, 2, Number.NaN], pw: [0.5, 1.5, 2, 1] }), { pweights: 'pw', probs: [0, 0.2, 0.5, 1] });
    const h = 1 + 3 * 0.2 - 1;
    expect(p.values).toEqual([1, (1 - h) * 1 + h * 2, 2, 3]);
    const pr = await rxQuantile('v', new RxMemoryData({ v: [3, 1, 2, Number.NaN], pw: [0.5, 1.5, 2, 1] }, { rowsPerRead: 1 }), {
      pweights: 'pw',
      probs: [0, 0.2, 0.5, 1],
      maxInMemory: 1,
      bins: 2,
    });
    expect(pr.values).toEqual(p.values);
    expect(p.missing).toBe(1);
    await expect(rxQuantile('v', new RxMemoryData({ v: [1], w: ['a'] }), { fweights: 'w' })).rejects.toMatchObject({ code: 'RX_FORMULA', column: 'w' });
    await expect(rxQuantile('v', new RxMemoryData({ v: [1], w: [1] }), { fweights: 'w', pweights: 'w' })).rejects.toMatchObject({ code: 'RX_ARG' });
  });

  it('degenerate and bad input', async () => {
    expect((await rxQuantile('x', new RxMemoryData({ x: [] as number[] }))).values.every(Number.isNaN)).toBe(true);
    expect((await rxQuantile('x', new RxMemoryData({ x: [5] }))).values).toEqual([5, 5, 5, 5, 5]);
    expect((await rxQuantile('x', new RxMemoryData({ x: [2, 2, 2, 2] }), { maxInMemory: 1 })).values).toEqual([2, 2, 2, 2, 2]);
    await expect(rxQuantile('nope', new RxMemoryData({ x: [1] }))).rejects.toMatchObject({ code: 'RX_FORMULA', column: 'nope' });
    await expect(rxQuantile('f', new RxMemoryData({ f: ['a'] }))).rejects.toMatchObject({ code: 'RX_FORMULA', column: 'f' });
    await expect(rxQuantile('x', new RxMemoryData({ x: [1] }), { probs: [1.5] })).rejects.toMatchObject({ code: 'RX_ARG' });
  });
});
