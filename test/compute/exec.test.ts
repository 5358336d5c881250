// rxExec / rxExecBy / jobs in RxLocalSeq (worker-thread variants: parallel.test.ts).
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { RxLocalSeq } from '../../lib/compute/context.js';
import { rxExec, rxExecBy } from '../../lib/compute/exec.js';
import { rxCancelJob, rxGetJobResults, rxGetJobStatus } from '../../lib/compute/job.js';
import { RxMemoryData } from '../../lib/data/memory.js';
import { type DataSource, isMissing } from '../../lib/data/types.js';
import { RxError, isRxError } from '../../lib/errors.js';
import { ensureDist } from './ensure-dist.js';

const seq = new RxLocalSeq();

beforeAll(() => {
  ensureDist(); // the task fixture imports compiled modules from dist/
});

async function collect(data: DataSource): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for await (const ch of data.chunks()) {
    for (const n of ch.names) {
      const c = ch.columns[n]!;
      // Missing by THE rule (valid byte or NaN), so memory and xdf partitions compare equal.
      const vals = Array.from(c.data as ArrayLike<unknown>, (v, i) => (isMissing(c, i) ? null : c.type === 'factor' ? c.levels![v as number] : v));
      out[n] = [...(out[n] ?? []), ...vals];
    }
  }
  return out;
}

describe('rxExec (RxLocalSeq)', () => {
  it('runs a function once per elemArgs element or timesToRun times', async () => {
    const r = await rxExec((a: number, b: number) => a * b, { elemArgs: [[2, 3], [4, 5]], computeContext: seq });
    expect(r).toEqual([
      { task: 1, status: 'OK', result: 6 },
      { task: 2, status: 'OK', result: 20 },
    ]);
    let calls = 0;
    const t = await rxExec(
      (x: string) => {
        calls++;
        return x;
      },
      { args: ['hi'], timesToRun: 3, computeContext: seq },
    );
    expect(t.map((x) => x.result)).toEqual(['hi', 'hi', 'hi']);
    expect(calls).toBe(3);
  });

  it('one failure does not stop the rest', async () => {
    const r = await rxExec(
      async (i: number) => {
        if (i === 1) throw new RxError('RX_MODEL', 'task one fails');
        if (i === 2) throw 'a string';
        return i * 10;
      },
      { elemArgs: [[0], [1], [2], [3]], computeContext: seq },
    );
    expect(r.map((x) => x.status)).toEqual(['OK', 'Error', 'Error', 'OK']);
    expect(r[3]!.result).toBe(30);
    expect(isRxError(r[1]!.error, 'RX_MODEL')).toBe(true);
    expect(r[2]!.error!.message).toBe('a string');
  });

  it('overlaps async tasks up to execConcurrency', async () => {
    let active = 0;
    let peak = 0;
    const fn = async () => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
    };
    await rxExec(fn, { timesToRun: 6, computeContext: seq });
    expect(peak).toBe(1);
    peak = 0;
    await rxExec(fn, { timesToRun: 6, computeContext: new RxLocalSeq({ execConcurrency: 3 }) });
    expect(peak).toBe(3);
  });

  it('imports module functions in this thread too', async () => {
    const tasks = new URL('./fixtures/tasks.mjs', import.meta.url);
    const r = await rxExec({ module: tasks.href, exportName: 'square' }, { elemArgs: [[7]], computeContext: seq });
    expect(r[0]!.result).toBe(49);
    const bad = await rxExec({ module: tasks.pathname, exportName: 'nope' }, { computeContext: seq });
    expect(bad[0]!.status).toBe('Error');
    expect(bad[0]!.error).toMatchObject({ code: 'RX_ARG', message: expect.stringMatching(/no function export "nope"/) });
  });

  it('rejects bad arguments', () => {
    expect(() => rxExec(42 as unknown as () => void)).toThrow(/Expected a function or \{ module, exportName \}/);
    expect(() => rxExec(() => 1, { elemArgs: [[1]], args: [1] })).toThrow(/not both/);
    expect(() => rxExec(() => 1, { elemArgs: [[1], [2]], timesToRun: 3 })).toThrow(/differs/);
    expect(() => rxExec(() => 1, { elemArgs: [1] as unknown as unknown[][] })).toThrow(/array of argument arrays/);
    expect(() => rxExec(() => 1, { timesToRun: -1 })).toThrow(/timesToRun/);
  });
});

describe('non-waiting jobs', () => {
  it('finish, fail and cancel', async () => {
    const job = rxExec(async (x: number) => x + 1, { elemArgs: [[1], [2]], computeContext: seq, wait: false });
    expect(rxGetJobStatus(job)).toBe('running');
    expect((await rxGetJobResults(job)).map((r) => r.result)).toEqual([2, 3]);
    expect(job.status()).toBe('finished');

    const failing = rxExecBy({ g: ['a'] }, ['nope'], () => 1, { computeContext: seq, wait: false, reportProgress: 0 });
    await expect(failing.results()).rejects.toMatchObject({ code: 'RX_SCHEMA' });
    expect(failing.status()).toBe('failed');

    let started = 0;
    const slow = rxExec(
      async () => {
        started++;
        await new Promise((r) => setTimeout(r, 30));
      },
      { timesToRun: 100, computeContext: seq, wait: false },
    );
    await new Promise((r) => setTimeout(r, 50));
    rxCancelJob(slow);
    expect(slow.status()).toBe('cancelled');
    await expect(slow.results()).rejects.toMatchObject({ code: 'RX_CANCELLED' });
    await new Promise((r) => setTimeout(r, 40));
    expect(started).toBeLessThan(10);
    slow.cancel(); // no effect once ended
    expect(slow.status()).toBe('cancelled');
  });
});

describe('rxExecBy (RxLocalSeq)', () => {
  it('calls fn once per key with that key\'s rows, sorted by key, failures isolated', async () => {
    const data = new RxMemoryData(
      {
        g: ['b', 'a', 'b', null, 'c', 'a', 'b'],
        h: [1, 2, 1, 1, 2, 2, 2],
        v: new Float64Array([1, 2, 3, 4, 5, 6, 7]),
        s: new RxMemoryData({ s: ['x', 'y', 'z', 'w', 'u', 't', 'r'] }, { stringsAsFactors: false }).columns.s!,
      },
      { rowsPerRead: 3 },
    );
    const seen: Array<{ keys: unknown; rows: Record<string, unknown[]> }> = [];
    const r = await rxExecBy(
      data,
      ['g', 'h'],
      async (keys: Record<string, unknown>, part: DataSource, scale: number) => {
        const rows = await collect(part);
        seen.push({ keys, rows });
        if (keys.g === 'c') throw new RxError('RX_MODEL', 'no model for c');
        return (rows.v as number[]).reduce((a, b) => a + b, 0) * scale;
      },
      { computeContext: seq, functionArgs: [10], reportProgress: 0 },
    );
    expect(r.map((x) => x.keys)).toEqual([
      { g: 'a', h: 2 },
      { g: 'b', h: 1 },
      { g: 'b', h: 2 },
      { g: 'c', h: 2 },
      { g: null, h: 1 },
    ]);
    expect(r.map((x) => x.status)).toEqual(['OK', 'OK', 'OK', 'Error', 'OK']);
    expect(r.map((x) => x.result)).toEqual([80, 40, 70, undefined, 40]);
    expect(r[3]!.error).toMatchObject({ code: 'RX_MODEL', message: 'no model for c' });
    const b1 = seen.find((s) => (s.keys as { g: string; h: number }).g === 'b' && (s.keys as { h: number }).h === 1)!;
    // Rows keep their order and every column keeps its type (factor levels, strings, missing).
    expect(b1.rows).toEqual({ g: ['b', 'b'], h: [1, 1], v: [1, 3], s: ['x', 'z'] });
    const na = seen.find((s) => (s.keys as { g: unknown }).g === null)!;
    expect(na.rows.g).toEqual([null]);
  });

  it('orders factor keys by level and numbers ascending; bool keys', async () => {
    const r = await rxExecBy({ k: [3, 1, 2, 1], b: [true, false, true, true] }, ['b', 'k'], (keys: Record<string, unknown>) => keys, { computeContext: seq, reportProgress: 0 });
    expect(r.map((x) => x.keys)).toEqual([
      { b: false, k: 1 },
      { b: true, k: 1 },
      { b: true, k: 2 },
      { b: true, k: 3 },
    ]);
  });

  it('spills partitions to temporary xdf files beyond maxRowsInMemory, with the same results', async () => {
    const n = 55;
    const data = new RxMemoryData(
      {
        g: Array.from({ length: n }, (_, i) => ['p', 'q', 'r'][i % 3]!),
        rare: Array.from({ length: n }, (_, i) => (i === 54 ? 'late' : 'common')),
        v: Float64Array.from({ length: n }, (_, i) => i),
        w: Array.from({ length: n }, (_, i) => (i % 7 === 0 ? null : i / 2)),
      },
      { rowsPerRead: 10 },
    );
    const fn = async (keys: Record<string, unknown>, part: DataSource) => ({ keys, kind: part.kind, rows: await collect(part) });
    const inMemory = await rxExecBy(data, ['rare', 'g'], fn, { computeContext: seq, reportProgress: 0 });
    const dir = mkdtempSync(join(tmpdir(), 'rx-compute-test-'));
    try {
      const spilled = await rxExecBy(data, ['rare', 'g'], fn, { computeContext: seq, reportProgress: 0, maxRowsInMemory: 15, tempDir: dir });
      expect(inMemory.every((r) => (r.result as { kind: string }).kind === 'memory')).toBe(true);
      // Chunks of 10 rows against a 15-row buffer: chunks 2 and 4 overflow it, so the 'common'
      // keys go to disk; the last chunk (5 rows, with the one 'late' row) fits and stays in memory.
      expect(spilled.map((r) => [r.keys, (r.result as { kind: string }).kind])).toEqual([
        [{ rare: 'common', g: 'p' }, 'xdf'],
        [{ rare: 'common', g: 'q' }, 'xdf'],
        [{ rare: 'common', g: 'r' }, 'xdf'],
        [{ rare: 'late', g: 'p' }, 'memory'],
      ]);
      expect(spilled.map((r) => (r.result as { rows: unknown }).rows)).toEqual(inMemory.map((r) => (r.result as { rows: unknown }).rows));
      expect(readdirSync(dir)).toEqual([]); // temporary files removed
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('validates keys', async () => {
    const data = { g: ['a', 'b', 'a', 'b'], v: [1, 2, 3, 4] };
    await expect(rxExecBy(data, ['zz'], () => 1, { computeContext: seq, reportProgress: 0 })).rejects.toMatchObject({ code: 'RX_SCHEMA', column: 'zz' });
    expect(() => rxExecBy(data, [], () => 1)).toThrow(/at least one key/);
    expect(() => rxExecBy(data, 'g' as unknown as string[], () => 1)).toThrow(/array of strings/);
  });
});
