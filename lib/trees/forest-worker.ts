/**
 * Worker-thread task for forests on RxLocalParallel: trains trees [firstTree, firstTree +
 * nTrees) of a forest on the binned data it is sent. Seeds and bootstrap samples follow each
 * tree's index in the whole forest, so the parts put together equal the RxLocalSeq forest.
 */
import { type BinnedDataNative, type FlatTreesNative, type ForestParamsNative, treeNative } from '../native/tree.js';

export async function trainForestPart(
  data: BinnedDataNative,
  y: Float64Array,
  w: Float64Array,
  params: ForestParamsNative,
  strata?: Int32Array,
): Promise<FlatTreesNative> {
  const r = await treeNative().treeTrainForest(data, y, w, { ...params, computeOob: false }, strata);
  const { oobError: _e, oobPred: _p, ...trees } = r;
  return trees;
}
