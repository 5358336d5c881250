/**
 * Registers the tree model kinds (rxDTree, rxDForest, rxBTrees, rxFastTrees, rxFastForest)
 * with the model-kind registry (lib/scoring), so rxSerializeModel / rxUnserializeModel,
 * the scoring server and the CLI handle them. Layout version 1 = RxTreeModel.toJSON
 * (format 'rxscale.tree/1').
 */
import type { Chunk, ColumnInfo } from '../data/types.js';
import { registerModelKind, type ScoreColumns } from '../scoring/registry.js';
import { scoreChunkNative } from '../onnx/scorer.js';
import { RxTreeModel } from './model.js';

function inputs(m: RxTreeModel): ColumnInfo[] {
  return m.features.map((f) => (f.type === 'factor' ? { name: f.name, type: 'factor', levels: (f.levels ?? []).slice() } : { name: f.name, type: 'float64' }));
}

/**
 * Server / CLI scoring through the native scorer (lib/onnx/scorer.ts): classifiers give one
 * `<level>_prob` column per level and the class in `<y>_Pred` (rxFastTrees / rxFastForest:
 * `Probability` and `PredictedLabel`); regression `<y>_Pred` (`Score`).
 */
function score(m: RxTreeModel, chunk: Chunk): ScoreColumns {
  return scoreChunkNative(m, chunk);
}

for (const kind of ['rxDTree', 'rxDForest', 'rxBTrees', 'rxFastTrees', 'rxFastForest'] as const)
  registerModelKind<RxTreeModel>({ kind, version: 1, fromJSON: (j) => RxTreeModel.fromJSON(j), inputs, score });
