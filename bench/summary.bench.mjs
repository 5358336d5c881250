// rxSummary of 10 numeric + 2 factor columns over 5,000,000 rows read from an RxXdfData file
// (RxLocalSeq and RxLocalParallel) vs the same aggregates as DuckDB SQL over the same data
// in an in-memory DuckDB table (count, missing, mean, sd, min, max per column; counts per
// level), in the same run. Medians of 3. ROWS env var overrides the size.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { peakRssMiB, row, timeIt } from './lib.mjs';
import { duckTable, memoryData, writeXdf } from './summary-data.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export default async function (ctx) {
  const pkg = await import(pathToFileURL(join(root, 'dist', 'lib', 'index.js')).href);
  const rows = Number(process.env.ROWS ?? 5_000_000);
  const nNum = 10;
  const nFac = 2;
  const out = [];
  const formula = `~ ${[...Array.from({ length: nNum }, (_, j) => `x${j}`), 'f0', 'f1'].join(' + ')}`;
  const data = await writeXdf(root, { rows, nNum, nFac, levels: 20 });
  if (!data) return [{ name: 'rxSummary xdf', skipped: 'RxXdfData not built (dist/lib/data/xdf.js missing)' }];
  let check;
  try {
    const seq = new pkg.RxLocalSeq();
    const s = await timeIt(() => pkg.rxSummary(formula, data.source, { computeContext: seq, reportProgress: 0 }), { runs: 3 });
    check = s.last;
    out.push(row('rxSummary 10 num + 2 factors, xdf, RxLocalSeq', rows, s.median, { times: s.times, peakRssMiB: peakRssMiB() }));
    ctx.log(JSON.stringify(out.at(-1)));
    const par = new pkg.RxLocalParallel({ numWorkers: 2 });
    try {
      const p = await timeIt(() => pkg.rxSummary(formula, data.source, { computeContext: par, reportProgress: 0 }), { runs: 3 });
      out.push(row('rxSummary 10 num + 2 factors, xdf, RxLocalParallel(2)', rows, p.median, { times: p.times }));
      ctx.log(JSON.stringify(out.at(-1)));
    } finally {
      await par.close();
    }
  } finally {
    data.cleanup();
  }

  // the same computation on in-memory data: what the accumulator costs without file reading
  const mem = await memoryData(root, { rows, nNum, nFac, levels: 20 });
  const m = await timeIt(() => pkg.rxSummary(formula, mem, { reportProgress: 0 }), { runs: 3 });
  out.push(row('rxSummary 10 num + 2 factors, in-memory, RxLocalSeq', rows, m.median, { times: m.times }));
  ctx.log(JSON.stringify(out.at(-1)));
  const duck = await duckTable(rows, nNum, nFac, 20);
  if (duck.skipped) {
    out.push({ name: 'DuckDB aggregates', skipped: duck.skipped });
    return out;
  }
  const aggs = Array.from({ length: nNum }, (_, j) => `count(x${j}), count(*) - count(x${j}), avg(x${j}), stddev_samp(x${j}), min(x${j}), max(x${j})`).join(', ');
  let last;
  const d = await timeIt(async () => {
    const a = await (await duck.con.run(`SELECT ${aggs} FROM t`)).getRows();
    const f0 = await (await duck.con.run('SELECT f0, count(*) FROM t GROUP BY f0 ORDER BY f0')).getRows();
    const f1 = await (await duck.con.run('SELECT f1, count(*) FROM t GROUP BY f1 ORDER BY f1')).getRows();
    last = { a: a[0], f0, f1 };
  }, { runs: 3 });
  out.push(row('DuckDB SQL aggregates (in-memory table)', rows, d.median, { times: d.times, threads: duck.threads }));
  ctx.log(JSON.stringify(out.at(-1)));
  // same answers?
  const r0 = check.sDataFrame[0];
  const agree = Math.abs(r0.Mean - Number(last.a[2])) <= 1e-9 * Math.abs(r0.Mean) && r0.ValidObs === Number(last.a[0]) &&
    check.categorical[0].counts.every((c, k) => c === Number(last.f0[k][1]));
  out.push({ name: 'ratio rxSummary(RxLocalSeq) / DuckDB (time)', ratio: +(out[0].medianSeconds / d.median).toFixed(2), resultsAgree: agree });
  for (const r of out.slice(1, 3)) if (r.medianSeconds) out.push({ name: `ratio ${r.name} / DuckDB (time)`, ratio: +(r.medianSeconds / d.median).toFixed(2) });
  duck.con.closeSync?.();
  return out;
}
