// N-API glue for the real-time scorers (native/src/score): compile a model into a handle
// once, then score single rows synchronously (no allocation) or batches (async or sync).
#include <memory>
#include <string>

#include "common.h"
#include "registry.h"
#include "score/scorer.h"

namespace {

using rx::score::Scorer;

// A handle owns a shared_ptr so scoreFree() releases the model at once while a running
// batch keeps its own reference.
struct Handle {
  std::shared_ptr<const Scorer> scorer;
};

template <typename T>
std::pair<const T*, std::size_t> Typed(Napi::Env env, Napi::Value v, const char* what, napi_typedarray_type type, const char* tname, bool optional = false) {
  if (optional && (v.IsUndefined() || v.IsNull())) return {nullptr, 0};
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type)
    rxb::ThrowRx(env, "RX_ARG", std::string("Expected a ") + tname + " for " + what + " but received " + rxb::TypeName(v));
  auto a = v.As<Napi::TypedArray>();
  auto buf = a.ArrayBuffer();
  return {reinterpret_cast<const T*>(static_cast<const uint8_t*>(buf.Data()) + a.ByteOffset()), a.ElementLength()};
}
auto I32(Napi::Env env, const Napi::Object& o, const char* k) { return Typed<int32_t>(env, o.Get(k), k, napi_int32_array, "Int32Array"); }
auto F64(Napi::Env env, const Napi::Object& o, const char* k) { return Typed<double>(env, o.Get(k), k, napi_float64_array, "Float64Array"); }
auto U8(Napi::Env env, const Napi::Object& o, const char* k) { return Typed<uint8_t>(env, o.Get(k), k, napi_uint8_array, "Uint8Array"); }
double Num(Napi::Env env, const Napi::Object& o, const char* k) {
  Napi::Value v = o.Get(k);
  if (!v.IsNumber()) rxb::ThrowRx(env, "RX_ARG", std::string("Expected a number for ") + k + " but received " + rxb::TypeName(v));
  return v.As<Napi::Number>().DoubleValue();
}
std::vector<int32_t> I32Vec(Napi::Env env, const Napi::Object& o, const char* k) {
  auto a = I32(env, o, k);
  return std::vector<int32_t>(a.first, a.first + a.second);
}

Napi::Value Wrap(Napi::Env env, std::shared_ptr<const Scorer> s) {
  auto* h = new Handle{std::move(s)};
  return Napi::External<Handle>::New(env, h, [](Napi::Env, Handle* p) { delete p; });
}

std::shared_ptr<const Scorer> Get(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsExternal()) rxb::ThrowRx(env, "RX_ARG", "Expected a scorer handle for scorer but received " + rxb::TypeName(info[0]));
  Handle* h = info[0].As<Napi::External<Handle>>().Data();
  if (!h || !h->scorer) rxb::ThrowRx(env, "RX_ARG", "this scorer was freed");
  return h->scorer;
}

// scoreTreesCreate(trees: FlatTrees, p, outputs, post, init?: Float64Array)
Napi::Value TreesCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return rxb::Guard(env, [&]() -> Napi::Value {
    if (!info[0].IsObject()) rxb::ThrowRx(env, "RX_ARG", "Expected a tree model object for trees but received " + rxb::TypeName(info[0]));
    Napi::Object m = info[0].As<Napi::Object>();
    rx::score::TreeArrays a;
    a.K = static_cast<int>(Num(env, m, "K"));
    a.p = static_cast<int>(rxb::ArgInt(info, 1, "p"));
    a.outputs = static_cast<int>(rxb::ArgInt(info, 2, "outputs"));
    a.post = static_cast<int>(rxb::ArgInt(info, 3, "post"));
    auto off = I32(env, m, "nodeOffset");
    auto feat = I32(env, m, "feature");
    auto thr = F64(env, m, "threshold");
    auto left = I32(env, m, "left");
    auto right = I32(env, m, "right");
    auto dl = U8(env, m, "defaultLeft");
    auto co = I32(env, m, "catOffset");
    auto cw = I32(env, m, "catWords");
    auto cb = I32(env, m, "catBits");
    auto val = F64(env, m, "value");
    auto tc = I32(env, m, "treeClass");
    auto tw = F64(env, m, "treeWeight");
    const std::size_t N = feat.second;
    const std::size_t T = off.second ? off.second - 1 : 0;
    if (thr.second != N || left.second != N || right.second != N || dl.second != N || co.second != N || cw.second != N ||
        val.second != N * static_cast<std::size_t>(a.K) || tc.second != T || tw.second != T)
      rxb::ThrowRx(env, "RX_MODEL", "tree model arrays have inconsistent lengths");
    a.nodeOffset = off.first;
    a.nTrees = static_cast<int64_t>(T);
    a.feature = feat.first;
    a.threshold = thr.first;
    a.left = left.first;
    a.right = right.first;
    a.defaultLeft = dl.first;
    a.catOffset = co.first;
    a.catWords = cw.first;
    a.catBits = cb.first;
    a.nCatBits = static_cast<int64_t>(cb.second);
    a.value = val.first;
    a.treeClass = tc.first;
    a.treeWeight = tw.first;
    a.nNodes = static_cast<int64_t>(N);
    auto init = Typed<double>(env, info.Length() > 4 ? info[4] : env.Undefined(), "init", napi_float64_array, "Float64Array", true);
    if (init.first) a.init.assign(init.first, init.first + init.second);
    return Wrap(env, std::make_shared<rx::score::TreeScorer>(a));
  });
}

// scoreLinearCreate(spec)
Napi::Value LinearCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return rxb::Guard(env, [&]() -> Napi::Value {
    if (!info[0].IsObject()) rxb::ThrowRx(env, "RX_ARG", "Expected a linear spec object for spec but received " + rxb::TypeName(info[0]));
    Napi::Object o = info[0].As<Napi::Object>();
    rx::score::LinearSpec s;
    s.nInputs = static_cast<int>(Num(env, o, "nInputs"));
    s.intercept = Num(env, o, "intercept");
    s.numOff = I32Vec(env, o, "numOff");
    s.numIdx = I32Vec(env, o, "numIdx");
    s.facOff = I32Vec(env, o, "facOff");
    s.facIdx = I32Vec(env, o, "facIdx");
    s.facSize = I32Vec(env, o, "facSize");
    s.slot = I32Vec(env, o, "slot");
    if (!o.Get("numFn").IsUndefined()) s.numFn = I32Vec(env, o, "numFn");
    s.offsets = I32Vec(env, o, "offsets");
    auto beta = F64(env, o, "beta");
    s.beta.assign(beta.first, beta.first + beta.second);
    s.link = static_cast<int>(Num(env, o, "link"));
    s.linkPower = Num(env, o, "linkPower");
    return Wrap(env, std::make_shared<rx::score::LinearScorer>(std::move(s)));
  });
}

// scoreInfo(handle) -> { inputs, width }
Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return rxb::Guard(env, [&]() -> Napi::Value {
    auto s = Get(info);
    Napi::Object o = Napi::Object::New(env);
    o.Set("inputs", s->inputs());
    o.Set("width", s->width());
    return o;
  });
}

// scoreRow(handle, x: Float64Array(inputs), out: Float64Array(width)): synchronous, no allocation.
Napi::Value Row(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3) rxb::ThrowRx(env, "RX_ARG", "scoreRow(scorer, x, out) takes three arguments");
  Handle* h = info[0].IsExternal() ? info[0].As<Napi::External<Handle>>().Data() : nullptr;
  if (!h || !h->scorer) return rxb::Guard(env, [&]() -> Napi::Value { Get(info); return env.Undefined(); });
  const Scorer& s = *h->scorer;
  // one napi_get_typedarray_info per argument: type, length and data together
  auto view = [&](napi_value v, std::size_t need, const char* what, const char* size) -> double* {
    napi_typedarray_type type;
    size_t len = 0;
    void* data = nullptr;
    if (napi_get_typedarray_info(env, v, &type, &len, &data, nullptr, nullptr) != napi_ok || type != napi_float64_array)
      rxb::ThrowRx(env, "RX_ARG", std::string("Expected a Float64Array for ") + what);
    if (len < need) rxb::ThrowRx(env, "RX_ARG", std::string(what) + " is shorter than the scorer's " + size);
    return static_cast<double*>(data);
  };
  const double* x = view(info[1], static_cast<std::size_t>(s.inputs()), "x", "inputs");
  double* out = view(info[2], static_cast<std::size_t>(s.width()), "out", "width");
  s.score_row(x, out);
  return env.Undefined();
}

// A bound single-row scorer: the scorer handle and two Float64Arrays fixed once, so a
// call is napi_get_cb_info plus the tree walk (no arguments to convert, nothing allocated).
struct Bound {
  Handle* h;
  const double* x;
  double* out;
  napi_ref refs[3];  // handle, x, out: alive as long as the bound function
};

napi_value BoundCall(napi_env env, napi_callback_info info) {
  void* data = nullptr;
  size_t argc = 0;
  napi_get_cb_info(env, info, &argc, nullptr, nullptr, &data);
  Bound* b = static_cast<Bound*>(data);
  if (!b->h->scorer) {
    Napi::Env e(env);
    try {
      rxb::ThrowRx(e, "RX_ARG", "this scorer was freed");
    } catch (const Napi::Error& err) {
      err.ThrowAsJavaScriptException();
    }
    return nullptr;
  }
  b->h->scorer->score_row(b->x, b->out);
  return nullptr;
}

// scoreRowBind(handle, x: Float64Array(inputs), out: Float64Array(width)) -> () => void:
// each call scores the current contents of x into out.
Napi::Value RowBind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return rxb::Guard(env, [&]() -> Napi::Value {
    auto s = Get(info);
    Handle* h = info[0].As<Napi::External<Handle>>().Data();
    auto x = rxb::ArgF64(info, 1, "x");
    auto out = rxb::ArgF64(info, 2, "out");
    if (x.ElementLength() < static_cast<std::size_t>(s->inputs())) rxb::ThrowRx(env, "RX_ARG", "x is shorter than the scorer's inputs");
    if (out.ElementLength() < static_cast<std::size_t>(s->width())) rxb::ThrowRx(env, "RX_ARG", "out is shorter than the scorer's width");
    auto* b = new Bound{h, x.Data(), out.Data(), {nullptr, nullptr, nullptr}};
    napi_value fn;
    if (napi_create_function(env, "scoreRowBound", NAPI_AUTO_LENGTH, BoundCall, b, &fn) != napi_ok) {
      delete b;
      rxb::ThrowRx(env, "RX_INTERNAL", "could not create the bound scorer");
    }
    napi_value vals[3] = {info[0], info[1], info[2]};
    for (int k = 0; k < 3; ++k) napi_create_reference(env, vals[k], 1, &b->refs[k]);
    napi_add_finalizer(
        env, fn, b,
        [](napi_env e, void* data, void*) {
          Bound* bb = static_cast<Bound*>(data);
          for (napi_ref r : bb->refs)
            if (r) napi_delete_reference(e, r);
          delete bb;
        },
        nullptr, nullptr);
    return Napi::Value(env, fn);
  });
}

struct BatchArgs {
  std::shared_ptr<const Scorer> s;
  const double* x;
  int64_t n;
};
BatchArgs ReadBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BatchArgs b{Get(info), nullptr, 0};
  auto x = rxb::ArgF64(info, 1, "x");
  b.n = rxb::ArgInt(info, 2, "n");
  if (b.n < 0 || static_cast<int64_t>(x.ElementLength()) < b.n * b.s->inputs()) rxb::ThrowRx(env, "RX_ARG", "x is shorter than n * inputs");
  b.x = x.Data();
  return b;
}

// scoreBatchSync(handle, x: column-major Float64Array(n*inputs), n) -> Float64Array(n*width), row-major
Napi::Value BatchSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return rxb::Guard(env, [&]() -> Napi::Value {
    auto b = ReadBatch(info);
    auto out = Napi::Float64Array::New(env, static_cast<std::size_t>(b.n) * b.s->width());
    b.s->score_batch(b.x, b.n, out.Data());
    return out;
  });
}

// scoreBatch(handle, x, n) -> Promise<Float64Array> (libuv pool; rows over the thread budget)
Napi::Value Batch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return rxb::Guard(env, [&]() -> Napi::Value {
    auto b = ReadBatch(info);
    auto out = std::make_shared<std::vector<double>>(static_cast<std::size_t>(b.n) * b.s->width());
    return rxb::RunAsync(
        env, [b, out]() { b.s->score_batch(b.x, b.n, out->data()); },
        [out](Napi::Env e) -> Napi::Value {
          auto r = Napi::Float64Array::New(e, out->size());
          std::copy(out->begin(), out->end(), r.Data());
          return r;
        },
        {info[1]});
  });
}

// scoreFree(handle): releases the compiled model now (later calls raise RX_ARG).
Napi::Value Free(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return rxb::Guard(env, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsExternal()) rxb::ThrowRx(env, "RX_ARG", "Expected a scorer handle for scorer but received " + rxb::TypeName(info[0]));
    info[0].As<Napi::External<Handle>>().Data()->scorer.reset();
    return env.Undefined();
  });
}

}  // namespace

RXB_MODULE(score) {
  exports.Set("scoreTreesCreate", Napi::Function::New(env, TreesCreate));
  exports.Set("scoreLinearCreate", Napi::Function::New(env, LinearCreate));
  exports.Set("scoreInfo", Napi::Function::New(env, Info));
  exports.Set("scoreRow", Napi::Function::New(env, Row));
  exports.Set("scoreRowBind", Napi::Function::New(env, RowBind));
  exports.Set("scoreBatch", Napi::Function::New(env, Batch));
  exports.Set("scoreBatchSync", Napi::Function::New(env, BatchSync));
  exports.Set("scoreFree", Napi::Function::New(env, Free));
}
