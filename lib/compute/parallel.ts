/**
 * RxLocalParallel: runs accumulators on a pool of worker threads in this process.
 *
 * One pass: chunk i of the source goes to worker i % N. For an RxXdfData file each worker
 * reads its own chunks (positioned reads in every thread, nothing sent between threads);
 * for other sources the main thread reads the chunks and sends them (typed arrays
 * transferred, see transfer.ts; when the accumulator keeps no chunk arrays, a
 * TransientChunkSource pass, workers hand the buffers back and later chunks are copied into
 * them instead of into fresh memory). Each worker processes its chunks in
 * order into one running state; at the end of the pass the states are merged with
 * def.merge in worker order 0..N-1 and finalize() runs on the main thread. The result
 * therefore depends only on N and the chunking, never on thread scheduling (bit-for-bit
 * reproducible), and equals RxLocalSeq's to rounding because merge is associative.
 * Back-pressure: at most `maxChunksInFlight` chunks per worker are queued.
 *
 * Threads: N = options.numWorkers ?? rxOptions().numThreads (the one thread budget).
 * While workers run, the native thread pool (process-wide) is set to 1 thread, so
 * workers x native threads stays within the budget; it is restored afterwards.
 *
 * Workers run compiled JS (dist/lib/workers/pema-worker.js, found from the package root)
 * and rebuild accumulators by name from the registry (pema.ts): they import every module
 * declared with registerAccumulatorModule(url), then the module that registered the name
 * (recorded by registerAccumulator; lib/x.ts maps to dist/lib/x.js), then rxscale's public
 * surface (dist/lib/index.js) if the name is still unknown. Spec, schema and state must be
 * structured-cloneable.
 *
 * rxExec / rxExecBy: tasks go to free workers; functions must be module exports
 * ({ module, exportName }): no code is ever sent as text.
 *
 * Runs on one pool are serialized (one at a time). Idle workers do not keep the process
 * alive; close() terminates them. Cancelling (AbortSignal) terminates the workers at once
 * (a fresh pool starts on the next run).
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Chunk, ChunkOptions, Column, DataSource, Schema } from '../data/types.js';
import { RxXdfData } from '../data/xdf.js';
import { RxError } from '../errors.js';
import { packageRoot } from '../native/loader.js';
import { setNativeThreads } from '../native/info.js';
import { rxOptions } from '../options.js';
import { argError } from '../validate.js';
import {
  registerComputeContextName,
  type ComputeContext,
  type ContextRunOptions,
  type ExecOptions,
  type ExecOutcome,
  type ExecTask,
  isModuleFunction,
} from './context.js';
import { type AccumulatorDef, accumulatorModule, registeredAccumulatorModules } from './pema.js';
import { noProgress } from './progress.js';
import { cancelledError, runPasses, throwIfAborted } from './sequential.js';
import { type SerializedError, deserializeError, packChunk } from './transfer.js';
import { TransientChunkSource } from './transient.js';

export interface RxLocalParallelOptions {
  /** Worker threads (default rxOptions().numThreads at each run). */
  numWorkers?: number;
  /** Chunks queued per worker before the reader waits (default 2). */
  maxChunksInFlight?: number;
  /** Extra accumulator / task modules every worker imports (file URLs or absolute paths). */
  modules?: string[];
}

/** Path of the compiled worker entry. */
export function workerEntryPath(): string {
  const p = join(packageRoot(), 'dist', 'lib', 'workers', 'pema-worker.js');
  if (!existsSync(p)) throw new RxError('RX_INTERNAL', `RxLocalParallel needs the compiled worker ${p}: run \`npm run build:ts\``, { file: p });
  return p;
}

/**
 * The compiled module a worker imports to rebuild accumulator `name`: the module that
 * registered it (a lib/*.ts source maps to its dist/lib/*.js), when that file exists.
 */
export function workerModuleFor(name: string): string | undefined {
  const where = accumulatorModule(name);
  if (!where) return undefined;
  let path = where.startsWith('file://') ? fileURLToPath(where) : where;
  if (path.endsWith('.ts')) {
    const root = packageRoot();
    const rel = relative(join(root, 'lib'), path);
    if (rel.startsWith('..') || isAbsolute(rel)) return undefined;
    path = join(root, 'dist', 'lib', rel.replace(/\.ts$/, '.js'));
  }
  return existsSync(path) ? pathToFileURL(path).href : undefined;
}

type WorkerMsg =
  | { t: 'done'; run: number; rows: number; ms: number; buffers?: ArrayBuffer[] }
  | { t: 'state'; run: number; state: unknown }
  | { t: 'error'; run: number; error: SerializedError }
  | { t: 'task'; id: number; outcome: { status: 'OK'; result: unknown } | { status: 'Error'; error: SerializedError } };

interface Listener {
  message(w: Worker, msg: WorkerMsg): void;
  failure(w: Worker, err: Error): void;
}

class Pool {
  workers: Worker[] = [];
  private listener: Listener | undefined;
  private spawned = 0;

  constructor(private readonly entry: string) {}

  resize(n: number): void {
    while (this.workers.length > n) void this.workers.pop()!.terminate();
    while (this.workers.length < n) this.spawn();
  }

  /** Starts a new worker at the end of the pool. */
  spawn(): Worker {
    const w = new Worker(this.entry);
    const id = ++this.spawned;
    if (!this.listener) w.unref();
    w.on('message', (msg: WorkerMsg) => this.listener?.message(w, msg));
    w.on('error', (e) => {
      if (!this.drop(w)) return;
      this.listener?.failure(w, new RxError('RX_INTERNAL', `worker thread ${id} failed: ${e.message}`, { cause: e }));
    });
    w.on('exit', (code) => {
      if (!this.drop(w)) return;
      this.listener?.failure(w, new RxError('RX_INTERNAL', `worker thread ${id} exited unexpectedly (exit code ${code})`));
    });
    this.workers.push(w);
    return w;
  }

  private drop(w: Worker): boolean {
    const i = this.workers.indexOf(w);
    if (i < 0) return false;
    this.workers.splice(i, 1);
    return true;
  }

  attach(l: Listener): void {
    this.listener = l;
    for (const w of this.workers) w.ref();
  }

  detach(): void {
    this.listener = undefined;
    for (const w of this.workers) w.unref();
  }

  async terminate(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    this.listener = undefined;
    await Promise.all(ws.map((w) => w.terminate()));
  }
}

/** Resolves with `p`, or rejects with RX_CANCELLED as soon as `signal` aborts. */
function untilAborted(p: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(cancelledError(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(cancelledError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

let nativeHolds = 0;
function holdNativeThreads(): void {
  if (nativeHolds++ > 0) return;
  try {
    setNativeThreads(1);
  } catch {
    /* native addon unavailable: nothing to limit */
  }
}
function releaseNativeThreads(): void {
  if (--nativeHolds > 0) return;
  try {
    setNativeThreads(rxOptions().numThreads);
  } catch {
    /* native addon unavailable */
  }
}

/**
 * ArrayBuffers handed back by workers after processing a chunk of a transient pass (see
 * transient.ts), by byte length: the next chunks are copied into them instead of into
 * fresh memory (whose first touch costs a page fault per 4 KiB).
 */
class BufferPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private bytes = 0;
  /** Bytes kept at most (buffers handed back beyond it are left to the GC). */
  static readonly MAX_BYTES = 512 * 2 ** 20;

  put(b: ArrayBuffer): void {
    if (b.byteLength === 0 || this.bytes + b.byteLength > BufferPool.MAX_BYTES) return;
    this.bytes += b.byteLength;
    let l = this.free.get(b.byteLength);
    if (!l) this.free.set(b.byteLength, (l = []));
    l.push(b);
  }

  /** `v`'s bytes in a buffer of exactly its size (recycled when one is free), added to `transfer`. */
  copy<T extends ArrayBufferView>(v: T, transfer: Set<ArrayBuffer>): T {
    const ab = this.free.get(v.byteLength)?.pop();
    if (ab) this.bytes -= ab.byteLength;
    else {
      const c = (v as unknown as { slice(): T }).slice();
      transfer.add(c.buffer as ArrayBuffer);
      return c;
    }
    new Uint8Array(ab).set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    transfer.add(ab);
    const C = v.constructor as new (b: ArrayBuffer, o: number, n: number) => T;
    return new C(ab, 0, v.byteLength / ((v as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT ?? 1));
  }

  /** packChunk (transfer.ts) with copies into recycled buffers. */
  pack(chunk: Chunk): { chunk: Chunk; transfer: ArrayBuffer[] } {
    if (chunk.owned === true) return packChunk(chunk);
    const transfer = new Set<ArrayBuffer>();
    const move = <T extends ArrayBufferView>(v: T): T => (typeof SharedArrayBuffer !== 'undefined' && v.buffer instanceof SharedArrayBuffer ? v : this.copy(v, transfer));
    const columns: Record<string, Column> = {};
    for (const name of chunk.names) {
      const c = chunk.columns[name];
      if (!c) continue;
      const out: Column = { type: c.type, data: ArrayBuffer.isView(c.data) ? move(c.data) : c.data };
      if (c.valid) out.valid = move(c.valid);
      if (c.levels) out.levels = c.levels;
      if (c.ordered !== undefined) out.ordered = c.ordered;
      columns[name] = out;
    }
    return { chunk: { numRows: chunk.numRows, startRow: chunk.startRow, names: chunk.names, columns }, transfer: [...transfer] };
  }
}

export class RxLocalParallel implements ComputeContext {
  readonly name = 'RxLocalParallel';
  private readonly numWorkersOpt: number | undefined;
  readonly maxChunksInFlight: number;
  readonly modules: string[];
  private pool: Pool | undefined;
  /** Buffers workers handed back after transient passes (see BufferPool). */
  private buffers: BufferPool | undefined;
  private buffersTimer: ReturnType<typeof setTimeout> | undefined;
  private lock: Promise<void> = Promise.resolve();
  private runSeq = 0;

  constructor(opts: RxLocalParallelOptions = {}) {
    if (opts.numWorkers !== undefined && (!Number.isInteger(opts.numWorkers) || opts.numWorkers < 1)) throw argError('integer >= 1', 'numWorkers', opts.numWorkers);
    const mif = opts.maxChunksInFlight ?? 2;
    if (!Number.isInteger(mif) || mif < 1) throw argError('integer >= 1', 'maxChunksInFlight', mif);
    if (opts.modules !== undefined && (!Array.isArray(opts.modules) || opts.modules.some((m) => typeof m !== 'string'))) throw argError('array of module URLs', 'modules', opts.modules);
    this.numWorkersOpt = opts.numWorkers;
    this.maxChunksInFlight = mif;
    this.modules = [...(opts.modules ?? [])];
  }

  /** Workers used by the next run. */
  get numWorkers(): number {
    return this.numWorkersOpt ?? rxOptions().numThreads;
  }

  private allModules(): string[] {
    return [...new Set([...registeredAccumulatorModules(), ...this.modules])];
  }

  /** Runs `body` with exclusive use of a pool of numWorkers workers. */
  private async withPool<T>(body: (pool: Pool) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const prev = this.lock;
    let release!: () => void;
    this.lock = new Promise<void>((r) => (release = r));
    try {
      await untilAborted(prev, signal);
    } catch (e) {
      void prev.then(release); // hand the pool on once the run before us ends
      throw e;
    }
    holdNativeThreads();
    try {
      this.pool ??= new Pool(workerEntryPath());
      this.pool.resize(this.numWorkers);
      return await body(this.pool);
    } finally {
      this.pool?.detach();
      releaseNativeThreads();
      release();
    }
  }

  private async kill(): Promise<void> {
    const p = this.pool;
    this.pool = undefined;
    await p?.terminate();
  }

  run<Spec, State, Result>(def: AccumulatorDef<Spec, State, Result>, spec: Spec, source: DataSource, opts: ContextRunOptions): Promise<Result> {
    return this.withPool((pool) => runPasses(def, spec, source, opts, (s, schema, chunkOpts) => this.pass(pool, def, s, schema, source, chunkOpts, opts)), opts.signal);
  }

  private pass<Spec, State>(
    pool: Pool,
    def: AccumulatorDef<Spec, State, unknown>,
    spec: Spec,
    schema: Schema,
    source: DataSource,
    chunkOpts: ChunkOptions,
    opts: ContextRunOptions,
  ): Promise<State> {
    const progress = opts.progress ?? noProgress;
    const run = ++this.runSeq;
    const workers = [...pool.workers];
    const n = workers.length;
    const inflight = new Array<number>(n).fill(0);
    const states: Array<{ state: unknown } | undefined> = new Array(n).fill(undefined);
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    const notify = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const waitForChange = () => new Promise<void>((r) => (wake = r));
    const fail = (e: Error) => {
      failure ??= e;
      notify();
    };
    pool.attach({
      message: (w, msg) => {
        const i = workers.indexOf(w);
        if (!('run' in msg) || msg.run !== run || i < 0) return;
        if (msg.t === 'done') {
          inflight[i]!--;
          progress.chunk(msg.rows, msg.ms);
          if (msg.buffers) for (const b of msg.buffers) recycled?.put(b);
        } else if (msg.t === 'state') states[i] = { state: msg.state };
        else if (msg.t === 'error') fail(deserializeError(msg.error));
        notify();
      },
      failure: (_i, e) => fail(e),
    });
    const signal = opts.signal;
    const onAbort = () => {
      fail(cancelledError(signal, def.name));
      void this.kill();
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    // A transient pass (transient.ts) keeps no chunk arrays: workers hand the buffers back.
    const transient = source instanceof TransientChunkSource;
    const base = transient ? (source as TransientChunkSource).base : source;
    // kept across passes and runs (so repeated analyses touch no fresh memory), dropped when idle
    const recycled = transient ? (this.buffers ??= new BufferPool()) : undefined;
    if (this.buffersTimer) clearTimeout(this.buffersTimer);
    const body = async (): Promise<State> => {
      const modules = this.allModules();
      try {
        const hint = workerModuleFor(def.name);
        for (const w of workers) w.postMessage({ t: 'begin', run, name: def.name, spec, schema, modules, hint });
      } catch (e) {
        throw new RxError('RX_INTERNAL', `The spec of accumulator "${def.name}" cannot be sent to worker threads (spec and schema must be structured-cloneable): ${(e as Error).message}`, { cause: e });
      }
      if (base instanceof RxXdfData) {
        // Workers read their own chunks of the file (chunk k -> worker k % n, as below):
        // positioned reads in parallel, nothing copied or sent between threads.
        const opts: ChunkOptions = {};
        if (chunkOpts.columns) opts.columns = chunkOpts.columns;
        if (chunkOpts.rowsPerRead !== undefined) opts.rowsPerRead = chunkOpts.rowsPerRead;
        if (chunkOpts.startRow !== undefined) opts.startRow = chunkOpts.startRow;
        if (chunkOpts.numRows !== undefined) opts.numRows = chunkOpts.numRows;
        if (transient) opts.reuseBuffers = true;
        const xdf = { file: base.file, ...(base.rowsPerRead !== undefined ? { rowsPerRead: base.rowsPerRead } : {}) };
        workers.forEach((w, slot) => {
          w.postMessage({ t: 'read', run, xdf, opts, slot, of: n });
        });
      } else {
        await this.ship(source, chunkOpts, workers, run, inflight, recycled, () => failure, waitForChange, signal, def.name);
      }
      if (failure) throw failure;
      for (const w of workers) w.postMessage({ t: 'end', run });
      while (!failure && states.some((s) => s === undefined)) await waitForChange();
      if (failure) throw failure;
      let merged: State | undefined;
      for (const s of states) {
        if (s!.state === undefined) continue;
        merged = merged === undefined ? (s!.state as State) : def.merge(spec, merged, s!.state as State);
      }
      return merged ?? def.init(spec, schema);
    };
    const idle = () => {
      if (!recycled) return;
      this.buffersTimer = setTimeout(() => {
        this.buffers = undefined;
      }, 5000);
      this.buffersTimer.unref?.();
    };
    return body().then(
      (r) => {
        signal?.removeEventListener('abort', onAbort);
        idle();
        return r;
      },
      (e) => {
        signal?.removeEventListener('abort', onAbort);
        idle();
        for (const w of pool.workers) w.postMessage({ t: 'abort', run });
        throw e;
      },
    );
  }

  /** The main thread reads the chunks and sends chunk k to worker k % n (at most maxChunksInFlight queued per worker). */
  private async ship(
    source: DataSource,
    chunkOpts: ChunkOptions,
    workers: Worker[],
    run: number,
    inflight: number[],
    recycled: BufferPool | undefined,
    failed: () => Error | undefined,
    waitForChange: () => Promise<void>,
    signal: AbortSignal | undefined,
    name: string,
  ): Promise<void> {
    const n = workers.length;
    let k = 0;
    for await (const chunk of source.chunks(chunkOpts)) {
      if (failed()) break;
      throwIfAborted(signal, name);
      const slot = k % n;
      while (!failed() && inflight[slot]! >= this.maxChunksInFlight) await waitForChange();
      if (failed()) break;
      const packed = recycled ? recycled.pack(chunk) : packChunk(chunk);
      try {
        workers[slot]!.postMessage({ t: 'chunk', run, chunk: packed.chunk, recycle: recycled !== undefined }, packed.transfer);
      } catch (e) {
        throw new RxError('RX_DATA_SOURCE', `A chunk of ${source.describe?.() ?? source.kind} cannot be sent to a worker thread: ${(e as Error).message}`, { cause: e });
      }
      inflight[slot]!++;
      k++;
    }
  }

  exec(tasks: ExecTask[], opts: ExecOptions): Promise<ExecOutcome[]> {
    for (const t of tasks) {
      if (!isModuleFunction(t.fn))
        return Promise.reject(new RxError('RX_ARG', 'RxLocalParallel runs rxExec / rxExecBy functions in worker threads, which cannot receive code: pass { module: <file URL of a JS module>, exportName } instead of a function, or use RxLocalSeq'));
    }
    if (tasks.length === 0) return Promise.resolve([]);
    return this.withPool((pool) => this.execOn(pool, tasks, opts), opts.signal);
  }

  private execOn(pool: Pool, tasks: ExecTask[], opts: ExecOptions): Promise<ExecOutcome[]> {
    const out: ExecOutcome[] = new Array(tasks.length);
    const modules = this.allModules();
    const base = this.runSeq;
    this.runSeq += tasks.length;
    let next = 0;
    let doneCount = 0;
    const busy = new Map<Worker, number>(); // worker -> task index
    const signal = opts.signal;
    return new Promise<ExecOutcome[]>((resolve, reject) => {
      let finished = false;
      const finish = (e?: Error) => {
        if (finished) return;
        finished = true;
        signal?.removeEventListener('abort', onAbort);
        if (e) reject(e);
        else resolve(out);
      };
      const onAbort = () => {
        finish(cancelledError(signal, 'rxExec'));
        void this.kill();
      };
      const complete = (w: Worker | undefined, ti: number, o: ExecOutcome) => {
        if (w) busy.delete(w);
        out[ti] = o;
        doneCount++;
        opts.onTaskDone?.(ti, o);
        if (doneCount === tasks.length) finish();
        else if (w) dispatch(w);
      };
      const dispatch = (w: Worker) => {
        if (next >= tasks.length || finished) return;
        const ti = next++;
        const t = tasks[ti]!;
        const fn = t.fn as { module: string; exportName?: string };
        const msg: Record<string, unknown> = { t: 'task', id: base + ti + 1, fn: { module: fn.module, exportName: fn.exportName }, args: t.args, modules };
        if (t.table) msg.table = t.table;
        if (t.file) msg.file = t.file;
        busy.set(w, ti);
        try {
          w.postMessage(msg);
        } catch (e) {
          complete(w, ti, { status: 'Error', error: new RxError('RX_ARG', `the arguments of task ${ti + 1} cannot be sent to a worker thread (they must be structured-cloneable): ${(e as Error).message}`) });
        }
      };
      pool.attach({
        message: (w, msg) => {
          if (msg.t !== 'task') return;
          const ti = msg.id - base - 1;
          if (busy.get(w) !== ti) return;
          complete(w, ti, msg.outcome.status === 'OK' ? { status: 'OK', result: msg.outcome.result } : { status: 'Error', error: deserializeError(msg.outcome.error) });
        },
        failure: (w, e) => {
          // A task that kills its worker fails alone; a fresh worker takes over.
          const ti = busy.get(w);
          if (ti === undefined || finished) return;
          busy.delete(w);
          let fresh: Worker | undefined;
          try {
            fresh = pool.spawn();
          } catch {
            fresh = undefined;
          }
          complete(fresh, ti, { status: 'Error', error: e });
          if (!fresh && busy.size === 0 && doneCount < tasks.length) finish(e);
        },
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) return onAbort();
      for (const w of [...pool.workers]) dispatch(w);
    });
  }

  /** Terminates the worker threads (a later run starts new ones). */
  async close(): Promise<void> {
    await this.lock;
    if (this.buffersTimer) clearTimeout(this.buffersTimer);
    this.buffers = undefined;
    await this.kill();
  }
}

registerComputeContextName('localpar', () => new RxLocalParallel());
