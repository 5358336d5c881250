#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/error.h"
#include "ensemble/ensemble.h"

namespace rx {
namespace ensemble {

namespace {

class Gaussian : public Objective {
 public:
  void init_score(const double* y, const double* w, int64_t n, double* out) const override {
    double sw = 0, sy = 0;
    for (int64_t i = 0; i < n; ++i) {
      sw += w[i];
      sy += w[i] * y[i];
    }
    out[0] = sw > 0 ? sy / sw : 0;
  }
  void gradients(const double* y, const double* w, const double* s, int64_t, int64_t b, int64_t e, double* g,
                 double* h) const override {
    for (int64_t i = b; i < e; ++i) {
      g[i] = w[i] * (s[i] - y[i]);
      h[i] = w[i];
    }
  }
};

class Bernoulli : public Objective {
 public:
  void init_score(const double* y, const double* w, int64_t n, double* out) const override {
    double sw = 0, sy = 0;
    for (int64_t i = 0; i < n; ++i) {
      sw += w[i];
      sy += w[i] * y[i];
    }
    double p = sw > 0 ? sy / sw : 0.5;
    p = std::min(std::max(p, 1e-15), 1 - 1e-15);
    out[0] = std::log(p / (1 - p));
  }
  void gradients(const double* y, const double* w, const double* s, int64_t, int64_t b, int64_t e, double* g,
                 double* h) const override {
    for (int64_t i = b; i < e; ++i) {
      double p = 1.0 / (1.0 + std::exp(-s[i]));
      g[i] = w[i] * (p - y[i]);
      h[i] = w[i] * std::max(p * (1 - p), 1e-16);
    }
  }
};

class Poisson : public Objective {
 public:
  void init_score(const double* y, const double* w, int64_t n, double* out) const override {
    double sw = 0, sy = 0;
    for (int64_t i = 0; i < n; ++i) {
      sw += w[i];
      sy += w[i] * y[i];
    }
    out[0] = std::log(std::max(sw > 0 ? sy / sw : 1, 1e-15));
  }
  void gradients(const double* y, const double* w, const double* s, int64_t, int64_t b, int64_t e, double* g,
                 double* h) const override {
    for (int64_t i = b; i < e; ++i) {
      double mu = std::exp(s[i]);
      g[i] = w[i] * (mu - y[i]);
      h[i] = w[i] * std::exp(s[i] + 0.7);  // max_delta_step-style safeguard as LightGBM
    }
  }
};

class Multinomial : public Objective {
 public:
  explicit Multinomial(int k) : K_(k) {}
  int num_outputs() const override { return K_; }
  void init_score(const double* y, const double* w, int64_t n, double* out) const override {
    std::vector<double> c(K_, 0);
    double sw = 0;
    for (int64_t i = 0; i < n; ++i) {
      c[static_cast<int>(y[i])] += w[i];
      sw += w[i];
    }
    for (int k = 0; k < K_; ++k) out[k] = std::log(std::max(c[k] / (sw > 0 ? sw : 1), 1e-15));
  }
  // score is row-major n*K; g/h are class-major K*n
  void gradients(const double* y, const double* w, const double* s, int64_t n, int64_t b, int64_t e, double* g,
                 double* h) const override {
    std::vector<double> p(K_);
    for (int64_t i = b; i < e; ++i) {
      double mx = -1e300;
      for (int k = 0; k < K_; ++k) mx = std::max(mx, s[i * K_ + k]);
      double z = 0;
      for (int k = 0; k < K_; ++k) z += (p[k] = std::exp(s[i * K_ + k] - mx));
      int yi = static_cast<int>(y[i]);
      for (int k = 0; k < K_; ++k) {
        double pk = p[k] / z;
        g[k * n + i] = w[i] * (pk - (k == yi ? 1.0 : 0.0));
        h[k * n + i] = w[i] * std::max(2.0 * pk * (1 - pk), 1e-16);  // K/(K-1) factor as LightGBM uses 2 for simplicity
      }
    }
  }

 private:
  int K_;
};

}  // namespace

Objective* make_objective(const char* name, int numClass) {
  std::string s(name);
  if (s == "gaussian") return new Gaussian();
  if (s == "bernoulli") return new Bernoulli();
  if (s == "poisson") return new Poisson();
  if (s == "multinomial") return new Multinomial(numClass);
  throw Error("RX_ARG", "unknown objective '" + s + "'");
}

}  // namespace ensemble
}  // namespace rx
