/**
 * ONNX export of the MicrosoftML learners. The model matrix comes from the linear
 * exporter's `onnxDesign` (lib/onnx/linear.ts: raw input columns -> formula columns); the
 * learners add their layers and MicrosoftML's output columns:
 *  - binary: `Score` [N,1] (margin), `Probability` [N,1], `PredictedLabel` [N,1];
 *  - multiClass: `PredictedLabel` [N,1] and one `Score.<class>` [N,1] per class (probabilities);
 *  - regression / anomaly: `Score` [N,1].
 * PredictedLabel is a string for factor responses, a double otherwise. Rows with a missing
 * value (or unknown level) score NaN, as rxPredict; their PredictedLabel is then unspecified.
 */
import { RxError } from '../errors.js';
import { OnnxGraph } from '../onnx/builder.js';
import { type OnnxDesign, onnxDesign } from '../onnx/linear.js';
import type { DesignSpec } from '../models/design.js';
import type { MlDesign } from './data.js';
import type { RxMlLinearModel } from './model.js';

/** [N, p] double tensor of the model's X columns (DesignChunk order, intercept column = 1). */
export function designTensor(g: OnnxGraph, spec: DesignSpec): { X: string; des: OnnxDesign } {
  const des = onnxDesign(g, spec.model);
  if (!des.X) throw new RxError('RX_MODEL', `ONNX export: "${spec.formula}" has no predictors, so the graph would have no inputs`);
  // select / order the design's X columns from the tensor's slots (intercept: a column of ones)
  const pos = new Map(des.slots.map((s, k) => [s, k]));
  const m = des.slots.length;
  const p = spec.xCols.length;
  const sel = new Array<number>(m * p).fill(0);
  let needOne = false;
  spec.xCols.forEach((slot, j) => {
    const k = pos.get(slot);
    if (k === undefined) needOne = true;
    else sel[k * p + j] = 1;
  });
  let X = g.op('MatMul', [des.X, g.constant('sel', { type: 'double', dims: [m, p], data: sel })]);
  if (needOne) {
    const one = Array.from({ length: p }, (_, j) => (spec.coefs[spec.xCols[j]!]!.term === -1 ? 1 : 0));
    X = g.op('Add', [X, g.constant('one', { type: 'double', dims: [1, p], data: one })]);
  }
  if (des.penalty) X = g.op('Add', [X, des.penalty]);
  return { X, des };
}

/** Adds MicrosoftML's outputs for raw scores `eta` ([N,1] binary / regression, [N,K] multiClass). */
export function mlOutputs(
  g: OnnxGraph,
  eta: string,
  type: 'binary' | 'multiClass' | 'regression' | 'anomaly',
  classes: string[] | null,
  labelKind: MlDesign['labelKind'],
  calibrator: { a: number; b: number } | null,
  dbl: (v: number) => string,
): void {
  const labels = (idx: string) => {
    const lv = labelKind === 'factor' ? g.constant('classes', { type: 'string', dims: [classes!.length], data: classes! }) : g.constant('classes', { type: 'double', dims: [classes!.length], data: classes!.map(Number) });
    g.op('Gather', [lv, idx], { axis: { int: 0 } }, undefined, 'PredictedLabel');
    g.output({ name: 'PredictedLabel', type: labelKind === 'factor' ? 'string' : 'double', shape: [null, 1] });
  };
  if (type === 'regression' || type === 'anomaly') {
    g.op('Identity', [eta], undefined, undefined, 'Score');
    g.output({ name: 'Score', type: 'double', shape: [null, 1] });
    return;
  }
  if (type === 'binary') {
    labels(g.op('Cast', [g.op('Greater', [eta, dbl(0)])], { to: { int: 7 } }));
    g.op('Identity', [eta], undefined, undefined, 'Score');
    g.output({ name: 'Score', type: 'double', shape: [null, 1] });
    let z = eta;
    if (calibrator && (calibrator.a !== 1 || calibrator.b !== 0)) z = g.op('Add', [g.op('Mul', [eta, dbl(calibrator.a)]), dbl(calibrator.b)]);
    g.op('Sigmoid', [z], undefined, undefined, 'Probability');
    g.output({ name: 'Probability', type: 'double', shape: [null, 1] });
    return;
  }
  const probs = g.op('Softmax', [eta], { axis: { int: 1 } });
  labels(g.op('ArgMax', [eta], { axis: { int: 1 }, keepdims: { int: 1 }, select_last_index: { int: 0 } }));
  classes!.forEach((c, k) => {
    const name = `Score.${c}`;
    const starts = g.constant('st', { type: 'int64', dims: [1], data: [k] });
    const ends = g.constant('en', { type: 'int64', dims: [1], data: [k + 1] });
    const axes = g.constant('ax', { type: 'int64', dims: [1], data: [1] });
    g.op('Slice', [probs, starts, ends, axes], undefined, undefined, name);
    g.output({ name, type: 'double', shape: [null, 1] });
  });
}

/** rxLogisticRegression / rxFastLinear -> ONNX bytes. */
export function linearMlToOnnx(model: RxMlLinearModel, opts: { opset?: number } = {}): Uint8Array {
  const d = model.data;
  const g = new OnnxGraph(`${d.kind}_${d.design.responseLabel}`);
  const { X, des } = designTensor(g, d.design);
  const p = d.design.xCols.length;
  const K = d.weights.length;
  const W = new Array<number>(p * K);
  for (let j = 0; j < p; j++) for (let k = 0; k < K; k++) W[j * K + k] = d.weights[k]![j]!;
  const eta = g.op('MatMul', [X, g.constant('W', { type: 'double', dims: [p, K], data: W })]);
  mlOutputs(g, eta, d.type, d.classes, d.labelKind, d.calibrator, des.dbl);
  return g.toBytes({ opset: opts.opset ?? 21, docString: `rxscale ${d.kind} (${d.type}): ${d.design.formula}`, metadata: { rxscale_kind: d.kind, formula: d.design.formula } });
}
