/**
 * Compute contexts: WHERE an analysis runs. Every analysis function (rxSummary,
 * rxLinMod, rxDTree, ...) calls `runAccumulator` (run.ts), which hands its accumulator to
 * the context in force: the call's `computeContext` option, else `rxGetComputeContext()`.
 *
 * A context implements this small interface:
 *
 *   interface ComputeContext {
 *     name: string;                                  // 'RxLocalSeq', 'RxLocalParallel', 'RxInDuckDb', ...
 *     run(def, spec, source, opts): Promise<Result>;   // all passes until def.finalize() is done
 *     exec?(tasks, opts): Promise<ExecOutcome[]>;      // rxExec / rxExecBy tasks (optional)
 *     close?(): Promise<void>;                         // release workers / connections
 *   }
 *
 * `run` gets the accumulator definition (lib/compute/pema.ts), its structured-cloneable
 * spec, the resolved DataSource and { rowsPerRead, signal, progress }. It must call
 * opts.progress.startPass/chunk/endPass as it goes, stop with RxError('RX_CANCELLED') when
 * opts.signal aborts, and give results equal (to rounding) to RxLocalSeq. The helper
 * `runPasses` (sequential.ts) owns the pass loop so a context only writes one pass; an
 * in-database context may instead compile def/spec to SQL and fall back to
 * `runPemaSequential` (rows streamed to the client) when it cannot.
 *
 * Built in: RxLocalSeq (this thread, chunk after chunk) and RxLocalParallel (worker
 * threads, parallel.ts). The default context is RxLocalSeq.
 */
import type { Column, DataSource } from '../data/types.js';
import { RxMemoryData } from '../data/memory.js';
import { RxError } from '../errors.js';
import { argError } from '../validate.js';
import type { AccumulatorDef } from './pema.js';
import type { ProgressSink } from './progress.js';
import { cancelledError, runPemaSequential, throwIfAborted } from './sequential.js';

export interface ContextRunOptions {
  rowsPerRead?: number;
  signal?: AbortSignal;
  progress: ProgressSink;
}

/**
 * A function run by rxExec / rxExecBy. A plain JS function runs in the calling thread
 * (RxLocalSeq). Worker contexts (RxLocalParallel) cannot receive code (rxscale never
 * evaluates source text), so there the function must be a module export: workers
 * `import(module)` and call `exportName` (default 'default'). `module` is a file URL or an
 * absolute path of a JS module (compiled JS, not TypeScript).
 */
export type TaskFunction = ((...args: any[]) => unknown) | ModuleFunction;
export interface ModuleFunction {
  module: string;
  exportName?: string;
}

export interface ExecTask {
  fn: TaskFunction;
  /** Arguments (structured-cloneable for worker contexts). */
  args: unknown[];
  /** Columns to wrap as an in-memory DataSource and pass as args[argIndex] (rxExecBy partitions). */
  table?: { argIndex: number; columns: Record<string, Column> };
  /** An xdf file to open as RxXdfData and pass as args[argIndex] (rxExecBy partitions spilled to disk). */
  file?: { argIndex: number; path: string };
}

export type ExecOutcome = { status: 'OK'; result: unknown } | { status: 'Error'; error: Error };

export interface ExecOptions {
  signal?: AbortSignal;
  /** Called when each task ends (index into tasks). */
  onTaskDone?(index: number, outcome: ExecOutcome): void;
}

export interface ComputeContext {
  readonly name: string;
  run<Spec, State, Result>(def: AccumulatorDef<Spec, State, Result>, spec: Spec, source: DataSource, opts: ContextRunOptions): Promise<Result>;
  exec?(tasks: ExecTask[], opts: ExecOptions): Promise<ExecOutcome[]>;
  close?(): Promise<void>;
}

export function isModuleFunction(x: unknown): x is ModuleFunction {
  return typeof x === 'object' && x !== null && typeof (x as ModuleFunction).module === 'string' &&
    ((x as ModuleFunction).exportName === undefined || typeof (x as ModuleFunction).exportName === 'string');
}

export function isComputeContext(x: unknown): x is ComputeContext {
  return typeof x === 'object' && x !== null && typeof (x as ComputeContext).name === 'string' && typeof (x as ComputeContext).run === 'function';
}

/** Normalises a module reference to a URL string for import(). */
export function moduleUrl(m: string): string {
  if (/^(file|data|node):/.test(m)) return m;
  if (m.startsWith('/') || /^[A-Za-z]:[\\/]/.test(m)) return new URL(`file://${m.startsWith('/') ? '' : '/'}${m.replace(/\\/g, '/')}`).href;
  throw new RxError('RX_ARG', `Expected a file URL or an absolute path for a task module but received "${m}"`, { text: m });
}

/** Resolves a TaskFunction to a callable (imports module functions). */
export async function resolveTaskFunction(fn: TaskFunction): Promise<(...args: any[]) => unknown> {
  if (typeof fn === 'function') return fn;
  if (!isModuleFunction(fn)) throw argError('a function or { module, exportName }', 'the task function', fn);
  const url = moduleUrl(fn.module);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (e) {
    throw new RxError('RX_ARG', `Cannot import task module ${url}: ${(e as Error).message}`, { file: fn.module, cause: e });
  }
  const name = fn.exportName ?? 'default';
  const f = mod[name];
  if (typeof f !== 'function') throw new RxError('RX_ARG', `Task module ${url} has no function export "${name}"`, { file: fn.module, text: name });
  return f as (...args: any[]) => unknown;
}

/** Runs one task in this thread and captures its outcome (never throws). */
export async function runTaskHere(task: ExecTask): Promise<ExecOutcome> {
  try {
    const f = await resolveTaskFunction(task.fn);
    const args = [...task.args];
    if (task.table) args[task.table.argIndex] = new RxMemoryData(task.table.columns);
    if (task.file) {
      const { RxXdfData } = await import('../data/xdf.js');
      args[task.file.argIndex] = new RxXdfData(task.file.path);
    }
    return { status: 'OK', result: await f(...args) };
  } catch (e) {
    return { status: 'Error', error: e instanceof Error ? e : new Error(String(e)) };
  }
}

/** Runs tasks in this thread with at most `concurrency` in flight (async tasks overlap). */
export async function runTasksHere(tasks: ExecTask[], opts: ExecOptions, concurrency: number): Promise<ExecOutcome[]> {
  const out: ExecOutcome[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      throwIfAborted(opts.signal, 'rxExec');
      const i = next++;
      if (i >= tasks.length) return;
      const o = await runTaskHere(tasks[i]!);
      out[i] = o;
      opts.onTaskDone?.(i, o);
    }
  };
  const n = Math.max(1, Math.min(concurrency, tasks.length));
  const runners = Array.from({ length: n }, worker);
  if (!opts.signal) {
    await Promise.all(runners);
    return out;
  }
  const signal = opts.signal;
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(cancelledError(signal, 'rxExec'));
    signal.addEventListener('abort', onAbort, { once: true });
    Promise.all(runners).then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
  return out;
}

export interface RxLocalSeqOptions {
  /** rxExec / rxExecBy tasks in flight at once (async functions overlap); default 1. */
  execConcurrency?: number;
}

/** The local sequential context: every chunk is processed in this thread, in order. */
export class RxLocalSeq implements ComputeContext {
  readonly name = 'RxLocalSeq';
  readonly execConcurrency: number;

  constructor(opts: RxLocalSeqOptions = {}) {
    const c = opts.execConcurrency ?? 1;
    if (!Number.isInteger(c) || c < 1) throw argError('integer >= 1', 'execConcurrency', c);
    this.execConcurrency = c;
  }

  run<Spec, State, Result>(def: AccumulatorDef<Spec, State, Result>, spec: Spec, source: DataSource, opts: ContextRunOptions): Promise<Result> {
    return runPemaSequential(def, spec, source, opts);
  }

  exec(tasks: ExecTask[], opts: ExecOptions): Promise<ExecOutcome[]> {
    return runTasksHere(tasks, opts, this.execConcurrency);
  }

  async close(): Promise<void> {}
}

let current: ComputeContext = new RxLocalSeq();

/** RevoScaleR's short names: 'local' (RxLocalSeq), 'localpar' (RxLocalParallel, registered by parallel.ts). */
const named = new Map<string, () => ComputeContext>([['local', () => new RxLocalSeq()]]);
const namedInstances = new Map<string, ComputeContext>();

/** Registers a short name accepted by rxSetComputeContext (one shared instance per name). */
export function registerComputeContextName(name: string, create: () => ComputeContext): void {
  named.set(name, create);
  namedInstances.delete(name);
}

/** A ComputeContext, or a registered short name ('local', 'localpar'), as a ComputeContext. */
export function toComputeContext(ctx: unknown): ComputeContext {
  if (typeof ctx === 'string') {
    const create = named.get(ctx);
    if (!create) throw argError(`a compute context or one of ${[...named.keys()].map((k) => `'${k}'`).join(', ')}`, 'computeContext', ctx);
    let inst = namedInstances.get(ctx);
    if (!inst) namedInstances.set(ctx, (inst = create()));
    return inst;
  }
  if (!isComputeContext(ctx)) throw argError('a compute context (RxLocalSeq, RxLocalParallel, ...)', 'computeContext', ctx);
  return ctx;
}

/** Sets the compute context used when a call gives no `computeContext`; returns the previous one. */
export function rxSetComputeContext(ctx: ComputeContext | 'local' | 'localpar'): ComputeContext {
  const next = toComputeContext(ctx);
  const prev = current;
  current = next;
  return prev;
}

/** The compute context in force (default RxLocalSeq). */
export function rxGetComputeContext(): ComputeContext {
  return current;
}
