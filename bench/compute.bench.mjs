// Compute contexts: the same analyses in RxLocalSeq and RxLocalParallel (worker threads),
// plus the bare dispatch cost of RxLocalParallel (an accumulator that only counts rows).
// Data: 2M rows x 5 float64 columns in memory, chunks of 100k rows, and the same columns
// in an RxXdfData file (batches of 100k rows). For in-memory data RxLocalParallel copies
// each chunk once (views into the caller's arrays cannot be transferred; the summaries'
// transient passes copy into buffers the workers hand back, so no fresh memory is touched),
// so it only pays off when processing a chunk costs more than copying it. For the xdf file
// every worker reads its own chunks (nothing is copied or sent between threads).
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerAccumulator } from '../dist/lib/compute/pema.js';
import { RxXdfData } from '../dist/lib/data/xdf.js';
import { RxLocalParallel, RxLocalSeq, registerAccumulatorModule, rxCovCor, rxLogit, rxOptions, rxSummary, runAccumulator } from '../dist/lib/index.js';
import { row, timeIt } from './lib.mjs';

// Registered at import so worker threads (which import this module) find it too.
const countRows = registerAccumulator({
  name: 'bench.countRows',
  columns: () => ['a'],
  init: () => ({ n: 0 }),
  process: (_s, st, chunk) => ({ n: st.n + chunk.numRows }),
  merge: (_s, a, b) => ({ n: a.n + b.n }),
  finalize: (_s, st) => ({ done: true, result: st.n }),
});

function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export default async function (ctx) {
  registerAccumulatorModule(import.meta.url);
  const n = 2_000_000;
  const r = seeded(1);
  const data = {};
  for (const c of ['a', 'b', 'c', 'd']) data[c] = Float64Array.from({ length: n }, () => r() * 10);
  // A binary outcome for rxLogit (IRLS: one pass over the data per iteration).
  data.yes = Float64Array.from({ length: n }, (_, i) => (r() < 1 / (1 + Math.exp(-(0.3 * data.a[i] - 0.2 * data.b[i] + 0.1))) ? 1 : 0));
  const file = join(tmpdir(), `rxscale-bench-compute-${process.pid}.xdf`);
  const xdf = new RxXdfData(file);
  const names = Object.keys(data);
  const wr = await xdf.open({ columns: names.map((name) => ({ name, type: 'float64' })) }, { overwrite: true });
  for (let b = 0; b < n; b += 100_000) {
    const columns = {};
    for (const c of names) columns[c] = { type: 'float64', data: data[c].subarray(b, b + 100_000) };
    await wr.write({ numRows: Math.min(100_000, n - b), startRow: b, names, columns });
  }
  await wr.close();
  const workers = Math.max(2, rxOptions().numThreads);
  const seq = new RxLocalSeq();
  const par = new RxLocalParallel({ numWorkers: workers });
  const o = { rowsPerRead: 100_000, reportProgress: 0 };
  const cases = [
    ['rxCovCor ~ a+b+c+d', (cc) => rxCovCor('~ a + b + c + d', data, { ...o, computeContext: cc })],
    ['rxSummary ~ a+b+c+d', (cc) => rxSummary('~ a + b + c + d', data, { ...o, computeContext: cc })],
    ['rxCovCor ~ a+b+c+d (xdf file)', (cc) => rxCovCor('~ a + b + c + d', xdf, { ...o, computeContext: cc })],
    ['rxLogit yes ~ a+b+c+d', (cc) => rxLogit('yes ~ a + b + c + d', data, { ...o, computeContext: cc })],
    ['count rows (dispatch only)', (cc) => runAccumulator(countRows, {}, data, { ...o, computeContext: cc })],
  ];
  const rows = [];
  try {
    for (const [name, f] of cases) {
      const s = await timeIt(() => f(seq), { runs: 3, warmup: 1 });
      const p = await timeIt(() => f(par), { runs: 3, warmup: 1 });
      ctx.log(`${name}: seq ${s.median.toFixed(3)} s, parallel(${workers}) ${p.median.toFixed(3)} s`);
      rows.push(row(`${name} RxLocalSeq`, n, s.median, { rowsPerSecond: Math.round(n / s.median) }));
      rows.push(row(`${name} RxLocalParallel(${workers})`, n, p.median, { rowsPerSecond: Math.round(n / p.median), speedupVsSeq: +(s.median / p.median).toFixed(2) }));
    }
  } finally {
    await par.close();
    rmSync(file, { force: true });
  }
  return rows;
}
