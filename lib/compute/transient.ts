/**
 * A source as seen by an accumulator whose process() is done with a chunk's arrays when
 * it returns (it copies what it keeps): the source is asked to read every chunk into the
 * same buffers (ChunkOptions.reuseBuffers), which saves allocating and page-faulting fresh
 * memory per chunk. RxLocalParallel recognises it (`base`) to let worker threads read
 * their own chunks of an RxXdfData file, and to recycle the buffers it sends to workers.
 * Only for the local contexts: in-database contexts need the source itself.
 */
import type { ChunkOptions, DataSource, Schema } from '../data/types.js';

export class TransientChunkSource implements DataSource {
  readonly kind: string;
  numRows?: () => Promise<number | undefined>;

  constructor(readonly base: DataSource) {
    this.kind = base.kind;
    if (base.numRows) this.numRows = () => base.numRows!();
  }

  schema(): Promise<Schema> {
    return this.base.schema();
  }

  chunks(opts: ChunkOptions = {}) {
    return this.base.chunks({ ...opts, reuseBuffers: true });
  }

  describe(): string {
    return this.base.describe?.() ?? `${this.base.kind} data`;
  }
}

/** The source with reuseBuffers reads for a context that runs in this process (RxLocalSeq, RxLocalParallel); `source` itself otherwise. */
export function transientFor(source: DataSource, contextName: string): DataSource {
  if (source instanceof TransientChunkSource) return source;
  return contextName === 'RxLocalSeq' || contextName === 'RxLocalParallel' ? new TransientChunkSource(source) : source;
}
