/**
 * The pass loop shared by every compute context, and the in-process (sequential) pass.
 * A context implements ONE pass (read chunks, process, merge -> State); `runPasses`
 * calls finalize() and starts the next pass until the accumulator says done.
 */
import { RxError, isRxError } from '../errors.js';
import type { ChunkOptions, DataSource, Schema } from '../data/types.js';
import type { AccumulatorDef } from './pema.js';
import { type ProgressSink, noProgress } from './progress.js';

export interface PassOptions {
  /** Rows per chunk; undefined = the source's own default. */
  rowsPerRead?: number;
  signal?: AbortSignal;
  progress?: ProgressSink;
}

/** Throws RX_CANCELLED (or the signal's own RxError reason) when the signal is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, what = 'the computation'): void {
  if (!signal?.aborted) return;
  throw cancelledError(signal, what);
}

export function cancelledError(signal: AbortSignal | undefined, what = 'the computation'): RxError {
  const r = signal?.reason;
  if (isRxError(r)) return r;
  return new RxError('RX_CANCELLED', `${what} was cancelled`, r !== undefined ? { cause: r } : {});
}

/** Chunk options for one pass of `def` (columns it needs, rowsPerRead, signal). */
export function chunkOptionsFor<Spec>(def: AccumulatorDef<Spec, unknown, unknown>, spec: Spec, schema: Schema, opts: PassOptions): ChunkOptions {
  const chunkOpts: ChunkOptions = {};
  const cols = def.columns?.(spec, schema);
  if (cols) chunkOpts.columns = cols;
  if (opts.rowsPerRead !== undefined) chunkOpts.rowsPerRead = opts.rowsPerRead;
  if (opts.signal) chunkOpts.signal = opts.signal;
  return chunkOpts;
}

/** Total rows of a source when cheap to know. */
export async function knownRows(source: DataSource, schema: Schema): Promise<number | undefined> {
  if (schema.numRows !== undefined) return schema.numRows;
  try {
    return await source.numRows?.();
  } catch {
    return undefined;
  }
}

export type OnePass<Spec, State> = (spec: Spec, schema: Schema, chunkOpts: ChunkOptions, pass: number) => Promise<State>;

/** Runs passes until finalize() is done; `onePass` returns the merged state of one pass. */
export async function runPasses<Spec, State, Result>(
  def: AccumulatorDef<Spec, State, Result>,
  spec: Spec,
  source: DataSource,
  opts: PassOptions,
  onePass: OnePass<Spec, State>,
): Promise<Result> {
  const progress = opts.progress ?? noProgress;
  const schema = await source.schema();
  const total = await knownRows(source, schema);
  let current = spec;
  for (let pass = 1; ; pass++) {
    throwIfAborted(opts.signal);
    progress.startPass(pass, total);
    const state = await onePass(current, schema, chunkOptionsFor(def as AccumulatorDef<Spec, unknown, unknown>, current, schema, opts), pass);
    progress.endPass();
    throwIfAborted(opts.signal);
    const r = await def.finalize(current, state, schema);
    if (r.done) return r.result;
    current = r.spec;
  }
}

/** One in-process pass: init, process every chunk in order. */
export async function sequentialPass<Spec, State>(
  def: AccumulatorDef<Spec, State, unknown>,
  spec: Spec,
  schema: Schema,
  source: DataSource,
  chunkOpts: ChunkOptions,
  opts: PassOptions,
): Promise<State> {
  const progress = opts.progress ?? noProgress;
  let state = def.init(spec, schema);
  for await (const chunk of source.chunks(chunkOpts)) {
    throwIfAborted(opts.signal);
    const t0 = performance.now();
    state = await def.process(spec, state, chunk);
    progress.chunk(chunk.numRows, performance.now() - t0);
  }
  return state;
}

/**
 * Runs an accumulator in this thread over the source, pass after pass, until finalize()
 * says done (the RxLocalSeq engine).
 */
export function runPemaSequential<Spec, State, Result>(
  def: AccumulatorDef<Spec, State, Result>,
  spec: Spec,
  source: DataSource,
  opts: PassOptions = {},
): Promise<Result> {
  return runPasses(def, spec, source, opts, (s, schema, chunkOpts) => sequentialPass(def, s, schema, source, chunkOpts, opts));
}
