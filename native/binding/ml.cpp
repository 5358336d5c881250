// N-API glue for the MicrosoftML learners' kernels (native/src/ml).
#include <cmath>
#include <memory>
#include <string>

#include "common.h"
#include "ml/logistic.h"
#include "ml/nn.h"
#include "registry.h"

namespace {

// mlNeuralNetTrain(X: Float64Array (n*p), y: Float64Array (n), params: Float64Array (20), theta: Float64Array)
//   -> Promise<number> (mean loss of the last epoch); theta receives the trained weights.
// params: n, p, H, K, task, ic, epochs, batch, optimizer, lr, momentum, weightDecay, redRatio,
//         redFreq, nag, decay, cond, maxNorm, initDiameter, seed
Napi::Value NeuralNetTrain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return rxb::Guard(env, [&]() -> Napi::Value {
    Napi::Float64Array X = rxb::ArgF64(info, 0, "X");
    Napi::Float64Array y = rxb::ArgF64(info, 1, "y");
    Napi::Float64Array pa = rxb::ArgF64(info, 2, "params");
    Napi::Float64Array theta = rxb::ArgF64(info, 3, "theta");
    if (pa.ElementLength() != 20) rxb::ThrowRx(env, "RX_ARG", "Expected 20 values for params but received " + std::to_string(pa.ElementLength()));
    auto P = std::make_shared<rx::ml::NnParams>();
    const double* v = pa.Data();
    P->n = static_cast<int>(v[0]);
    P->p = static_cast<int>(v[1]);
    P->H = static_cast<int>(v[2]);
    P->K = static_cast<int>(v[3]);
    P->task = static_cast<int>(v[4]);
    P->ic = static_cast<int>(v[5]);
    P->epochs = static_cast<int>(v[6]);
    P->batch = static_cast<int>(v[7]);
    P->optimizer = static_cast<int>(v[8]);
    P->lr = v[9];
    P->momentum = v[10];
    P->weightDecay = v[11];
    P->redRatio = v[12];
    P->redFreq = static_cast<int>(v[13]);
    P->nag = v[14] != 0;
    P->decay = v[15];
    P->cond = v[16];
    P->maxNorm = v[17];
    P->initDiameter = v[18];
    P->seed = static_cast<uint32_t>(v[19]);
    if (P->n < 1 || P->p < 1 || P->H < 1 || P->K < 1 || P->epochs < 1 || P->batch < 1 || P->redFreq < 1 || P->task < 0 || P->task > 2 || P->ic >= P->p)
      rxb::ThrowRx(env, "RX_ARG", "mlNeuralNetTrain: invalid sizes in params");
    const size_t n = static_cast<size_t>(P->n), p = static_cast<size_t>(P->p), H = static_cast<size_t>(P->H), K = static_cast<size_t>(P->K);
    if (X.ElementLength() != n * p) rxb::ThrowRx(env, "RX_ARG", "Expected n*p values for X but received " + std::to_string(X.ElementLength()));
    if (y.ElementLength() != n) rxb::ThrowRx(env, "RX_ARG", "Expected n values for y but received " + std::to_string(y.ElementLength()));
    if (theta.ElementLength() != p * H + H + H * K + K) rxb::ThrowRx(env, "RX_ARG", "Expected p*H + H + H*K + K values for theta but received " + std::to_string(theta.ElementLength()));
    if (P->task == 1)
      for (size_t i = 0; i < n; ++i)
        if (!(y.Data()[i] >= 0 && y.Data()[i] < static_cast<double>(K))) rxb::ThrowRx(env, "RX_ARG", "mlNeuralNetTrain: class index out of range in y");
    const double* Xd = X.Data();
    const double* yd = y.Data();
    double* td = theta.Data();
    auto loss = std::make_shared<double>(0.0);
    return rxb::RunAsync(
        env, [Xd, yd, td, P, loss]() { *loss = rx::ml::nn_train(Xd, yd, *P, td); },
        [loss](Napi::Env e) -> Napi::Value { return Napi::Number::New(e, *loss); }, {X, y, theta});
  });
}

// mlLogisticLossGrad(X: Float64Array (n*p, row-major), y: Float64Array (n), K, theta: Float64Array (K*p),
//   grad: Float64Array (K*p, added to)) -> Promise<number> (summed loss)
Napi::Value LogisticLossGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return rxb::Guard(env, [&]() -> Napi::Value {
    Napi::Float64Array X = rxb::ArgF64(info, 0, "X");
    Napi::Float64Array y = rxb::ArgF64(info, 1, "y");
    const int64_t K = rxb::ArgInt(info, 2, "K");
    Napi::Float64Array theta = rxb::ArgF64(info, 3, "theta");
    Napi::Float64Array grad = rxb::ArgF64(info, 4, "grad");
    const size_t n = y.ElementLength();
    if (K < 1) rxb::ThrowRx(env, "RX_ARG", "Expected an integer >= 1 for K but received " + std::to_string(K));
    const size_t k = static_cast<size_t>(K);
    if (theta.ElementLength() == 0 || theta.ElementLength() % k != 0) rxb::ThrowRx(env, "RX_ARG", "Expected K*p values for theta but received " + std::to_string(theta.ElementLength()));
    const size_t p = theta.ElementLength() / k;
    if (X.ElementLength() != n * p) rxb::ThrowRx(env, "RX_ARG", "Expected n*p values for X but received " + std::to_string(X.ElementLength()));
    if (grad.ElementLength() != k * p) rxb::ThrowRx(env, "RX_ARG", "Expected K*p values for grad but received " + std::to_string(grad.ElementLength()));
    const double* yd = y.Data();
    for (size_t i = 0; i < n; ++i) {
      const double v = yd[i];
      if (k == 1 ? !(v == 0 || v == 1) : !(v >= 0 && v < static_cast<double>(k) && v == std::floor(v)))
        rxb::ThrowRx(env, "RX_ARG", "mlLogisticLossGrad: label " + std::to_string(v) + " out of range at row " + std::to_string(i));
    }
    const double* Xd = X.Data();
    const double* td = theta.Data();
    double* gd = grad.Data();
    auto loss = std::make_shared<double>(0.0);
    return rxb::RunAsync(
        env, [Xd, yd, n, p, k, td, gd, loss]() { *loss = rx::ml::logistic_loss_grad(Xd, yd, n, p, k, td, gd); },
        [loss](Napi::Env e) -> Napi::Value { return Napi::Number::New(e, *loss); }, {X, y, theta, grad});
  });
}

}  // namespace

RXB_MODULE(ml) {
  exports.Set("mlNeuralNetTrain", Napi::Function::New(env, NeuralNetTrain));
  exports.Set("mlLogisticLossGrad", Napi::Function::New(env, LogisticLossGrad));
}
