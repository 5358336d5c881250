// rxLinMod on 5,000,000 rows x (10 numeric + one 20-level factor) read from an RxXdfData
// file (written first into os.tmpdir(), chunks of 500,000 rows), full summary, versus:
//   - the floor: an in-memory normal-equations solve of the same model matrix in the same
//     process (native BLAS X'X kernel on the prebuilt matrix + sweep), i.e. no I/O and no
//     model-matrix construction;
//   - numpy normal equations (X'X, solve, SEs) on the same-sized matrix, when python3 is present;
//   - R lm + summary on 1,000,000 rows (5M rows take R ~20 s and several GB), when Rscript is present.
// Medians of 3 runs (after a warm-up run). Besides wall time, the process CPU time (user +
// system, all threads) of each run is reported: on a shared, loaded machine wall-time
// ratios swing with the load, CPU-time ratios much less. Peak RSS is taken right after
// the rxLinMod runs (it includes writing the file), before the floor's matrices exist.
import { rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median, peakRssMiB, python, row, rscript, timeIt } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dist = (p) => import(pathToFileURL(join(here, '..', 'dist', 'lib', p)).href);

export default async function linmodBench(ctx) {
  const { RxXdfData } = await dist('data/xdf.js');
  const { rxLinMod } = await dist('models/index.js');
  const { accumulateXtwx, sweepSolve } = await dist('models/solve.js');
  const n = 5_000_000;
  const chunk = 500_000;
  const file = join(tmpdir(), `rxscale-linmod-bench-${process.pid}.xdf`);
  let s = 12345;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
  const levels = Array.from({ length: 20 }, (_, i) => `L${i}`);
  const beta = Array.from({ length: 10 }, (_, j) => 0.5 + j / 10);
  const schema = {
    columns: [...Array.from({ length: 10 }, (_, j) => ({ name: `x${j}`, type: 'float64' })), { name: 'f', type: 'factor', levels }, { name: 'y', type: 'float64' }],
    numRows: n,
  };
  const w = await new RxXdfData(file).open(schema, { overwrite: true });
  for (let start = 0; start < n; start += chunk) {
    const m = Math.min(chunk, n - start);
    const columns = {};
    const y = new Float64Array(m);
    for (let j = 0; j < 10; j++) {
      const a = new Float64Array(m);
      for (let i = 0; i < m; i++) {
        a[i] = rnd();
        y[i] += beta[j] * a[i];
      }
      columns[`x${j}`] = { type: 'float64', data: a };
    }
    const codes = new Int32Array(m);
    for (let i = 0; i < m; i++) {
      codes[i] = Math.floor((rnd() + 0.5) * 20);
      y[i] += codes[i] / 10 + rnd();
    }
    columns.f = { type: 'factor', data: codes, levels };
    columns.y = { type: 'float64', data: y };
    await w.write({ numRows: m, startRow: start, names: schema.columns.map((c) => c.name), columns });
  }
  await w.close();
  const formula = 'y ~ x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + f';
  const results = [];
  const cpuNow = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  /** timeIt that also records the CPU seconds of each timed run. */
  const timeCpu = async (fn, o) => {
    const cpu = [];
    let k = 0;
    const r = await timeIt(async () => {
      const c0 = cpuNow();
      const out = await fn();
      if (k++ >= (o.warmup ?? 0)) cpu.push(+(cpuNow() - c0).toFixed(3));
      return out;
    }, o);
    return { ...r, cpu, cpuMedian: median(cpu) };
  };
  try {
    const src = new RxXdfData(file);
    const fit = await timeCpu(
      async () => {
        const m = await rxLinMod(formula, src);
        return m.summary().toString().length;
      },
      { runs: 3, warmup: 1 },
    );
    const rxRss = peakRssMiB();
    const m = await rxLinMod(formula, src);
    ctx.log(m.summary().toString().split('\n').slice(0, 8).join('\n'));
    // floor: the same model matrix prebuilt in memory (chunks of 500k rows), X'X + X'y by the
    // native kernel, sweep solve and SEs
    const p = 1 + 10 + 19;
    const mats = [];
    for (let start = 0; start < n; start += chunk) {
      const mm = Math.min(chunk, n - start);
      const X = new Float64Array(mm * p);
      const yv = new Float64Array(mm);
      for (let i = 0; i < mm * p; i++) X[i] = rnd();
      for (let i = 0; i < mm; i++) yv[i] = rnd();
      mats.push({ X, y: yv, n: mm });
    }
    const floor = await timeCpu(
      async () => {
        const xtx = new Float64Array(p * p);
        const xty = new Float64Array(p);
        const acc = new Float64Array(3);
        for (const c of mats) accumulateXtwx(c.X, c.n, p, null, c.y, xtx, xty, acc);
        const sol = sweepSolve(xtx, xty, p, 1e-7, acc[1]);
        const sigma2 = sol.rss / (n - p);
        return Array.from({ length: p }, (_, j) => Math.sqrt(sigma2 * sol.inverse[j * p + j]));
      },
      { runs: 3, warmup: 1 },
    );
    mats.length = 0;
    results.push(
      row('rxLinMod 5M x (10 numeric + 20-level factor) from xdf, full summary', n, fit.median, {
        times: fit.times,
        cpuSeconds: fit.cpu,
        cpuMedian: fit.cpuMedian,
        solver: m.solver,
        peakRssMiB: rxRss,
        loadavg: loadavg().map((x) => +x.toFixed(1)),
      }),
      row('floor: in-memory X prebuilt, native X\'X + sweep + SEs (5M x 30)', n, floor.median, {
        times: floor.times,
        cpuSeconds: floor.cpu,
        cpuMedian: floor.cpuMedian,
        ratioRxOverFloor: +(fit.median / floor.median).toFixed(2),
        cpuRatioRxOverFloor: +(fit.cpuMedian / floor.cpuMedian).toFixed(2),
      }),
    );
    const py = python(`
import json, time, numpy as np
n, p = ${n}, 30
rng = np.random.default_rng(1)
X = rng.random((n, p)); y = rng.random(n)
ts = []
for r in range(3):
    t = time.perf_counter()
    A = X.T @ X; b = X.T @ y
    beta = np.linalg.solve(A, b)
    r_ = y - X @ beta
    s2 = r_ @ r_ / (n - p)
    se = np.sqrt(s2 * np.diag(np.linalg.inv(A)))
    ts.append(time.perf_counter() - t)
ts.sort()
print(json.dumps({"median": ts[1], "times": ts}))
`);
    if (py.skipped) results.push({ name: 'numpy normal equations', skipped: py.skipped });
    else results.push(row('numpy normal equations fit + SEs, in memory 5M x 30', n, py.median, { times: py.times, ratioRxOverNumpy: +(fit.median / py.median).toFixed(2) }));
    const nR = 1_000_000;
    const r = rscript(`
set.seed(1); n <- ${nR}
d <- as.data.frame(matrix(runif(n * 10) - 0.5, n, 10)); names(d) <- paste0("x", 0:9)
d$f <- factor(sample(paste0("L", 0:19), n, TRUE)); d$y <- rowSums(d[, 1:10]) + runif(n)
ts <- replicate(3, system.time(summary(lm(${formula.replace(/"/g, '')}, data = d)))[["elapsed"]])
cat(sprintf('{"median": %f, "times": [%s]}\\n', median(ts), paste(ts, collapse = ",")))
`);
    if (r.skipped) results.push({ name: 'R lm + summary', skipped: r.skipped });
    else {
      const per = r.median / nR;
      results.push(
        row('R lm + summary, 1M rows (in memory; 5M-row time extrapolated linearly)', nR, r.median, {
          times: r.times,
          extrapolated5M: +(per * n).toFixed(2),
          speedupRxOverR5M: +((per * n) / fit.median).toFixed(1),
        }),
      );
    }
  } finally {
    rmSync(file, { force: true });
  }
  return results;
}
