// rxSummary straight from the ~1 GB mixed-type CSV of the data-layer benchmark (bench/gen-csv.mjs:
// one pass over RxTextData, no import) vs DuckDB computing the same aggregates over read_csv on
// the same file, in the same run: per numeric column (count, price, score, qty) valid count,
// missing count, mean, sd, min, max, and counts per level of category and state (DuckDB: one
// scan with GROUPING SETS). Medians of RXSCALE_BENCH_RUNS (default 3) runs; wall and CPU
// seconds (both engines run in this process). RXSCALE_BENCH_CSV_ROWS overrides the row count
// (default 12M, ~0.92 GB). The file is generated (seeded) in os.tmpdir() and deleted afterwards.
import { rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateCsv } from './gen-csv.mjs';
import { median, row } from './lib.mjs';

const NUMERIC = ['count', 'price', 'score', 'qty'];
const FACTORS = ['category', 'state'];

async function timed(fn, runs) {
  const times = [];
  const cpu = [];
  let last;
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    last = await fn();
    times.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
    if (global.gc) global.gc();
  }
  return { median: median(times), cpuMedian: median(cpu), times, last };
}

export default async function (ctx) {
  const pkg = await import(pathToFileURL(join(import.meta.dirname, '..', 'dist', 'lib', 'index.js')).href);
  const rows = Number(process.env.RXSCALE_BENCH_CSV_ROWS ?? 12_000_000);
  const runs = Number(process.env.RXSCALE_BENCH_RUNS ?? 3);
  const file = join(tmpdir(), `rxscale-bench-summary-${process.pid}.csv`);
  const out = [];
  try {
    ctx.log(`generating ${rows} rows into ${file}`);
    generateCsv(file, rows, 1);
    const mb = statSync(file).size / 1e6;
    ctx.log(`${mb.toFixed(1)} MB`);
    const formula = `~ ${[...NUMERIC, ...FACTORS].join(' + ')}`;
    const colClasses = { category: 'factor', state: 'factor' };
    const rx = await timed(
      () => pkg.rxSummary(formula, new pkg.RxTextData(file, { colClasses }), { rowsPerRead: 500_000, reportProgress: 0, computeContext: new pkg.RxLocalSeq() }),
      runs,
    );
    const s = rx.last;
    out.push(
      row(`rxSummary(${formula}) from CSV (RxTextData, RxLocalSeq)`, rows, rx.median, {
        mb: +mb.toFixed(1),
        mbPerSec: +(mb / rx.median).toFixed(1),
        cpuSeconds: +rx.cpuMedian.toFixed(2),
        times: rx.times,
        threads: pkg.rxOptions().numThreads,
      }),
    );
    ctx.log(JSON.stringify(out.at(-1)));

    let duck;
    try {
      duck = await import('@duckdb/node-api');
    } catch (e) {
      out.push({ name: 'DuckDB aggregates over read_csv', skipped: `@duckdb/node-api unavailable: ${e.message}` });
      return out;
    }
    const inst = await duck.DuckDBInstance.create(':memory:');
    const con = await inst.connect();
    const threads = Number((await (await con.run("SELECT current_setting('threads')")).getRows())[0][0]);
    const aggs = NUMERIC.map((c) => `count(${c}), count(*) - count(${c}), avg(${c}), stddev_samp(${c}), min(${c}), max(${c})`).join(', ');
    const sql = `SELECT category, state, GROUPING(category) AS gc, GROUPING(state) AS gs, count(*) AS n, ${aggs}
      FROM read_csv('${file.replace(/'/g, "''")}') GROUP BY GROUPING SETS ((), (category), (state))`;
    const d = await timed(async () => (await con.run(sql)).getRows(), runs);
    out.push(
      row('DuckDB aggregates over read_csv (one scan, GROUPING SETS)', rows, d.median, {
        mb: +mb.toFixed(1),
        mbPerSec: +(mb / d.median).toFixed(1),
        cpuSeconds: +d.cpuMedian.toFixed(2),
        times: d.times,
        threads,
      }),
    );
    ctx.log(JSON.stringify(out.at(-1)));
    // same answers? (overall row: both grouping flags set)
    const all = d.last.find((r) => Number(r[2]) === 1 && Number(r[3]) === 1);
    let agree = true;
    NUMERIC.forEach((c, j) => {
      const r = s.sDataFrame.find((x) => x.Name === c);
      const b = 5 + 6 * j;
      const rel = (a, e) => Math.abs(a - e) <= 1e-9 * Math.max(1, Math.abs(e));
      agree &&= r.ValidObs === Number(all[b]) && r.MissingObs === Number(all[b + 1]) && rel(r.Mean, Number(all[b + 2])) && rel(r.StdDev, Number(all[b + 3]));
      agree &&= r.Min === Number(all[b + 4]) && r.Max === Number(all[b + 5]);
    });
    const cat = s.categorical.find((c) => c.name === 'category');
    for (const r of d.last.filter((x) => Number(x[2]) === 0)) {
      const k = cat.levels[0].indexOf(String(r[0]));
      agree &&= k >= 0 && cat.counts[k] === Number(r[4]);
    }
    out.push({
      name: 'ratio rxSummary / DuckDB (MB/s; target >= 0.7)',
      wallRatio: +(out[0].mbPerSec / out[1].mbPerSec).toFixed(2),
      cpuRatio: +(out[1].cpuSeconds / out[0].cpuSeconds).toFixed(2),
      resultsAgree: agree,
    });
    con.closeSync?.();
  } finally {
    rmSync(file, { force: true });
  }
  return out;
}
