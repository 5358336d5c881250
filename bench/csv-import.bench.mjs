// CSV import throughput: RxTextData reading every chunk of a ~1 GB mixed-type CSV (and
// CSV -> xdf through rxImport when the package has it), side by side with DuckDB's
// read_csv into a table, on the same file in the same run. Medians of 3 runs; peak RSS
// sampled during each reader's runs. The file is generated (seeded) in os.tmpdir() and
// deleted afterwards. RXSCALE_BENCH_CSV_ROWS overrides the row count (default 12M).
import { rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateCsv } from './gen-csv.mjs';
import { median, row } from './lib.mjs';

const RUNS = 3;

function rssSampler() {
  let peak = process.memoryUsage().rss;
  const t = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  return () => {
    clearInterval(t);
    return +(Math.max(peak, process.memoryUsage().rss) / 2 ** 20).toFixed(1);
  };
}

async function timed(fn) {
  const times = [];
  const stop = rssSampler();
  let last;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    last = await fn();
    times.push((performance.now() - t0) / 1000);
    if (global.gc) global.gc();
  }
  return { median: median(times), times, last, peakRssMiB: stop() };
}

export default async function (ctx) {
  const pkg = await import(pathToFileURL(join(import.meta.dirname, '..', 'dist', 'lib', 'index.js')).href);
  const rows = Number(process.env.RXSCALE_BENCH_CSV_ROWS ?? 12_000_000);
  const file = join(tmpdir(), `rxscale-bench-${process.pid}.csv`);
  const out = [];
  try {
    ctx.log(`generating ${rows} rows into ${file}`);
    generateCsv(file, rows, 1);
    const mb = statSync(file).size / 1e6;
    ctx.log(`${mb.toFixed(1)} MB`);
    const colClasses = { category: 'factor', state: 'factor' };

    const rx = await timed(async () => {
      const src = new pkg.RxTextData(file, { colClasses });
      let n = 0;
      for await (const ch of src.chunks({ rowsPerRead: 500_000 })) n += ch.numRows;
      return n;
    });
    if (rx.last !== rows) throw new Error(`RxTextData read ${rx.last} rows, expected ${rows}`);
    out.push(row('RxTextData read all chunks', rows, rx.median, { mb, mbPerSec: +(mb / rx.median).toFixed(1), times: rx.times, peakRssMiB: rx.peakRssMiB, threads: pkg.rxOptions().numThreads }));
    ctx.log(JSON.stringify(out.at(-1)));

    if (typeof pkg.rxImport === 'function' && typeof pkg.RxXdfData === 'function') {
      const xdf = join(tmpdir(), `rxscale-bench-${process.pid}.xdf`);
      try {
        const imp = await timed(async () => {
          await pkg.rxImport({ inData: new pkg.RxTextData(file, { colClasses }), outFile: new pkg.RxXdfData(xdf), overwrite: true, rowsPerRead: 500_000, reportProgress: 0 });
          return rows;
        });
        out.push(row('rxImport CSV -> xdf', rows, imp.median, { mb, mbPerSec: +(mb / imp.median).toFixed(1), times: imp.times, peakRssMiB: imp.peakRssMiB }));
      } catch (e) {
        out.push({ name: 'rxImport CSV -> xdf', skipped: `rxImport failed: ${String(e?.message ?? e).split('\n')[0]}` });
      } finally {
        rmSync(xdf, { force: true });
      }
      ctx.log(JSON.stringify(out.at(-1)));
    } else {
      out.push({ name: 'rxImport CSV -> xdf', skipped: 'rxImport / RxXdfData not in this build' });
    }

    let duck;
    try {
      duck = await import('@duckdb/node-api');
    } catch (e) {
      out.push({ name: 'DuckDB read_csv -> table', skipped: `@duckdb/node-api unavailable: ${e.message}` });
    }
    if (duck) {
      const inst = await duck.DuckDBInstance.create(':memory:');
      const con = await inst.connect();
      const threads = (await (await con.run("SELECT current_setting('threads') AS t")).getRows())[0][0];
      const d = await timed(async () => {
        await con.run('DROP TABLE IF EXISTS t');
        await con.run(`CREATE TABLE t AS SELECT * FROM read_csv('${file.replace(/'/g, "''")}')`);
        const r = await con.run('SELECT count(*) FROM t');
        return Number((await r.getRows())[0][0]);
      });
      await con.run('DROP TABLE IF EXISTS t');
      out.push(row('DuckDB read_csv -> table', rows, d.median, { mb, mbPerSec: +(mb / d.median).toFixed(1), times: d.times, peakRssMiB: d.peakRssMiB, threads: Number(threads) }));
      ctx.log(JSON.stringify(out.at(-1)));
      const rxRow = out[0];
      out.push({ name: 'ratio RxTextData / DuckDB (throughput)', ratio: +(rxRow.mbPerSec / (mb / d.median)).toFixed(2) });
    }
  } finally {
    rmSync(file, { force: true });
  }
  return out;
}
