#include "ml/logistic.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "common/threads.h"

namespace rx::ml {

double logistic_loss_grad(const double* X, const double* y, std::size_t n, std::size_t p, std::size_t K, const double* theta, double* grad) {
  const int T = std::max(1, rx::num_threads());
  std::vector<std::vector<double>> g(T, std::vector<double>(K * p, 0.0));
  std::vector<double> loss(T, 0.0);
  rx::parallel_for(
      n,
      [&](std::size_t b, std::size_t e, int w) {
        std::vector<double> eta(K);
        double* gw = g[w].data();
        double lw = 0;
        for (std::size_t i = b; i < e; ++i) {
          const double* x = X + i * p;
          for (std::size_t k = 0; k < K; ++k) {
            const double* t = theta + k * p;
            double s = 0;
            for (std::size_t j = 0; j < p; ++j) s += t[j] * x[j];
            eta[k] = s;
          }
          if (K == 1) {
            const double yi = y[i], e0 = eta[0];
            const double z = yi == 1 ? -e0 : e0;
            lw += z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
            const double r = 1 / (1 + std::exp(-e0)) - yi;
            for (std::size_t j = 0; j < p; ++j) gw[j] += r * x[j];
          } else {
            double mx = -std::numeric_limits<double>::infinity();
            for (std::size_t k = 0; k < K; ++k) mx = std::max(mx, eta[k]);
            double s = 0;
            for (std::size_t k = 0; k < K; ++k) s += std::exp(eta[k] - mx);
            const double lse = mx + std::log(s);
            const std::size_t yk = static_cast<std::size_t>(y[i]);
            lw += lse - eta[yk];
            for (std::size_t k = 0; k < K; ++k) {
              const double r = std::exp(eta[k] - lse) - (k == yk ? 1.0 : 0.0);
              double* gk = gw + k * p;
              for (std::size_t j = 0; j < p; ++j) gk[j] += r * x[j];
            }
          }
        }
        loss[w] += lw;
      },
      1024);
  double total = 0;
  for (int w = 0; w < T; ++w) {
    total += loss[w];
    for (std::size_t q = 0; q < K * p; ++q) grad[q] += g[w][q];
  }
  return total;
}

}  // namespace rx::ml
