import { addon } from './loader.js';

/** Typed mirror of the addon's summary exports (native/binding/summary.cpp). */
export interface SummaryNative {
  crosstab2(a: Int32Array, b: Int32Array, da: number, db: number, counts: Float64Array): number;
}
export const summaryExports = ['crosstab2'] as const satisfies readonly (keyof SummaryNative)[];

/**
 * Adds each row of two factor code columns into counts[a + da * b] (a da x db grid, first
 * factor fastest); rows with a negative code in either column are skipped and their number
 * returned. Codes outside the grid are an RX_ARG error. Multi-threaded (the one thread budget).
 */
export function crosstab2(a: Int32Array, b: Int32Array, da: number, db: number, counts: Float64Array): number {
  return addon<SummaryNative>().crosstab2(a, b, da, db, counts);
}
