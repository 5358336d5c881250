// N-API glue for the linear-algebra kernels (native/src/linalg). Typed mirror: lib/native/linalg.ts.
#include <chrono>
#include <cmath>
#if defined(__linux__)
#include <sys/mman.h>
#endif
#include <string>
#include <vector>

#include "common.h"
#include "linalg/blas.h"
#include "linalg/blas_threads.h"
#include "linalg/linalg.h"
#include "registry.h"

namespace {

struct F64 {
  double* data = nullptr;
  size_t length = 0;
};

F64 Take(const Napi::CallbackInfo& info, size_t i, const char* what, size_t min_len, const char* len_expr,
         bool optional = false) {
  if (optional && (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined())) return {};
  Napi::Float64Array a = rxb::ArgF64(info, i, what);
  if (a.ElementLength() < min_len)
    rxb::ThrowRx(info.Env(), "RX_ARG",
                 std::string("Expected Float64Array of length >= ") + std::to_string(min_len) + " (" + len_expr +
                     ") for " + what + " but received Float64Array of length " + std::to_string(a.ElementLength()));
  return {a.Data(), a.ElementLength()};
}

int64_t NonNeg(const Napi::CallbackInfo& info, size_t i, const char* what, int64_t max = INT32_MAX) {
  int64_t v = rxb::ArgInt(info, i, what);
  if (v < 0 || v > max)
    rxb::ThrowRx(info.Env(), "RX_ARG",
                 std::string("Expected integer in [0, ") + std::to_string(max) + "] for " + what + " but received number " +
                     std::to_string(v));
  return v;
}

double Tol(const Napi::CallbackInfo& info, size_t i, double dflt) {
  if (i >= info.Length() || info[i].IsUndefined() || info[i].IsNull()) return dflt;
  double t = rxb::ArgNum(info, i, "tol");
  if (!(t >= 0.0) || !std::isfinite(t))
    rxb::ThrowRx(info.Env(), "RX_ARG", "Expected finite number >= 0 for tol but received number " + std::to_string(t));
  return t;
}

Napi::Float64Array ToF64(Napi::Env env, const std::vector<double>& v) {
  Napi::Float64Array a = Napi::Float64Array::New(env, v.size());
  std::copy(v.begin(), v.end(), a.Data());
  return a;
}

Napi::Object SolveToJs(Napi::Env env, const rx::linalg::SolveResult& r, const char* inverse_name) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("coef", ToF64(env, r.coef));
  o.Set(inverse_name, ToF64(env, r.inverse));
  o.Set("rank", Napi::Number::New(env, r.rank));
  Napi::Uint8Array al = Napi::Uint8Array::New(env, r.aliased.size());
  std::copy(r.aliased.begin(), r.aliased.end(), al.Data());
  o.Set("aliased", al);
  Napi::Int32Array pv = Napi::Int32Array::New(env, r.pivot.size());
  std::copy(r.pivot.begin(), r.pivot.end(), pv.Data());
  o.Set("pivot", pv);
  o.Set("rss", Napi::Number::New(env, r.rss));
  return o;
}

// Shared argument parsing of xtwxAccumulate(X, n, p, w|null, y|null, xtx, xty, acc).
struct XtwxArgs {
  F64 X, w, y, xtx, xty, acc;
  size_t n = 0;
  int p = 0;
};

XtwxArgs ParseXtwx(const Napi::CallbackInfo& info) {
  XtwxArgs a;
  a.n = static_cast<size_t>(NonNeg(info, 1, "n", int64_t(1) << 50));
  a.p = static_cast<int>(NonNeg(info, 2, "p", 100000));
  const size_t p = static_cast<size_t>(a.p);
  a.X = Take(info, 0, "X", a.n * p, "n*p");
  a.w = Take(info, 3, "w", a.n, "n", true);
  a.y = Take(info, 4, "y", a.n, "n", true);
  a.xtx = Take(info, 5, "xtx", p * p, "p*p");
  a.xty = Take(info, 6, "xty", a.y.data ? p : 0, "p");
  a.acc = Take(info, 7, "acc", 3, "3");
  return a;
}

Napi::Value XtwxAccumulate(const Napi::CallbackInfo& info) {
  return rxb::Guard(info.Env(), [&]() -> Napi::Value {
    XtwxArgs a = ParseXtwx(info);
    rx::linalg::xtwx_accumulate(a.X.data, a.n, a.p, a.w.data, a.y.data, a.xtx.data, a.xty.data, a.acc.data);
    return info.Env().Undefined();
  });
}

Napi::Value XtwxAccumulateBuiltin(const Napi::CallbackInfo& info) {
  return rxb::Guard(info.Env(), [&]() -> Napi::Value {
    XtwxArgs a = ParseXtwx(info);
    rx::linalg::xtwx_accumulate_builtin(a.X.data, a.n, a.p, a.w.data, a.y.data, a.xtx.data, a.xty.data, a.acc.data);
    return info.Env().Undefined();
  });
}

Napi::Value XtwxAccumulateAsync(const Napi::CallbackInfo& info) {
  return rxb::Guard(info.Env(), [&]() -> Napi::Value {
    XtwxArgs a = ParseXtwx(info);
    std::vector<Napi::Value> keep;
    for (size_t i = 0; i < info.Length() && i < 8; ++i)
      if (info[i].IsTypedArray()) keep.push_back(info[i]);
    return rxb::RunAsync(
        info.Env(),
        [a]() { rx::linalg::xtwx_accumulate(a.X.data, a.n, a.p, a.w.data, a.y.data, a.xtx.data, a.xty.data, a.acc.data); },
        [](Napi::Env env) -> Napi::Value { return env.Undefined(); }, keep);
  });
}

Napi::Value CholSolve(const Napi::CallbackInfo& info) {
  return rxb::Guard(info.Env(), [&]() -> Napi::Value {
    const int p = static_cast<int>(NonNeg(info, 1, "p", 100000));
    F64 A = Take(info, 0, "A", static_cast<size_t>(p) * p, "p*p");
    Napi::Float64Array b = rxb::ArgF64(info, 2, "b");
    if (p == 0 ? b.ElementLength() != 0 : (b.ElementLength() == 0 || b.ElementLength() % static_cast<size_t>(p) != 0))
      rxb::ThrowRx(info.Env(), "RX_ARG",
                   "Expected Float64Array with a positive multiple of p (" + std::to_string(p) +
                       ") elements for b but received Float64Array of length " + std::to_string(b.ElementLength()));
    const int nrhs = p == 0 ? 0 : static_cast<int>(b.ElementLength() / static_cast<size_t>(p));
    return ToF64(info.Env(), rx::linalg::chol_solve(A.data, p, b.Data(), nrhs));
  });
}

Napi::Value CholInverse(const Napi::CallbackInfo& info) {
  return rxb::Guard(info.Env(), [&]() -> Napi::Value {
    const int p = static_cast<int>(NonNeg(info, 1, "p", 100000));
    F64 A = Take(info, 0, "A", static_cast<size_t>(p) * p, "p*p");
    return ToF64(info.Env(), rx::linalg::chol_inverse(A.data, p));
  });
}

Napi::Value SweepSolve(const Napi::CallbackInfo& info) {
  return rxb::Guard(info.Env(), [&]() -> Napi::Value {
    const int p = static_cast<int>(NonNeg(info, 2, "p", 100000));
    F64 xtx = Take(info, 0, "xtx", static_cast<size_t>(p) * p, "p*p");
    F64 xty = Take(info, 1, "xty", static_cast<size_t>(p), "p");
    const double tol = Tol(info, 3, 1e-10);
    double yty = std::nan("");
    if (info.Length() > 4 && !info[4].IsUndefined() && !info[4].IsNull()) yty = rxb::ArgNum(info, 4, "yty");
    return SolveToJs(info.Env(), rx::linalg::sweep_solve(xtx.data, xty.data, p, tol, yty), "inverse");
  });
}

Napi::Value QrUpdate(const Napi::CallbackInfo& info) {
  return rxb::Guard(info.Env(), [&]() -> Napi::Value {
    const size_t n = static_cast<size_t>(NonNeg(info, 2, "n", int64_t(1) << 50));
    const int k = static_cast<int>(NonNeg(info, 3, "p", 100000));
    F64 R = Take(info, 0, "R", static_cast<size_t>(k) * k, "p*p", true);
    F64 X = Take(info, 1, "X", n * static_cast<size_t>(k), "n*p");
    return ToF64(info.Env(), rx::linalg::qr_update(R.data, X.data, n, k));
  });
}

Napi::Value QrUpdateAsync(const Napi::CallbackInfo& info) {
  return rxb::Guard(info.Env(), [&]() -> Napi::Value {
    const size_t n = static_cast<size_t>(NonNeg(info, 2, "n", int64_t(1) << 50));
    const int k = static_cast<int>(NonNeg(info, 3, "p", 100000));
    F64 R = Take(info, 0, "R", static_cast<size_t>(k) * k, "p*p", true);
    F64 X = Take(info, 1, "X", n * static_cast<size_t>(k), "n*p");
    std::vector<Napi::Value> keep;
    for (size_t i = 0; i < 2 && i < info.Length(); ++i)
      if (info[i].IsTypedArray()) keep.push_back(info[i]);
    auto out = std::make_shared<std::vector<double>>();
    return rxb::RunAsync(
        info.Env(), [R, X, n, k, out]() { *out = rx::linalg::qr_update(R.data, X.data, n, k); },
        [out](Napi::Env env) -> Napi::Value { return ToF64(env, *out); }, keep);
  });
}

Napi::Value QrSolveR(const Napi::CallbackInfo& info) {
  return rxb::Guard(info.Env(), [&]() -> Napi::Value {
    const int p = static_cast<int>(NonNeg(info, 1, "p", 100000));
    const size_t q = static_cast<size_t>(p) + 1;
    F64 R = Take(info, 0, "R", q * q, "(p+1)*(p+1)");
    const double tol = Tol(info, 2, 1e-7);
    return SolveToJs(info.Env(), rx::linalg::qr_solve_r(R.data, p, tol), "unscaledCov");
  });
}

// irlsLogit(X, n, p, y, pw|null, offset|null, beta|null, wtdmu, xtx, xty, acc, s[, gram = true])
// -> -1 or the first row whose response is not 0/1.
Napi::Value IrlsLogit(const Napi::CallbackInfo& info) {
  return rxb::Guard(info.Env(), [&]() -> Napi::Value {
    const size_t n = static_cast<size_t>(NonNeg(info, 1, "n", int64_t(1) << 50));
    const int p = static_cast<int>(NonNeg(info, 2, "p", 100000));
    const size_t pp = static_cast<size_t>(p);
    F64 X = Take(info, 0, "X", n * pp, "n*p");
    F64 y = Take(info, 3, "y", n, "n");
    F64 pw = Take(info, 4, "pw", n, "n", true);
    F64 off = Take(info, 5, "offset", n, "n", true);
    F64 beta = Take(info, 6, "beta", pp, "p", true);
    const double wtdmu = rxb::ArgNum(info, 7, "wtdmu");
    F64 xtx = Take(info, 8, "xtx", pp * pp, "p*p");
    F64 xty = Take(info, 9, "xty", pp, "p");
    F64 acc = Take(info, 10, "acc", 3, "3");
    F64 st = Take(info, 11, "s", 11, "11");
    const bool gram = info.Length() <= 12 || info[12].IsUndefined() || info[12].ToBoolean().Value();
    const long long bad = rx::linalg::irls_logit(X.data, n, p, y.data, pw.data, off.data, beta.data, wtdmu, xtx.data,
                                                 xty.data, acc.data, st.data, gram);
    return Napi::Number::New(info.Env(), static_cast<double>(bad));
  });
}

// xtwxGrouped(D, n, pd, dcols, ng, gcols|null, gvals|null, w|null, y|null, p, xtx, xty, acc)
Napi::Value XtwxGrouped(const Napi::CallbackInfo& info) {
  return rxb::Guard(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const size_t n = static_cast<size_t>(NonNeg(info, 1, "n", int64_t(1) << 50));
    const int pd = static_cast<int>(NonNeg(info, 2, "pd", 100000));
    const int ng = static_cast<int>(NonNeg(info, 4, "ng", 100000));
    const int p = static_cast<int>(NonNeg(info, 9, "p", 4096));
    F64 D = Take(info, 0, "D", n * static_cast<size_t>(pd), "n*pd");
    if (!info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
        info[3].As<Napi::Int32Array>().ElementLength() < static_cast<size_t>(pd))
      rxb::ThrowRx(env, "RX_ARG", "Expected Int32Array of length >= pd for dcols");
    Napi::Int32Array dcols = info[3].As<Napi::Int32Array>();
    const int32_t* gcols = nullptr;
    if (ng > 0) {
      if (!info[5].IsTypedArray() || info[5].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
          info[5].As<Napi::Int32Array>().ElementLength() < n * static_cast<size_t>(ng))
        rxb::ThrowRx(env, "RX_ARG", "Expected Int32Array of length >= ng*n for gcols");
      gcols = info[5].As<Napi::Int32Array>().Data();
    }
    F64 gvals = Take(info, 6, "gvals", ng > 0 ? n * static_cast<size_t>(ng) : 0, "ng*n", true);
    F64 w = Take(info, 7, "w", n, "n", true);
    F64 y = Take(info, 8, "y", n, "n", true);
    const size_t pp = static_cast<size_t>(p);
    F64 xtx = Take(info, 10, "xtx", pp * pp, "p*p");
    F64 xty = Take(info, 11, "xty", y.data ? pp : 0, "p");
    F64 acc = Take(info, 12, "acc", 3, "3");
    for (int k = 0; k < pd; ++k)
      if (dcols.Data()[k] < 0 || dcols.Data()[k] >= p) rxb::ThrowRx(env, "RX_ARG", "Expected dcols in [0, p)");
    for (size_t i = 0; gcols && i < n * static_cast<size_t>(ng); ++i)
      if (gcols[i] >= p) rxb::ThrowRx(env, "RX_ARG", "Expected gcols < p");
    rx::linalg::xtwx_grouped(D.data, n, pd, dcols.Data(), ng, gcols, gvals.data, w.data, y.data, p, xtx.data, xty.data,
                             acc.data);
    return env.Undefined();
  });
}

// hugeBuffer(bytes): a zero-filled ArrayBuffer for large, long-lived arrays (the IRLS
// model-matrix cache). On Linux it is mapped with transparent huge pages requested
// (madvise), so filling it costs one page fault per 2 MiB instead of per 4 KiB; elsewhere
// (or if the mapping fails) it is a plain ArrayBuffer.
Napi::Value HugeBuffer(const Napi::CallbackInfo& info) {
  return rxb::Guard(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const size_t bytes = static_cast<size_t>(NonNeg(info, 0, "bytes", int64_t(1) << 40));
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    constexpr size_t kHuge = size_t(2) << 20;
    if (bytes >= kHuge) {
      const size_t len = (bytes + kHuge - 1) / kHuge * kHuge;
      void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p != MAP_FAILED) {
        madvise(p, len, MADV_HUGEPAGE);
        Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(len));
        auto* hint = new size_t(len);
        return Napi::ArrayBuffer::New(
            env, p, bytes,
            [](Napi::Env e, void* data, size_t* h) {
              munmap(data, *h);
              Napi::MemoryManagement::AdjustExternalMemory(e, -static_cast<int64_t>(*h));
              delete h;
            },
            hint);
      }
    }
#endif
    return Napi::ArrayBuffer::New(env, bytes);
  });
}

// Benchmark helpers: one vendor (or builtin) dsyrk / dgemm call, returns elapsed seconds.
Napi::Value BlasSyrkBench(const Napi::CallbackInfo& info) {
  return rxb::Guard(info.Env(), [&]() -> Napi::Value {
    const int k = static_cast<int>(NonNeg(info, 1, "k"));
    const int n = static_cast<int>(NonNeg(info, 2, "n"));
    F64 A = Take(info, 0, "A", static_cast<size_t>(k) * n, "k*n");
    F64 C = Take(info, 3, "C", static_cast<size_t>(n) * n, "n*n");
    auto t0 = std::chrono::steady_clock::now();
    rx::la::syrk_ut(n, k, 1.0, A.data, std::max(1, k), 0.0, C.data, std::max(1, n));
    std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
    return Napi::Number::New(info.Env(), dt.count());
  });
}

Napi::Value BlasGemmBench(const Napi::CallbackInfo& info) {
  return rxb::Guard(info.Env(), [&]() -> Napi::Value {
    const int k = static_cast<int>(NonNeg(info, 1, "k"));
    const int n = static_cast<int>(NonNeg(info, 2, "n"));
    F64 A = Take(info, 0, "A", static_cast<size_t>(k) * n, "k*n");
    F64 C = Take(info, 3, "C", static_cast<size_t>(n) * n, "n*n");
    auto t0 = std::chrono::steady_clock::now();
    rx::la::gemm_tn(n, n, k, 1.0, A.data, std::max(1, k), A.data, std::max(1, k), 0.0, C.data, std::max(1, n));
    std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
    return Napi::Number::New(info.Env(), dt.count());
  });
}

Napi::Value BlasThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), rx::blas_get_threads()); }

}  // namespace

RXB_MODULE(linalg) {
  exports.Set("xtwxAccumulate", Napi::Function::New(env, XtwxAccumulate));
  exports.Set("xtwxAccumulateAsync", Napi::Function::New(env, XtwxAccumulateAsync));
  exports.Set("xtwxAccumulateBuiltin", Napi::Function::New(env, XtwxAccumulateBuiltin));
  exports.Set("cholSolve", Napi::Function::New(env, CholSolve));
  exports.Set("cholInverse", Napi::Function::New(env, CholInverse));
  exports.Set("sweepSolve", Napi::Function::New(env, SweepSolve));
  exports.Set("qrUpdate", Napi::Function::New(env, QrUpdate));
  exports.Set("qrUpdateAsync", Napi::Function::New(env, QrUpdateAsync));
  exports.Set("qrSolveR", Napi::Function::New(env, QrSolveR));
  exports.Set("irlsLogit", Napi::Function::New(env, IrlsLogit));
  exports.Set("hugeBuffer", Napi::Function::New(env, HugeBuffer));
  exports.Set("xtwxGrouped", Napi::Function::New(env, XtwxGrouped));
  exports.Set("blasSyrkBench", Napi::Function::New(env, BlasSyrkBench));
  exports.Set("blasGemmBench", Napi::Function::New(env, BlasGemmBench));
  exports.Set("blasThreads", Napi::Function::New(env, BlasThreads));
}
