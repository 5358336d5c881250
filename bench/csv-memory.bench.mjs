// Bounded memory of RxTextData: peak RSS of a child process that reads a ~1 GB and a
// ~4 GB CSV completely in rowsPerRead chunks (and imports each to xdf), which must be
// about equal (memory does not grow with the file). Files are written to os.tmpdir() and
// deleted afterwards; the 4 GB case is skipped cleanly when less than 10 GB is free.
// RXSCALE_BENCH_CSV_ROWS overrides the rows of the 1 GB file (default 12M); the 4 GB file
// is that file's rows written four times.
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, rmSync, statSync, statfsSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { generateCsv } from './gen-csv.mjs';

const root = join(import.meta.dirname, '..');
const child = join(root, 'test', 'data', 'fixtures', 'text-memory-child.mjs');
const dist = join(root, 'dist');
const ROWS_PER_READ = 500_000;

function freeBytes(dir) {
  const s = statfsSync(dir);
  return Number(s.bavail) * Number(s.bsize);
}

function runChild(file, mode) {
  const args = [child, dist, file, String(ROWS_PER_READ), '0'];
  if (mode) args.push(mode);
  const env = { ...process.env, RX_MEM_COLCLASSES: JSON.stringify({ category: 'factor', state: 'factor' }) };
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 20, env });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/** Writes `times` copies of the data rows of `src` (one header) to `dst`. */
async function replicate(src, dst, times) {
  await pipeline(createReadStream(src), createWriteStream(dst));
  const { HEADER } = await import('./gen-csv.mjs');
  for (let k = 1; k < times; k++) {
    await pipeline(createReadStream(src, { start: HEADER.length + 1 }), createWriteStream(dst, { flags: 'a' }));
  }
}

export default async function (ctx) {
  const rows = Number(process.env.RXSCALE_BENCH_CSV_ROWS ?? 12_000_000);
  const dir = tmpdir();
  const f1 = join(dir, `rxscale-mem-${process.pid}-1.csv`);
  const f4 = join(dir, `rxscale-mem-${process.pid}-4.csv`);
  const xdf = join(dir, `rxscale-mem-${process.pid}.xdf`);
  const out = [];
  try {
    if (freeBytes(dir) < 3e9) return [{ name: 'csv-memory', skipped: `less than 3 GB free in ${dir}` }];
    ctx.log(`generating ${rows} rows into ${f1}`);
    generateCsv(f1, rows, 1);
    const cases = [{ label: '1x', file: f1, rows }];
    if (freeBytes(dir) >= 10e9) {
      await replicate(f1, f4, 4);
      cases.push({ label: '4x', file: f4, rows: rows * 4 });
    } else {
      out.push({ name: 'read 4 GB CSV', skipped: `less than 10 GB free in ${dir} (${(freeBytes(dir) / 1e9).toFixed(1)} GB)` });
    }
    for (const c of cases) {
      const mb = statSync(c.file).size / 1e6;
      const load = +loadavg()[0].toFixed(1);
      const r = runChild(c.file);
      if (r.rows !== c.rows) throw new Error(`read ${r.rows} rows of ${c.file}, expected ${c.rows}`);
      out.push({ name: `RxTextData read all chunks (${c.label})`, n: r.rows, mb: +mb.toFixed(1), seconds: +r.seconds.toFixed(1), mbPerSec: +(mb / r.seconds).toFixed(1), peakRssMiB: r.maxRssMiB, rowsPerRead: ROWS_PER_READ, loadAvg1: load });
      ctx.log(JSON.stringify(out.at(-1)));
      const li = +loadavg()[0].toFixed(1);
      try {
        const im = runChild(c.file, `import:${xdf}`);
        if (im.rows !== c.rows) throw new Error(`imported ${im.rows} rows, expected ${c.rows}`);
        out.push({ name: `rxImport CSV -> xdf (${c.label})`, n: im.rows, mb: +mb.toFixed(1), seconds: +im.seconds.toFixed(1), mbPerSec: +(mb / im.seconds).toFixed(1), peakRssMiB: im.maxRssMiB, loadAvg1: li });
      } catch (e) {
        out.push({ name: `rxImport CSV -> xdf (${c.label})`, skipped: String(e?.message ?? e).split('\n')[0] });
      } finally {
        rmSync(xdf, { force: true });
      }
      ctx.log(JSON.stringify(out.at(-1)));
    }
    const reads = out.filter((r) => r.name?.startsWith('RxTextData read') && r.peakRssMiB);
    if (reads.length === 2) out.push({ name: 'peak RSS ratio read 4x / 1x (1.0 = bounded)', ratio: +(reads[1].peakRssMiB / reads[0].peakRssMiB).toFixed(2) });
    const imps = out.filter((r) => r.name?.startsWith('rxImport') && r.peakRssMiB);
    if (imps.length === 2) out.push({ name: 'peak RSS ratio import 4x / 1x (1.0 = bounded)', ratio: +(imps[1].peakRssMiB / imps[0].peakRssMiB).toFixed(2) });
  } finally {
    rmSync(f1, { force: true });
    rmSync(f4, { force: true });
    rmSync(xdf, { force: true });
  }
  return out;
}
