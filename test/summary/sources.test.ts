/** The summaries read any data source: the iris fixture through RxXdfData and RxParquetData files gives the in-memory answers. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DataSink, DataSource } from '../../lib/data/types.js';
import { RxParquetData } from '../../lib/data/parquet.js';
import { RxXdfData } from '../../lib/data/xdf.js';
import { rxCrossTabs } from '../../lib/summary/crosstabs.js';
import { rxQuantile } from '../../lib/summary/quantile.js';
import { rxSummary } from '../../lib/summary/summary.js';
import { rxHistogram } from '../../lib/plot/histogram.js';
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
