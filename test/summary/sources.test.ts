/** The summaries read any data source: the iris fixture through RxXdfData and RxParquetData files gives the in-memory answers. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RxLocalParallel } from '../../lib/compute/parallel.js';
import { RxMemoryData } from '../../lib/data/memory.js';
import { rxCovCor } from '../../lib/summary/covcor.js';
import type { DataSink, DataSource } from '../../lib/data/types.js';
import { RxParquetData } from '../../lib/data/parquet.js';
import { RxXdfData } from '../../lib/data/xdf.js';
import { rxCrossTabs } from '../../lib/summary/crosstabs.js';
import { rxQuantile } from '../../lib/summary/quantile.js';
import { rxSummary } from '../../lib/summary/summary.js';
import { rxHistogram } from '../../lib/plot/histogram.js';
import { ensureDist } from './ensure-dist.js';
import { csvData } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'rxsum-src-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function copyTo(sink: DataSink, src: DataSource): Promise<void> {
  const w = await sink.open(await src.schema(), { overwrite: true });
  for await (const ch of src.chunks({ rowsPerRead: 40 })) await w.write(ch);
  await w.close();
}

describe('summaries over file data sources', () => {
  for (const [kind, make] of [
    ['xdf', (f: string) => new RxXdfData(f)],
    ['parquet', (f: string) => new RxParquetData(f)],
  ] as const) {
    it(`${kind}: rxSummary, rxCrossTabs, rxQuantile, rxHistogram equal the in-memory results`, async () => {
      const mem = csvData('iris.csv');
      const file = join(dir, `iris.${kind}`);
      await copyTo(make(file) as unknown as DataSink, mem);
      const src = make(file) as unknown as DataSource;
      const a = await rxSummary('~ .', src);
      const b = await rxSummary('~ .', mem);
      expect(a.sDataFrame.map((r) => [r.Name, r.ValidObs, r.Min, r.Max])).toEqual(b.sDataFrame.map((r) => [r.Name, r.ValidObs, r.Min, r.Max]));
      a.sDataFrame.forEach((r, i) => {
        expect(r.Mean).toBeCloseTo(b.sDataFrame[i]!.Mean, 12);
        expect(r.StdDev).toBeCloseTo(b.sDataFrame[i]!.StdDev, 12);
      });
      expect(a.categorical).toEqual(b.categorical);
      const x = await rxCrossTabs('~ Species:F(Sepal.Width)', src);
      expect(x.tables[0]!.values).toEqual((await rxCrossTabs('~ Species:F(Sepal.Width)', mem)).tables[0]!.values);
      expect((await rxQuantile('Petal.Length', src)).values).toEqual((await rxQuantile('Petal.Length', mem)).values);
      expect((await rxHistogram('~ Petal.Length', src)).bars).toEqual((await rxHistogram('~ Petal.Length', mem)).bars);
    });
  }
});

describe('summaries over an xdf file in RxLocalParallel (workers read their own chunks)', () => {
  it('rxSummary, rxCrossTabs, rxCovCor and rxQuantile equal RxLocalSeq, over several batches and chunk sizes', async () => {
    ensureDist();
    const n = 5000;
    const x = new Float64Array(n);
    const y = new Float64Array(n);
    const f: string[] = [];
    const g: string[] = [];
    for (let i = 0; i < n; i++) {
      x[i] = i % 37 === 3 ? Number.NaN : 1000 + ((i * 7919) % 1009) / 100;
      y[i] = Math.sin(i) * 3 + x[i]! / 10;
      f.push(`a${(i * 31) % 7}`);
      g.push(i % 53 === 0 ? 'rare' : `b${i % 3}`);
    }
    const mem = new RxMemoryData({ x, y, f, g }, { rowsPerRead: 700 });
    const file = join(dir, 'par.xdf');
    await copyTo(new RxXdfData(file), mem);
    const src = new RxXdfData(file);
    const par = new RxLocalParallel({ numWorkers: 2 });
    try {
      for (const rowsPerRead of [333, 5000, undefined]) {
        const o = rowsPerRead === undefined ? {} : { rowsPerRead };
        const po = { ...o, computeContext: par };
        const a = await rxSummary('~ x + y + f + x:f', src, o);
        const b = await rxSummary('~ x + y + f + x:f', src, po);
        expect(b.nobsValid).toBe(n);
        expect(b.sDataFrame.map((r) => [r.ValidObs, r.MissingObs, r.Min, r.Max])).toEqual(a.sDataFrame.map((r) => [r.ValidObs, r.MissingObs, r.Min, r.Max]));
        b.sDataFrame.forEach((r, i) => {
          expect(r.Mean).toBeCloseTo(a.sDataFrame[i]!.Mean, 10);
          expect(r.StdDev).toBeCloseTo(a.sDataFrame[i]!.StdDev, 10);
        });
        expect(b.categorical).toEqual(a.categorical);
        for (const [i, r] of b.byCategory[0]!.rows.entries()) expect(r.Means).toBeCloseTo(a.byCategory[0]!.rows[i]!.Means, 10);
        expect((await rxCrossTabs('~ f:g', src, po)).tables[0]!.values).toEqual((await rxCrossTabs('~ f:g', src, o)).tables[0]!.values);
        const c1 = await rxCovCor('~ x + y', src, o);
        const c2 = await rxCovCor('~ x + y', src, po);
        for (const [i, v] of c2.CovCor.flat().entries()) expect(v).toBeCloseTo(c1.CovCor.flat()[i]!, 10);
        expect((await rxQuantile('x', src, po)).values).toEqual((await rxQuantile('x', src, o)).values);
      }
    } finally {
      await par.close();
    }
  }, 300_000); // may rebuild dist/ first (ensureDist)
});
