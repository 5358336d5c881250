#include "ml/nn.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "common/error.h"

namespace rx::ml {
namespace {

struct Mulberry32 {
  uint32_t a;
  double next() {
    a += 0x6d2b79f5u;
    uint32_t t = a;
    t = (t ^ (t >> 15)) * (t | 1u);
    t ^= t + (t ^ (t >> 7)) * (t | 61u);
    return static_cast<double>(t ^ (t >> 14)) / 4294967296.0;
  }
};

inline double sigmoid(double x) { return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x)); }

}  // namespace

double nn_train(const double* X, const double* y, const NnParams& P, double* theta) {
  const int n = P.n, p = P.p, H = P.H, K = P.K;
  if (n <= 0 || p <= 0 || H <= 0 || K <= 0) throw Error("RX_ARG", "nn_train: empty problem");
  const size_t nW1 = static_cast<size_t>(p) * H;
  const size_t oB1 = nW1, oW2 = oB1 + H, oB2 = oW2 + static_cast<size_t>(H) * K;
  const size_t nP = oB2 + K;
  Mulberry32 rng{P.seed};
  for (size_t q = 0; q < nP; ++q) theta[q] = (rng.next() - 0.5) * P.initDiameter;
  if (P.ic >= 0)
    for (int u = 0; u < H; ++u) theta[static_cast<size_t>(P.ic) * H + u] = 0;
  std::vector<double> grad(nP), vel(nP), eg2(nP), ed2(nP), look(nP), h(H), dh(H), o(K), dOut(K);
  std::vector<int32_t> order(n);
  for (int i = 0; i < n; ++i) order[i] = i;
  double lr = P.lr;
  double lastLoss = std::numeric_limits<double>::quiet_NaN();
  for (int ep = 0; ep < P.epochs; ++ep) {
    for (int i = n - 1; i > 0; --i) {
      const int j = static_cast<int>(std::floor(rng.next() * (i + 1)));
      std::swap(order[i], order[j]);
    }
    double epochLoss = 0;
    for (int b0 = 0; b0 < n; b0 += P.batch) {
      const int b1 = std::min(n, b0 + P.batch);
      const double* w = theta;
      if (P.optimizer == 0 && P.nag && P.momentum > 0) {
        for (size_t q = 0; q < nP; ++q) look[q] = theta[q] + P.momentum * vel[q];
        w = look.data();
      }
      std::fill(grad.begin(), grad.end(), 0.0);
      for (int t = b0; t < b1; ++t) {
        const int i = order[t];
        const double* x = X + static_cast<size_t>(i) * p;
        for (int u = 0; u < H; ++u) h[u] = w[oB1 + u];
        for (int j = 0; j < p; ++j) {
          const double xj = x[j];
          if (xj == 0 || j == P.ic) continue;
          const double* row = w + static_cast<size_t>(j) * H;
          for (int u = 0; u < H; ++u) h[u] += xj * row[u];
        }
        for (int u = 0; u < H; ++u) h[u] = sigmoid(h[u]);
        for (int k = 0; k < K; ++k) {
          double s = w[oB2 + k];
          for (int u = 0; u < H; ++u) s += h[u] * w[oW2 + static_cast<size_t>(u) * K + k];
          o[k] = s;
        }
        const double yi = y[i];
        if (P.task == 2) {
          dOut[0] = o[0] - yi;
          epochLoss += 0.5 * dOut[0] * dOut[0];
        } else if (P.task == 0) {
          dOut[0] = sigmoid(o[0]) - yi;
          const double z = yi == 1 ? -o[0] : o[0];
          epochLoss += z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
        } else {
          double mx = -std::numeric_limits<double>::infinity();
          for (int k = 0; k < K; ++k) mx = std::max(mx, o[k]);
          double s = 0;
          for (int k = 0; k < K; ++k) s += std::exp(o[k] - mx);
          const int yk = static_cast<int>(yi);
          for (int k = 0; k < K; ++k) dOut[k] = std::exp(o[k] - mx) / s - (k == yk ? 1 : 0);
          epochLoss += mx + std::log(s) - o[yk];
        }
        for (int u = 0; u < H; ++u) {
          double s = 0;
          for (int k = 0; k < K; ++k) {
            grad[oW2 + static_cast<size_t>(u) * K + k] += h[u] * dOut[k];
            s += w[oW2 + static_cast<size_t>(u) * K + k] * dOut[k];
          }
          dh[u] = s * h[u] * (1 - h[u]);
        }
        for (int k = 0; k < K; ++k) grad[oB2 + k] += dOut[k];
        for (int u = 0; u < H; ++u) grad[oB1 + u] += dh[u];
        for (int j = 0; j < p; ++j) {
          const double xj = x[j];
          if (xj == 0 || j == P.ic) continue;
          double* g = grad.data() + static_cast<size_t>(j) * H;
          for (int u = 0; u < H; ++u) g[u] += xj * dh[u];
        }
      }
      const double inv = 1.0 / (b1 - b0);
      if (P.optimizer == 0) {
        for (size_t q = 0; q < nP; ++q) {
          const double g = grad[q] * inv + P.weightDecay * theta[q];
          vel[q] = P.momentum * vel[q] - lr * g;
          theta[q] += vel[q];
        }
      } else {
        for (size_t q = 0; q < nP; ++q) {
          const double g = grad[q] * inv;
          eg2[q] = P.decay * eg2[q] + (1 - P.decay) * g * g;
          const double dx = -std::sqrt(ed2[q] + P.cond) / std::sqrt(eg2[q] + P.cond) * g;
          ed2[q] = P.decay * ed2[q] + (1 - P.decay) * dx * dx;
          theta[q] += dx;
        }
      }
      if (P.ic >= 0)
        for (int u = 0; u < H; ++u) theta[static_cast<size_t>(P.ic) * H + u] = 0;
      if (P.maxNorm > 0) {
        const double c2 = P.maxNorm * P.maxNorm;
        for (int u = 0; u < H; ++u) {
          double s = 0;
          for (int j = 0; j < p; ++j) s += theta[static_cast<size_t>(j) * H + u] * theta[static_cast<size_t>(j) * H + u];
          if (s > c2) {
            const double f = P.maxNorm / std::sqrt(s);
            for (int j = 0; j < p; ++j) theta[static_cast<size_t>(j) * H + u] *= f;
          }
        }
        for (int k = 0; k < K; ++k) {
          double s = 0;
          for (int u = 0; u < H; ++u) s += theta[oW2 + static_cast<size_t>(u) * K + k] * theta[oW2 + static_cast<size_t>(u) * K + k];
          if (s > c2) {
            const double f = P.maxNorm / std::sqrt(s);
            for (int u = 0; u < H; ++u) theta[oW2 + static_cast<size_t>(u) * K + k] *= f;
          }
        }
      }
    }
    lastLoss = epochLoss / n;
    if (!std::isfinite(lastLoss))
      throw Error("RX_CONVERGENCE", "rxNeuralNet: training diverged in epoch " + std::to_string(ep + 1) + " (lower the learning rate)");
    if (P.optimizer == 0 && (ep + 1) % P.redFreq == 0) lr *= P.redRatio;
  }
  return lastLoss;
}

}  // namespace rx::ml
