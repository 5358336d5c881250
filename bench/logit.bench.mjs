// rxLogit on 1,000,000 rows x 28 numeric predictors read from an RxXdfData file (written
// first into os.tmpdir(), chunks of 250,000 rows), full summary, versus scikit-learn
// LogisticRegression(solver='lbfgs', penalty=None) on the same data (read from a CSV copy
// written once, not timed) via /usr/bin/python3 when present. Reports medians of 3 runs,
// the ratio, the largest coefficient difference, and peak RSS.
import { createWriteStream, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { peakRssMiB, python, row, timeIt } from './lib.mjs';

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
  const raw = createWriteStream(bin);
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
    await new Promise((res) => raw.write(Buffer.from(rowMajor.buffer), res));
  }
  await w.close();
  await new Promise((res) => raw.end(res));
  const formula = `y ~ ${names.slice(0, k).join(' + ')}`;
  const results = [];
  try {
    const src = new RxXdfData(file);
    const fit = await timeIt(
      async () => {
        const m = await rxLogit(formula, src);
        m.summary().toString();
        return m;
      },
      { runs: 3, warmup: 1 },
    );
    const m = fit.last;
    ctx.log(`rxLogit iterations ${m.iterations}, deviance ${m.deviance}`);
    results.push(row('rxLogit 1M x 28 from xdf, full summary', n, fit.median, { times: fit.times, iterations: m.iterations, peakRssMiB: peakRssMiB() }));
    const py = python(`
import json, time, numpy as np
from sklearn.linear_model import LogisticRegression
D = np.fromfile(${JSON.stringify(bin)}, dtype=np.float64).reshape(-1, ${k + 1})
X, y = D[:, :${k}], D[:, ${k}]
ts = []
for r in range(3):
    t = time.perf_counter()
    c = LogisticRegression(solver='lbfgs', penalty=None, max_iter=1000, tol=1e-10).fit(X, y)
    ts.append(time.perf_counter() - t)
ts.sort()
print(json.dumps({"median": ts[1], "times": ts, "coef": [float(c.intercept_[0])] + [float(v) for v in c.coef_[0]], "iter": int(c.n_iter_[0])}))
`);
    if (py.skipped) results.push({ name: 'scikit-learn LogisticRegression lbfgs', skipped: py.skipped });
    else {
      const maxDiff = Math.max(...py.coef.map((c, j) => Math.abs(c - m.coefficients[j])));
      results.push(
        row('scikit-learn LogisticRegression(lbfgs, penalty=None, tol=1e-10) 1M x 28 in memory', n, py.median, {
          times: py.times,
          iterations: py.iter,
          ratioRxOverSklearn: +(fit.median / py.median).toFixed(2),
          maxAbsCoefDiff: maxDiff,
        }),
      );
    }
  } finally {
    rmSync(file, { force: true });
    rmSync(bin, { force: true });
  }
  return results;
}
