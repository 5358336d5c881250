#pragma once
namespace rx {
// Sets the BLAS library's own thread count (no-op for the built-in kernels).
void blas_set_threads(int n);
// The BLAS library's current thread count (the shared budget for the builtin kernels).
int blas_get_threads();
// Vendor name and version string of the BLAS in use.
const char* blas_vendor();
const char* blas_version();
}  // namespace rx
