/** MicrosoftML learners: rxLogisticRegression, rxFastLinear (linear), rxNeuralNet, rxOneClassSvm, with MicrosoftML's options and outputs. */
import './register.js';

export { rxLogisticRegression } from './logistic.js';
export type { RxLogisticRegressionOptions } from './logistic.js';
export { rxFastLinear } from './fastlinear.js';
export type { FastLinearLoss, RxFastLinearOptions } from './fastlinear.js';
export { rxNeuralNet, RxNeuralNetModel } from './neuralnet.js';
export type { NeuralNetData, NeuralNetOptimizer, RxNeuralNetOptions } from './neuralnet.js';
export { rxOneClassSvm, RxOneClassSvmModel } from './oneclasssvm.js';
export type { OneClassSvmData, RxOneClassSvmOptions, SvmKernel, SvmKernelName } from './oneclasssvm.js';
export { RxMlLinearModel } from './model.js';
export type { CoefficientStat, MlLinearData, MlPredictOptions } from './model.js';
export { linearMlToOnnx } from './onnx.js';
export type { MlTask, NormalizeMode } from './data.js';

import { argError } from '../validate.js';
import type { MlPredictOptions } from './model.js';

/** Whether `m` is a model of a MicrosoftML learner (rxPredict dispatch). */
export function isMlModel(m: unknown): m is { predict(data: unknown, opts: MlPredictOptions): Promise<Record<string, ArrayLike<unknown>>> } {
  return typeof m === 'object' && m !== null && (m as { isMlModel?: unknown }).isMlModel === true && typeof (m as { predict?: unknown }).predict === 'function';
}

/** rxPredict for MicrosoftML learners' models. */
export function rxPredictMl(model: unknown, data: unknown, opts: MlPredictOptions = {}): Promise<Record<string, ArrayLike<unknown>>> {
  if (!isMlModel(model)) throw argError('a MicrosoftML learner model', 'model', model);
  return model.predict(data, opts);
}
