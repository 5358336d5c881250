// Loss and gradient passes of rxLogisticRegression (lib/ml/logistic.ts) over a row-major block.
#pragma once
#include <cstddef>

namespace rx::ml {

// Binary (K = 1: y in {0,1}, loss log(1 + exp(-(2y-1) eta))) or multinomial (K >= 2: y the
// class index, softmax cross-entropy) summed loss at theta (K x p, class-major) over the n x p
// row-major block X; grad (K x p) is ADDED to. Rows are split over the thread budget; the
// per-thread partial sums are added in thread order.
double logistic_loss_grad(const double* X, const double* y, std::size_t n, std::size_t p, std::size_t K, const double* theta, double* grad);

}  // namespace rx::ml
