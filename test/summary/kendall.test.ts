/**
 * rxKendallCor parity with R cor(method = "kendall") (tau-b) and cor.test(exact = FALSE)
 * p-value, 1e-10 relative; plus a brute-force O(n^2) check of the O(n log n) algorithm.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RxMemoryData } from '../../lib/data/memory.js';
import { kendallTau, rxKendallCor } from '../../lib/summary/kendall.js';
import { FIX, csvData } from './helpers.js';

const R = JSON.parse(readFileSync(join(FIX, 'r_reference.json'), 'utf8'));

function bruteTauB(x: number[], y: number[]): number {
  let c = 0;
  let tx = 0;
  let ty = 0;
  const n = x.length;
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const a = Math.sign(x[i]! - x[j]!);
      const b = Math.sign(y[i]! - y[j]!);
      c += a * b;
      if (a !== 0) tx++;
      if (b !== 0) ty++;
    }
  return c / Math.sqrt(tx * ty);
}

describe('rxKendallCor', () => {
  it('matches R on iris (many ties)', async () => {
    const k = await rxKendallCor('~ Sepal.Length + Petal.Length', csvData('iris.csv', { rowsPerRead: 33 }));
    const ref = R.iris.kendall;
    expect(Math.abs(k.tau[0]![1]! - ref.tau)).toBeLessThanOrEqual(1e-10 * Math.abs(ref.tau));
    expect(Math.abs(k.pValues[0]![1]! - ref.p)).toBeLessThanOrEqual(1e-10 * ref.p);
    expect(k.tau[0]![0]).toBe(1);
    expect(k.toString()).toContain("Kendall's tau-b (150 complete observations");
  });

  it('agrees with the O(n^2) definition on random data with ties', () => {
    let s = 99;
    const r = () => ((s = (s * 16807) % 2147483647) / 2147483647);
    for (let t = 0; t < 5; t++) {
      const n = 50 + t * 37;
      const x = Array.from({ length: n }, () => Math.floor(r() * 10));
      const y = Array.from({ length: n }, (_, i) => Math.floor(r() * 6) + (x[i]! > 5 ? 2 : 0));
      expect(kendallTau(Float64Array.from(x), Float64Array.from(y)).tau).toBeCloseTo(bruteTauB(x, y), 12);
    }
  });

  it('bad input', async () => {
    await expect(rxKendallCor('~ Sepal.Length + Species', csvData('iris.csv'))).rejects.toMatchObject({ code: 'RX_FORMULA', column: 'Species' });
    await expect(rxKendallCor('~ a + b', new RxMemoryData({ a: [1, 2, 3], b: [3, 2, 1] }), { maxInMemory: 2 })).rejects.toMatchObject({ code: 'RX_ARG' });
    const one = await rxKendallCor('~ a + b', new RxMemoryData({ a: [1], b: [2] }));
    expect(one.tau[0]![1]).toBeNaN();
  });
});
