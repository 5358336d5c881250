import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ML_DOMAIN, OnnxGraph } from '../../lib/onnx/builder.js';

describe('ONNX graph builder', () => {
  it('builds a double-precision linear graph with one-hot factors that onnxruntime runs', async () => {
    // y = 0.5 + 2*x + effect[g], g in {a,b,c}, effect = [1, -1, 0]
    const g = new OnnxGraph('lin');
    const x = g.input({ name: 'x', type: 'double', shape: [null, 1] });
    const f = g.input({ name: 'g', type: 'string', shape: [null, 1] });
    const codes = g.op('LabelEncoder', [f], { keys_strings: { strings: ['a', 'b', 'c'] }, values_int64s: { ints: [0, 1, 2] }, default_int64: { int: -1 } }, ML_DOMAIN);
    const levels = g.constant('levels', { type: 'int64', dims: [1, 3], data: [0, 1, 2] });
    const onehot = g.op('Cast', [g.op('Equal', [codes, levels])], { to: { int: 11 } });
    const design = g.op('Concat', [x, onehot], { axis: { int: 1 } });
    const beta = g.constant('beta', { type: 'double', dims: [4, 1], data: [2, 1, -1, 0] });
    const b0 = g.constant('b0', { type: 'double', dims: [1], data: [0.5] });
    g.op('Add', [g.op('MatMul', [design, beta]), b0], undefined, undefined, 'y');
    g.output({ name: 'y', type: 'double', shape: [null, 1] });
    const session = await ort.InferenceSession.create(g.toBytes());
    const out = await session.run({
      x: new ort.Tensor('float64', Float64Array.from([1, 2, 3]), [3, 1]),
      g: new ort.Tensor('string', ['a', 'b', 'c'], [3, 1]),
    });
    expect(Array.from(out.y!.data as Float64Array)).toEqual([3.5, 3.5, 6.5]);
  });

  it('keeps double thresholds in a TreeEnsembleRegressor (ai.onnx.ml 3, *_as_tensor)', async () => {
    // one stump: x <= t ? 1 : 2 with t = 0.1 + 2^-40 (not representable in float32)
    const t = 0.1 + 2 ** -40;
    const g = new OnnxGraph('stump');
    const x = g.input({ name: 'x', type: 'double', shape: [null, 1] });
    g.node('TreeEnsembleRegressor', [x], {
      outputs: ['y'],
      domain: ML_DOMAIN,
      attrs: {
        n_targets: { int: 1 },
        nodes_treeids: { ints: [0, 0, 0] },
        nodes_nodeids: { ints: [0, 1, 2] },
        nodes_featureids: { ints: [0, 0, 0] },
        nodes_modes: { strings: ['BRANCH_LEQ', 'LEAF', 'LEAF'] },
        nodes_values_as_tensor: { tensor: { type: 'double', dims: [3], data: [t, 0, 0] } },
        nodes_truenodeids: { ints: [1, 0, 0] },
        nodes_falsenodeids: { ints: [2, 0, 0] },
        nodes_missing_value_tracks_true: { ints: [0, 0, 0] },
        target_treeids: { ints: [0, 0] },
        target_nodeids: { ints: [1, 2] },
        target_ids: { ints: [0, 0] },
        target_weights_as_tensor: { tensor: { type: 'double', dims: [2], data: [1, 2] } },
        post_transform: { string: 'NONE' },
        aggregate_function: { string: 'SUM' },
      },
    });
    // v3 always outputs float32 scores; the decisions are made on the double input.
    g.output({ name: 'y', type: 'float', shape: [null, 1] });
    const session = await ort.InferenceSession.create(g.toBytes());
    const out = await session.run({ x: new ort.Tensor('float64', Float64Array.from([0.1, t, t + 2 ** -50, 0.2]), [4, 1]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([1, 1, 2, 2]);
  });
  it('scores double in, double out with TreeEnsemble (ai.onnx.ml 5, opset 21)', async () => {
    const t = 0.1 + 2 ** -40;
    const g = new OnnxGraph('stump');
    const x = g.input({ name: 'x', type: 'double', shape: [null, 1] });
    g.node('TreeEnsemble', [x], {
      outputs: ['y'], domain: ML_DOMAIN,
      attrs: {
        n_targets: { int: 1 },
        tree_roots: { ints: [0] },
        nodes_featureids: { ints: [0] },
        nodes_modes: { tensor: { type: 'uint8', dims: [1], data: [0] } },
        nodes_splits: { tensor: { type: 'double', dims: [1], data: [t] } },
        nodes_truenodeids: { ints: [0] }, nodes_trueleafs: { ints: [1] },
        nodes_falsenodeids: { ints: [1] }, nodes_falseleafs: { ints: [1] },
        leaf_targetids: { ints: [0, 0] },
        leaf_weights: { tensor: { type: 'double', dims: [2], data: [1.25, 2.5] } },
        post_transform: { int: 0 }, aggregate_function: { int: 1 },
      },
    });
    g.output({ name: 'y', type: 'double', shape: [null, 1] });
    const session = await ort.InferenceSession.create(g.toBytes({ opset: 21, mlOpset: 5 }));
    const out = await session.run({ x: new ort.Tensor('float64', Float64Array.from([0.1, t, t + 2 ** -50]), [3, 1]) });
    expect(Array.from(out.y!.data as Float64Array)).toEqual([1.25, 1.25, 2.5]);
  });
});
