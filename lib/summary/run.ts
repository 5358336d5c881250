/**
 * How the summary functions run their accumulators: resolve `data`, then hand the
 * accumulator to the PEMA driver with the caller's options.
 */
import type { AccumulatorDef } from '../compute/pema.js';
import { runPemaSequential } from '../compute/run.js';
import { resolveSource } from '../data/resolve.js';
import type { DataSource } from '../data/types.js';

export interface CommonOptions {
  rowsPerRead?: number;
  /** Compute context (RxLocalSeq / RxLocalParallel / ...); default: the current one. */
  computeContext?: unknown;
  reportProgress?: number;
  signal?: AbortSignal;
}

export function sourceOf(data: unknown): DataSource {
  return resolveSource(data);
}

export async function runAcc<Spec, State, Result>(def: AccumulatorDef<Spec, State, Result>, spec: Spec, source: DataSource, opts: CommonOptions): Promise<Result> {
  const o: { rowsPerRead?: number; signal?: AbortSignal } = {};
  if (opts.rowsPerRead !== undefined) o.rowsPerRead = opts.rowsPerRead;
  if (opts.signal) o.signal = opts.signal;
  return runPemaSequential(def, spec, source, o);
}

export function dataLabel(source: DataSource): string {
  return source.describe?.() ?? `${source.kind} data`;
}
