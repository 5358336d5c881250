#pragma once
namespace rx {
// Sets the BLAS library's own thread count (no-op for the built-in kernels).
void blas_set_threads(int n);
// Vendor name and version string of the BLAS in use.
const char* blas_vendor();
const char* blas_version();
}  // namespace rx
