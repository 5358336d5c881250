// RxLocalParallel: the PEMA contract across worker threads. Accumulators under test live
// in fixtures/accumulators.mjs (plain JS, because workers import compiled code).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAccumulator } from '../../lib/compute/run.js';
import { RxLocalSeq } from '../../lib/compute/context.js';
import { RxLocalParallel } from '../../lib/compute/parallel.js';
import { registerAccumulatorModule } from '../../lib/compute/pema.js';
import { rxExec, rxExecBy } from '../../lib/compute/exec.js';
import { TransientChunkSource } from '../../lib/compute/transient.js';
import { RxMemoryData } from '../../lib/data/memory.js';
import { RxXdfData } from '../../lib/data/xdf.js';
import type { Chunk, ChunkOptions, DataSource, Schema } from '../../lib/data/types.js';
import { isRxError } from '../../lib/errors.js';
import { ensureDist } from './ensure-dist.js';
// seeded generator (mulberry32) so every failure reproduces
import { mulberry32 as rng } from '../../lib/ml/rng.js';

const fixtureUrl = new URL('./fixtures/accumulators.mjs', import.meta.url).href;
const tasksUrl = new URL('./fixtures/tasks.mjs', import.meta.url).href;


function makeData(n: number, seed: number): RxMemoryData {
  const r = rng(seed);
  const x = new Float64Array(n);
  const y = new Int32Array(n);
  const z = new Float32Array(n);
  const f: Array<string | null> = [];
  for (let i = 0; i < n; i++) {
    // Box-Muller normal around 10 with sd 3; every 17th value missing.
    const u = Math.max(r(), 1e-12);
    x[i] = i % 17 === 5 ? Number.NaN : 10 + 3 * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
    y[i] = Math.floor(r() * 200) - 100;
    z[i] = r() * 5;
    f.push(i % 23 === 0 ? null : ['a', 'b', 'c', 'd'][Math.floor(r() * 4)]!);
  }
  return new RxMemoryData({ x, y, z, f });
}

function relClose(a: number, b: number, tol: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  return Math.abs(a - b) <= tol * Math.max(Math.abs(a), Math.abs(b));
}

const seq = new RxLocalSeq();
let par: RxLocalParallel;
let acc: Record<string, any>;

beforeAll(async () => {
  ensureDist();
  acc = await import(fixtureUrl);
  registerAccumulatorModule(fixtureUrl);
  par = new RxLocalParallel({ numWorkers: 3 });
});

afterAll(async () => {
  await par?.close();
});

describe('RxLocalParallel vs RxLocalSeq', () => {
  it('gives the same results over random chunkings (moments, X\'X, factor counts)', async () => {
    const data = makeData(3000, 42);
    const r = rng(7);
    for (let trial = 0; trial < 8; trial++) {
      const rowsSeq = 1 + Math.floor(r() * 1500);
      const rowsPar = trial === 0 ? 1 : 1 + Math.floor(r() * 1500); // trial 0: one row per chunk
      const o = { reportProgress: 0 as const };
      const cols = ['x', 'y', 'z'];
      const ms = await runAccumulator(acc.moments, { cols }, data, { ...o, computeContext: seq, rowsPerRead: rowsSeq });
      const mp = await runAccumulator(acc.moments, { cols }, data, { ...o, computeContext: par, rowsPerRead: rowsPar });
      for (let j = 0; j < cols.length; j++) {
        // Counts, min, max and the integer column's sum are exact; float sums and Welford
        // moments differ only by summation order: 1e-12 relative is ~100x the rounding
        // error of 3000 terms of this size.
        expect(mp[j].n).toBe(ms[j].n);
        expect(mp[j].min).toBe(ms[j].min);
        expect(mp[j].max).toBe(ms[j].max);
        if (cols[j] === 'y') expect(mp[j].sum).toBe(ms[j].sum);
        for (const k of ['sum', 'mean', 'variance'])
          expect(relClose(mp[j][k], ms[j][k], 1e-12), `${cols[j]}.${k} trial ${trial}: ${mp[j][k]} vs ${ms[j][k]}`).toBe(true);
      }
      const xs = await runAccumulator(acc.crossprod, { cols: ['x', 'y'] }, data, { ...o, computeContext: seq, rowsPerRead: rowsSeq });
      const xp = await runAccumulator(acc.crossprod, { cols: ['x', 'y'] }, data, { ...o, computeContext: par, rowsPerRead: rowsPar });
      expect(xp.n).toBe(xs.n);
      xs.xtx.forEach((v: number, k: number) => {
        expect(relClose(xp.xtx[k], v, 1e-12), `xtx[${k}]`).toBe(true);
      });
      // Integer entries (1'1, 1'y, y'y) are exact.
      for (const k of [0, 2, 6, 8]) expect(xp.xtx[k]).toBe(xs.xtx[k]);
      const fs = await runAccumulator(acc.levelCounts, { col: 'f' }, data, { ...o, computeContext: seq, rowsPerRead: rowsSeq });
      const fp = await runAccumulator(acc.levelCounts, { col: 'f' }, data, { ...o, computeContext: par, rowsPerRead: rowsPar });
      expect(fp).toEqual(fs);
    }
  });

  it('native X\'X (BLAS kernel in each worker) matches RxLocalSeq over random chunkings', async () => {
    // npm test builds the addon first, so its absence is a failure, not a reason to skip
    expect(acc.nativeAvailable()).toBe(true);
    const data = makeData(3000, 11);
    const r = rng(99);
    for (let trial = 0; trial < 4; trial++) {
      const a = await runAccumulator(acc.nativeXtx, {}, data, { computeContext: seq, rowsPerRead: 1 + Math.floor(r() * 1500), reportProgress: 0 });
      const b = await runAccumulator(acc.nativeXtx, {}, data, { computeContext: par, rowsPerRead: 1 + Math.floor(r() * 1500), reportProgress: 0 });
      expect(b.n).toBe(a.n);
      expect(b.yty).toBe(a.yty); // integer y: exact
      // Sums of ~3000 products in different orders: 1e-12 relative is far above rounding.
      [...a.xtx, ...a.xty].forEach((v: number, k: number) => {
        expect(relClose([...b.xtx, ...b.xty][k], v, 1e-12), `entry ${k}`).toBe(true);
      });
    }
  });

  it('reports progress for chunks processed in the workers', async () => {
    const out: string[] = [];
    const stream = { isTTY: true, columns: 80, write: (x: string) => out.push(x) };
    await runAccumulator(acc.moments, { cols: ['y'] }, makeData(1000, 2), { computeContext: par, rowsPerRead: 300, reportProgress: 3, progressStream: stream, label: 'par' });
    const detail = out.filter((l) => l.includes('Rows Read'));
    expect(detail).toHaveLength(4);
    expect(detail[3]).toMatch(/^par: Rows Read: \d+, Total Rows Processed: 1,000, Total Chunk Time: [\d.]+ seconds\n$/);
    expect(out[4]).toMatch(/^par: Rows Processed: 1,000, Total Time: /);
  });

  it('is bit-for-bit reproducible for a fixed chunking (merge order does not depend on scheduling)', async () => {
    const data = makeData(4000, 3);
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await runAccumulator(acc.moments, { cols: ['x', 'z'] }, data, { computeContext: par, rowsPerRead: 97, reportProgress: 0 }));
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
  });

  it('runs multi-pass accumulators (finalize returns a new spec) in the workers', async () => {
    const data = new RxMemoryData({ v: Float64Array.from({ length: 1000 }, (_, i) => i % 10) });
    const r = await runAccumulator(acc.twoPass, { col: 'v' }, data, { computeContext: par, rowsPerRead: 64, reportProgress: 0 });
    expect(r.mean).toBe(4.5);
    expect(r.ss).toBe(100 * (4.5 ** 2 + 3.5 ** 2 + 2.5 ** 2 + 1.5 ** 2 + 0.5 ** 2) * 2);
  });

  it('handles empty data and fewer chunks than workers', async () => {
    const empty = new RxMemoryData({ x: new Float64Array(0), y: new Int32Array(0), z: new Float32Array(0) });
    const r0 = await runAccumulator(acc.moments, { cols: ['x'] }, empty, { computeContext: par, reportProgress: 0 });
    expect(r0[0].n).toBe(0);
    const one = new RxMemoryData({ x: [1, 2, 3] });
    const r1 = await runAccumulator(acc.moments, { cols: ['x'] }, one, { computeContext: par, reportProgress: 0 });
    expect(r1[0]).toMatchObject({ n: 3, sum: 6, mean: 2, variance: 1 });
  });

  it('copies views of in-memory data (the source stays intact) and transfers owned chunks', async () => {
    const data = makeData(500, 9);
    const x = data.columns.x!.data as Float64Array;
    await runAccumulator(acc.moments, { cols: ['x'] }, data, { computeContext: par, rowsPerRead: 100, reportProgress: 0 });
    expect(x.byteLength).toBe(500 * 8);
    // A source whose chunks own fresh buffers: they are moved (detached here) to the workers.
    const sent: Float64Array[] = [];
    const owned: DataSource = {
      kind: 'test',
      async schema(): Promise<Schema> {
        return { columns: [{ name: 'x', type: 'float64' }], numRows: 1000 };
      },
      async *chunks(_o?: ChunkOptions): AsyncIterable<Chunk> {
        for (let b = 0; b < 1000; b += 250) {
          const arr = Float64Array.from({ length: 250 }, (_, i) => b + i);
          sent.push(arr);
          yield { numRows: 250, startRow: b, names: ['x'], columns: { x: { type: 'float64', data: arr } }, owned: true };
        }
      },
    };
    const r = await runAccumulator(acc.moments, { cols: ['x'] }, owned, { computeContext: par, reportProgress: 0 });
    expect(r[0].sum).toBe((999 * 1000) / 2);
    expect(sent.every((a) => a.byteLength === 0)).toBe(true);
  });

  it('workers read their own chunks of an xdf file: the same result as chunks sent from the main thread', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rxscale-par-xdf-'));
    try {
      const data = makeData(3000, 11);
      const xdf = new RxXdfData(join(dir, 'd.arrow'));
      const w = await xdf.open({ columns: [{ name: 'x', type: 'float64' }, { name: 'y', type: 'int32' }, { name: 'z', type: 'float32' }] }, { overwrite: true });
      for await (const ch of data.chunks({ columns: ['x', 'y', 'z'], rowsPerRead: 400 })) await w.write(ch);
      await w.close();
      // a plain wrapper hides the file: the main thread reads and ships every chunk
      const shipped: DataSource = { kind: 'test', schema: () => xdf.schema(), chunks: (o?: ChunkOptions) => xdf.chunks(o) };
      const spec = { cols: ['x', 'y', 'z'] };
      for (const rowsPerRead of [97, 400, 1000, undefined]) {
        const o = { computeContext: par, ...(rowsPerRead === undefined ? {} : { rowsPerRead }), reportProgress: 0 as const };
        const viaShip = await runAccumulator(acc.moments, spec, shipped, o);
        expect(await runAccumulator(acc.moments, spec, xdf, o)).toEqual(viaShip);
        expect(await runAccumulator(acc.moments, spec, new TransientChunkSource(xdf), o)).toEqual(viaShip);
        const s = await runAccumulator(acc.moments, spec, xdf, { ...o, computeContext: seq });
        expect(s[1].n).toBe(3000); // y has no missing values: every row was read
        // and RxLocalSeq's to rounding
        viaShip.forEach((r: { n: number; min: number; max: number; mean: number; variance: number }, j: number) => {
          expect([r.n, r.min, r.max]).toEqual([s[j].n, s[j].min, s[j].max]);
          expect(relClose(r.mean, s[j].mean, 1e-12) && relClose(r.variance, s[j].variance, 1e-10)).toBe(true);
        });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a transient pass (TransientChunkSource) recycles the buffers sent to workers: same results, source intact', async () => {
    const data = makeData(4000, 12);
    const before = (data.columns.x!.data as Float64Array).slice();
    const spec = { cols: ['x', 'y', 'z'] };
    for (const rowsPerRead of [97, 1000]) {
      const o = { computeContext: par, rowsPerRead, reportProgress: 0 as const };
      const plain = await runAccumulator(acc.moments, spec, data, o);
      expect(await runAccumulator(acc.moments, spec, new TransientChunkSource(data), o)).toEqual(plain);
    }
    expect(data.columns.x!.data).toEqual(before);
  });

  it('handles factor levels that grow chunk by chunk (prefix rule) and string columns', async () => {
    const levelSource = (): DataSource => ({
      kind: 'test',
      async schema(): Promise<Schema> {
        return { columns: [{ name: 'f', type: 'factor' }, { name: 's', type: 'string' }] };
      },
      async *chunks(): AsyncIterable<Chunk> {
        const r = rng(21);
        const levels: string[] = [];
        for (let k = 0; k < 12; k++) {
          levels.push(`L${k}`);
          const lv = [...levels]; // each chunk's levels extend the previous chunk's
          const n = 5 + k * 3;
          const codes = Int32Array.from({ length: n }, () => Math.floor(r() * lv.length));
          const valid = Uint8Array.from({ length: n }, (_, i) => (i % 9 === 4 ? 0 : 1));
          const str = Array.from({ length: n }, (_, i) => (i % 4 === 0 ? null : `s${Math.floor(r() * 3)}`));
          yield { numRows: n, startRow: 0, names: ['f', 's'], columns: { f: { type: 'factor', data: codes, levels: lv, valid }, s: { type: 'string', data: str } }, owned: true };
        }
      },
    });
    const o = { reportProgress: 0 as const };
    for (const col of ['f', 's']) {
      const a = await runAccumulator(acc.levelCounts, { col }, levelSource(), { ...o, computeContext: seq });
      const b = await runAccumulator(acc.levelCounts, { col }, levelSource(), { ...o, computeContext: par });
      expect(b).toEqual(a);
      expect(Object.values(a as Record<string, number>).reduce((x, y) => x + y, 0)).toBe(12 * 5 + 3 * 66);
    }
  });

  it('rejects with the worker\'s RxError (code, message, row) and keeps working afterwards', async () => {
    const data = makeData(1000, 1);
    const err = await runAccumulator(acc.failing, { failAtRow: 777 }, data, { computeContext: par, rowsPerRead: 50, reportProgress: 0 }).catch((e) => e);
    expect(isRxError(err, 'RX_PARSE')).toBe(true);
    expect(err.message).toBe('bad value at row 778');
    expect(err.row).toBe(778);
    expect(err.column).toBe('x');
    const ok = await runAccumulator(acc.failing, { failAtRow: -1 }, data, { computeContext: par, rowsPerRead: 50, reportProgress: 0 });
    expect(ok).toBe(1000);
  });

  it('names the fix when an accumulator is not registered in the workers', async () => {
    const def = { ...acc.moments, name: 'test.notRegisteredAnywhere' };
    const err = await runAccumulator(def, { cols: ['x'] }, makeData(10, 1), { computeContext: par, reportProgress: 0 }).catch((e) => e);
    expect(isRxError(err, 'RX_ARG')).toBe(true);
    expect(err.message).toMatch(/registerAccumulatorModule/);
  });

  it('cancels: RX_CANCELLED, workers terminated, the next run starts a fresh pool', async () => {
    const ac = new AbortController();
    const data = makeData(2000, 5);
    const p = runAccumulator(acc.slow, { ms: 40 }, data, { computeContext: par, rowsPerRead: 20, signal: ac.signal, reportProgress: 0 });
    setTimeout(() => ac.abort(), 150);
    const err = await p.catch((e) => e);
    expect(isRxError(err, 'RX_CANCELLED')).toBe(true);
    const r = await runAccumulator(acc.moments, { cols: ['y'] }, data, { computeContext: par, reportProgress: 0 });
    expect(r[0].n).toBe(2000);
  });

  it('serializes concurrent runs on one pool; a queued run can be cancelled while it waits', async () => {
    const data = makeData(600, 8);
    const o = { computeContext: par, rowsPerRead: 50, reportProgress: 0 as const };
    const ac = new AbortController();
    const first = runAccumulator(acc.slow, { ms: 10 }, data, o);
    const queued = runAccumulator(acc.moments, { cols: ['y'] }, data, { ...o, signal: ac.signal });
    const third = runAccumulator(acc.moments, { cols: ['y'] }, data, o);
    ac.abort();
    await expect(queued).rejects.toMatchObject({ code: 'RX_CANCELLED' });
    expect(await first).toBe(600);
    expect((await third)[0].n).toBe(600);
  });

  it('limits the native pool to 1 thread while workers run and restores it', async () => {
    let info: typeof import('../../lib/native/info.js');
    try {
      info = await import('../../lib/native/info.js');
      info.rxNativeInfo();
    } catch {
      return; // no native addon in this build: nothing to limit
    }
    const { rxOptions } = await import('../../lib/options.js');
    rxOptions({ numThreads: 2 });
    const seen: number[] = [];
    const src: DataSource = {
      kind: 'test',
      async schema() {
        return { columns: [{ name: 'x', type: 'float64' }] };
      },
      async *chunks() {
        for (let k = 0; k < 3; k++) {
          seen.push(info.rxNativeInfo().threads);
          yield { numRows: 2, startRow: 2 * k, names: ['x'], columns: { x: { type: 'float64' as const, data: new Float64Array([1, 2]) } } };
        }
      },
    };
    await runAccumulator(acc.moments, { cols: ['x'] }, src, { computeContext: par, reportProgress: 0 });
    expect(seen).toEqual([1, 1, 1]);
    expect(info.rxNativeInfo().threads).toBe(2);
  });
});

describe('finding accumulator modules for workers', () => {
  it('records the registering module and maps lib/*.ts sources to dist/lib/*.js', async () => {
    const { registerAccumulator, accumulatorModule } = await import('../../lib/compute/pema.js');
    const { workerModuleFor } = await import('../../lib/compute/parallel.js');
    const { packageRoot } = await import('../../lib/native/loader.js');
    const def = { ...acc.moments, name: 'test.hinted' };
    // Registered from this test file (not under lib/): recorded, but no compiled twin.
    registerAccumulator(def);
    expect(accumulatorModule('test.hinted')).toMatch(/test\/compute\/parallel\.test\.ts$/);
    expect(workerModuleFor('test.hinted')).toBeUndefined();
    registerAccumulator(def, `${packageRoot()}/lib/compute/progress.ts`);
    expect(workerModuleFor('test.hinted')).toBe(pathToFileURL(`${packageRoot()}/dist/lib/compute/progress.js`).href);
    registerAccumulator(def, fixtureUrl);
    expect(workerModuleFor('test.hinted')).toBe(fixtureUrl);
  });
});

describe('rxExec / rxExecBy on RxLocalParallel', () => {
  it('runs module functions in workers, one failure does not stop the rest', async () => {
    const r = await rxExec({ module: tasksUrl, exportName: 'failOdd' }, { elemArgs: [[0], [1], [2], [3], [4]], computeContext: par });
    expect(r.map((t) => t.status)).toEqual(['OK', 'Error', 'OK', 'Error', 'OK']);
    expect(r[2]!.result).toBe(2);
    expect(isRxError(r[1]!.error, 'RX_ARG')).toBe(true);
    expect(r[1]!.error!.message).toBe('task 1 refuses odd numbers');
    const d = await rxExec({ module: tasksUrl }, { args: [2, 3], timesToRun: 3, computeContext: par });
    expect(d.map((t) => t.result)).toEqual([5, 5, 5]);
  });

  it('refuses plain functions (no code is sent to workers)', async () => {
    await expect(rxExec(() => 1, { computeContext: par })).rejects.toMatchObject({ code: 'RX_ARG', message: expect.stringMatching(/module/) });
  });

  it('a task that kills its worker fails alone', async () => {
    const r = await rxExec({ module: tasksUrl, exportName: 'exitThread' }, { timesToRun: 1, computeContext: par });
    expect(r[0]!.status).toBe('Error');
    expect(r[0]!.error!.message).toMatch(/exited unexpectedly/);
    const r2 = await rxExec({ module: tasksUrl, exportName: 'square' }, { elemArgs: [[3], [4], [5]], computeContext: par });
    expect(r2.map((t) => t.result)).toEqual([9, 16, 25]);
  });

  it('cancels a non-waiting job', async () => {
    const job = rxExec({ module: tasksUrl, exportName: 'sleep' }, { elemArgs: [[5000], [5000], [5000]], computeContext: par, wait: false });
    expect(job.status()).toBe('running');
    await new Promise((r) => setTimeout(r, 300)); // tasks are sleeping in the workers now
    expect(job.status()).toBe('running');
    job.cancel();
    expect(job.status()).toBe('cancelled');
    await expect(job.results()).rejects.toMatchObject({ code: 'RX_CANCELLED' });
  });

  it('rxExecBy sends partitions to workers', async () => {
    const data = { g: ['b', 'a', 'b', 'bad', 'a', 'b'], v: [1, 2, 3, 4, 5, 6] };
    const r = await rxExecBy(data, ['g'], { module: tasksUrl, exportName: 'groupStats' }, { computeContext: par, functionArgs: ['v'], reportProgress: 0 });
    expect(r.map((x) => x.keys.g)).toEqual(['a', 'b', 'bad']);
    expect(r[0]).toMatchObject({ status: 'OK', result: { n: 2, mean: 3.5 } });
    expect(r[1]).toMatchObject({ status: 'OK', result: { n: 3, mean: (1 + 3 + 6) / 3 } });
    expect(r[2]!.status).toBe('Error');
    expect(r[2]!.error).toMatchObject({ code: 'RX_MODEL' });
    // Spilled partitions reach the workers as xdf files (opened there as RxXdfData).
    const spilled = await rxExecBy(new RxMemoryData(data, { rowsPerRead: 2 }), ['g'], { module: tasksUrl, exportName: 'groupStats' }, { computeContext: par, functionArgs: ['v'], reportProgress: 0, maxRowsInMemory: 1 });
    expect(spilled.map((x) => [x.keys, x.status, x.result])).toEqual(r.map((x) => [x.keys, x.status, x.result]));
  });
});

