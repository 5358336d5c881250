/**
 * ONNX export of tree models (rxDTree, rxDForest, rxBTrees, rxFastTrees, rxFastForest).
 *
 * One `TreeEnsemble` node (ai.onnx.ml 5, opset 21): double input, double thresholds,
 * double leaf weights and double output, so the decisions and sums match rxPredictTrees.
 *  - Inputs: one [N,1] tensor per predictor, named after the data column: double for
 *    numeric predictors, string for factors. Factors go through a LabelEncoder to their
 *    training level code (unknown levels -> NaN, i.e. missing, as rxPredictTrees does).
 *  - Numeric splits: BRANCH_LEQ (x <= threshold goes left); categorical splits: BRANCH_MEMBER
 *    with the level codes that go left. The learned direction for missing values
 *    (defaultLeft) becomes nodes_missing_value_tracks_true.
 *  - A tree whose leaves carry K values (forest class proportions, multinomial) is written
 *    once per output (leaf weights target one output each in v5).
 *  - Post-processing in the graph: boosting init score, sigmoid / softmax / exp, and the
 *    class decision exactly as rxPredictTrees makes it.
 * Outputs: classifiers `label` [N,1] string and `probabilities` [N,K] double (binary
 * rxFastTrees / rxFastForest also `Score` [N,1]: the raw sum / P(second level));
 * regression `<y>_Pred` [N,1] double (`Score` for rxFastTrees / rxFastForest).
 */
import { RxError } from '../errors.js';
import type { FlatTreesNative } from '../native/tree.js';
import { type AttrValue, ML_DOMAIN, OnnxGraph } from './builder.js';

/** The parts of an RxTreeModel the exporter reads (structural, so lib/onnx does not import lib/trees). */
export interface TreeModelLike {
  kind: string;
  task: string;
  response: { name: string; type: string; levels?: string[] };
  features: Array<{ name: string; type: 'numeric' | 'factor'; levels?: string[] }>;
  trees: FlatTreesNative;
  init?: number[];
  readonly outputs: number;
  readonly levels: string[] | undefined;
}

export function isTreeModelLike(m: unknown): m is TreeModelLike {
  const t = m as TreeModelLike;
  return typeof t === 'object' && t !== null && typeof t.kind === 'string' && typeof t.task === 'string' && typeof t.trees === 'object' && Array.isArray(t.features);
}

/** Name of the regression output, as rxPredictTrees names its column. */
export function treeRegressionOutput(model: TreeModelLike): string {
  return model.kind === 'rxFastTrees' || model.kind === 'rxFastForest' ? 'Score' : `${model.response.name}_Pred`;
}

const MODE_LEQ = 0;
const MODE_MEMBER = 6;

interface Ens {
  roots: number[];
  feat: number[];
  mode: number[];
  split: number[];
  tId: number[];
  tLeaf: number[];
  fId: number[];
  fLeaf: number[];
  miss: number[];
  member: number[];
  leafTarget: number[];
  leafWeight: number[];
}

/** Appends tree `ti` (node range a..b) of the flat arrays; leaves contribute `weight * value[k]` to `target`. */
function addTree(e: Ens, t: FlatTreesNative, a: number, b: number, K: number, valueIdx: number, target: number, weight: number): void {
  const addLeaf = (node: number): number => {
    e.leafTarget.push(target);
    e.leafWeight.push(weight * t.value[(a + node) * K + valueIdx]!);
    return e.leafTarget.length - 1;
  };
  if (t.feature[a]! < 0) {
    // a single-leaf tree: a dummy split with the same leaf value on both sides
    e.roots.push(e.feat.length);
    e.feat.push(0);
    e.mode.push(MODE_LEQ);
    e.split.push(0);
    e.miss.push(1);
    e.tId.push(addLeaf(0));
    e.tLeaf.push(1);
    e.fId.push(addLeaf(0));
    e.fLeaf.push(1);
    return;
  }
  // internal nodes of this tree get consecutive v5 node ids (depth-first)
  const ids = new Map<number, number>();
  const order: number[] = [];
  const stack = [0];
  while (stack.length) {
    const nd = stack.pop()!;
    if (nd < 0 || nd >= b - a) throw new RxError('RX_MODEL', 'tree model: child index out of range');
    if (t.feature[a + nd]! < 0) continue;
    ids.set(nd, e.feat.length + order.length);
    order.push(nd);
    stack.push(t.right[a + nd]!, t.left[a + nd]!);
  }
  e.roots.push(e.feat.length);
  const base = e.feat.length;
  for (let i = 0; i < order.length; i++) {
    e.feat.push(0);
    e.mode.push(0);
    e.split.push(0);
    e.tId.push(0);
    e.tLeaf.push(0);
    e.fId.push(0);
    e.fLeaf.push(0);
    e.miss.push(0);
  }
  order.forEach((nd, i) => {
    const g = base + i;
    const j = a + nd;
    e.feat[g] = t.feature[j]!;
    e.miss[g] = t.defaultLeft[j] ? 1 : 0;
    if (t.catOffset[j]! >= 0) {
      e.mode[g] = MODE_MEMBER;
      e.split[g] = 0;
      const words = t.catWords[j]!;
      const set: number[] = [];
      for (let w = 0; w < words; w++) {
        const bits = t.catBits[t.catOffset[j]! + w]! >>> 0;
        for (let bit = 0; bit < 32; bit++) if ((bits >>> bit) & 1) set.push(w * 32 + bit);
      }
      // an empty set would read as no set at all: use a code no level has
      if (set.length === 0) set.push(-1);
      e.member.push(...set, Number.NaN);
    } else {
      e.mode[g] = MODE_LEQ;
      e.split[g] = t.threshold[j]!;
    }
    for (const [child, idArr, leafArr] of [
      [t.left[j]!, e.tId, e.tLeaf],
      [t.right[j]!, e.fId, e.fLeaf],
    ] as const) {
      if (t.feature[a + child]! < 0) {
        idArr[g] = addLeaf(child);
        leafArr[g] = 1;
      } else {
        idArr[g] = ids.get(child)!;
        leafArr[g] = 0;
      }
    }
  });
}

/** Adds the input tensors and the [N,p] double feature matrix; returns its name. */
export function treeFeatureMatrix(g: OnnxGraph, model: TreeModelLike): string {
  const cols: string[] = [];
  const seen = new Set<string>();
  for (const f of model.features) {
    if (seen.has(f.name)) throw new RxError('RX_MODEL', `tree model lists predictor "${f.name}" twice`, { column: f.name });
    seen.add(f.name);
    if (f.type === 'factor') {
      const x = g.input({ name: f.name, type: 'string', shape: [null, 1] });
      const lv = f.levels ?? [];
      if (lv.length === 0) {
        cols.push(g.op('Add', [g.op('Cast', [g.op('Shape', [x])], { to: { int: 11 } }), g.constant('nan', { type: 'double', dims: [1], data: [Number.NaN] })]));
        continue;
      }
      cols.push(
        g.op(
          'LabelEncoder',
          [x],
          {
            keys_strings: { strings: lv },
            values_tensor: { tensor: { type: 'double', dims: [lv.length], data: lv.map((_, i) => i) } },
            default_tensor: { tensor: { type: 'double', dims: [1], data: [Number.NaN] } },
          },
          ML_DOMAIN,
        ),
      );
    } else cols.push(g.input({ name: f.name, type: 'double', shape: [null, 1] }));
  }
  return cols.length === 1 ? cols[0]! : g.op('Concat', cols, { axis: { int: 1 } });
}

/** Raw scores [N, outputs] (tree sums plus the boosting init), double. */
export function treeRawScores(g: OnnxGraph, model: TreeModelLike, X: string): string {
  const t = model.trees;
  const K = t.K;
  const outs = model.outputs;
  const T = t.nodeOffset.length - 1;
  const e: Ens = { roots: [], feat: [], mode: [], split: [], tId: [], tLeaf: [], fId: [], fLeaf: [], miss: [], member: [], leafTarget: [], leafWeight: [] };
  for (let ti = 0; ti < T; ti++) {
    const a = t.nodeOffset[ti]!;
    const b = t.nodeOffset[ti + 1]!;
    const cls = t.treeClass[ti]!;
    const w = t.treeWeight[ti]!;
    if (cls >= 0) {
      if (cls >= outs) throw new RxError('RX_MODEL', 'tree class index beyond the model outputs');
      addTree(e, t, a, b, K, 0, cls, w);
    } else for (let k = 0; k < Math.min(K, outs); k++) addTree(e, t, a, b, K, k, k, w);
  }
  const attrs: Record<string, AttrValue> = {
    n_targets: { int: outs },
    tree_roots: { ints: e.roots },
    nodes_featureids: { ints: e.feat },
    nodes_modes: { tensor: { type: 'uint8', dims: [e.mode.length], data: e.mode } },
    nodes_splits: { tensor: { type: 'double', dims: [e.split.length], data: e.split } },
    nodes_truenodeids: { ints: e.tId },
    nodes_trueleafs: { ints: e.tLeaf },
    nodes_falsenodeids: { ints: e.fId },
    nodes_falseleafs: { ints: e.fLeaf },
    nodes_missing_value_tracks_true: { ints: e.miss },
    leaf_targetids: { ints: e.leafTarget },
    leaf_weights: { tensor: { type: 'double', dims: [e.leafWeight.length], data: e.leafWeight } },
    post_transform: { int: 0 },
    aggregate_function: { int: 1 },
  };
  if (e.member.length > 0) attrs.membership_values = { tensor: { type: 'double', dims: [e.member.length], data: e.member } };
  let raw = g.node('TreeEnsemble', [X], { domain: ML_DOMAIN, attrs })[0]!;
  if (model.init && model.init.length > 0) {
    const init = Array.from({ length: outs }, (_, k) => model.init![k % model.init!.length]!);
    raw = g.op('Add', [raw, g.constant('init', { type: 'double', dims: [1, outs], data: init })]);
  }
  return raw;
}

function sliceCol(g: OnnxGraph, x: string, k: number): string {
  const c = (v: number) => g.constant('i', { type: 'int64', dims: [1], data: [v] });
  return g.op('Slice', [x, c(k), c(k + 1), c(1)]);
}

/** Exports a tree model to an ONNX ModelProto (bytes). */
export function treeModelToOnnx(model: TreeModelLike, opts: { opset?: number; cutoff?: number } = {}): Uint8Array {
  const opset = opts.opset ?? 21;
  if (opset < 21) throw new RxError('RX_ARG', `Tree models export with TreeEnsemble (ai.onnx.ml 5), which needs opset >= 21; received opset ${opset}`);
  const g = new OnnxGraph(`${model.kind}_${model.response.name}`);
  const X = treeFeatureMatrix(g, model);
  const raw = treeRawScores(g, model, X);
  const lv = model.levels;
  const dbl = (v: number) => g.constant('c', { type: 'double', dims: [1], data: [v] });
  if (lv && lv.length > 0) {
    const nc = lv.length;
    const K = model.outputs;
    let probs: string;
    if (model.task === 'bernoulli') {
      const p1 = g.op('Sigmoid', [raw]);
      probs = g.op('Concat', [g.op('Sub', [dbl(1), p1]), p1], { axis: { int: 1 } });
    } else if (model.task === 'multinomial') probs = g.op('Softmax', [raw], { axis: { int: 1 } });
    else if (K === 1 && nc === 2) probs = g.op('Concat', [g.op('Sub', [dbl(1), raw]), raw], { axis: { int: 1 } });
    else probs = raw;
    g.op('Identity', [probs], undefined, undefined, 'probabilities');
    let cls: string;
    if (nc === 2 && model.kind !== 'rxDTree') {
      const p1 = sliceCol(g, probs, 1);
      cls = g.op('Cast', [g.op('GreaterOrEqual', [p1, dbl(opts.cutoff ?? 0.5)])], { to: { int: 7 } });
    } else cls = g.op('ArgMax', [probs], { axis: { int: 1 }, keepdims: { int: 1 }, select_last_index: { int: 0 } });
    g.op('Gather', [g.constant('levels', { type: 'string', dims: [nc], data: lv }), cls], { axis: { int: 0 } }, undefined, 'label');
    g.output({ name: 'label', type: 'string', shape: [null, 1] });
    g.output({ name: 'probabilities', type: 'double', shape: [null, nc] });
    if (nc === 2 && (model.kind === 'rxFastTrees' || model.kind === 'rxFastForest')) {
      // MicrosoftML's Score: the raw sum for boosting, P(second level) for the forest
      g.op('Identity', [model.task === 'bernoulli' ? raw : sliceCol(g, probs, 1)], undefined, undefined, 'Score');
      g.output({ name: 'Score', type: 'double', shape: [null, 1] });
    }
  } else {
    const name = treeRegressionOutput(model);
    const pred = model.task === 'poisson' ? g.op('Exp', [raw]) : raw;
    g.op('Identity', [pred], undefined, undefined, name);
    g.output({ name, type: 'double', shape: [null, 1] });
  }
  return g.toBytes({ opset, mlOpset: 5, docString: `rxscale ${model.kind} (${model.task})`, metadata: { rxscale_kind: model.kind } });
}
