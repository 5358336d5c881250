// Shared synthetic data for the summary / crosstabs benchmarks. Every value is a formula of
// the row number i evaluated EXACTLY the same way in JS and in DuckDB SQL (integer
// arithmetic below 2^53, then one correctly rounded division), so both engines see the same
// data without a transfer: numeric column j is
//   x_j[i] = ((i * A_j + B_j) % 1000003) / 1000 + 100 * j      (NULL / NaN where (i * 7 + j) % 101 == 0)
// and factor k has level 'L' || ((i * C_k + D_k) % levels) with `levels` levels.
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const A = [7919, 104729, 1299709, 15485863, 32452843, 49979687, 67867967, 86028121, 104395301, 122949823];
const B = [11, 23, 37, 41, 53, 67, 79, 83, 97, 101];
const C = [48271, 69621];
const D = [3, 5];

export function numericSql(j) {
  return `CASE WHEN (i * 7 + ${j}) % 101 = 0 THEN NULL ELSE ((i * ${A[j]} + ${B[j]}) % 1000003) / 1000.0 + ${100 * j} END AS x${j}`;
}
export function factorSql(k, levels) {
  return `'L' || CAST((i * ${C[k]} + ${D[k]}) % ${levels} AS VARCHAR) AS f${k}`;
}

/** The same data as an in-memory source (one chunk per `chunkRows`), to time the computation without file reading. */
export async function memoryData(root, { rows, nNum, nFac, levels, chunkRows = 500_000 }) {
  const { RxMemoryData } = await import(pathToFileURL(join(root, 'dist', 'lib', 'data', 'memory.js')).href);
  const levelNames = Array.from({ length: levels }, (_, k) => `L${k}`);
  const cols = {};
  for (let j = 0; j < nNum; j++) {
    const x = new Float64Array(rows);
    for (let i = 0; i < rows; i++) x[i] = (i * 7 + j) % 101 === 0 ? Number.NaN : ((i * A[j] + B[j]) % 1000003) / 1000 + 100 * j;
    cols[`x${j}`] = x;
  }
  for (let k = 0; k < nFac; k++) {
    const c = new Int32Array(rows);
    for (let i = 0; i < rows; i++) c[i] = (i * C[k] + D[k]) % levels;
    cols[`f${k}`] = { type: 'factor', data: c, levels: levelNames };
  }
  return new RxMemoryData(cols, { rowsPerRead: chunkRows });
}

/** Writes an xdf file with `rows` rows: `nNum` numeric columns and `nFac` factors of `levels` levels. */
export async function writeXdf(root, { rows, nNum, nFac, levels, chunkRows = 500_000 }) {
  let xdfMod;
  try {
    xdfMod = await import(pathToFileURL(join(root, 'dist', 'lib', 'data', 'xdf.js')).href);
  } catch {
    return null;
  }
  const file = join(tmpdir(), `rxscale-bench-summary-${process.pid}-${nNum}-${nFac}.xdf`);
  const levelNames = Array.from({ length: levels }, (_, k) => `L${k}`);
  const columns = [
    ...Array.from({ length: nNum }, (_, j) => ({ name: `x${j}`, type: 'float64' })),
    ...Array.from({ length: nFac }, (_, k) => ({ name: `f${k}`, type: 'factor', levels: levelNames })),
  ];
  const w = await new xdfMod.RxXdfData(file).open({ columns }, { overwrite: true });
  for (let start = 0; start < rows; start += chunkRows) {
    const n = Math.min(chunkRows, rows - start);
    const cols = {};
    for (let j = 0; j < nNum; j++) {
      const x = new Float64Array(n);
      for (let r = 0; r < n; r++) {
        const i = start + r;
        x[r] = (i * 7 + j) % 101 === 0 ? Number.NaN : ((i * A[j] + B[j]) % 1000003) / 1000 + 100 * j;
      }
      cols[`x${j}`] = { type: 'float64', data: x };
    }
    for (let k = 0; k < nFac; k++) {
      const c = new Int32Array(n);
      for (let r = 0; r < n; r++) c[r] = ((start + r) * C[k] + D[k]) % levels;
      cols[`f${k}`] = { type: 'factor', data: c, levels: levelNames };
    }
    await w.write({ numRows: n, startRow: start, names: columns.map((c) => c.name), columns: cols });
  }
  await w.close();
  return { file, source: new xdfMod.RxXdfData(file), cleanup: () => rmSync(file, { force: true }) };
}

export async function duckTable(rows, nNum, nFac, levels) {
  let duck;
  try {
    duck = await import('@duckdb/node-api');
  } catch (e) {
    return { skipped: `@duckdb/node-api unavailable: ${e.message}` };
  }
  const inst = await duck.DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  const cols = [...Array.from({ length: nNum }, (_, j) => numericSql(j)), ...Array.from({ length: nFac }, (_, k) => factorSql(k, levels))];
  await con.run(`CREATE TABLE t AS SELECT ${cols.join(', ')} FROM (SELECT range AS i FROM range(${rows}))`);
  // factors as ENUM (DuckDB's dictionary type), like rxscale's factor codes
  const enumVals = Array.from({ length: levels }, (_, k) => `'L${k}'`).join(', ');
  await con.run(`CREATE TYPE lv AS ENUM (${enumVals})`);
  for (let k = 0; k < nFac; k++) await con.run(`ALTER TABLE t ALTER f${k} TYPE lv`);
  const threads = Number((await (await con.run("SELECT current_setting('threads')")).getRows())[0][0]);
  return { con, inst, threads };
}
