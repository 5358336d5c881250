// Linear-algebra kernels for the model engines (plain C++, no Node headers).
// All matrices are column-major doubles. Errors: rx::Error("RX_SINGULAR" | "RX_ARG", ...).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rx {
namespace linalg {

// Weighted cross-product accumulation over a dense chunk X (n x p, column-major, ld n):
//   xtx (p x p, full symmetric) += X' W X;  xty (p) += X' W y  (when y);
//   acc[0] += sum w (n when unweighted), acc[1] += y' W y (when y), acc[2] += n.
// w and y may be null. Negative weights are allowed (formed with gemm instead of syrk).
void xtwx_accumulate(const double* X, std::size_t n, int p, const double* w, const double* y, double* xtx,
                     double* xty, double* acc);
// Same computation, always with the built-in kernels (tests compare both paths).
void xtwx_accumulate_builtin(const double* X, std::size_t n, int p, const double* w, const double* y, double* xtx,
                             double* xty, double* acc);

// Solves A x = B (A p x p SPD, upper triangle read; B p x nrhs). Throws RX_SINGULAR when A is not PD.
std::vector<double> chol_solve(const double* A, int p, const double* B, int nrhs);
// inv(A) (full symmetric) for SPD A. Throws RX_SINGULAR when A is not PD.
std::vector<double> chol_inverse(const double* A, int p);

struct SolveResult {
  std::vector<double> coef;     // p; NaN for aliased columns
  std::vector<double> inverse;  // p x p; inv(X'X) (or (R'R)^-1) over non-aliased columns; NaN rows/cols for aliased
  std::vector<uint8_t> aliased; // p; 1 = aliased (linearly dependent on earlier/kept columns)
  std::vector<int32_t> pivot;   // p; column order used (kept columns first, then aliased) - QR only
  int rank = 0;
  double rss = 0;               // residual sum of squares (QR: from R; sweep: y'y - b'X'y when yty given)
};

// Sweep operator on X'X with tolerance (RevoScaleR style): columns are swept in order; column k
// is aliased when its pivot (residual sum of squares of x_k on the kept earlier columns)
// is <= tol * X'X[k,k] (i.e. 1 - R^2_k <= tol), or X'X[k,k] <= 0.
SolveResult sweep_solve(const double* xtx, const double* xty, int p, double tol, double yty);

// Mergeable tall-skinny QR: returns the k x k upper-triangular R (column-major, zeros below)
// of [R0; X] where R0 is k x k upper (or null) and X is n x k. R'R == R0'R0 + X'X.
// Row blocks of 4096; Householder QR of each stacked [R; block] (builtin for k <= 64, else LAPACK).
std::vector<double> qr_update(const double* R0, const double* X, std::size_t n, int k);

// Least squares from R of [X | y] ((p+1) x (p+1)): Householder QR of R[0:p,0:p] with R's
// limited column pivoting (LINPACK dqrdc2, as lm): a column whose remaining norm is < tol x its
// original norm is moved to the end and reported aliased. inverse = (R'R)^-1 (unscaled covariance).
SolveResult qr_solve_r(const double* R, int p, double tol);

// Fused IRLS pass of a logistic regression (binomial family, logit link) over a dense chunk,
// following R's glm.fit / binomial() formulas: eta = X beta (+ offset) (or R's mustart
// (w y + 0.5) / (w + 1) when beta is null), mu, mu.eta (floored at eps), working weights
// w mu.eta^2 / (mu (1 - mu)) and response z = eta - offset + (y - mu) / mu.eta, accumulated as
//   xtx (p x p, full) += X' W X, xty += X' W z, acc += [sum W, z' W z, n]
// and the pass statistics s (11 values, added to):
//   s[0] deviance at beta, s[1] null deviance at wtdmu (when wtdmu is a number), s[2] sum w y,
//   s[3] sum w, s[5] sum log-likelihood (unit prior weights only: the AIC term), s[8] rows with
//   w > 0, s[9] / s[10] min / max of y (min / max-merged).
// pw (prior weights) and offset may be null. Multithreaded over rows (rx thread budget).
// gram: false skips xtx / xty / acc (a pass that only evaluates the deviance).
// Returns -1, or the first row whose response is not 0 or 1 (nothing is accumulated then).
long long irls_logit(const double* X, std::size_t n, int p, const double* y, const double* pw,
                     const double* offset, const double* beta, double wtdmu, double* xtx, double* xty,
                     double* acc, double* s, bool gram = true);

// Cross-products of a model matrix given as dense columns plus one-hot groups (factor terms:
// each row has at most one non-zero column per group), so factor columns cost an indexed add
// per row instead of dense multiplies:
//   X = [dense columns D (n x pd, column-major) at X columns dcols[0..pd)] + groups g = 0..ng-1
//   where row r has value gvals[g*n + r] (1 when gvals is null) in X column gcols[g*n + r]
//   (-1: none, e.g. a dropped reference level).
// Accumulates xtx (p x p, full) += X'WX, xty += X'Wy, acc += [sum w, y'Wy, n] exactly as
// xtwx_accumulate on the dense X would. Multithreaded over rows.
void xtwx_grouped(const double* D, std::size_t n, int pd, const int32_t* dcols, int ng, const int32_t* gcols,
                  const double* gvals, const double* w, const double* y, int p, double* xtx, double* xty,
                  double* acc);

namespace detail {
// C (q4 x q4, upper 4x4 tiles) += A' B over len rows (len % 4 == 0, q4 % 4 == 0); A and B are
// column-major with leading dimension len.
void gram_block(const double* A, const double* B, std::size_t len, int q4, double* C);
}  // namespace detail

}  // namespace linalg
}  // namespace rx
