// runAccumulator, RxLocalSeq and compute-context selection (no worker threads here).
import { afterEach, describe, expect, it } from 'vitest';
import { type ComputeContext, RxLocalSeq, rxGetComputeContext, rxSetComputeContext } from '../../lib/compute/context.js';
import type { AccumulatorDef } from '../../lib/compute/pema.js';
import { runAccumulator, runPemaSequential } from '../../lib/compute/run.js';
import { RxMemoryData } from '../../lib/data/memory.js';
import { isRxError } from '../../lib/errors.js';

interface SumState {
  n: number;
  sum: number;
  chunks: number[];
}
// Sum of column `col`, recording chunk sizes (to check rowsPerRead).
const sumDef: AccumulatorDef<{ col: string }, SumState, SumState> = {
  name: 'test.ctx.sum',
  columns: (spec) => [spec.col],
  init: () => ({ n: 0, sum: 0, chunks: [] }),
  process: (spec, s, chunk) => {
    const x = chunk.columns[spec.col]!.data as Float64Array;
    for (let i = 0; i < chunk.numRows; i++) s.sum += x[i]!;
    s.n += chunk.numRows;
    s.chunks.push(chunk.numRows);
    return s;
  },
  merge: (_spec, a, b) => ({ n: a.n + b.n, sum: a.sum + b.sum, chunks: [...a.chunks, ...b.chunks] }),
  finalize: (_spec, s) => ({ done: true, result: s }),
};

// Newton iterations for sqrt(mean(x)): one pass per iteration until converged.
const newtonDef: AccumulatorDef<{ guess: number; iter: number }, { n: number; s: number }, { root: number; iter: number }> = {
  name: 'test.ctx.newton',
  init: () => ({ n: 0, s: 0 }),
  process: (_spec, st, chunk) => {
    const x = chunk.columns.x!.data as Float64Array;
    for (let i = 0; i < chunk.numRows; i++) st.s += x[i]!;
    st.n += chunk.numRows;
    return st;
  },
  merge: (_spec, a, b) => ({ n: a.n + b.n, s: a.s + b.s }),
  finalize: (spec, st) => {
    const target = st.s / st.n;
    const next = 0.5 * (spec.guess + target / spec.guess);
    if (Math.abs(next - spec.guess) < 1e-12) return { done: true, result: { root: next, iter: spec.iter } };
    return { done: false, spec: { guess: next, iter: spec.iter + 1 } };
  },
};

afterEach(() => {
  rxSetComputeContext(new RxLocalSeq());
});

describe('runAccumulator', () => {
  it('accepts an object of columns and honours rowsPerRead', async () => {
    const r = await runAccumulator(sumDef, { col: 'x' }, { x: [1, 2, 3, 4, 5, 6, 7] }, { rowsPerRead: 3, reportProgress: 0 });
    expect(r).toEqual({ n: 7, sum: 28, chunks: [3, 3, 1] });
  });

  it('runs passes until finalize is done', async () => {
    const data = new RxMemoryData({ x: Float64Array.from({ length: 100 }, (_, i) => (i % 2 ? 2 : 6)) }, { rowsPerRead: 30 });
    const r = await runAccumulator(newtonDef, { guess: 1, iter: 1 }, data, { reportProgress: 0 });
    expect(r.root).toBeCloseTo(2, 12);
    expect(r.iter).toBeGreaterThan(3);
  });

  it('keeps runPemaSequential working', async () => {
    const r = await runPemaSequential(sumDef, { col: 'x' }, new RxMemoryData({ x: [1, 2] }));
    expect(r.sum).toBe(3);
  });

  it('uses rxSetComputeContext and a per-call computeContext override', async () => {
    const calls: string[] = [];
    const recording = (name: string): ComputeContext => ({
      name,
      run(def, spec, source, opts) {
        calls.push(`${name}:${def.name}`);
        return new RxLocalSeq().run(def, spec, source, opts);
      },
    });
    expect(rxGetComputeContext().name).toBe('RxLocalSeq');
    const prev = rxSetComputeContext(recording('global'));
    expect(prev.name).toBe('RxLocalSeq');
    expect(rxGetComputeContext().name).toBe('global');
    await runAccumulator(sumDef, { col: 'x' }, { x: [1] }, { reportProgress: 0 });
    await runAccumulator(sumDef, { col: 'x' }, { x: [1] }, { reportProgress: 0, computeContext: recording('local') });
    expect(calls).toEqual(['global:test.ctx.sum', 'local:test.ctx.sum']);
  });

  it('accepts RevoScaleR\'s short names; RxLocalParallel sizes itself from rxOptions().numThreads', async () => {
    await import('../../lib/compute/parallel.js'); // registers 'localpar'
    const { rxOptions } = await import('../../lib/options.js');
    rxSetComputeContext('localpar');
    const lp = rxGetComputeContext();
    expect(lp.name).toBe('RxLocalParallel');
    rxSetComputeContext('local');
    rxSetComputeContext('localpar');
    expect(rxGetComputeContext()).toBe(lp); // one shared instance
    const before = rxOptions().numThreads;
    try {
      rxOptions({ numThreads: 3 });
      expect((lp as unknown as { numWorkers: number }).numWorkers).toBe(3);
    } finally {
      rxOptions({ numThreads: before });
    }
    expect(() => rxSetComputeContext('cluster' as 'local')).toThrow("Expected a compute context or one of 'local', 'localpar' for computeContext but received string \"cluster\"");
  });

  it('rejects bad options with RX_ARG', async () => {
    const data = { x: [1] };
    await expect(runAccumulator(sumDef, { col: 'x' }, data, { rowsPerRead: 0 })).rejects.toMatchObject({ code: 'RX_ARG', message: 'Expected integer >= 1 for rowsPerRead but received number 0' });
    await expect(runAccumulator(sumDef, { col: 'x' }, data, { reportProgress: 5 as 0 })).rejects.toMatchObject({ code: 'RX_ARG' });
    await expect(runAccumulator(sumDef, { col: 'x' }, data, { computeContext: {} as ComputeContext })).rejects.toMatchObject({ code: 'RX_ARG', message: expect.stringMatching(/compute context/) });
    await expect(runAccumulator(sumDef, { col: 'x' }, 42)).rejects.toMatchObject({ code: 'RX_ARG' });
    expect(() => rxSetComputeContext('RxLocalParallel' as unknown as ComputeContext)).toThrow(/compute context/);
  });

  it('stops with RX_CANCELLED when the signal aborts mid-run', async () => {
    const ac = new AbortController();
    const def: AccumulatorDef<{ col: string }, SumState, SumState> = {
      ...sumDef,
      process: (spec, s, chunk) => {
        if (s.chunks.length === 2) ac.abort();
        return sumDef.process(spec, s, chunk) as SumState;
      },
    };
    const err = await runAccumulator(def, { col: 'x' }, { x: Array.from({ length: 100 }, () => 1) }, { rowsPerRead: 10, signal: ac.signal, reportProgress: 0 }).catch((e) => e);
    expect(isRxError(err, 'RX_CANCELLED')).toBe(true);
    const pre = new AbortController();
    pre.abort();
    await expect(runAccumulator(sumDef, { col: 'x' }, { x: [1] }, { signal: pre.signal })).rejects.toMatchObject({ code: 'RX_CANCELLED' });
  });

  it('reports progress to the given stream (rows known from the schema)', async () => {
    const out: string[] = [];
    const stream = { isTTY: true, columns: 80, write: (s: string) => out.push(s) };
    await runAccumulator(sumDef, { col: 'x' }, { x: [1, 2, 3, 4, 5] }, { rowsPerRead: 2, reportProgress: 3, progressStream: stream, label: 'demo' });
    expect(out.slice(0, 3).map((l) => l.replace(/, Total Chunk Time: [\d.]+ seconds/, ''))).toEqual([
      'demo: Rows Read: 2, Total Rows Processed: 2\n',
      'demo: Rows Read: 2, Total Rows Processed: 4\n',
      'demo: Rows Read: 1, Total Rows Processed: 5\n',
    ]);
    expect(out[3]).toMatch(/^demo: Rows Processed: 5, Total Time: [\d.]+ seconds\n$/);
  });
});
