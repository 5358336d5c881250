// Fused IRLS pass for logistic regression (see linalg.h irls_logit).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "common/threads.h"
#include "linalg/linalg.h"

namespace rx {
namespace linalg {

namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();
constexpr std::size_t kBlock = 256;  // rows per packed block (as xtwx_accumulate_builtin)

struct Partial {
  double dev = 0, dev0 = 0, swy = 0, sw = 0, aic = 0, npos = 0, sumw = 0;
  double ymin = std::numeric_limits<double>::infinity(), ymax = -std::numeric_limits<double>::infinity();
  long long bad = -1;
};

inline std::size_t at(int i, int j, int ld) { return static_cast<std::size_t>(i) + static_cast<std::size_t>(j) * ld; }

}  // namespace

long long irls_logit(const double* X, std::size_t n, int p, const double* y, const double* pw, const double* offset,
                     const double* beta, double wtdmu, double* xtx, double* xty, double* acc, double* s, bool gram) {
  if (n == 0) return -1;
  const bool null_dev = !std::isnan(wtdmu);
  const double l1 = null_dev ? std::log(wtdmu) : 0.0;
  const double l0 = null_dev ? std::log1p(-wtdmu) : 0.0;
  const int nt = std::max(1, rx::num_threads());
  std::vector<Partial> parts(static_cast<std::size_t>(nt));
  // Phase 1 (threads over rows): eta, mu, working weights wv and response zv, pass statistics.
  // scratch kept between calls (no page faults or zero-filling per chunk)
  static thread_local std::vector<double> wbuf, zbuf;
  if (wbuf.size() < n) {
    wbuf.resize(n);
    zbuf.resize(n);
  }
  double* wv = wbuf.data();
  double* zv = zbuf.data();
  rx::parallel_for(
      n,
      [&](std::size_t r0, std::size_t r1, int t) {
        Partial& P = parts[static_cast<std::size_t>(t)];
        std::vector<double> eta(kBlock);
        for (std::size_t b = r0; b < r1; b += kBlock) {
          const std::size_t len = std::min(kBlock, r1 - b);
          // eta over the block, column by column (contiguous reads of X)
          if (beta) {
            if (offset)
              std::copy(offset + b, offset + b + len, eta.begin());
            else
              std::fill(eta.begin(), eta.begin() + static_cast<std::ptrdiff_t>(len), 0.0);
            for (int j = 0; j < p; ++j) {
              const double bj = beta[j];
              if (bj == 0.0 || std::isnan(bj)) continue;
              const double* col = X + static_cast<std::size_t>(j) * n + b;
              for (std::size_t r = 0; r < len; ++r) eta[r] += bj * col[r];
            }
          }
          for (std::size_t r = 0; r < len; ++r) {
            const std::size_t i = b + r;
            const double yi = y[i];
            if (yi != 0.0 && yi != 1.0) {
              if (P.bad < 0) P.bad = static_cast<long long>(i);
              wv[i] = 0;
              zv[i] = 0;
              continue;
            }
            const double pwi = pw ? pw[i] : 1.0;
            P.ymin = std::min(P.ymin, yi);
            P.ymax = std::max(P.ymax, yi);
            double e, mu, me;
            if (beta) {
              // R's logit linkinv (eta clamped at +-30) and mu.eta (floored at eps)
              e = eta[r];
              double tt, o;
              if (e < -30) {
                tt = kEps;
                o = std::exp(e);
              } else if (e > 30) {
                tt = 1 / kEps;
                o = std::exp(-e);
              } else {
                tt = std::exp(e);
                o = e < 0 ? tt : 1 / tt;
              }
              mu = tt / (1 + tt);
              const double qq = 1 + o;
              me = std::max(o / (qq * qq), kEps);
            } else {
              // R's binomial mustart; eta = logit(mu) without the offset, as glm.fit
              mu = (pwi * yi + 0.5) / (pwi + 1);
              e = std::log(mu / (1 - mu));
              const double o = std::exp(-std::fabs(e));
              const double qq = 1 + o;
              me = std::max(o / (qq * qq), kEps);
            }
            const double v = mu * (1 - mu);
            zv[i] = e - (offset ? offset[i] : 0.0) + (yi - mu) / me;
            if (pwi > 0) {
              wv[i] = (pwi * me * me) / v;
              const double lp = yi == 1.0 ? std::log(mu) : std::log(1 - mu);
              P.dev -= 2 * pwi * lp;
              if (null_dev) P.dev0 -= 2 * pwi * (yi == 1.0 ? l1 : l0);
              P.swy += pwi * yi;
              P.sw += pwi;
              P.npos += 1;
              P.aic += lp;  // unit prior weights only (the caller uses it then)
            } else {
              wv[i] = 0;
            }
          }
        }
      },
      4096);
  long long bad = -1;
  for (const auto& P : parts)
    if (P.bad >= 0 && (bad < 0 || P.bad < bad)) bad = P.bad;
  if (bad >= 0) return bad;
  for (const auto& P : parts) {
    s[0] += P.dev;
    s[1] += P.dev0;
    s[2] += P.swy;
    s[3] += P.sw;
    s[5] += P.aic;
    s[8] += P.npos;
    s[9] = std::min(s[9], P.ymin);
    s[10] = std::max(s[10], P.ymax);
  }
  // Phase 2: X'WX and X'Wz with the vendor BLAS (threads inside), as xtwx_accumulate.
  if (gram) xtwx_accumulate(X, n, p, wv, zv, xtx, xty, acc);
  return -1;
}

}  // namespace linalg
}  // namespace rx

namespace rx {
namespace linalg {

void xtwx_grouped(const double* D, std::size_t n, int pd, const int32_t* dcols, int ng, const int32_t* gcols,
                  const double* gvals, const double* w, const double* y, int p, double* xtx, double* xty,
                  double* acc) {
  if (n == 0) return;
  const int q = pd + (y ? 1 : 0);  // dense columns [D | y]
  const int q4 = (q + 3) / 4 * 4;
  const std::size_t pp = static_cast<std::size_t>(p);
  const int nt = std::max(1, rx::num_threads());
  struct Part {
    std::vector<double> C;   // q4 x q4 dense gram
    std::vector<double> B;   // p x q: X column c (group) times dense column k (incl. y)
    std::vector<double> G;   // p x p group x group (diagonal and cross-group), upper by column index
    double sw = 0;
  };
  std::vector<Part> parts(static_cast<std::size_t>(nt));
  rx::parallel_for(
      n,
      [&](std::size_t r0, std::size_t r1, int t) {
        Part& P = parts[static_cast<std::size_t>(t)];
        P.C.assign(static_cast<std::size_t>(q4) * q4, 0.0);
        if (ng > 0) {
          P.B.assign(pp * static_cast<std::size_t>(q), 0.0);
          P.G.assign(pp * pp, 0.0);
        }
        std::vector<double> T0(kBlock * q4, 0.0), T1(w ? kBlock * q4 : 0, 0.0);
        for (std::size_t b = r0; b < r1; b += kBlock) {
          const std::size_t len = std::min(kBlock, r1 - b);
          const std::size_t len4 = (len + 3) / 4 * 4;
          for (int j = 0; j < q4; ++j) {
            double* d0 = T0.data() + static_cast<std::size_t>(j) * len4;
            if (j < q) {
              const double* src = j < pd ? D + static_cast<std::size_t>(j) * n + b : y + b;
              std::copy(src, src + len, d0);
            }
            std::fill(d0 + (j < q ? len : 0), d0 + len4, 0.0);
            if (w) {
              double* d1 = T1.data() + static_cast<std::size_t>(j) * len4;
              for (std::size_t r = 0; r < len4; ++r) d1[r] = r < len ? w[b + r] * d0[r] : 0.0;
            }
          }
          if (w)
            for (std::size_t r = 0; r < len; ++r) P.sw += w[b + r];
          if (q > 0) detail::gram_block(T0.data(), w ? T1.data() : T0.data(), len4, q4, P.C.data());
          for (int g = 0; g < ng; ++g) {
            const int32_t* gc = gcols + static_cast<std::size_t>(g) * n + b;
            const double* gv = gvals ? gvals + static_cast<std::size_t>(g) * n + b : nullptr;
            for (std::size_t r = 0; r < len; ++r) {
              const int32_t c = gc[r];
              if (c < 0) continue;
              const double v = gv ? gv[r] : 1.0;
              const double wv = (w ? w[b + r] : 1.0) * v;
              if (wv == 0.0) continue;
              double* Bc = P.B.data() + static_cast<std::size_t>(c) * q;
              for (int k = 0; k < q; ++k) Bc[k] += wv * T0[static_cast<std::size_t>(k) * len4 + r];
              P.G[static_cast<std::size_t>(c) * pp + static_cast<std::size_t>(c)] += wv * v;
              for (int h = g + 1; h < ng; ++h) {
                const int32_t c2 = gcols[static_cast<std::size_t>(h) * n + b + r];
                if (c2 < 0) continue;
                const double v2 = gvals ? gvals[static_cast<std::size_t>(h) * n + b + r] : 1.0;
                P.G[static_cast<std::size_t>(c2) * pp + static_cast<std::size_t>(c)] += wv * v2;
              }
            }
          }
        }
      },
      4096);
  double sw = 0;
  for (const auto& P : parts) {
    if (P.C.empty()) continue;
    sw += P.sw;
    for (int j = 0; j < pd; ++j)
      for (int i = 0; i <= j; ++i) {
        const double v = P.C[at(i, j, q4)];
        const std::size_t a = static_cast<std::size_t>(dcols[i]), c = static_cast<std::size_t>(dcols[j]);
        xtx[a + c * pp] += v;
        if (a != c) xtx[c + a * pp] += v;
      }
    if (y) {
      for (int i = 0; i < pd; ++i) xty[dcols[i]] += P.C[at(i, pd, q4)];
      acc[1] += P.C[at(pd, pd, q4)];
    }
    if (ng > 0) {
      for (std::size_t c = 0; c < pp; ++c) {
        const double* Bc = P.B.data() + c * static_cast<std::size_t>(q);
        for (int k = 0; k < pd; ++k) {
          const double v = Bc[k];
          if (v == 0.0) continue;
          const std::size_t a = static_cast<std::size_t>(dcols[k]);
          xtx[a + c * pp] += v;
          xtx[c + a * pp] += v;
        }
        if (y) xty[c] += Bc[pd];
      }
      for (std::size_t j = 0; j < pp; ++j)
        for (std::size_t i = 0; i < pp; ++i) {
          const double v = P.G[i + j * pp];
          if (v == 0.0) continue;
          xtx[i + j * pp] += v;
          if (i != j) xtx[j + i * pp] += v;
        }
    }
  }
  acc[0] += w ? sw : static_cast<double>(n);
  acc[2] += static_cast<double>(n);
}

}  // namespace linalg
}  // namespace rx
