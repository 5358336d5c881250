#include "linalg/blas_threads.h"

namespace rx {
void blas_set_threads(int) {}
const char* blas_vendor() { return RXSCALE_BLAS_NAME; }
const char* blas_version() { return "rxscale builtin"; }
}  // namespace rx
