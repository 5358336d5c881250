/**
 * PEMA driver entry: `runAccumulator(def, spec, data, opts)` is what every analysis
 * function calls. It resolves `data` to a DataSource, picks the compute context
 * (opts.computeContext ?? rxGetComputeContext()), sets up progress reporting and runs the
 * accumulator pass after pass until finalize() says done.
 */
import { resolveSource } from '../data/resolve.js';
import { RxError } from '../errors.js';
import { rxOptions } from '../options.js';
import { argError, expectNumber } from '../validate.js';
import { type ComputeContext, rxGetComputeContext, toComputeContext } from './context.js';
import type { AccumulatorDef } from './pema.js';
import { type ProgressLevel, ProgressReporter, type ProgressStream } from './progress.js';
import { throwIfAborted } from './sequential.js';

export { runPemaSequential, runPasses, sequentialPass } from './sequential.js';
export type { PassOptions as RunOptions } from './sequential.js';

export interface RxRunOptions {
  /** Where to run (default rxGetComputeContext()); also 'local' / 'localpar'. */
  computeContext?: ComputeContext | 'local' | 'localpar';
  /** Rows per chunk (default: the source's own, see the data source). */
  rowsPerRead?: number;
  /** Cancels the run with RxError('RX_CANCELLED'). */
  signal?: AbortSignal;
  /** 0-3 (default rxOptions().reportProgress); see progress.ts. */
  reportProgress?: ProgressLevel;
  /** Where progress goes (default process.stderr; output only when it is a TTY). */
  progressStream?: ProgressStream;
  /** Progress label (default def.name). */
  label?: string;
}

/** Validates the options common to every analysis function; returns the context to use. */
export function resolveRunOptions(opts: RxRunOptions): { ctx: ComputeContext; level: ProgressLevel } {
  if (typeof opts !== 'object' || opts === null) throw argError('an options object', 'options', opts);
  const ctx = opts.computeContext === undefined ? rxGetComputeContext() : toComputeContext(opts.computeContext);
  if (opts.rowsPerRead !== undefined) expectNumber(opts.rowsPerRead, 'rowsPerRead', { min: 1, integer: true });
  const level = (opts.reportProgress !== undefined
    ? expectNumber(opts.reportProgress, 'reportProgress', { min: 0, max: 3, integer: true })
    : rxOptions().reportProgress) as ProgressLevel;
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) throw argError('an AbortSignal', 'signal', opts.signal);
  return { ctx, level };
}

/**
 * Runs accumulator `def` with `spec` over `data` (a DataSource or an object of columns)
 * in the compute context in force. Errors are RxErrors (RX_CANCELLED when aborted).
 */
export async function runAccumulator<Spec, State, Result>(
  def: AccumulatorDef<Spec, State, Result>,
  spec: Spec,
  data: unknown,
  opts: RxRunOptions = {},
): Promise<Result> {
  if (typeof def !== 'object' || def === null || typeof def.name !== 'string' || typeof def.process !== 'function')
    throw new RxError('RX_INTERNAL', 'runAccumulator needs an accumulator definition (see lib/compute/pema.ts)');
  const { ctx, level } = resolveRunOptions(opts);
  const source = resolveSource(data);
  throwIfAborted(opts.signal, def.name);
  const progressOpts: ConstructorParameters<typeof ProgressReporter>[0] = { level, label: opts.label ?? def.name };
  if (opts.progressStream) progressOpts.stream = opts.progressStream;
  const progress = new ProgressReporter(progressOpts);
  const runOpts: Parameters<ComputeContext['run']>[3] = { progress };
  if (opts.rowsPerRead !== undefined) runOpts.rowsPerRead = opts.rowsPerRead;
  if (opts.signal) runOpts.signal = opts.signal;
  return ctx.run(def, spec, source, runOpts);
}
