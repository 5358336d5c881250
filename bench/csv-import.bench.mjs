// CSV import throughput: RxTextData reading every chunk of a ~1 GB mixed-type CSV and
// rxImport({ inData: 'x.csv', outFile: 'x.xdf' }), side by side with DuckDB's read_csv into
// a table, on the same file in the same run. Medians of 3 runs of wall time and of this
// process's CPU seconds (load-insensitive on a shared machine); the 1-minute load average
// before each run; peak RSS sampled during each reader's runs. The file is generated (seeded) in os.tmpdir() and
// deleted afterwards. RXSCALE_BENCH_CSV_ROWS overrides the row count (default 12M).
import { rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
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

// Wall time, and CPU seconds of this process (all its threads: our parser pool and
// DuckDB's run in-process), which is far less sensitive to other load on a shared machine.
async function timed(fn) {
  const times = [];
  const cpu = [];
  const loads = [];
  const stop = rssSampler();
  let last;
  for (let i = 0; i < RUNS; i++) {
    loads.push(+loadavg()[0].toFixed(1));
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    last = await fn();
    times.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
    if (global.gc) global.gc();
  }
  return { median: median(times), times, cpuMedian: median(cpu), last, peakRssMiB: stop(), loadAvg1: loads };
}

function metrics(r, mb) {
  return {
    mb,
    mbPerSec: +(mb / r.median).toFixed(1),
    times: r.times.map((t) => +t.toFixed(2)),
    cpuSeconds: +r.cpuMedian.toFixed(2),
    mbPerCpuSec: +(mb / r.cpuMedian).toFixed(1),
    peakRssMiB: r.peakRssMiB,
    loadAvg1: r.loadAvg1,
  };
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
    out.push(row('RxTextData read all chunks', rows, rx.median, { ...metrics(rx, mb), threads: pkg.rxOptions().numThreads }));
    ctx.log(JSON.stringify(out.at(-1)));

    if (typeof pkg.rxImport === 'function' && typeof pkg.RxXdfData === 'function') {
      const xdf = join(tmpdir(), `rxscale-bench-${process.pid}.xdf`);
      try {
        const imp = await timed(async () => {
          await pkg.rxImport({ inData: file, outFile: xdf, colClasses, overwrite: true, rowsPerRead: 500_000, reportProgress: 0 });
          return rows;
        });
        const got = await new pkg.RxXdfData(xdf).numRows();
        if (got !== rows) throw new Error(`the xdf holds ${got} rows, expected ${rows}`);
        out.push(row('rxImport CSV -> xdf', rows, imp.median, metrics(imp, mb)));
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
      out.push(row('DuckDB read_csv -> table', rows, d.median, { ...metrics(d, mb), threads: Number(threads) }));
      ctx.log(JSON.stringify(out.at(-1)));
      const duckRow = out.at(-1);
      for (const r of out.filter((x) => x.mbPerSec && x !== duckRow)) {
        out.push({
          name: `ratio ${r.name} / DuckDB`,
          wallRatio: +(r.mbPerSec / duckRow.mbPerSec).toFixed(2),
          cpuRatio: +(r.mbPerCpuSec / duckRow.mbPerCpuSec).toFixed(2),
        });
      }
    }
  } finally {
    rmSync(file, { force: true });
  }
  return out;
}
