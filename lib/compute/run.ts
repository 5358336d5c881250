/**
 * PEMA driver: runs an accumulator over a data source, pass after pass, until
 * finalize() says done. This is the sequential core; compute contexts (RxLocalSeq,
 * RxLocalParallel, in-database) decide how chunks are read and where process() runs.
 */
import type { ChunkOptions, DataSource } from '../data/types.js';
import type { AccumulatorDef } from './pema.js';

export interface RunOptions {
  rowsPerRead?: number;
  signal?: AbortSignal;
}

export async function runPemaSequential<Spec, State, Result>(
  def: AccumulatorDef<Spec, State, Result>,
  spec: Spec,
  source: DataSource,
  opts: RunOptions = {},
): Promise<Result> {
  const schema = await source.schema();
  let current = spec;
  for (;;) {
    let state = def.init(current, schema);
    const chunkOpts: ChunkOptions = {};
    const cols = def.columns?.(current, schema);
    if (cols) chunkOpts.columns = cols;
    if (opts.rowsPerRead !== undefined) chunkOpts.rowsPerRead = opts.rowsPerRead;
    if (opts.signal) chunkOpts.signal = opts.signal;
    for await (const chunk of source.chunks(chunkOpts)) state = await def.process(current, state, chunk);
    const r = await def.finalize(current, state, schema);
    if (r.done) return r.result;
    current = r.spec;
  }
}
