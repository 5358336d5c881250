/**
 * rxSort: external merge sort with bounded memory.
 *
 * Pass 1 reads `rowsPerRead` rows at a time, sorts each run in memory (stable) and writes
 * it to a temporary xdf file (skipped when the data fits in one run). Pass 2 merges the
 * runs k-way with a binary heap, reading each run in small chunks, and streams the result
 * to the output; memory is about one run plus k small buffers. Keys compare numerically
 * (factors by level order, as R does; strings by code point), `decreasing` per key,
 * missing values lowest by default (`missingsLow`, RevoScaleR's default). With
 * `removeDupKeys` only the first row of each run of equal keys is kept.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Chunk, ColumnInfo, DataSink, DataSource, Schema } from '../data/types.js';
import type { RxMemoryData } from '../data/memory.js';
import { RxXdfData } from '../data/xdf.js';
import { RxError } from '../errors.js';
import { withTransforms } from '../expr/source.js';
import { rxOptions } from '../options.js';
import { argError, expectNumber } from '../validate.js';
import { ChunkBuilder, MemorySink, checkVars, progressFor, resolveInput, resolveOutput, takeRows } from './common.js';
import type { InData, OutFile } from './import.js';

export interface RxSortOptions {
  inData: InData;
  outFile?: OutFile;
  sortByVars: string | string[];
  decreasing?: boolean | boolean[];
  removeDupKeys?: boolean;
  /** Missing values sort lowest (default true, as RevoScaleR). */
  missingsLow?: boolean;
  varsToKeep?: string[];
  varsToDrop?: string[];
  overwrite?: boolean;
  /** Rows per in-memory run (default rxOptions().rowsPerRead). */
  rowsPerRead?: number;
  reportProgress?: 0 | 1 | 2 | 3;
}

/** Key columns of a chunk as comparable values. */
export interface KeyView {
  nums: Array<Float64Array | undefined>;
  strs: Array<Array<string | null> | undefined>;
}

export interface KeySpec {
  names: string[];
  decreasing: boolean[];
  missingsLow: boolean;
  /** Compare factors by label text instead of level order (rxMerge across sources). */
  factorByLabel?: boolean;
}

export function keyView(chunk: Chunk, spec: KeySpec): KeyView {
  const nums: KeyView['nums'] = [];
  const strs: KeyView['strs'] = [];
  for (const name of spec.names) {
    const c = chunk.columns[name];
    if (!c) throw new RxError('RX_SCHEMA', `Sort key "${name}" is not in the data`, { column: name });
    const n = chunk.numRows;
    if (c.type === 'string' || (c.type === 'factor' && spec.factorByLabel)) {
      const s = new Array<string | null>(n);
      for (let i = 0; i < n; i++) {
        if (c.valid && c.valid[i] === 0) s[i] = null;
        else s[i] = c.type === 'factor' ? c.levels![(c.data as Int32Array)[i]!]! : ((c.data as Array<string | null>)[i] ?? null);
      }
      strs.push(s);
      nums.push(undefined);
    } else {
      const d = c.data as Float64Array;
      const x = new Float64Array(n);
      for (let i = 0; i < n; i++) x[i] = c.valid && c.valid[i] === 0 ? Number.NaN : d[i]!;
      nums.push(x);
      strs.push(undefined);
    }
  }
  return { nums, strs };
}

/** Compares row i of view a with row j of view b. */
export function compareKeys(spec: KeySpec, a: KeyView, i: number, b: KeyView, j: number): number {
  for (let k = 0; k < spec.names.length; k++) {
    let r: number;
    const na = a.nums[k];
    if (na) {
      const x = na[i]!;
      const y = b.nums[k]![j]!;
      const mx = Number.isNaN(x);
      const my = Number.isNaN(y);
      if (mx || my) {
        if (mx && my) continue;
        // missing lowest (before decreasing is applied) when missingsLow
        r = mx ? (spec.missingsLow ? -1 : 1) : spec.missingsLow ? 1 : -1;
        if (spec.decreasing[k]) r = -r;
        return r;
      }
      r = x < y ? -1 : x > y ? 1 : 0;
    } else {
      const x = a.strs[k]![i]!;
      const y = b.strs[k]![j]!;
      if (x === null || y === null) {
        if (x === null && y === null) continue;
        r = x === null ? (spec.missingsLow ? -1 : 1) : spec.missingsLow ? 1 : -1;
        if (spec.decreasing[k]) r = -r;
        return r;
      }
      r = x < y ? -1 : x > y ? 1 : 0;
    }
    if (r !== 0) return spec.decreasing[k] ? -r : r;
  }
  return 0;
}

/** Sorts one chunk (stable); drops later rows with equal keys when removeDupKeys. */
export function sortChunk(chunk: Chunk, spec: KeySpec, removeDupKeys = false): Chunk {
  const kv = keyView(chunk, spec);
  const idx = Array.from({ length: chunk.numRows }, (_, i) => i);
  idx.sort((p, q) => compareKeys(spec, kv, p, kv, q) || p - q);
  let keep: number[] = idx;
  if (removeDupKeys) {
    keep = [];
    for (let k = 0; k < idx.length; k++) if (k === 0 || compareKeys(spec, kv, idx[k - 1]!, kv, idx[k]!) !== 0) keep.push(idx[k]!);
  }
  return takeRows(chunk, keep);
}

export function keySpecFor(schema: Schema, sortByVars: string | string[], decreasing: boolean | boolean[] | undefined, missingsLow = true): KeySpec {
  const names = typeof sortByVars === 'string' ? [sortByVars] : sortByVars;
  if (!Array.isArray(names) || names.length === 0 || names.some((n) => typeof n !== 'string')) throw argError('a column name or array of column names', 'sortByVars', sortByVars);
  checkVars(schema, names, 'sortByVars', 'the data');
  const dec = Array.isArray(decreasing) ? decreasing : names.map(() => decreasing ?? false);
  if (dec.length !== names.length) throw new RxError('RX_ARG', `decreasing has ${dec.length} entries but sortByVars has ${names.length}`);
  return { names, decreasing: dec, missingsLow };
}

/** Binary heap of run indices. */
class Heap {
  private a: number[] = [];
  constructor(private readonly less: (x: number, y: number) => boolean) {}
  get size() {
    return this.a.length;
  }
  peek() {
    return this.a[0]!;
  }
  push(x: number) {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): number {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      this.siftDown(0);
    }
    return top;
  }
  /** The top's key changed: restore order. */
  fix() {
    this.siftDown(0);
  }
  private siftDown(i0: number) {
    const a = this.a;
    let i = i0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
      if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
      if (m === i) return;
      [a[i], a[m]] = [a[m]!, a[i]!];
      i = m;
    }
  }
}

/**
 * Sorts `source` into `sink` (or memory). Shared by rxSort and rxMerge. Returns the
 * memory result when sink is undefined.
 */
export async function externalSort(
  source: DataSource,
  sink: DataSink | undefined,
  spec: KeySpec,
  opts: { removeDupKeys?: boolean; overwrite?: boolean; rowsPerRead?: number; reportProgress?: number; label?: string },
): Promise<RxMemoryData | undefined> {
  const schema = await source.schema();
  const runRows = opts.rowsPerRead ?? rxOptions().rowsPerRead;
  const progress = progressFor(opts.reportProgress, opts.label ?? 'rxSort');
  const mem = sink ? undefined : new MemorySink();
  const outSchema: Schema = { columns: schema.columns, ...(schema.metadata ? { metadata: schema.metadata } : {}) };
  let tmpDir: string | undefined;
  const runs: RxXdfData[] = [];
  let firstRun: Chunk | undefined;
  try {
    progress.startPass(1, schema.numRows);
    // pass 1: sorted runs
    for await (const ch of source.chunks({ rowsPerRead: runRows })) {
      const sorted = sortChunk(ch, spec, opts.removeDupKeys);
      progress.chunk(ch.numRows);
      if (runs.length === 0 && firstRun === undefined) {
        firstRun = sorted;
        continue;
      }
      tmpDir ??= await mkdtemp(join(tmpdir(), 'rxsort-'));
      const spill = async (c: Chunk) => {
        const run = new RxXdfData(join(tmpDir!, `run-${runs.length}.arrow`));
        const w = await run.open(outSchema, {});
        await w.write(c);
        await w.close();
        runs.push(run);
      };
      if (firstRun) {
        await spill(firstRun);
        firstRun = undefined;
      }
      await spill(sorted);
    }
    progress.endPass();
    const writer = await (sink ?? mem!).open(outSchema, { overwrite: opts.overwrite ?? false });
    try {
      if (runs.length === 0) {
        // everything fit in one run
        await writer.write(firstRun ?? (await emptyChunk(outSchema.columns)));
      } else {
        progress.startPass(2, schema.numRows);
        await mergeRuns(runs, outSchema.columns, spec, runRows, opts.removeDupKeys ?? false, async (c) => {
          await writer.write(c);
          progress.chunk(c.numRows);
        });
        progress.endPass();
      }
      await writer.close();
    } catch (e) {
      await writer.abort(e);
      throw e;
    }
  } finally {
    if (tmpDir) await rm(tmpDir, { recursive: true, force: true });
  }
  return mem?.result();
}

async function emptyChunk(columns: ColumnInfo[]): Promise<Chunk> {
  return new ChunkBuilder(columns, 0).take();
}

export interface RunCursor {
  it: AsyncIterator<Chunk>;
  chunk?: Chunk;
  view?: KeyView;
  pos: number;
  cols: Array<import('../data/types.js').Column | undefined>;
}

export async function advance(c: RunCursor, spec: KeySpec, names: string[]): Promise<boolean> {
  for (;;) {
    const r = await c.it.next();
    if (r.done) {
      c.chunk = undefined;
      return false;
    }
    if (r.value.numRows === 0) continue;
    c.chunk = r.value;
    c.view = keyView(r.value, spec);
    c.pos = 0;
    c.cols = names.map((n) => r.value.columns[n]);
    return true;
  }
}

async function mergeRuns(runs: DataSource[], columns: ColumnInfo[], spec: KeySpec, outRows: number, removeDupKeys: boolean, emit: (c: Chunk) => Promise<void>): Promise<void> {
  const names = columns.map((c) => c.name);
  const readRows = Math.max(1024, Math.floor(outRows / Math.max(1, runs.length)));
  const cursors: RunCursor[] = runs.map((r) => ({ it: r.chunks({ rowsPerRead: readRows })[Symbol.asyncIterator](), pos: 0, cols: [] }));
  const heap = new Heap((x, y) => {
    const a = cursors[x]!;
    const b = cursors[y]!;
    const r = compareKeys(spec, a.view!, a.pos, b.view!, b.pos);
    return r < 0 || (r === 0 && x < y); // ties: earlier run first (stable)
  });
  for (let i = 0; i < cursors.length; i++) if (await advance(cursors[i]!, spec, names)) heap.push(i);
  const out = new ChunkBuilder(columns, outRows);
  // last emitted key (for removeDupKeys): a one-row view
  let lastView: KeyView | undefined;
  while (heap.size > 0) {
    const i = heap.peek();
    const c = cursors[i]!;
    let dup = false;
    if (removeDupKeys && lastView) dup = compareKeys(spec, lastView, 0, c.view!, c.pos) === 0;
    if (!dup) {
      out.push(c.cols, c.pos);
      if (removeDupKeys) lastView = { nums: c.view!.nums.map((a) => a && Float64Array.of(a[c.pos]!)), strs: c.view!.strs.map((a) => a && [a[c.pos]!]) };
      if (out.full) await emit(out.take());
    }
    c.pos++;
    if (c.pos >= c.chunk!.numRows && !(await advance(c, spec, names))) heap.pop();
    else heap.fix();
  }
  if (out.n > 0) await emit(out.take());
}

export async function rxSort(opts: RxSortOptions): Promise<RxMemoryData | DataSource> {
  if (typeof opts !== 'object' || opts === null) throw argError('an options object', 'rxSort', opts);
  if (opts.rowsPerRead !== undefined) expectNumber(opts.rowsPerRead, 'rowsPerRead', { min: 1, integer: true });
  let source = resolveInput(opts.inData, 'inData');
  const base = await source.schema();
  const spec = keySpecFor(base, opts.sortByVars, opts.decreasing, opts.missingsLow ?? true);
  if (opts.varsToKeep || opts.varsToDrop) {
    checkVars(base, opts.varsToKeep, 'varsToKeep', 'the data');
    checkVars(base, opts.varsToDrop, 'varsToDrop', 'the data');
    for (const k of spec.names)
      if ((opts.varsToKeep && !opts.varsToKeep.includes(k)) || opts.varsToDrop?.includes(k))
        throw new RxError('RX_ARG', `Sort key "${k}" must be kept (varsToKeep / varsToDrop)`, { column: k });
    source = withTransforms(source, { ...(opts.varsToKeep ? { varsToKeep: opts.varsToKeep } : {}), ...(opts.varsToDrop ? { varsToDrop: opts.varsToDrop } : {}) });
  }
  const sink = resolveOutput(opts.outFile);
  const mem = await externalSort(source, sink, spec, {
    ...(opts.removeDupKeys ? { removeDupKeys: true } : {}),
    ...(opts.overwrite !== undefined ? { overwrite: opts.overwrite } : {}),
    ...(opts.rowsPerRead !== undefined ? { rowsPerRead: opts.rowsPerRead } : {}),
    ...(opts.reportProgress !== undefined ? { reportProgress: opts.reportProgress } : {}),
  });
  return sink ?? mem!;
}
