// One-hidden-layer network trainer for rxNeuralNet (lib/ml/neuralnet.ts): sigmoid hidden
// layer, sigmoid / softmax / linear output, mini-batch back-propagation with SGD (momentum,
// Nesterov, weight decay, rate reduction) or AdaDelta, optional max-norm. Deterministic per
// seed: weights are drawn and rows shuffled with mulberry32 (the generator of lib/ml/rng.ts).
#pragma once
#include <cstdint>

namespace rx::ml {

struct NnParams {
  int n = 0, p = 0, H = 0, K = 1;
  int task = 0;       // 0 binary, 1 multiClass, 2 regression
  int ic = -1;        // intercept column of X (its input weights stay 0), -1 none
  int epochs = 1, batch = 1;
  int optimizer = 0;  // 0 sgd, 1 adaDelta
  double lr = 0.001, momentum = 0, weightDecay = 0, redRatio = 1;
  int redFreq = 100;
  bool nag = false;
  double decay = 0.95, cond = 1e-6, maxNorm = 0, initDiameter = 0.1;
  uint32_t seed = 1;
};

// X: n x p row-major (normalised), y: labels (0/1, class index, or value). theta (size
// p*H + H + H*K + K: W1 row-major p x H, b1, W2 row-major H x K, b2) is initialised here.
// Returns the mean loss over the last epoch (each row's loss before its batch's update).
double nn_train(const double* X, const double* y, const NnParams& P, double* theta);

}  // namespace rx::ml
