// rxNativeInfo / numThreads entry points.
#include <string>

#include "common.h"
#include "common/threads.h"
#include "linalg/blas_threads.h"
#include "registry.h"

namespace {

std::string Simd() {
#if defined(__AVX512F__)
  return "avx512";
#elif defined(__AVX2__)
  return "avx2";
#elif defined(__AVX__)
  return "avx";
#elif defined(__SSE2__)
  return "sse2";
#elif defined(__ARM_NEON)
  return "neon";
#else
  return "none";
#endif
}

Napi::Value NativeInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("blas", rx::blas_vendor());
  o.Set("blasVersion", rx::blas_version());
  o.Set("threads", rx::num_threads());
  o.Set("simd", Simd());
  o.Set("cuda", Napi::Boolean::New(env, false));
  o.Set("napiVersion", NAPI_VERSION);
  return o;
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  return rxb::Guard(info.Env(), [&]() -> Napi::Value {
    int64_t n = rxb::ArgInt(info, 0, "numThreads");
    rx::set_num_threads(static_cast<int>(n));
    return Napi::Number::New(info.Env(), rx::num_threads());
  });
}

}  // namespace

RXB_MODULE(info) {
  exports.Set("nativeInfo", Napi::Function::New(env, NativeInfo));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
}
