// Thin BLAS/LAPACK wrapper used by the linear-algebra kernels. Column-major, LP64 ints.
// With a vendor BLAS (MKL / OpenBLAS, chosen by native/cmake/blas.cmake) these call the
// Fortran symbols (dsyrk_, dgemm_, dpotrf_ ...). Otherwise (RXSCALE_BLAS_BUILTIN) the
// portable blocked C++ kernels in rx::la::builtin are used. The builtin kernels are always
// compiled so they can be tested against the vendor library.
#pragma once
#include <cstddef>

namespace rx {
namespace la {

// C (upper triangle, n x n) = alpha * A' A + beta * C, A is k x n with leading dim lda.
void syrk_ut(int n, int k, double alpha, const double* A, int lda, double beta, double* C, int ldc);
// C (m x n) = alpha * A' B + beta * C, A is k x m, B is k x n.
void gemm_tn(int m, int n, int k, double alpha, const double* A, int lda, const double* B, int ldb,
             double beta, double* C, int ldc);
// y (n) = alpha * A' x + beta * y, A is m x n.
void gemv_t(int m, int n, double alpha, const double* A, int lda, const double* x, double beta, double* y);
// Cholesky A = U'U of the upper triangle (in place). Returns LAPACK info (>0: not PD at that order).
int potrf_u(int n, double* A, int lda);
// Inverse of A from its factor U (in place, upper triangle holds inv(A)). Returns info.
int potri_u(int n, double* A, int lda);
// Solves U X = B (trans 'N') or U' X = B (trans 'T') for upper-triangular U. Returns info.
int trtrs_u(char trans, int n, int nrhs, const double* A, int lda, double* B, int ldb);
// Householder QR (LAPACK dgeqrf conventions): R in the upper triangle, reflectors below, tau.
int geqrf(int m, int n, double* A, int lda, double* tau);

namespace builtin {
void syrk_ut(int n, int k, double alpha, const double* A, int lda, double beta, double* C, int ldc);
void gemm_tn(int m, int n, int k, double alpha, const double* A, int lda, const double* B, int ldb,
             double beta, double* C, int ldc);
void gemv_t(int m, int n, double alpha, const double* A, int lda, const double* x, double beta, double* y);
int potrf_u(int n, double* A, int lda);
int potri_u(int n, double* A, int lda);
int trtrs_u(char trans, int n, int nrhs, const double* A, int lda, double* B, int ldb);
int geqrf(int m, int n, double* A, int lda, double* tau);
// Dot product with 4 independent accumulators (vectorisable without -ffast-math).
double dot(const double* a, const double* b, std::size_t n);
}  // namespace builtin

// True when the Fortran BLAS/LAPACK of a vendor library is linked in.
bool has_vendor_blas();

}  // namespace la
}  // namespace rx
