// BLAS vendor/version report and thread control for the vendor chosen by native/cmake/blas.cmake.
#include "linalg/blas_threads.h"

#include <string>

#include "common/threads.h"

#if defined(RXSCALE_BLAS_MKL)
#include <mkl.h>
#elif defined(RXSCALE_BLAS_OPENBLAS)
extern "C" {
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char* openblas_get_config(void);
}
#endif

namespace rx {

void blas_set_threads(int n) {
  if (n < 1) n = 1;
#if defined(RXSCALE_BLAS_MKL)
  mkl_set_num_threads(n);
#elif defined(RXSCALE_BLAS_OPENBLAS)
  openblas_set_num_threads(n);
#else
  (void)n;  // the built-in kernels use rx::parallel_for and the shared thread budget
#endif
}

int blas_get_threads() {
#if defined(RXSCALE_BLAS_MKL)
  return mkl_get_max_threads();
#elif defined(RXSCALE_BLAS_OPENBLAS)
  return openblas_get_num_threads();
#else
  return rx::num_threads();
#endif
}

const char* blas_vendor() { return RXSCALE_BLAS_NAME; }

const char* blas_version() {
#if defined(RXSCALE_BLAS_MKL)
  static const std::string v = [] {
    char buf[256] = {0};
    mkl_get_version_string(buf, sizeof(buf) - 1);
    return std::string(buf);
  }();
  return v.c_str();
#elif defined(RXSCALE_BLAS_OPENBLAS)
  static const std::string v = [] {
    const char* c = openblas_get_config();
    return std::string(c ? c : "OpenBLAS");
  }();
  return v.c_str();
#else
  return "rxscale builtin blocked C++ kernels";
#endif
}

}  // namespace rx
