// rxCrossTabs of two 20-level factors over 5,000,000 rows from an RxXdfData file vs
// DuckDB GROUP BY over the same data in an in-memory DuckDB table, same run, medians of 9 after one warm-up run each (the timings are ~10 ms).
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { peakRssMiB, row, timeIt } from './lib.mjs';
import { duckTable, memoryData, writeXdf } from './summary-data.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export default async function (ctx) {
  const pkg = await import(pathToFileURL(join(root, 'dist', 'lib', 'index.js')).href);
  const rows = Number(process.env.ROWS ?? 5_000_000);
  const out = [];
  const data = await writeXdf(root, { rows, nNum: 0, nFac: 2, levels: 20 });
  if (!data) return [{ name: 'rxCrossTabs xdf', skipped: 'RxXdfData not built (dist/lib/data/xdf.js missing)' }];
  let check;
  try {
    const seq = new pkg.RxLocalSeq();
    const s = await timeIt(() => pkg.rxCrossTabs('~ f0:f1', data.source, { computeContext: seq, reportProgress: 0 }), { runs: 9, warmup: 1 });
    check = s.last;
    out.push(row('rxCrossTabs ~ f0:f1 (20 x 20), xdf, RxLocalSeq', rows, s.median, { times: s.times, peakRssMiB: peakRssMiB() }));
    ctx.log(JSON.stringify(out.at(-1)));
  } finally {
    data.cleanup();
  }
  const mem = await memoryData(root, { rows, nNum: 0, nFac: 2, levels: 20 });
  const m = await timeIt(() => pkg.rxCrossTabs('~ f0:f1', mem, { reportProgress: 0 }), { runs: 9, warmup: 1 });
  out.push(row('rxCrossTabs ~ f0:f1 (20 x 20), in-memory, RxLocalSeq', rows, m.median, { times: m.times }));
  ctx.log(JSON.stringify(out.at(-1)));
  const duck = await duckTable(rows, 0, 2, 20);
  if (duck.skipped) {
    out.push({ name: 'DuckDB GROUP BY', skipped: duck.skipped });
    return out;
  }
  let last;
  const d = await timeIt(async () => {
    last = await (await duck.con.run('SELECT f0, f1, count(*) AS n FROM t GROUP BY f0, f1')).getRows();
  }, { runs: 9, warmup: 1 });
  out.push(row('DuckDB GROUP BY f0, f1 (in-memory table)', rows, d.median, { times: d.times, threads: duck.threads }));
  ctx.log(JSON.stringify(out.at(-1)));
  const tab = check.tables[0].values;
  const agree = last.every(([a, b, n]) => tab[Number(String(a).slice(1))][Number(String(b).slice(1))] === Number(n));
  out.push({ name: 'ratio rxCrossTabs(xdf) / DuckDB (time)', ratio: +(out[0].medianSeconds / d.median).toFixed(2), resultsAgree: agree });
  out.push({ name: 'ratio rxCrossTabs(in-memory) / DuckDB (time)', ratio: +(out[1].medianSeconds / d.median).toFixed(2) });
  return out;
}
