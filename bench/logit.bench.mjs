// rxLogit on 1,000,000 rows x 28 numeric predictors read from an RxXdfData file (written
// first into os.tmpdir(), chunks of 250,000 rows), full summary, versus scikit-learn
// LogisticRegression(solver='lbfgs', penalty=None) on the same data (read from a CSV copy
// written once, not timed) via /usr/bin/python3 when present. Reports medians of 3 runs,
// the ratio, the largest coefficient difference (also of each fit against the exact MLE from a
// numpy Newton solve), and peak RSS; also the CPU seconds (user + system, all threads) of each
// side, whose ratio swings less with the load of a shared machine.
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median, peakRssMiB, python, row, timeIt } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dist = (p) => import(pathToFileURL(join(here, '..', 'dist', 'lib', p)).href);

export default async function logitBench(ctx) {
  const { RxXdfData } = await dist('data/xdf.js');
  const { rxLogit } = await dist('models/index.js');
  const n = 1_000_000;
  const k = 28;
  const chunk = 250_000;
  const file = join(tmpdir(), `rxscale-logit-bench-${process.pid}.xdf`);
  const bin = join(tmpdir(), `rxscale-logit-bench-${process.pid}.f64`);
  let s = 4242;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const beta = Array.from({ length: k }, (_, j) => ((j % 7) - 3) / 4);
  const names = [...Array.from({ length: k }, (_, j) => `x${j}`), 'y'];
  const schema = { columns: names.map((name) => ({ name, type: 'float64' })), numRows: n };
  const w = await new RxXdfData(file).open(schema, { overwrite: true });
  const raw = openSync(bin, 'w');
  for (let start = 0; start < n; start += chunk) {
    const m = Math.min(chunk, n - start);
    const columns = {};
    const eta = new Float64Array(m).fill(-0.3);
    const rowMajor = new Float64Array(m * (k + 1));
    for (let j = 0; j < k; j++) {
      const a = new Float64Array(m);
      for (let i = 0; i < m; i++) {
        a[i] = rnd() * 2 - 1;
        eta[i] += beta[j] * a[i];
        rowMajor[i * (k + 1) + j] = a[i];
      }
      columns[`x${j}`] = { type: 'float64', data: a };
    }
    const y = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      y[i] = rnd() < 1 / (1 + Math.exp(-eta[i])) ? 1 : 0;
      rowMajor[i * (k + 1) + k] = y[i];
    }
    columns.y = { type: 'float64', data: y };
    await w.write({ numRows: m, startRow: start, names, columns });
    const bytes = new Uint8Array(rowMajor.buffer);
    for (let off = 0; off < bytes.length; ) off += writeSync(raw, bytes, off, bytes.length - off);
  }
  await w.close();
  closeSync(raw);
  const formula = `y ~ ${names.slice(0, k).join(' + ')}`;
  const results = [];
  const cpuNow = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  try {
    const src = new RxXdfData(file);
    const cpu = [];
    let runNo = 0;
    const fit = await timeIt(
      async () => {
        const c0 = cpuNow();
        const m = await rxLogit(formula, src);
        m.summary().toString();
        if (runNo++ >= 1) cpu.push(+(cpuNow() - c0).toFixed(3));
        return m;
      },
      { runs: 3, warmup: 1 },
    );
    const m = fit.last;
    ctx.log(`rxLogit iterations ${m.iterations}, deviance ${m.deviance}`);
    results.push(
      row('rxLogit 1M x 28 from xdf, full summary', n, fit.median, {
        times: fit.times,
        cpuSeconds: cpu,
        cpuMedian: median(cpu),
        iterations: m.iterations,
        peakRssMiB: peakRssMiB(),
        loadavg: loadavg().map((x) => +x.toFixed(1)),
      }),
    );
    const py = python(`
import json, time, numpy as np
from sklearn.linear_model import LogisticRegression
D = np.fromfile(${JSON.stringify(bin)}, dtype=np.float64).reshape(-1, ${k + 1})
X, y = D[:, :${k}], D[:, ${k}]
assert np.isin(y, [0.0, 1.0]).all(), 'response is not 0/1'
y = y.astype(np.int8)
ts = []; cs = []
for r in range(3):
    t = time.perf_counter(); c0 = time.process_time()
    c = LogisticRegression(solver='lbfgs', penalty=None, max_iter=1000, tol=1e-10).fit(X, y)
    ts.append(time.perf_counter() - t); cs.append(time.process_time() - c0)
ts.sort(); cs.sort()
# the exact maximum-likelihood estimate (numpy Newton to machine precision, not timed): the
# reference for both fits (lbfgs stops on scipy's default relative objective tolerance,
# which scikit-learn does not expose, about 1e-6 from the MLE on these data)
A = np.hstack([np.ones((len(y), 1)), X]); b = np.zeros(A.shape[1])
for it in range(50):
    mu = 1 / (1 + np.exp(-(A @ b))); d = np.linalg.solve((A * (mu * (1 - mu))[:, None]).T @ A, A.T @ (y - mu)); b += d
    if np.abs(d).max() < 1e-15: break
print(json.dumps({"median": ts[1], "times": ts, "cpuMedian": cs[1], "coef": [float(c.intercept_[0])] + [float(v) for v in c.coef_[0]], "iter": int(c.n_iter_[0]), "mle": [float(v) for v in b]}))
`);
    if (py.skipped) results.push({ name: 'scikit-learn LogisticRegression lbfgs', skipped: py.skipped });
    else {
      const maxDiff = Math.max(...py.coef.map((c, j) => Math.abs(c - m.coefficients[j])));
      const rxVsMle = Math.max(...py.mle.map((c, j) => Math.abs(c - m.coefficients[j])));
      const skVsMle = Math.max(...py.mle.map((c, j) => Math.abs(c - py.coef[j])));
      results.push(
        row('scikit-learn LogisticRegression(lbfgs, penalty=None, tol=1e-10) 1M x 28 in memory', n, py.median, {
          times: py.times,
          iterations: py.iter,
          cpuMedian: py.cpuMedian,
          ratioRxOverSklearn: +(fit.median / py.median).toFixed(2),
          cpuRatioRxOverSklearn: +(median(cpu) / py.cpuMedian).toFixed(2),
          maxAbsCoefDiff: maxDiff,
          maxAbsCoefDiffRxVsMle: rxVsMle,
          maxAbsCoefDiffSklearnVsMle: skVsMle,
        }),
      );
    }
  } finally {
    rmSync(file, { force: true });
    rmSync(bin, { force: true });
  }
  return results;
}
