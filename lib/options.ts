/** Global options (rxOptions), one thread budget shared by native pools, BLAS and workers. */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from './native/loader.js';
import { setNativeThreads } from './native/info.js';
import { expectNumber } from './validate.js';

export interface RxOptions {
  /** Threads for native pools, BLAS and worker_threads together (default: all cores). */
  numThreads: number;
  /** Default rows per chunk when reading data sources. */
  rowsPerRead: number;
  /** 0 none, 1 summary, 2 progress bar, 3 detailed (RevoScaleR's reportProgress). */
  reportProgress: 0 | 1 | 2 | 3;
  /** Directory holding the sample data shipped with the package. */
  sampleDataDir: string;
}

const state: RxOptions = {
  numThreads: availableParallelism(),
  rowsPerRead: 500_000,
  reportProgress: 2,
  sampleDataDir: join(packageRoot(), 'data'),
};

/** Reads (no argument) or updates global options; returns the options now in force. */
export function rxOptions(update?: Partial<RxOptions>): Readonly<RxOptions> {
  if (update) {
    if (update.numThreads !== undefined) {
      const n = expectNumber(update.numThreads, 'numThreads', { min: 1, integer: true });
      state.numThreads = n;
      setNativeThreads(n);
    }
    if (update.rowsPerRead !== undefined) state.rowsPerRead = expectNumber(update.rowsPerRead, 'rowsPerRead', { min: 1, integer: true });
    if (update.reportProgress !== undefined)
      state.reportProgress = expectNumber(update.reportProgress, 'reportProgress', { min: 0, max: 3, integer: true }) as 0 | 1 | 2 | 3;
    if (update.sampleDataDir !== undefined) state.sampleDataDir = update.sampleDataDir;
  }
  return { ...state };
}
