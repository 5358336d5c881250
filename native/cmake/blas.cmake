# BLAS/LAPACK vendor selection: MKL -> OpenBLAS -> built-in portable kernels.
# Defines RXSCALE_BLAS_LIBS and compile definitions RXSCALE_BLAS_{MKL,OPENBLAS,BUILTIN}.
set(RXSCALE_BLAS_LIBS "")
set(RXSCALE_BLAS_CHOSEN "builtin")
# (vendor detection is filled in by the linalg work; builtin is always available)
target_compile_definitions(rxkernels PUBLIC RXSCALE_BLAS_BUILTIN=1 RXSCALE_BLAS_NAME="builtin")
message(STATUS "rxscale BLAS: ${RXSCALE_BLAS_CHOSEN}")
