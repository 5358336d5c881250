#include "linalg/linalg.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "common/error.h"
#include "common/threads.h"
#include "linalg/blas.h"

namespace rx {
namespace linalg {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

inline std::size_t idx(int i, int j, int ld) { return static_cast<std::size_t>(i) + static_cast<std::size_t>(j) * ld; }

// Adds the upper triangle of C (q x q, ld q) into the p x p full symmetric xtx, column p of C
// into xty and C[p,p] into yty (when q == p + 1).
void scatter_upper(const double* C, int p, int q, double* xtx, double* xty, double* yty) {
  for (int j = 0; j < p; ++j)
    for (int i = 0; i <= j; ++i) {
      double v = C[idx(i, j, q)];
      xtx[idx(i, j, p)] += v;
      if (i != j) xtx[idx(j, i, p)] += v;
    }
  if (q == p + 1) {
    for (int i = 0; i < p; ++i) xty[i] += C[idx(i, p, q)];
    *yty += C[idx(p, p, q)];
  }
}

void check_finite_matrix(const double* A, int p, const char* what) {
  for (int j = 0; j < p; ++j)
    for (int i = 0; i < p; ++i)
      if (!std::isfinite(A[idx(i, j, p)]))
        throw rx::Error("RX_ARG", std::string("Expected finite values for ") + what + " but received " +
                                      std::to_string(A[idx(i, j, p)]) + " at [" + std::to_string(i) + "," +
                                      std::to_string(j) + "]");
}

// Rows per block for the vendor path: ~2 MB of packed data, at least 1024 rows.
std::size_t rows_per_block(int q) { return std::max<std::size_t>(1024, (std::size_t(1) << 18) / std::max(1, q)); }

}  // namespace

namespace detail {

typedef double v4d __attribute__((vector_size(32)));

// C (q4 x q4, upper tiles only) += A' B over `len` rows (len % 4 == 0). A and B are packed
// column-major with leading dimension len and q4 % 4 == 0 columns. 4x4 register tiles of
// 4-wide vectors: 8 loads per 16 multiply-adds. Cloned for AVX2/FMA with a portable default.
__attribute__((target_clones("arch=haswell", "default"))) void gram_block(const double* A, const double* B,
                                                                          std::size_t len, int q4, double* C) {
  for (int jb = 0; jb < q4; jb += 4) {
    for (int ib = 0; ib <= jb; ib += 4) {
      v4d acc[4][4];
      for (auto& r : acc)
        for (auto& c : r) c = v4d{0, 0, 0, 0};
      const double* a0 = A + static_cast<std::size_t>(ib) * len;
      const double* b0 = B + static_cast<std::size_t>(jb) * len;
      for (std::size_t r = 0; r < len; r += 4) {
        v4d av[4], bv[4];
        for (int t = 0; t < 4; ++t) {
          __builtin_memcpy(&av[t], a0 + static_cast<std::size_t>(t) * len + r, sizeof(v4d));
          __builtin_memcpy(&bv[t], b0 + static_cast<std::size_t>(t) * len + r, sizeof(v4d));
        }
        for (int i = 0; i < 4; ++i)
          for (int j = 0; j < 4; ++j) acc[i][j] += av[i] * bv[j];
      }
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) C[idx(ib + i, jb + j, q4)] += (acc[i][j][0] + acc[i][j][1]) + (acc[i][j][2] + acc[i][j][3]);
    }
  }
}

}  // namespace detail
using detail::gram_block;

void xtwx_accumulate_builtin(const double* X, std::size_t n, int p, const double* w, const double* y, double* xtx,
                             double* xty, double* acc) {
  const int q = p + (y ? 1 : 0);
  const int q4 = (q + 3) / 4 * 4;
  const std::size_t qq4 = static_cast<std::size_t>(q4) * q4;
  if (n == 0) return;
  const int nt = std::max(1, rx::num_threads());
  std::vector<std::vector<double>> part(static_cast<std::size_t>(nt));
  std::vector<double> sumw(static_cast<std::size_t>(nt), 0.0);
  constexpr std::size_t kBlock = 256;  // rows per packed block: 256 x q4 doubles (48 KB at q4 = 24)
  rx::parallel_for(
      n,
      [&](std::size_t r0, std::size_t r1, int t) {
        auto& C = part[static_cast<std::size_t>(t)];
        C.assign(qq4, 0.0);
        std::vector<double> T0(kBlock * q4, 0.0), T1(w ? kBlock * q4 : 0, 0.0);
        double sw = 0;
        for (std::size_t b = r0; b < r1; b += kBlock) {
          const std::size_t len = std::min(kBlock, r1 - b);
          const std::size_t len4 = (len + 3) / 4 * 4;  // zero rows pad to a multiple of 4
          for (int j = 0; j < q4; ++j) {
            double* d0 = T0.data() + static_cast<std::size_t>(j) * len4;
            if (j >= q) {
              std::fill(d0, d0 + len4, 0.0);
              if (w) std::fill(T1.data() + static_cast<std::size_t>(j) * len4, T1.data() + static_cast<std::size_t>(j + 1) * len4, 0.0);
              continue;
            }
            const double* src = j < p ? X + static_cast<std::size_t>(j) * n + b : y + b;
            std::copy(src, src + len, d0);
            std::fill(d0 + len, d0 + len4, 0.0);
            if (w) {
              double* d1 = T1.data() + static_cast<std::size_t>(j) * len4;
              for (std::size_t r = 0; r < len; ++r) d1[r] = w[b + r] * src[r];
              std::fill(d1 + len, d1 + len4, 0.0);
            }
          }
          if (w)
            for (std::size_t r = 0; r < len; ++r) sw += w[b + r];
          gram_block(T0.data(), w ? T1.data() : T0.data(), len4, q4, C.data());
        }
        sumw[static_cast<std::size_t>(t)] = sw;
      },
      8192);
  std::vector<double> C(static_cast<std::size_t>(q) * q, 0.0);
  double sw = 0;
  for (int t = 0; t < nt; ++t) {
    sw += sumw[static_cast<std::size_t>(t)];
    const auto& P = part[static_cast<std::size_t>(t)];
    if (P.empty()) continue;
    for (int j = 0; j < q; ++j)
      for (int i = 0; i <= j; ++i) C[idx(i, j, q)] += P[idx(i, j, q4)];
  }
  scatter_upper(C.data(), p, q, xtx, xty, &acc[1]);
  acc[0] += w ? sw : static_cast<double>(n);
  acc[2] += static_cast<double>(n);
}

void xtwx_accumulate(const double* X, std::size_t n, int p, const double* w, const double* y, double* xtx,
                     double* xty, double* acc) {
  // BLAS takes 32-bit leading dimensions: chunks of more than 2^31 - 1 rows use the builtin path.
  if (!la::has_vendor_blas() || n > static_cast<std::size_t>(INT32_MAX)) {
    xtwx_accumulate_builtin(X, n, p, w, y, xtx, xty, acc);
    return;
  }
  if (n == 0 || p < 0) return;
  const int q = p + (y ? 1 : 0);
  const std::size_t qq = static_cast<std::size_t>(q) * q;
  std::vector<double> C(qq, 0.0);
  if (!w) {
    // Unweighted: BLAS straight on the caller's columns (no copy).
    std::vector<double> xy(static_cast<std::size_t>(p), 0.0);
    double yy = 0;
    const int rows = static_cast<int>(n);
    la::syrk_ut(p, rows, 1.0, X, rows, 0.0, C.data(), q);
    if (y) {
      la::gemv_t(rows, p, 1.0, X, rows, y, 0.0, xy.data());
      yy = la::builtin::dot(y, y, n);
    }
    if (y) {
      for (int i = 0; i < p; ++i) C[idx(i, p, q)] = xy[i];
      C[idx(p, p, q)] = yy;
    }
    scatter_upper(C.data(), p, q, xtx, xty, &acc[1]);
    acc[0] += static_cast<double>(n);
    acc[2] += static_cast<double>(n);
    return;
  }
  // Weighted: pack sqrt(w) [X y] row blocks and syrk; blocks with a negative weight use
  // gemm of [X y]' (w .* [X y]) instead.
  const std::size_t nb = std::min(n, rows_per_block(q));
  static thread_local std::vector<double> B0;  // packing buffer kept between calls
  if (B0.size() < nb * q) B0.resize(nb * q);
  std::vector<double> B1, sq;
  std::vector<double> G;  // full q x q from gemm blocks
  double sw = 0;
  for (std::size_t b = 0; b < n; b += nb) {
    const std::size_t len = std::min(nb, n - b);
    bool negative = false;
    for (std::size_t r = 0; r < len; ++r) {
      sw += w[b + r];
      if (w[b + r] < 0) negative = true;
    }
    if (!negative) {
      if (sq.size() < len) sq.resize(nb);
      for (std::size_t r = 0; r < len; ++r) sq[r] = std::sqrt(w[b + r]);
      for (int j = 0; j < q; ++j) {
        const double* src = j < p ? X + static_cast<std::size_t>(j) * n + b : y + b;
        double* dst = B0.data() + static_cast<std::size_t>(j) * len;
        for (std::size_t r = 0; r < len; ++r) dst[r] = sq[r] * src[r];
      }
      la::syrk_ut(q, static_cast<int>(len), 1.0, B0.data(), static_cast<int>(len), 1.0, C.data(), q);
    } else {
      if (B1.empty()) B1.resize(nb * q);
      if (G.empty()) G.assign(qq, 0.0);
      for (int j = 0; j < q; ++j) {
        const double* src = j < p ? X + static_cast<std::size_t>(j) * n + b : y + b;
        double* d0 = B0.data() + static_cast<std::size_t>(j) * len;
        double* d1 = B1.data() + static_cast<std::size_t>(j) * len;
        for (std::size_t r = 0; r < len; ++r) {
          d0[r] = src[r];
          d1[r] = w[b + r] * src[r];
        }
      }
      la::gemm_tn(q, q, static_cast<int>(len), 1.0, B0.data(), static_cast<int>(len), B1.data(),
                  static_cast<int>(len), 1.0, G.data(), q);
    }
  }
  if (!G.empty())
    for (int j = 0; j < q; ++j)
      for (int i = 0; i <= j; ++i) C[idx(i, j, q)] += 0.5 * (G[idx(i, j, q)] + G[idx(j, i, q)]);
  scatter_upper(C.data(), p, q, xtx, xty, &acc[1]);
  acc[0] += sw;
  acc[2] += static_cast<double>(n);
}

std::vector<double> chol_solve(const double* A, int p, const double* B, int nrhs) {
  check_finite_matrix(A, p, "A");
  std::vector<double> U(A, A + static_cast<std::size_t>(p) * p);
  int info = la::potrf_u(p, U.data(), std::max(1, p));
  if (info > 0)
    throw rx::Error("RX_SINGULAR", "matrix is not positive definite (leading minor of order " +
                                       std::to_string(info) + " is not positive)");
  std::vector<double> X(B, B + static_cast<std::size_t>(p) * nrhs);
  if (p == 0 || nrhs == 0) return X;
  la::trtrs_u('T', p, nrhs, U.data(), p, X.data(), p);
  la::trtrs_u('N', p, nrhs, U.data(), p, X.data(), p);
  return X;
}

std::vector<double> chol_inverse(const double* A, int p) {
  check_finite_matrix(A, p, "A");
  std::vector<double> U(A, A + static_cast<std::size_t>(p) * p);
  int info = la::potrf_u(p, U.data(), std::max(1, p));
  if (info > 0)
    throw rx::Error("RX_SINGULAR", "matrix is not positive definite (leading minor of order " +
                                       std::to_string(info) + " is not positive)");
  if (p == 0) return U;
  info = la::potri_u(p, U.data(), p);
  if (info > 0) throw rx::Error("RX_SINGULAR", "matrix is singular (zero pivot " + std::to_string(info) + ")");
  for (int j = 0; j < p; ++j)
    for (int i = j + 1; i < p; ++i) U[idx(i, j, p)] = U[idx(j, i, p)];
  return U;
}

SolveResult sweep_solve(const double* xtx, const double* xty, int p, double tol, double yty) {
  check_finite_matrix(xtx, p, "xtx");
  for (int i = 0; i < p; ++i)
    if (!std::isfinite(xty[i]))
      throw rx::Error("RX_ARG", "Expected finite values for xty but received " + std::to_string(xty[i]) + " at [" +
                                    std::to_string(i) + "]");
  const int q = p + 1;
  std::vector<double> M(static_cast<std::size_t>(q) * q);
  for (int j = 0; j < p; ++j)
    for (int i = 0; i < p; ++i) M[idx(i, j, q)] = 0.5 * (xtx[idx(i, j, p)] + xtx[idx(j, i, p)]);
  for (int i = 0; i < p; ++i) M[idx(i, p, q)] = M[idx(p, i, q)] = xty[i];
  M[idx(p, p, q)] = std::isfinite(yty) ? yty : 0.0;
  SolveResult res;
  res.aliased.assign(static_cast<std::size_t>(p), 0);
  for (int k = 0; k < p; ++k) {
    const double d0 = xtx[idx(k, k, p)];
    const double d = M[idx(k, k, q)];
    if (!(d0 > 0.0) || !(d > tol * d0)) {
      res.aliased[static_cast<std::size_t>(k)] = 1;
      continue;
    }
    // Sweep pivot k: M[i,j] -= M[i,k] M[k,j] / d; row/col k /= d; M[k,k] = -1/d.
    for (int j = 0; j < q; ++j) {
      if (j == k) continue;
      const double mkj = M[idx(k, j, q)] / d;
      if (mkj == 0.0) continue;
      for (int i = 0; i < q; ++i)
        if (i != k) M[idx(i, j, q)] -= M[idx(i, k, q)] * mkj;
    }
    for (int i = 0; i < q; ++i)
      if (i != k) {
        M[idx(i, k, q)] /= d;
        M[idx(k, i, q)] /= d;
      }
    M[idx(k, k, q)] = -1.0 / d;
    ++res.rank;
  }
  res.coef.assign(static_cast<std::size_t>(p), kNaN);
  res.inverse.assign(static_cast<std::size_t>(p) * p, kNaN);
  for (int j = 0; j < p; ++j) {
    if (res.aliased[static_cast<std::size_t>(j)]) continue;
    res.coef[static_cast<std::size_t>(j)] = M[idx(j, p, q)];
    for (int i = 0; i < p; ++i)
      if (!res.aliased[static_cast<std::size_t>(i)]) res.inverse[idx(i, j, p)] = -M[idx(i, j, q)];
  }
  for (int j = 0; j < p; ++j)  // symmetrise (the sweep keeps symmetry only to rounding)
    for (int i = j + 1; i < p; ++i)
      if (!res.aliased[static_cast<std::size_t>(i)] && !res.aliased[static_cast<std::size_t>(j)]) {
        double v = 0.5 * (res.inverse[idx(i, j, p)] + res.inverse[idx(j, i, p)]);
        res.inverse[idx(i, j, p)] = res.inverse[idx(j, i, p)] = v;
      }
  res.rss = std::isfinite(yty) ? M[idx(p, p, q)] : kNaN;
  res.pivot.resize(static_cast<std::size_t>(p));
  int pos = 0;
  for (int j = 0; j < p; ++j)
    if (!res.aliased[static_cast<std::size_t>(j)]) res.pivot[static_cast<std::size_t>(pos++)] = j;
  for (int j = 0; j < p; ++j)
    if (res.aliased[static_cast<std::size_t>(j)]) res.pivot[static_cast<std::size_t>(pos++)] = j;
  return res;
}

std::vector<double> qr_update(const double* R0, const double* X, std::size_t n, int k) {
  std::vector<double> R(static_cast<std::size_t>(k) * k, 0.0);
  if (R0)
    for (int j = 0; j < k; ++j)
      for (int i = 0; i <= j; ++i) R[idx(i, j, k)] = R0[idx(i, j, k)];
  if (k == 0 || n == 0) return R;
  const std::size_t nb = std::max<std::size_t>(static_cast<std::size_t>(k), std::min<std::size_t>(n, 4096));
  bool have_r = R0 != nullptr;
  std::vector<double> S, tau(static_cast<std::size_t>(k));
  for (std::size_t b = 0; b < n; b += nb) {
    const std::size_t len = std::min(nb, n - b);
    const int top = have_r ? k : 0;
    const int m = top + static_cast<int>(len);
    S.assign(static_cast<std::size_t>(m) * k, 0.0);
    for (int j = 0; j < k; ++j) {
      double* col = S.data() + static_cast<std::size_t>(j) * m;
      if (have_r)
        for (int i = 0; i <= j; ++i) col[i] = R[idx(i, j, k)];
      std::copy(X + static_cast<std::size_t>(j) * n + b, X + static_cast<std::size_t>(j) * n + b + len, col + top);
    }
    // Tall-skinny panels (k <= 64): the unblocked Householder in rx::la::builtin is as fast as
    // LAPACK dgeqrf here (both are level-2 bound; measured 2.2 vs 2.0 GFLOP/s at 400000 x 21)
    // and 1-2 digits more accurate on NIST Longley/Wampler/Filip than OpenBLAS 0.3.21's dgeqrf.
    if (m > 0) {
      if (k <= 64)
        la::builtin::geqrf(m, k, S.data(), m, tau.data());
      else
        la::geqrf(m, k, S.data(), m, tau.data());
    }
    std::fill(R.begin(), R.end(), 0.0);
    for (int j = 0; j < k; ++j)
      for (int i = 0; i <= std::min(j, m - 1); ++i) R[idx(i, j, k)] = S[static_cast<std::size_t>(i) + static_cast<std::size_t>(j) * m];
    have_r = true;
  }
  return R;
}

SolveResult qr_solve_r(const double* R, int p, double tol) {
  const int q = p + 1;
  for (int j = 0; j < q; ++j)
    for (int i = 0; i <= j; ++i)
      if (!std::isfinite(R[idx(i, j, q)]))
        throw rx::Error("RX_ARG", "Expected finite values for R but received " + std::to_string(R[idx(i, j, q)]) +
                                      " at [" + std::to_string(i) + "," + std::to_string(j) + "]");
  std::vector<double> A(static_cast<std::size_t>(p) * p, 0.0), b(static_cast<std::size_t>(p));
  for (int j = 0; j < p; ++j)
    for (int i = 0; i <= j; ++i) A[idx(i, j, p)] = R[idx(i, j, q)];
  for (int i = 0; i < p; ++i) b[static_cast<std::size_t>(i)] = R[idx(i, p, q)];
  const double rho = R[idx(p, p, q)];
  auto colnorm = [&](int j, int from) {
    double s = 0, scale = 0;
    for (int i = from; i < p; ++i) scale = std::max(scale, std::fabs(A[idx(i, j, p)]));
    if (scale == 0) return 0.0;
    for (int i = from; i < p; ++i) {
      double t = A[idx(i, j, p)] / scale;
      s += t * t;
    }
    return scale * std::sqrt(s);
  };
  std::vector<double> norm0(static_cast<std::size_t>(p));
  std::vector<int32_t> piv(static_cast<std::size_t>(p));
  for (int j = 0; j < p; ++j) {
    norm0[static_cast<std::size_t>(j)] = colnorm(j, 0);
    piv[static_cast<std::size_t>(j)] = j;
  }
  int lup = p;
  std::vector<double> tmp(static_cast<std::size_t>(p));
  for (int l = 0; l < lup; ++l) {
    // Move negligible columns (remaining norm < tol x original norm) to the end (dqrdc2).
    while (l < lup) {
      const double ref = norm0[static_cast<std::size_t>(l)] == 0.0 ? 1.0 : norm0[static_cast<std::size_t>(l)];
      if (colnorm(l, l) >= tol * ref && norm0[static_cast<std::size_t>(l)] > 0.0) break;
      std::copy(A.begin() + static_cast<std::ptrdiff_t>(idx(0, l, p)), A.begin() + static_cast<std::ptrdiff_t>(idx(0, l + 1, p)), tmp.begin());
      for (int j = l; j < p - 1; ++j)
        std::copy(A.begin() + static_cast<std::ptrdiff_t>(idx(0, j + 1, p)), A.begin() + static_cast<std::ptrdiff_t>(idx(0, j + 2, p)),
                  A.begin() + static_cast<std::ptrdiff_t>(idx(0, j, p)));
      std::copy(tmp.begin(), tmp.end(), A.begin() + static_cast<std::ptrdiff_t>(idx(0, p - 1, p)));
      std::rotate(piv.begin() + l, piv.begin() + l + 1, piv.end());
      std::rotate(norm0.begin() + l, norm0.begin() + l + 1, norm0.end());
      --lup;
    }
    if (l >= lup) break;
    // Householder reflector for A[l:p, l], applied to A[l:p, l+1:p] and b[l:p].
    double* v = A.data() + idx(l, l, p);
    const int len = p - l - 1;
    double xnorm = 0, scale = 0;
    for (int i = 1; i <= len; ++i) scale = std::max(scale, std::fabs(v[i]));
    if (scale > 0) {
      double s = 0;
      for (int i = 1; i <= len; ++i) s += (v[i] / scale) * (v[i] / scale);
      xnorm = scale * std::sqrt(s);
    }
    if (xnorm == 0.0) continue;
    const double alpha = v[0];
    const double beta = -std::copysign(std::hypot(alpha, xnorm), alpha);
    const double tau = (beta - alpha) / beta;
    const double inv = 1.0 / (alpha - beta);
    for (int i = 1; i <= len; ++i) v[i] *= inv;
    v[0] = beta;
    auto apply = [&](double* col) {
      double s = col[0];
      for (int i = 1; i <= len; ++i) s += v[i] * col[i];
      s *= tau;
      col[0] -= s;
      for (int i = 1; i <= len; ++i) col[i] -= s * v[i];
    };
    for (int c = l + 1; c < p; ++c) apply(A.data() + idx(l, c, p));
    apply(b.data() + l);
    for (int i = 1; i <= len; ++i) v[i] = 0.0;  // keep A upper triangular
  }
  SolveResult res;
  const int r = lup;
  res.rank = r;
  res.pivot = piv;
  res.aliased.assign(static_cast<std::size_t>(p), 0);
  for (int i = r; i < p; ++i) res.aliased[static_cast<std::size_t>(piv[static_cast<std::size_t>(i)])] = 1;
  double rss = rho * rho;
  for (int i = r; i < p; ++i) rss += b[static_cast<std::size_t>(i)] * b[static_cast<std::size_t>(i)];
  res.rss = rss;
  res.coef.assign(static_cast<std::size_t>(p), kNaN);
  res.inverse.assign(static_cast<std::size_t>(p) * p, kNaN);
  if (r == 0) return res;
  std::vector<double> c(b.begin(), b.begin() + r);
  la::builtin::trtrs_u('N', r, 1, A.data(), p, c.data(), r);
  for (int i = 0; i < r; ++i) res.coef[static_cast<std::size_t>(piv[static_cast<std::size_t>(i)])] = c[static_cast<std::size_t>(i)];
  // (R'R)^-1 = inv(R) inv(R)' via the triangular inverse (potri on the factor R).
  std::vector<double> U(static_cast<std::size_t>(r) * r, 0.0);
  for (int j = 0; j < r; ++j)
    for (int i = 0; i <= j; ++i) U[idx(i, j, r)] = A[idx(i, j, p)];
  la::builtin::potri_u(r, U.data(), r);
  for (int j = 0; j < r; ++j)
    for (int i = 0; i < r; ++i) {
      const double v = i <= j ? U[idx(i, j, r)] : U[idx(j, i, r)];
      res.inverse[idx(piv[static_cast<std::size_t>(i)], piv[static_cast<std::size_t>(j)], p)] = v;
    }
  return res;
}

}  // namespace linalg
}  // namespace rx
