import { addon } from './loader.js';

/** Typed mirror of the addon's MicrosoftML-learner exports (native/binding/ml.cpp). */
export interface MlNative {
  mlNeuralNetTrain(X: Float64Array, y: Float64Array, params: Float64Array, theta: Float64Array): Promise<number>;
  mlLogisticLossGrad(X: Float64Array, y: Float64Array, K: number, theta: Float64Array, grad: Float64Array): Promise<number>;
}
export const mlExports = ['mlNeuralNetTrain', 'mlLogisticLossGrad'] as const satisfies readonly (keyof MlNative)[];

/**
 * Summed logistic loss at theta (K x p, class-major; K = 1 binary with 0/1 labels, K >= 2
 * softmax with class indices) over the n x p row-major block X, on the libuv pool with rows
 * split over the thread budget; the block's gradient is ADDED to grad (K x p).
 */
export function logisticLossGrad(X: Float64Array, y: Float64Array, K: number, theta: Float64Array, grad: Float64Array): Promise<number> {
  return addon<MlNative>().mlLogisticLossGrad(X, y, K, theta, grad);
}

export interface NeuralNetTrainParams {
  n: number;
  p: number;
  hidden: number;
  outputs: number;
  /** 0 binary, 1 multiClass, 2 regression. */
  task: 0 | 1 | 2;
  /** Intercept column of X (its input weights stay 0), -1 without one. */
  interceptCol: number;
  epochs: number;
  batch: number;
  /** 0 sgd, 1 AdaDelta. */
  optimizer: 0 | 1;
  learningRate: number;
  momentum: number;
  weightDecay: number;
  lRateRedRatio: number;
  lRateRedFreq: number;
  nag: boolean;
  decay: number;
  conditioningConst: number;
  maxNorm: number;
  initWtsDiameter: number;
  seed: number;
}

/**
 * Trains rxNeuralNet's one-hidden-layer net on the libuv pool (native/src/ml/nn.cpp): X is
 * n x p row-major, y the coded labels; theta (p*H + H + H*K + K) receives the weights
 * (W1 row-major p x H, b1, W2 row-major H x K, b2). Resolves to the last epoch's mean loss.
 */
export function neuralNetTrain(X: Float64Array, y: Float64Array, o: NeuralNetTrainParams, theta: Float64Array): Promise<number> {
  const params = Float64Array.from([
    o.n,
    o.p,
    o.hidden,
    o.outputs,
    o.task,
    o.interceptCol,
    o.epochs,
    o.batch,
    o.optimizer,
    o.learningRate,
    o.momentum,
    o.weightDecay,
    o.lRateRedRatio,
    o.lRateRedFreq,
    o.nag ? 1 : 0,
    o.decay,
    o.conditioningConst,
    o.maxNorm,
    o.initWtsDiameter,
    o.seed >>> 0,
  ]);
  return addon<MlNative>().mlNeuralNetTrain(X, y, params, theta);
}
