/**
 * rxExec and rxExecBy: run a function many times (rxExec) or once per group of rows
 * (rxExecBy) in a compute context. One task's failure does not stop the others: every
 * task gets a row with status 'OK' (and its result) or 'Error' (and its error).
 *
 * The function rule: in RxLocalSeq a plain JS function runs in this thread. Worker
 * contexts (RxLocalParallel) cannot receive code (rxscale never evaluates source text),
 * so there `fn` must be `{ module: <file URL or absolute path of a JS module>,
 * exportName?: 'default' }`; each worker imports the module and calls the export.
 * Arguments and results must then be structured-cloneable.
 *
 * rxExecBy memory bound: the data is streamed once and split into per-key partitions.
 * At most `maxRowsInMemory` rows (default 1,000,000) are buffered: when the buffer is
 * full, every key's buffered rows are appended to that key's temporary xdf file (under
 * `tempDir`, default os.tmpdir()), so memory stays bounded for any data size. A key whose
 * rows all fit is passed to fn as an in-memory source (RxMemoryData), a spilled key as
 * RxXdfData; the temporary files are removed when all functions have finished.
 *
 * In-database contexts (RxInDuckDb, RxInPostgres, RxInSqlServer) partition where the data
 * lives instead: one `SELECT DISTINCT keys` (on every shard) gives the partitions, and fn
 * gets the source filtered to its key values (bound parameters), so an analysis of the
 * partition in the same context runs as SQL and no rows move (see execByPartitions).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveSource } from '../data/resolve.js';
import { RxXdfData } from '../data/xdf.js';
import type { Column, ColumnType, DataSource, Schema } from '../data/types.js';
import { RxError } from '../errors.js';
import { rxOptions } from '../options.js';
import { argError, expectNumber, expectStringArray } from '../validate.js';
import { type ComputeContext, type ExecOutcome, type ExecTask, type TaskFunction, isModuleFunction, rxGetComputeContext, toComputeContext } from './context.js';
import { RxJob } from './job.js';
import { type ProgressLevel, ProgressReporter, type ProgressStream } from './progress.js';
import { knownRows, throwIfAborted } from './sequential.js';

export interface RxExecOptions {
  /** One task per element: task i is called with ...elemArgs[i]. */
  elemArgs?: unknown[][];
  /** Arguments for every task (when elemArgs is absent). */
  args?: unknown[];
  /** Number of tasks (default elemArgs.length, else 1). */
  timesToRun?: number;
  computeContext?: ComputeContext | 'local' | 'localpar';
  /** false: return an RxJob at once. */
  wait?: boolean;
  signal?: AbortSignal;
}

export interface RxExecResult {
  /** 1-based task number. */
  task: number;
  status: 'OK' | 'Error';
  result?: unknown;
  error?: Error;
}

function pickContext(ctx: unknown): ComputeContext {
  const c = ctx === undefined ? rxGetComputeContext() : toComputeContext(ctx);
  if (typeof c.exec !== 'function') throw new RxError('RX_ARG', `The compute context ${c.name} cannot run rxExec / rxExecBy tasks: use RxLocalSeq or RxLocalParallel`);
  return c;
}

function checkFn(fn: unknown, what: string): TaskFunction {
  if (typeof fn === 'function' || isModuleFunction(fn)) return fn as TaskFunction;
  throw argError('a function or { module, exportName }', what, fn);
}

function toResult(o: ExecOutcome | undefined, i: number): RxExecResult {
  if (!o) return { task: i + 1, status: 'Error', error: new RxError('RX_INTERNAL', `task ${i + 1} produced no outcome`) };
  return o.status === 'OK' ? { task: i + 1, status: 'OK', result: o.result } : { task: i + 1, status: 'Error', error: o.error };
}

export function rxExec(fn: TaskFunction, opts: RxExecOptions & { wait: false }): RxJob<RxExecResult[]>;
export function rxExec(fn: TaskFunction, opts?: RxExecOptions & { wait?: true }): Promise<RxExecResult[]>;
export function rxExec(fn: TaskFunction, opts?: RxExecOptions): Promise<RxExecResult[]> | RxJob<RxExecResult[]>;
/** Runs `fn` timesToRun times (or once per elemArgs element) in the compute context. */
export function rxExec(fn: TaskFunction, opts: RxExecOptions = {}): Promise<RxExecResult[]> | RxJob<RxExecResult[]> {
  const f = checkFn(fn, 'rxExec function');
  if (typeof opts !== 'object' || opts === null) throw argError('an options object', 'rxExec options', opts);
  const ctx = pickContext(opts.computeContext);
  if (opts.elemArgs !== undefined && (!Array.isArray(opts.elemArgs) || opts.elemArgs.some((a) => !Array.isArray(a))))
    throw argError('an array of argument arrays', 'elemArgs', opts.elemArgs);
  if (opts.args !== undefined && !Array.isArray(opts.args)) throw argError('an array', 'args', opts.args);
  if (opts.elemArgs && opts.args) throw new RxError('RX_ARG', 'Give either elemArgs (arguments per task) or args (the same arguments for every task), not both');
  let times = opts.elemArgs ? opts.elemArgs.length : 1;
  if (opts.timesToRun !== undefined) {
    times = expectNumber(opts.timesToRun, 'timesToRun', { min: 0, integer: true });
    if (opts.elemArgs && times !== opts.elemArgs.length)
      throw new RxError('RX_ARG', `timesToRun (${times}) differs from the number of elemArgs (${opts.elemArgs.length})`);
  }
  const tasks: ExecTask[] = Array.from({ length: times }, (_, i) => ({ fn: f, args: opts.elemArgs ? [...opts.elemArgs[i]!] : [...(opts.args ?? [])] }));
  const body = async (signal: AbortSignal | undefined) => {
    throwIfAborted(signal, 'rxExec');
    const outcomes = await ctx.exec!(tasks, signal ? { signal } : {});
    return tasks.map((_, i) => toResult(outcomes[i], i));
  };
  if (opts.wait === false) return new RxJob('rxExec', body, opts.signal);
  return body(opts.signal);
}

/* ------------------------------------------------------------------ rxExecBy */

export interface RxExecByOptions {
  computeContext?: ComputeContext | 'local' | 'localpar';
  /** Extra arguments after (keys, data). */
  functionArgs?: unknown[];
  rowsPerRead?: number;
  /** Rows buffered in memory before partitions spill to temporary xdf files; default 1,000,000. */
  maxRowsInMemory?: number;
  /** Directory for spilled partitions (default os.tmpdir()). */
  tempDir?: string;
  /** false: return an RxJob at once. */
  wait?: boolean;
  signal?: AbortSignal;
  reportProgress?: ProgressLevel;
  progressStream?: ProgressStream;
}

export interface RxExecByResult {
  /** Key column -> value: factor level or string, number, boolean; null for missing. */
  keys: Record<string, string | number | boolean | null>;
  status: 'OK' | 'Error';
  result?: unknown;
  error?: Error;
}

const KEY_TYPES: readonly ColumnType[] = ['factor', 'string', 'bool', 'int32', 'int16', 'uint8', 'float64', 'float32', 'date', 'timestamp'];

type KeyValue = string | number | boolean | null;
export type ExecByKeyValue = KeyValue;

/** One partition found where the data lives (in-database contexts): its key values and a source of its rows. */
export interface ExecByPartition {
  keys: Record<string, KeyValue>;
  data: DataSource;
}

/**
 * Implemented by compute contexts that partition data where it lives (RxInDuckDb,
 * RxInPostgres, RxInSqlServer): null when they cannot for this source, and rxExecBy then
 * streams the rows and splits them here.
 */
export interface ExecByPartitioner {
  execByPartitions(source: DataSource, keys: string[], opts: { signal?: AbortSignal }): Promise<ExecByPartition[] | null>;
}

function isPartitioner(ctx: unknown): ctx is ExecByPartitioner {
  return typeof (ctx as Partial<ExecByPartitioner>).execByPartitions === 'function';
}

/** Sorts partitions as the streamed rxExecBy does: factor level order, numbers ascending, false before true, null last. */
function sortPartitions<T extends { keys: Record<string, KeyValue> }>(parts: T[], keys: string[], schema: Schema): T[] {
  const order = keys.map((k) => {
    const c = schema.columns.find((x) => x.name === k);
    return c?.type === 'factor' && c.levels ? new Map(c.levels.map((l, i) => [l, i])) : undefined;
  });
  const values = (p: T) => keys.map((k) => p.keys[k] ?? null);
  return [...parts].sort((a, b) => compareKeys(values(a), values(b), order));
}
type Ctor = { new (n: number): Float64Array | Float32Array | Int32Array | Int16Array | Uint8Array };

interface Group {
  values: KeyValue[];
  /** Per column: parts gathered chunk by chunk (not yet spilled). */
  parts: Map<string, { data: unknown[]; valid: Array<Uint8Array | undefined> }>;
  /** Rows in `parts`. */
  rows: number;
  /** Temporary xdf file holding the spilled rows. */
  file?: string;
}

export interface Partition {
  keys: Record<string, KeyValue>;
  /** In-memory rows (when the partition never spilled). */
  columns?: Record<string, Column>;
  /** xdf file with the partition's rows (when it spilled). */
  file?: string;
}

function keyValue(c: Column, i: number): KeyValue {
  if (c.valid && c.valid[i] === 0) return null;
  switch (c.type) {
    case 'factor':
      return c.levels![(c.data as Int32Array)[i]!] ?? null;
    case 'string':
      return (c.data as Array<string | null>)[i] ?? null;
    case 'bool':
      return (c.data as Uint8Array)[i] === 1;
    default: {
      const v = (c.data as Float64Array)[i]!;
      return Number.isNaN(v) ? null : v;
    }
  }
}

function compareKeys(a: KeyValue[], b: KeyValue[], order: Array<Map<string, number> | undefined>): number {
  for (let k = 0; k < a.length; k++) {
    const x = a[k]!;
    const y = b[k]!;
    if (x === y) continue;
    if (x === null) return 1;
    if (y === null) return -1;
    const o = order[k];
    if (o) return (o.get(x as string) ?? Number.MAX_SAFE_INTEGER) - (o.get(y as string) ?? Number.MAX_SAFE_INTEGER) || (x < y ? -1 : 1);
    if (typeof x === 'boolean') return x ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return 0;
}

function gather(c: Column, idx: number[]): { data: unknown; valid?: Uint8Array } {
  const n = idx.length;
  let data: unknown;
  if (Array.isArray(c.data)) {
    const src = c.data;
    data = idx.map((i) => src[i] ?? null);
  } else {
    const src = c.data as Float64Array;
    const out = new (src.constructor as Ctor)(n);
    for (let j = 0; j < n; j++) out[j] = src[idx[j]!]!;
    data = out;
  }
  if (!c.valid) return { data };
  const valid = new Uint8Array(n);
  for (let j = 0; j < n; j++) valid[j] = c.valid[idx[j]!]!;
  return { data, valid };
}

function concatParts(info: { type: ColumnType; levels?: string[]; ordered?: boolean }, parts: { data: unknown[]; valid: Array<Uint8Array | undefined> }, rows: number): Column {
  let data: Column['data'];
  if (info.type === 'string') data = (parts.data as Array<Array<string | null>>).flat();
  else {
    const first = parts.data[0] as Float64Array;
    const out = new (first.constructor as Ctor)(rows);
    let o = 0;
    for (const p of parts.data as Float64Array[]) {
      out.set(p, o);
      o += p.length;
    }
    data = out;
  }
  const col: Column = { type: info.type, data };
  if (parts.valid.some((v) => v !== undefined)) {
    const valid = new Uint8Array(rows);
    let o = 0;
    for (let p = 0; p < parts.data.length; p++) {
      const v = parts.valid[p];
      const len = (parts.data[p] as ArrayLike<unknown>).length;
      if (v) valid.set(v, o);
      else valid.fill(1, o, o + len);
      o += len;
    }
    col.valid = valid;
  }
  if (info.levels) col.levels = info.levels;
  if (info.ordered !== undefined) col.ordered = info.ordered;
  return col;
}

function groupColumns(g: Group, names: string[], colInfo: Map<string, { type: ColumnType; levels?: string[]; ordered?: boolean }>): Record<string, Column> {
  const columns: Record<string, Column> = {};
  for (const name of names) {
    const p = g.parts.get(name);
    if (p) columns[name] = concatParts(colInfo.get(name)!, p, g.rows);
  }
  return columns;
}

/**
 * Splits `source` into partitions by the key columns, sorted by key. At most
 * maxRowsInMemory rows are buffered; beyond that partitions spill to xdf files in a fresh
 * directory under tempDir, returned as `spillDir` (the caller removes it).
 */
export async function partitionByKeys(
  source: DataSource,
  keys: string[],
  opts: { rowsPerRead?: number; maxRowsInMemory?: number; tempDir?: string; signal?: AbortSignal; progress?: ProgressReporter } = {},
): Promise<{ partitions: Partition[]; spillDir?: string }> {
  const schema = await source.schema();
  const names = schema.columns.map((c) => c.name);
  for (const k of keys) {
    const info = schema.columns.find((c) => c.name === k);
    if (!info) throw new RxError('RX_SCHEMA', `rxExecBy key "${k}" is not a column of the data (columns: ${names.join(', ')})`, { column: k });
    if (!KEY_TYPES.includes(info.type)) throw new RxError('RX_SCHEMA', `rxExecBy key "${k}" has type ${info.type}, which cannot be a key`, { column: k });
  }
  const maxRows = opts.maxRowsInMemory ?? 1_000_000;
  const groups = new Map<string, Group>();
  const colInfo = new Map(schema.columns.map((c) => [c.name, { type: c.type, levels: c.levels, ordered: c.ordered } as { type: ColumnType; levels?: string[]; ordered?: boolean }]));
  let buffered = 0;
  let spillDir: string | undefined;
  let spilled = 0;
  const spillSchema = (): Schema => ({ columns: schema.columns.map((c) => ({ ...c, ...(colInfo.get(c.name)!.levels ? { levels: colInfo.get(c.name)!.levels } : {}) })) });
  const spillGroup = async (g: Group) => {
    if (g.rows === 0) return;
    spillDir ??= await mkdtemp(join(opts.tempDir ?? tmpdir(), 'rxscale-execby-'));
    const append = g.file !== undefined;
    g.file ??= join(spillDir, `part-${++spilled}.xdf`);
    const w = await new RxXdfData(g.file).open(spillSchema(), { append: append ? 'rows' : 'none' });
    try {
      await w.write({ numRows: g.rows, startRow: 0, names, columns: groupColumns(g, names, colInfo) });
      await w.close();
    } catch (e) {
      await w.abort(e);
      throw e;
    }
    g.parts = new Map();
    g.rows = 0;
  };
  try {
    opts.progress?.startPass(1, await knownRows(source, schema));
    const chunkOpts: { rowsPerRead?: number; signal?: AbortSignal } = {};
    if (opts.rowsPerRead !== undefined) chunkOpts.rowsPerRead = opts.rowsPerRead;
    if (opts.signal) chunkOpts.signal = opts.signal;
    for await (const chunk of source.chunks(chunkOpts)) {
      throwIfAborted(opts.signal, 'rxExecBy');
      const keyCols = keys.map((k) => chunk.columns[k]!);
      const rowsOf = new Map<Group, number[]>();
      for (let i = 0; i < chunk.numRows; i++) {
        const values = keyCols.map((c) => keyValue(c, i));
        const id = JSON.stringify(values);
        let g = groups.get(id);
        if (!g) {
          g = { values, parts: new Map(), rows: 0 };
          groups.set(id, g);
        }
        let idx = rowsOf.get(g);
        if (!idx) rowsOf.set(g, (idx = []));
        idx.push(i);
      }
      for (const [g, idx] of rowsOf) {
        g.rows += idx.length;
        for (const name of chunk.names) {
          const c = chunk.columns[name]!;
          const info = colInfo.get(name)!;
          if (c.levels && (!info.levels || c.levels.length > info.levels.length)) info.levels = c.levels;
          let p = g.parts.get(name);
          if (!p) g.parts.set(name, (p = { data: [], valid: [] }));
          const gt = gather(c, idx);
          p.data.push(gt.data);
          p.valid.push(gt.valid);
        }
      }
      buffered += chunk.numRows;
      if (buffered > maxRows) {
        for (const g of groups.values()) await spillGroup(g);
        buffered = 0;
      }
      opts.progress?.chunk(chunk.numRows);
    }
    // A partly spilled key gets the rest of its rows on disk too.
    for (const g of groups.values()) if (g.file) await spillGroup(g);
    opts.progress?.endPass();
  } catch (e) {
    if (spillDir) await rm(spillDir, { recursive: true, force: true });
    throw e;
  }
  const order = keys.map((k) => {
    const lv = colInfo.get(k)!.levels;
    return colInfo.get(k)!.type === 'factor' && lv ? new Map(lv.map((l, i) => [l, i])) : undefined;
  });
  const sorted = [...groups.values()].sort((a, b) => compareKeys(a.values, b.values, order));
  const partitions = sorted.map((g): Partition => {
    const p: Partition = { keys: Object.fromEntries(keys.map((k, i) => [k, g.values[i]!])) };
    if (g.file) p.file = g.file;
    else p.columns = groupColumns(g, names, colInfo);
    return p;
  });
  return spillDir ? { partitions, spillDir } : { partitions };
}

export function rxExecBy(data: unknown, keys: string[], fn: TaskFunction, opts: RxExecByOptions & { wait: false }): RxJob<RxExecByResult[]>;
export function rxExecBy(data: unknown, keys: string[], fn: TaskFunction, opts?: RxExecByOptions & { wait?: true }): Promise<RxExecByResult[]>;
export function rxExecBy(data: unknown, keys: string[], fn: TaskFunction, opts?: RxExecByOptions): Promise<RxExecByResult[]> | RxJob<RxExecByResult[]>;
/**
 * Partitions `data` by the `keys` columns and calls fn(keyValues, partitionDataSource,
 * ...functionArgs) once per distinct key combination (missing key values form their own
 * group with null). Results come sorted by key (factor level order, numbers ascending,
 * null last).
 */
export function rxExecBy(data: unknown, keys: string[], fn: TaskFunction, opts: RxExecByOptions = {}): Promise<RxExecByResult[]> | RxJob<RxExecByResult[]> {
  const source = resolveSource(data, 'rxExecBy data');
  expectStringArray(keys, 'rxExecBy keys');
  if (keys.length === 0) throw argError('at least one key column', 'rxExecBy keys', keys);
  const f = checkFn(fn, 'rxExecBy function');
  if (typeof opts !== 'object' || opts === null) throw argError('an options object', 'rxExecBy options', opts);
  const ctx = pickContext(opts.computeContext);
  if (opts.functionArgs !== undefined && !Array.isArray(opts.functionArgs)) throw argError('an array', 'functionArgs', opts.functionArgs);
  if (opts.rowsPerRead !== undefined) expectNumber(opts.rowsPerRead, 'rowsPerRead', { min: 1, integer: true });
  if (opts.maxRowsInMemory !== undefined) expectNumber(opts.maxRowsInMemory, 'maxRowsInMemory', { min: 1, integer: true });
  if (opts.tempDir !== undefined && typeof opts.tempDir !== 'string') throw argError('a directory path', 'tempDir', opts.tempDir);
  const level = (opts.reportProgress !== undefined ? expectNumber(opts.reportProgress, 'reportProgress', { min: 0, max: 3, integer: true }) : rxOptions().reportProgress) as ProgressLevel;
  const body = async (signal: AbortSignal | undefined): Promise<RxExecByResult[]> => {
    // in-database contexts: partitions by SQL (SELECT DISTINCT keys), each a filtered source
    if (isPartitioner(ctx)) {
      const found = await ctx.execByPartitions(source, keys, signal ? { signal } : {});
      if (found) {
        const parts = sortPartitions(found, keys, await source.schema());
        const tasks: ExecTask[] = parts.map((p) => ({ fn: f, args: [p.keys, p.data, ...(opts.functionArgs ?? [])] }));
        const outcomes = await ctx.exec!(tasks, signal ? { signal } : {});
        return parts.map((p, i) => {
          const r = toResult(outcomes[i], i);
          const row: RxExecByResult = { keys: p.keys, status: r.status };
          if (r.status === 'OK') row.result = r.result;
          else row.error = r.error!;
          return row;
        });
      }
    }
    const pOpts: ConstructorParameters<typeof ProgressReporter>[0] = { level, label: 'rxExecBy' };
    if (opts.progressStream) pOpts.stream = opts.progressStream;
    const partOpts: Parameters<typeof partitionByKeys>[2] = { progress: new ProgressReporter(pOpts) };
    if (opts.rowsPerRead !== undefined) partOpts.rowsPerRead = opts.rowsPerRead;
    if (opts.maxRowsInMemory !== undefined) partOpts.maxRowsInMemory = opts.maxRowsInMemory;
    if (opts.tempDir !== undefined) partOpts.tempDir = opts.tempDir;
    if (signal) partOpts.signal = signal;
    const { partitions: parts, spillDir } = await partitionByKeys(source, keys, partOpts);
    let outcomes: ExecOutcome[];
    try {
      const tasks: ExecTask[] = parts.map((p) => {
        const t: ExecTask = { fn: f, args: [p.keys, undefined, ...(opts.functionArgs ?? [])] };
        if (p.file) t.file = { argIndex: 1, path: p.file };
        else t.table = { argIndex: 1, columns: p.columns! };
        return t;
      });
      outcomes = await ctx.exec!(tasks, signal ? { signal } : {});
    } finally {
      if (spillDir) await rm(spillDir, { recursive: true, force: true });
    }
    return parts.map((p, i) => {
      const r = toResult(outcomes[i], i);
      const row: RxExecByResult = { keys: p.keys, status: r.status };
      if (r.status === 'OK') row.result = r.result;
      else row.error = r.error!;
      return row;
    });
  };
  if (opts.wait === false) return new RxJob('rxExecBy', body, opts.signal);
  return body(opts.signal);
}
