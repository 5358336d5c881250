// Model-matrix and expression throughput on 5,000,000 rows of 10 numeric columns and one
// 20-level factor (in memory, chunks of 500,000 rows):
//   - buildModelMatrix for `y ~ x1 + ... + x9 + f` (29 columns) with a reused scratch buffer,
//   - evalExpr of a typical transform `ifelse(x1 > 0 & !is.na(x2), log1p(x1) * 2 + x3^2, 0)`,
//   - the same design matrix built by numpy (column_stack + one-hot), when python3 is present.
// Rows are seeded pseudo-random numbers; medians of 3 runs.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { python, row, timeIt } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dist = (p) => import(pathToFileURL(join(here, '..', 'dist', 'lib', p)).href);

export default async function formulaBench(ctx) {
  const { RxMemoryData } = await dist('data/memory.js');
  const { createModelSpec, buildModelMatrix } = await dist('formula/index.js');
  const { evalExpr } = await dist('expr/index.js');
  const n = 5_000_000;
  let s = 12345;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
  const table = {};
  for (let j = 0; j < 10; j++) {
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = rnd();
    table[`x${j}`] = a;
  }
  const codes = new Int32Array(n);
  for (let i = 0; i < n; i++) codes[i] = Math.floor((rnd() + 0.5) * 20);
  table.f = { type: 'factor', data: codes, levels: Array.from({ length: 20 }, (_, i) => `L${i}`) };
  table.y = table.x0;
  const src = new RxMemoryData(table, { rowsPerRead: 500_000 });
  const spec = await createModelSpec('y ~ x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + f', src);
  ctx.log(`p = ${spec.p}`);
  const scratch = {};
  const mm = await timeIt(
    async () => {
      let rows = 0;
      for await (const ch of src.chunks()) rows += buildModelMatrix(spec, ch, { scratch }).n;
      return rows;
    },
    { runs: 3, warmup: 1 },
  );
  const ex = await timeIt(
    async () => {
      let k = 0;
      for await (const ch of src.chunks({ columns: ['x1', 'x2', 'x3'] })) k += evalExpr('ifelse(x1 > 0 & !is.na(x2), log1p(x1) * 2 + x3^2, 0)', ch).data.length;
      return k;
    },
    { runs: 3, warmup: 1 },
  );
  const results = [
    row('buildModelMatrix 5M x 29 (10 numeric + 20-level factor)', n, mm.median, { rowsPerSecond: Math.round(n / mm.median), times: mm.times }),
    row('evalExpr ifelse/log1p/^ over 5M rows', n, ex.median, { rowsPerSecond: Math.round(n / ex.median), times: ex.times }),
  ];
  const py = python(`
import json, time, numpy as np
n = ${n}
rng = np.random.default_rng(1)
X = rng.random((n, 10)) - 0.5
f = rng.integers(0, 20, n)
ts = []
for r in range(3):
    t = time.perf_counter()
    D = np.empty((n, 29))
    D[:, 0] = 1.0
    D[:, 1:10] = X[:, 1:10]
    D[:, 10:29] = (f[:, None] == np.arange(19)[None, :])
    ts.append(time.perf_counter() - t)
ts.sort()
print(json.dumps({"median": ts[1], "times": ts}))
`);
  if (py.skipped) results.push({ name: 'numpy design matrix', skipped: py.skipped });
  else results.push(row('numpy design matrix 5M x 29 (same layout, row-major)', n, py.median, { times: py.times, ratioRxOverNumpy: +(mm.median / py.median).toFixed(2) }));
  return results;
}
