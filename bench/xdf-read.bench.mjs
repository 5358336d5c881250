// Reading one float64 column of a large RxXdfData file into a Float64Array, against
// fs.readFileSync of the same bytes (the column's values written raw to a file) and of the
// whole xdf file. Target: column read within 2x of readFileSync of the same bytes.
// readColumn reads each block's column bytes straight into the result array; the chunked
// path (chunks({ columns }) + copy) is shown for comparison.
// Data: 3 columns (x, y float64; k int32) x ROWS rows, generated into os.tmpdir() and removed.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { row, timeIt } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const ROWS = Number(process.env.XDF_BENCH_ROWS ?? 10_000_000);
const ROWS_PER_BLOCK = 500_000;

export default async function (ctx) {
  const { RxXdfData, RxMemoryData } = await import(pathToFileURL(join(here, '..', 'dist', 'lib', 'index.js')).href);
  const dir = mkdtempSync(join(tmpdir(), 'rx-xdf-bench-'));
  try {
    const x = new Float64Array(ROWS);
    const y = new Float64Array(ROWS);
    const k = new Int32Array(ROWS);
    let s = 12345;
    for (let i = 0; i < ROWS; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      x[i] = s / 2 ** 32;
      y[i] = i * 0.5;
      k[i] = i % 1000;
    }
    const file = join(dir, 'big.xdf');
    const src = new RxMemoryData({ x, y, k }, { rowsPerRead: ROWS_PER_BLOCK });
    const w = await new RxXdfData(file).open(await src.schema(), {});
    for await (const ch of src.chunks()) await w.write(ch);
    await w.close();
    const raw = join(dir, 'x.bin');
    writeFileSync(raw, new Uint8Array(x.buffer));
    ctx.log(`xdf ${(statSync(file).size / 2 ** 20).toFixed(0)} MiB, column ${(statSync(raw).size / 2 ** 20).toFixed(0)} MiB, ${ROWS} rows`);

    const readColumn = async () => {
      const col = await new RxXdfData(file).readColumn('x');
      if (col.data.length !== ROWS || col.data[ROWS - 1] !== x[ROWS - 1]) throw new Error('column read mismatch');
      return col.data;
    };
    const readChunks = async () => {
      const out = new Float64Array(ROWS);
      let at = 0;
      for await (const ch of new RxXdfData(file).chunks({ columns: ['x'] })) {
        out.set(ch.columns.x.data, at);
        at += ch.numRows;
      }
      if (at !== ROWS || out[ROWS - 1] !== x[ROWS - 1]) throw new Error('column read mismatch');
      return out;
    };
    const readRaw = () => {
      const b = readFileSync(raw);
      return new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8);
    };
    // warm the page cache for all three (the comparison is CPU + memory bandwidth, not disk)
    await readColumn();
    readRaw();
    readFileSync(file);
    const col = await timeIt(readColumn, { runs: 3 });
    const chunked = await timeIt(readChunks, { runs: 3 });
    const rawT = await timeIt(readRaw, { runs: 3 });
    const whole = await timeIt(() => readFileSync(file), { runs: 3 });
    const mb = (ROWS * 8) / 1e6;
    const ratio = col.median / rawT.median;
    ctx.log(`column ${col.median.toFixed(3)}s, readFileSync(same bytes) ${rawT.median.toFixed(3)}s -> ratio ${ratio.toFixed(2)} (target <= 2)`);
    return [
      row('xdf column -> Float64Array', ROWS, col.median, { times: col.times, MBps: +(mb / col.median).toFixed(0), ratioToReadFileSync: +ratio.toFixed(2) }),
      row('xdf chunks({columns}) copied into one Float64Array', ROWS, chunked.median, { times: chunked.times, MBps: +(mb / chunked.median).toFixed(0) }),
      row('fs.readFileSync (same bytes)', ROWS, rawT.median, { times: rawT.times, MBps: +(mb / rawT.median).toFixed(0) }),
      row('fs.readFileSync (whole xdf, 3 columns)', ROWS, whole.median, { times: whole.times }),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
