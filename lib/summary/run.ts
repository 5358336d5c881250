/**
 * How the summary functions run their accumulators: resolve `data`, apply
 * rowSelection / transforms (lib/expr, evaluated chunk by chunk, never eval'd), then hand
 * the accumulator to the compute context in force (RxLocalSeq, RxLocalParallel, ...).
 */
import type { ComputeContext } from '../compute/context.js';
import type { AccumulatorDef } from '../compute/pema.js';
import { type RxRunOptions, resolveRunOptions, runAccumulator } from '../compute/run.js';
import { transientFor } from '../compute/transient.js';
import type { ProgressLevel, ProgressStream } from '../compute/progress.js';
import { resolveSource } from '../data/resolve.js';
import type { DataSource } from '../data/types.js';
import type { ExprNode } from '../expr/ast.js';
import { withTransforms } from '../expr/source.js';
import { type SFormula, formulaTransforms } from './terms.js';

export interface CommonOptions {
  /** Keep only rows where this expression is TRUE, e.g. "age >= 30 & age < 40". */
  rowSelection?: string | ExprNode;
  /** New or replaced variables: { logInc: 'log(incwage)' }. */
  transforms?: Record<string, string | ExprNode>;
  rowsPerRead?: number;
  /** Compute context (RxLocalSeq / RxLocalParallel / ...); default: rxGetComputeContext(). */
  computeContext?: ComputeContext;
  reportProgress?: ProgressLevel;
  /** Where progress goes (default process.stderr, shown only on a TTY). */
  progressStream?: ProgressStream;
  signal?: AbortSignal;
}

/**
 * The data source the analysis reads: `data` with the caller's transforms, then the
 * formula's function terms, then rowSelection applied (all through lib/expr).
 */
export function sourceOf(data: unknown, opts: CommonOptions = {}, f?: SFormula): DataSource {
  const src = resolveSource(data);
  const extra: Record<string, ExprNode> = f ? formulaTransforms(f) : {};
  const hasExtra = Object.keys(extra).length > 0;
  if (opts.rowSelection === undefined && opts.transforms === undefined && !hasExtra) return src;
  const t: Parameters<typeof withTransforms>[1] = {};
  if (opts.rowSelection !== undefined) t.rowSelection = opts.rowSelection;
  if (opts.transforms !== undefined || hasExtra) t.transforms = { ...(opts.transforms ?? {}), ...extra };
  return withTransforms(src, t);
}

/**
 * Runs `def` over `source`. `transient`: def.process() keeps none of a chunk's arrays (it
 * copies what it keeps), so local contexts may read every chunk into the same buffers
 * (see lib/compute/transient.ts).
 */
export async function runAcc<Spec, State, Result>(def: AccumulatorDef<Spec, State, Result>, spec: Spec, source: DataSource, opts: CommonOptions, transient = false): Promise<Result> {
  if (transient) source = transientFor(source, resolveRunOptions({ ...(opts.computeContext !== undefined ? { computeContext: opts.computeContext } : {}) }).ctx.name);
  const o: RxRunOptions = {};
  if (opts.rowsPerRead !== undefined) o.rowsPerRead = opts.rowsPerRead;
  if (opts.signal) o.signal = opts.signal;
  if (opts.computeContext !== undefined) o.computeContext = opts.computeContext;
  if (opts.reportProgress !== undefined) o.reportProgress = opts.reportProgress;
  if (opts.progressStream !== undefined) o.progressStream = opts.progressStream;
  return runAccumulator(def, spec, source, o);
}

export function dataLabel(source: DataSource): string {
  return source.describe?.() ?? `${source.kind} data`;
}
