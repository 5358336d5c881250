/**
 * Registers the MicrosoftML learners' models with the model-kind registry (rxSerializeModel /
 * rxUnserializeModel, the scoring server, the CLI) and their ONNX exporters (rxToOnnx).
 * Layout version 1 = the models' toJSON.
 */
import type { Chunk } from '../data/types.js';
import { RxError } from '../errors.js';
import { registerOnnxExporter } from '../onnx/index.js';
import { registerModelKind } from '../scoring/registry.js';
import { type MlLinearData, RxMlLinearModel, designInputs } from './model.js';
import { type NeuralNetData, RxNeuralNetModel } from './neuralnet.js';
import { linearMlToOnnx } from './onnx.js';
import { type OneClassSvmData, RxOneClassSvmModel } from './oneclasssvm.js';

for (const kind of ['rxLogisticRegression', 'rxFastLinear'] as const) {
  registerModelKind<RxMlLinearModel>({
    kind,
    version: 1,
    fromJSON: (j) => RxMlLinearModel.fromJSON(j as MlLinearData),
    inputs: (m) => designInputs(m.design),
    score: (m, chunk: Chunk) => m.scoreChunk(chunk, false),
  });
  registerOnnxExporter(kind, (m, o) => {
    if (!(m instanceof RxMlLinearModel)) throw new RxError('RX_MODEL', `not an ${kind} model`);
    return linearMlToOnnx(m, o.opset !== undefined ? { opset: o.opset } : {});
  });
}

registerModelKind<RxNeuralNetModel>({
  kind: 'rxNeuralNet',
  version: 1,
  fromJSON: (j) => RxNeuralNetModel.fromJSON(j as NeuralNetData),
  inputs: (m) => designInputs(m.design),
  score: (m, chunk: Chunk) => m.scoreChunk(chunk, false),
});
registerOnnxExporter('rxNeuralNet', (m, o) => {
  if (!(m instanceof RxNeuralNetModel)) throw new RxError('RX_MODEL', 'not an rxNeuralNet model');
  return m.toOnnx(o.opset !== undefined ? { opset: o.opset } : {});
});

registerModelKind<RxOneClassSvmModel>({
  kind: 'rxOneClassSvm',
  version: 1,
  fromJSON: (j) => RxOneClassSvmModel.fromJSON(j as OneClassSvmData),
  inputs: (m) => designInputs(m.design),
  score: (m, chunk: Chunk) => m.scoreChunk(chunk, false),
});
registerOnnxExporter('rxOneClassSvm', (m, o) => {
  if (!(m instanceof RxOneClassSvmModel)) throw new RxError('RX_MODEL', 'not an rxOneClassSvm model');
  return m.toOnnx(o.opset !== undefined ? { opset: o.opset } : {});
});
