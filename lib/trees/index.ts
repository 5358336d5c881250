import './register.js';
export { rxFastTrees, rxBTrees, rxDForest, rxFastForest } from './fit.js';
export type { FastTreesOptions, BTreesOptions, DForestOptions } from './fit.js';
export { rxDTree, rxPrune, rxVarImpPlot, dtreeFrame, dtreeToString, dtreeImportance, dtreeSummary, dtreeRawScores } from './dtree.js';
export type { DTreeOptions, CpRow, DTreeFrameRow, DTreeSplit, DTreeNodeSplits } from './dtree.js';
export { RxTreeModel, predictTreeModel as rxPredictTrees } from './model.js';
export type { TreePredictOptions, PredictionTable, TreeModelKind, TreeTask } from './model.js';
