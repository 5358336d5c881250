/**
 * rxPredict for every model kind: linear models (rxLinMod / rxLogit / rxGlm) and tree models
 * (rxDTree, rxDForest, rxBTrees, rxFastTrees, rxFastForest) through one entry point, as in
 * revoscalepy. Options are the model family's own (see RxPredictOptions / TreePredictOptions;
 * both take `engine: 'js' | 'native' | 'onnx'`).
 */
import { rxPredict as predictLinear, type RxPredictOptions } from './models/index.js';
import { RxTreeModel, rxPredictTrees, type TreePredictOptions } from './trees/index.js';
import { isMlModel, rxPredictMl, type MlPredictOptions } from './ml/index.js';
import { argError } from './validate.js';

export type PredictOptions = RxPredictOptions & TreePredictOptions & MlPredictOptions;

export async function rxPredict(model: unknown, data: unknown, opts: PredictOptions = {}): Promise<Record<string, ArrayLike<unknown>>> {
  if (model instanceof RxTreeModel || (typeof model === 'object' && model !== null && (model as { isTreeModel?: boolean }).isTreeModel === true))
    return rxPredictTrees(model as RxTreeModel, data, opts) as Promise<Record<string, ArrayLike<unknown>>>;
  if (isMlModel(model)) return rxPredictMl(model, data, opts);
  if (typeof model === 'object' && model !== null && 'design' in model)
    return predictLinear(model as Parameters<typeof predictLinear>[0], data, opts) as Promise<Record<string, ArrayLike<unknown>>>;
  throw argError('a fitted rxscale model (rxLinMod, rxLogit, rxGlm, rxDTree, rxDForest, rxBTrees, rxFastTrees, rxFastForest, rxLogisticRegression, rxFastLinear)', 'model', model);
}
