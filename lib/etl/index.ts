/** ETL functions: import / data step / info / sort / merge / split / factors. */
export { rxImport, rxDataStep } from './import.js';
export type { RxImportOptions, RxDataStepOptions, InData, OutFile, TransformArgs } from './import.js';
export { rxGetInfo, rxGetVarInfo, rxGetVarNames, rxSetVarInfo, rxReadXdf, rxCreateColInfo } from './info.js';
export type {
  RxGetInfoOptions,
  RxGetInfoResult,
  RxGetVarInfoOptions,
  RxVarInfo,
  RxVarInfoEntry,
  RxVarType,
  RxSetVarInfoEntry,
  RxReadXdfOptions,
  RxCreateColInfoOptions,
  CreatedColInfo,
} from './info.js';
export { rxSort } from './sort.js';
export type { RxSortOptions } from './sort.js';
export { rxMerge } from './merge.js';
export type { RxMergeOptions, MergeType } from './merge.js';
export { rxSplit } from './split.js';
export type { RxSplitOptions } from './split.js';
export { rxFactors } from './factors.js';
export type { RxFactorsOptions, FactorInfoEntry } from './factors.js';
