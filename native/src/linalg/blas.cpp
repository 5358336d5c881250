// BLAS/LAPACK dispatch (vendor Fortran symbols or the built-in kernels) and the built-in
// portable implementations of exactly the routines rxscale uses.
#include "linalg/blas.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/threads.h"

#if !defined(RXSCALE_BLAS_BUILTIN)
// Fortran interfaces. Trailing size_t arguments are the hidden lengths of character
// arguments (gfortran ABI); C implementations ignore them.
extern "C" {
void dsyrk_(const char* uplo, const char* trans, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* beta, double* c, const int* ldc, std::size_t,
            std::size_t);
void dgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* b, const int* ldb, const double* beta, double* c,
            const int* ldc, std::size_t, std::size_t);
void dgemv_(const char* trans, const int* m, const int* n, const double* alpha, const double* a, const int* lda,
            const double* x, const int* incx, const double* beta, double* y, const int* incy, std::size_t);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info, std::size_t);
void dpotri_(const char* uplo, const int* n, double* a, const int* lda, int* info, std::size_t);
void dtrtrs_(const char* uplo, const char* trans, const char* diag, const int* n, const int* nrhs,
             const double* a, const int* lda, double* b, const int* ldb, int* info, std::size_t, std::size_t,
             std::size_t);
void dgeqrf_(const int* m, const int* n, double* a, const int* lda, double* tau, double* work, const int* lwork,
             int* info);
}
#endif

namespace rx {
namespace la {

namespace builtin {

double dot(const double* a, const double* b, std::size_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; ++i) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

namespace {
constexpr int kRowBlock = 512;  // rows per cache block: 512 x 20 doubles = 80 KB

// C(m x n, ld m) += A' B over rows [r0, r1); when sym, only i <= j (upper) is formed.
void cross_rows(int m, int n, const double* A, int lda, const double* B, int ldb, std::size_t r0, std::size_t r1,
                bool sym, double* C) {
  for (std::size_t b = r0; b < r1; b += kRowBlock) {
    std::size_t len = std::min<std::size_t>(kRowBlock, r1 - b);
    for (int j = 0; j < n; ++j) {
      const double* bj = B + static_cast<std::size_t>(j) * ldb + b;
      int iend = sym ? j + 1 : m;
      for (int i = 0; i < iend; ++i) {
        C[i + static_cast<std::size_t>(j) * m] += dot(A + static_cast<std::size_t>(i) * lda + b, bj, len);
      }
    }
  }
}

// Parallel over rows with per-thread partial sums; result (m x n, ld m) returned in out.
void cross_parallel(int m, int n, int k, const double* A, int lda, const double* B, int ldb, bool sym,
                    std::vector<double>& out) {
  const std::size_t mn = static_cast<std::size_t>(m) * n;
  out.assign(mn, 0.0);
  int nt = std::max(1, rx::num_threads());
  std::vector<std::vector<double>> part(static_cast<std::size_t>(nt), std::vector<double>());
  std::size_t min_rows = std::max<std::size_t>(4096, 65536 / std::max<std::size_t>(1, mn));
  rx::parallel_for(
      static_cast<std::size_t>(k),
      [&](std::size_t r0, std::size_t r1, int t) {
        auto& p = part[static_cast<std::size_t>(t)];
        p.assign(mn, 0.0);
        cross_rows(m, n, A, lda, B, ldb, r0, r1, sym, p.data());
      },
      min_rows);
  for (auto& p : part)
    if (!p.empty())
      for (std::size_t i = 0; i < mn; ++i) out[i] += p[i];
}
}  // namespace

void syrk_ut(int n, int k, double alpha, const double* A, int lda, double beta, double* C, int ldc) {
  std::vector<double> t;
  cross_parallel(n, n, k, A, lda, A, lda, true, t);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i <= j; ++i) {
      double& c = C[i + static_cast<std::size_t>(j) * ldc];
      c = (beta == 0.0 ? 0.0 : beta * c) + alpha * t[i + static_cast<std::size_t>(j) * n];
    }
}

void gemm_tn(int m, int n, int k, double alpha, const double* A, int lda, const double* B, int ldb, double beta,
             double* C, int ldc) {
  std::vector<double> t;
  cross_parallel(m, n, k, A, lda, B, ldb, false, t);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      double& c = C[i + static_cast<std::size_t>(j) * ldc];
      c = (beta == 0.0 ? 0.0 : beta * c) + alpha * t[i + static_cast<std::size_t>(j) * m];
    }
}

void gemv_t(int m, int n, double alpha, const double* A, int lda, const double* x, double beta, double* y) {
  for (int j = 0; j < n; ++j) {
    double s = dot(A + static_cast<std::size_t>(j) * lda, x, static_cast<std::size_t>(m));
    y[j] = (beta == 0.0 ? 0.0 : beta * y[j]) + alpha * s;
  }
}

int potrf_u(int n, double* A, int lda) {
  for (int j = 0; j < n; ++j) {
    double* cj = A + static_cast<std::size_t>(j) * lda;
    double s = cj[j] - dot(cj, cj, static_cast<std::size_t>(j));
    if (!(s > 0.0)) return j + 1;
    double d = std::sqrt(s);
    cj[j] = d;
    for (int i = j + 1; i < n; ++i) {
      double* ci = A + static_cast<std::size_t>(i) * lda;
      ci[j] = (ci[j] - dot(cj, ci, static_cast<std::size_t>(j))) / d;
    }
  }
  return 0;
}

int potri_u(int n, double* A, int lda) {
  auto a = [&](int i, int j) -> double& { return A[i + static_cast<std::size_t>(j) * lda]; };
  for (int j = 0; j < n; ++j)
    if (a(j, j) == 0.0) return j + 1;
  // inv(U) in place, column by column, top-down (entries below i in column j still hold U).
  for (int j = 0; j < n; ++j) {
    double ujj = a(j, j);
    for (int i = 0; i < j; ++i) {
      double s = 0;
      for (int l = i; l < j; ++l) s += a(i, l) * a(l, j);
      a(i, j) = -s / ujj;
    }
    a(j, j) = 1.0 / ujj;
  }
  // inv(A) = inv(U) inv(U)': upper entry (i, j), i <= j, = sum_{l >= j} Ui(i, l) Ui(j, l).
  std::vector<double> ui(static_cast<std::size_t>(n) * n, 0.0);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i <= j; ++i) ui[i + static_cast<std::size_t>(j) * n] = a(i, j);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i <= j; ++i) {
      double s = 0;
      for (int l = j; l < n; ++l) s += ui[i + static_cast<std::size_t>(l) * n] * ui[j + static_cast<std::size_t>(l) * n];
      a(i, j) = s;
    }
  return 0;
}

int trtrs_u(char trans, int n, int nrhs, const double* A, int lda, double* B, int ldb) {
  auto a = [&](int i, int j) { return A[i + static_cast<std::size_t>(j) * lda]; };
  for (int j = 0; j < n; ++j)
    if (a(j, j) == 0.0) return j + 1;
  for (int c = 0; c < nrhs; ++c) {
    double* b = B + static_cast<std::size_t>(c) * ldb;
    if (trans == 'N' || trans == 'n') {
      for (int i = n - 1; i >= 0; --i) {
        double s = b[i];
        for (int l = i + 1; l < n; ++l) s -= a(i, l) * b[l];
        b[i] = s / a(i, i);
      }
    } else {
      for (int i = 0; i < n; ++i) {
        // column i of U holds U'(i, 0:i)
        double s = b[i] - dot(A + static_cast<std::size_t>(i) * lda, b, static_cast<std::size_t>(i));
        b[i] = s / a(i, i);
      }
    }
  }
  return 0;
}

int geqrf(int m, int n, double* A, int lda, double* tau) {
  const int kmax = std::min(m, n);
  for (int j = 0; j < kmax; ++j) {
    double* v = A + j + static_cast<std::size_t>(j) * lda;  // v[0] = alpha, v[1..] = x
    const std::size_t len = static_cast<std::size_t>(m - j - 1);
    double scale = 0;
    for (std::size_t i = 1; i <= len; ++i) scale = std::max(scale, std::fabs(v[i]));
    double xnorm = 0;
    if (scale > 0) {
      double ss = 0;
      for (std::size_t i = 1; i <= len; ++i) {
        double t = v[i] / scale;
        ss += t * t;
      }
      xnorm = scale * std::sqrt(ss);
    }
    if (xnorm == 0.0) {
      tau[j] = 0.0;
      continue;
    }
    double alpha = v[0];
    double beta = -std::copysign(std::hypot(alpha, xnorm), alpha);
    tau[j] = (beta - alpha) / beta;
    double inv = 1.0 / (alpha - beta);
    for (std::size_t i = 1; i <= len; ++i) v[i] *= inv;
    v[0] = beta;
    // apply H = I - tau [1; v] [1; v]' to the trailing columns
    for (int c = j + 1; c < n; ++c) {
      double* col = A + j + static_cast<std::size_t>(c) * lda;
      double s = col[0] + dot(v + 1, col + 1, len);
      s *= tau[j];
      col[0] -= s;
      for (std::size_t i = 1; i <= len; ++i) col[i] -= s * v[i];
    }
  }
  return 0;
}

}  // namespace builtin
}  // namespace la
}  // namespace rx

namespace rx {
namespace la {

#if defined(RXSCALE_BLAS_BUILTIN)
bool has_vendor_blas() { return false; }
void syrk_ut(int n, int k, double alpha, const double* A, int lda, double beta, double* C, int ldc) {
  builtin::syrk_ut(n, k, alpha, A, lda, beta, C, ldc);
}
void gemm_tn(int m, int n, int k, double alpha, const double* A, int lda, const double* B, int ldb, double beta,
             double* C, int ldc) {
  builtin::gemm_tn(m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}
void gemv_t(int m, int n, double alpha, const double* A, int lda, const double* x, double beta, double* y) {
  builtin::gemv_t(m, n, alpha, A, lda, x, beta, y);
}
int potrf_u(int n, double* A, int lda) { return builtin::potrf_u(n, A, lda); }
int potri_u(int n, double* A, int lda) { return builtin::potri_u(n, A, lda); }
int trtrs_u(char trans, int n, int nrhs, const double* A, int lda, double* B, int ldb) {
  return builtin::trtrs_u(trans, n, nrhs, A, lda, B, ldb);
}
int geqrf(int m, int n, double* A, int lda, double* tau) { return builtin::geqrf(m, n, A, lda, tau); }
#else
bool has_vendor_blas() { return true; }
void syrk_ut(int n, int k, double alpha, const double* A, int lda, double beta, double* C, int ldc) {
  if (n == 0) return;
  if (k == 0) lda = std::max(lda, 1);
  dsyrk_("U", "T", &n, &k, &alpha, A, &lda, &beta, C, &ldc, 1, 1);
}
void gemm_tn(int m, int n, int k, double alpha, const double* A, int lda, const double* B, int ldb, double beta,
             double* C, int ldc) {
  if (m == 0 || n == 0) return;
  dgemm_("T", "N", &m, &n, &k, &alpha, A, &lda, B, &ldb, &beta, C, &ldc, 1, 1);
}
void gemv_t(int m, int n, double alpha, const double* A, int lda, const double* x, double beta, double* y) {
  if (n == 0) return;
  const int one = 1;
  dgemv_("T", &m, &n, &alpha, A, &lda, x, &one, &beta, y, &one, 1);
}
int potrf_u(int n, double* A, int lda) {
  int info = 0;
  dpotrf_("U", &n, A, &lda, &info, 1);
  return info;
}
int potri_u(int n, double* A, int lda) {
  int info = 0;
  dpotri_("U", &n, A, &lda, &info, 1);
  return info;
}
int trtrs_u(char trans, int n, int nrhs, const double* A, int lda, double* B, int ldb) {
  int info = 0;
  const char t[2] = {trans, 0};
  dtrtrs_("U", t, "N", &n, &nrhs, A, &lda, B, &ldb, &info, 1, 1, 1);
  return info;
}
int geqrf(int m, int n, double* A, int lda, double* tau) {
  int info = 0, lwork = -1;
  double wq = 0;
  dgeqrf_(&m, &n, A, &lda, tau, &wq, &lwork, &info);
  lwork = std::max(1, static_cast<int>(wq));
  std::vector<double> work(static_cast<std::size_t>(lwork));
  dgeqrf_(&m, &n, A, &lda, tau, work.data(), &lwork, &info);
  return info;
}
#endif

}  // namespace la
}  // namespace rx
