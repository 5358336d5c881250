// The fast paths of rxLinMod / rxLogit give the same answers as the plain ones:
//  - the model matrix is built in cache-sized blocks (a chunk bigger than one block is
//    split): same fit as small chunks that are one block each;
//  - rxLogit keeps the model matrix between IRLS passes (modelMatrixCacheBytes); with the
//    whole matrix cached the in-process context reads the data once; a partial cache and
//    no cache give the same coefficients;
//  - RxXdfData with ChunkOptions.reuseBuffers reads the same values into reused buffers;
//  - RxLocalParallel (cache in the workers) agrees with RxLocalSeq.
// Tolerances: 1e-10 relative where the chunking (summation order) differs, as the
// chunking tests; 1e-12 where only the caching differs (same blocks, same arithmetic).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RxLocalParallel } from '../../lib/compute/parallel.js';
import type { Chunk, ChunkOptions, DataSource } from '../../lib/data/types.js';
import { RxXdfData } from '../../lib/data/xdf.js';
import { designBlockRows } from '../../lib/models/design.js';
import { rxLinMod, rxLogit } from '../../lib/models/index.js';
import { ensureDist } from '../compute/ensure-dist.js';

const N = 6000;
const LEVELS = Array.from({ length: 200 }, (_, i) => `g${i}`);

function makeData() {
  let s = 97;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const x1 = new Float64Array(N);
  const x2 = new Float64Array(N);
  const g = new Int32Array(N);
  const y = new Float64Array(N);
  const b = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    x1[i] = rnd() * 2 - 1;
    x2[i] = rnd() * 2 - 1;
    g[i] = Math.floor(rnd() * LEVELS.length);
    const eta = 0.3 + 0.8 * x1[i]! - 0.5 * x2[i]! + ((g[i]! % 5) - 2) / 4;
    y[i] = eta + rnd() - 0.5;
    b[i] = rnd() < 1 / (1 + Math.exp(-eta)) ? 1 : 0;
  }
  // one missing value, so rows are dropped inside a block
  x2[1234] = Number.NaN;
  return { x1, x2, g, y, b };
}

const D = makeData();
const memory = () => ({ x1: D.x1, x2: D.x2, g: { type: 'factor' as const, data: D.g, levels: LEVELS }, y: D.y, b: D.b });

function rel(a: number[], b: number[]) {
  return Math.max(...a.map((x, i) => (Number.isNaN(x) && Number.isNaN(b[i]!) ? 0 : Math.abs(x - b[i]!) / Math.max(Math.abs(b[i]!), 1e-300))));
}

/** Counts how many passes read the underlying source. */
function counting(src: DataSource): DataSource & { reads: number } {
  const out = {
    kind: src.kind,
    reads: 0,
    schema: () => src.schema(),
    chunks(opts?: ChunkOptions): AsyncIterable<Chunk> {
      out.reads++;
      return src.chunks(opts);
    },
  };
  return out;
}

let dir: string;
let xdf: RxXdfData;
let par: RxLocalParallel | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rxscale-fastpaths-'));
  xdf = new RxXdfData(join(dir, 'd.xdf'));
  const schema = {
    columns: [
      { name: 'x1', type: 'float64' as const },
      { name: 'x2', type: 'float64' as const },
      { name: 'g', type: 'factor' as const, levels: LEVELS },
      { name: 'y', type: 'float64' as const },
      { name: 'b', type: 'float64' as const },
    ],
    numRows: N,
  };
  const w = await xdf.open(schema, { overwrite: true });
  const m = memory();
  for (let start = 0; start < N; start += 2500) {
    const e = Math.min(N, start + 2500);
    await w.write({
      numRows: e - start,
      startRow: start,
      names: ['x1', 'x2', 'g', 'y', 'b'],
      columns: {
        x1: { type: 'float64', data: m.x1.subarray(start, e) },
        x2: { type: 'float64', data: m.x2.subarray(start, e) },
        g: { type: 'factor', data: m.g.data.subarray(start, e), levels: LEVELS },
        y: { type: 'float64', data: m.y.subarray(start, e) },
        b: { type: 'float64', data: m.b.subarray(start, e) },
      },
    });
  }
  await w.close();
});

afterAll(async () => {
  await par?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('rxLinMod / rxLogit fast paths', () => {
  it('the test data spans several design blocks per chunk', () => {
    // 1 + 2 + 199 columns: a 6000-row chunk is built as 3 blocks
    expect(designBlockRows(202)).toBeLessThan(N / 2);
    expect(designBlockRows(202)).toBeGreaterThan(700);
  });

  it('rxLinMod: blocks of one big chunk = small chunks; xdf (reused buffers) = memory', async () => {
    const one = await rxLinMod('y ~ x1 + x2 + g', memory());
    const small = await rxLinMod('y ~ x1 + x2 + g', memory(), { rowsPerRead: 700 });
    const fromXdf = await rxLinMod('y ~ x1 + x2 + g', xdf);
    const fromXdfSmall = await rxLinMod('y ~ x1 + x2 + g', xdf, { rowsPerRead: 999 });
    expect(one.nValidObs).toBe(N - 1);
    expect(one.nMissingObs).toBe(1);
    // (200 sparse indicator columns: condition number > 1e4, so the QR and refinement passes run on blocks too)
    expect(one.solver).toBe('refine');
    for (const m of [small, fromXdf, fromXdfSmall]) {
      expect(rel(m.coefficients, one.coefficients)).toBeLessThan(1e-10);
      expect(rel(m.stdErrors, one.stdErrors)).toBeLessThan(1e-10);
      expect(Math.abs(m.rSquared - one.rSquared)).toBeLessThan(1e-12);
      expect(m.nValidObs).toBe(N - 1);
    }
  });

  it('rxLogit: whole / partial / no model-matrix cache give the same fit; a whole cache reads the data once', async () => {
    const whole = counting(xdf);
    const a = await rxLogit('b ~ x1 + x2 + g', whole, { rowsPerRead: 1000 });
    expect(a.iterations).toBeGreaterThan(2);
    expect(whole.reads).toBe(1);
    const none = counting(xdf);
    const b = await rxLogit('b ~ x1 + x2 + g', none, { rowsPerRead: 1000, modelMatrixCacheBytes: 0 });
    expect(none.reads).toBe(b.iterations + 1);
    // about 1.6 MB of design per 1000-row chunk: 3 chunks fit, the other 3 are rebuilt
    const part = counting(xdf);
    const c = await rxLogit('b ~ x1 + x2 + g', part, { rowsPerRead: 1000, modelMatrixCacheBytes: 5e6 });
    expect(part.reads).toBe(c.iterations + 1);
    for (const m of [b, c]) {
      expect(m.iterations).toBe(a.iterations);
      expect(rel(m.coefficients, a.coefficients)).toBeLessThan(1e-12);
      expect(rel(m.stdErrors, a.stdErrors)).toBeLessThan(1e-12);
      expect(Math.abs(m.deviance - a.deviance) / a.deviance).toBeLessThan(1e-12);
      expect(Math.abs(m.aic - a.aic) / a.aic).toBeLessThan(1e-12);
    }
    // one big in-memory chunk (3 blocks) agrees to rounding
    const mem = await rxLogit('b ~ x1 + x2 + g', memory());
    expect(rel(mem.coefficients, a.coefficients)).toBeLessThan(1e-10);
    expect(Math.abs(mem.nullDeviance - a.nullDeviance) / a.nullDeviance).toBeLessThan(1e-10);
    expect(mem.nValidObs).toBe(N - 1);
  });

  it('rxLogit: bad response values are still caught on the fused path (row named)', async () => {
    const m = memory();
    const bb = Float64Array.from(m.b);
    bb[4321] = 2;
    await expect(rxLogit('b ~ x1 + x2', { ...m, b: bb }, { initialValues: [0, 0, 0] })).rejects.toMatchObject({ code: 'RX_MODEL', row: 4322 });
  });

  it('RxXdfData reuseBuffers: same values as plain reads, also on a second pass', async () => {
    const plain: number[] = [];
    for await (const ch of xdf.chunks({ columns: ['x2', 'g'], rowsPerRead: 800 })) {
      const x = ch.columns.x2!.data as Float64Array;
      const g = ch.columns.g!.data as Int32Array;
      for (let i = 0; i < ch.numRows; i++) plain.push(x[i]!, g[i]!);
    }
    for (let pass = 0; pass < 2; pass++) {
      const got: number[] = [];
      for await (const ch of xdf.chunks({ columns: ['x2', 'g'], rowsPerRead: 800, reuseBuffers: true })) {
        const x = ch.columns.x2!.data as Float64Array;
        const g = ch.columns.g!.data as Int32Array;
        for (let i = 0; i < ch.numRows; i++) got.push(x[i]!, g[i]!);
      }
      expect(got).toEqual(plain);
    }
  });

  it('RxLocalParallel (model-matrix cache in the workers) agrees with RxLocalSeq', async () => {
    ensureDist(['lib']);
    par = new RxLocalParallel({ numWorkers: 2 });
    const seq = await rxLogit('b ~ x1 + x2 + g', xdf, { rowsPerRead: 1000 });
    const p = await rxLogit('b ~ x1 + x2 + g', xdf, { rowsPerRead: 1000, computeContext: par });
    expect(p.iterations).toBe(seq.iterations);
    expect(rel(p.coefficients, seq.coefficients)).toBeLessThan(1e-10);
    expect(rel(p.stdErrors, seq.stdErrors)).toBeLessThan(1e-10);
    const lm = await rxLinMod('y ~ x1 + x2 + g', xdf, { rowsPerRead: 1000, computeContext: par });
    const lmSeq = await rxLinMod('y ~ x1 + x2 + g', xdf, { rowsPerRead: 1000 });
    expect(rel(lm.coefficients, lmSeq.coefficients)).toBeLessThan(1e-10);
  }, 120_000);
});
