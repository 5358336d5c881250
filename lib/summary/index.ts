/** Summaries and tables: rxSummary, rxCube, rxCrossTabs, rxQuantile, rxCovCor, tests. */
export { rxSummary, RxSummaryResult, summaryAccumulator, SUMMARY_STATS } from './summary.js';
export type { RxSummaryOptions, SummaryRow, CategoryTable, ByCategoryTable, ByCategoryRow, SummaryStat } from './summary.js';
export { rxCube, rxCrossTabs, RxCubeResult, RxCrossTabsResult, rxChiSquaredTest, rxFisherTest, chiSquaredTest, fisherTest, cubeAccumulator } from './crosstabs.js';
export type { RxCubeOptions, RxCrossTabsOptions, CrossTable, ChiSquaredResult, FisherResult } from './crosstabs.js';
export { rxQuantile, RxQuantileResult, quantileAccumulator } from './quantile.js';
export type { RxQuantileOptions } from './quantile.js';
export type { CommonOptions as SummaryCommonOptions } from './run.js';
export { rxCovCor, rxCov, rxCor, rxSSCP, RxCovCorResult, covCorAccumulator } from './covcor.js';
export type { RxCovCorOptions, CovCorType } from './covcor.js';
export { rxKendallCor, RxKendallCorResult, kendallTau, kendallAccumulator } from './kendall.js';
import './pushdown.js'; // in-database SQL forms of the summary accumulators (lib/db contexts)
