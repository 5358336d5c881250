// Summary kernels (rxCrossTabs / rxCube counting).
#include "common.h"
#include "registry.h"
#include "summary/crosstab.h"

namespace {

// crosstab2(a: Int32Array, b: Int32Array, da, db, counts: Float64Array) -> rows skipped (a negative code)
Napi::Value Crosstab2(const Napi::CallbackInfo& info) {
  return rxb::Guard(info.Env(), [&]() -> Napi::Value {
    Napi::Int32Array a = rxb::ArgI32(info, 0, "a");
    Napi::Int32Array b = rxb::ArgI32(info, 1, "b");
    int64_t da = rxb::ArgInt(info, 2, "da");
    int64_t db = rxb::ArgInt(info, 3, "db");
    Napi::Float64Array counts = rxb::ArgF64(info, 4, "counts");
    if (a.ElementLength() != b.ElementLength()) throw rx::Error("RX_ARG", "crosstab2: a and b differ in length");
    if (da < 0 || db < 0 || da > (1 << 30) || db > (1 << 30) || static_cast<uint64_t>(da) * static_cast<uint64_t>(db) != counts.ElementLength())
      throw rx::Error("RX_ARG", "crosstab2: counts must have da * db elements");
    int64_t missing = rx::crosstab2(a.Data(), b.Data(), a.ElementLength(), static_cast<int32_t>(da), static_cast<int32_t>(db), counts.Data());
    return Napi::Number::New(info.Env(), static_cast<double>(missing));
  });
}

}  // namespace

RXB_MODULE(summary) {
  exports.Set("crosstab2", Napi::Function::New(env, Crosstab2));
}
