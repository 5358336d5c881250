#include "common.h"

#include "registry.h"

namespace rxb {

std::vector<std::pair<const char*, InitFn>>& registry() {
  static std::vector<std::pair<const char*, InitFn>> r;
  return r;
}

struct AddonData {
  Napi::FunctionReference errorClass;
};

static AddonData* Data(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

Napi::Value MakeRxError(Napi::Env env, const std::string& code, const std::string& message) {
  AddonData* d = Data(env);
  if (d && !d->errorClass.IsEmpty()) {
    return d->errorClass.New({Napi::String::New(env, code), Napi::String::New(env, message)});
  }
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  return e.Value();
}

void ThrowRx(Napi::Env env, const std::string& code, const std::string& message) {
  throw Napi::Error(env, MakeRxError(env, code, message));
}

std::string TypeName(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsBoolean()) return "boolean";
  if (v.IsNumber()) return "number " + std::to_string(v.As<Napi::Number>().DoubleValue());
  if (v.IsString()) return "string";
  if (v.IsTypedArray()) {
    switch (v.As<Napi::TypedArray>().TypedArrayType()) {
      case napi_float64_array: return "Float64Array";
      case napi_float32_array: return "Float32Array";
      case napi_int32_array: return "Int32Array";
      case napi_uint8_array: return "Uint8Array";
      default: return "TypedArray";
    }
  }
  if (v.IsArray()) return "Array";
  if (v.IsFunction()) return "function";
  return "object";
}

static void BadArg(const Napi::CallbackInfo& info, size_t i, const char* expected, const char* what) {
  std::string got = i < info.Length() ? TypeName(info[i]) : "undefined";
  ThrowRx(info.Env(), "RX_ARG", std::string("Expected ") + expected + " for " + what + " but received " + got);
}

Napi::Float64Array ArgF64(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    BadArg(info, i, "Float64Array", what);
  return info[i].As<Napi::Float64Array>();
}
Napi::Int32Array ArgI32(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    BadArg(info, i, "Int32Array", what);
  return info[i].As<Napi::Int32Array>();
}
Napi::Uint8Array ArgU8(const Napi::CallbackInfo& info, size_t i, const char* what, bool optional) {
  if (optional && (i >= info.Length() || info[i].IsUndefined() || info[i].IsNull())) return Napi::Uint8Array();
  if (i >= info.Length() || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    BadArg(info, i, "Uint8Array", what);
  return info[i].As<Napi::Uint8Array>();
}
double ArgNum(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsNumber()) BadArg(info, i, "number", what);
  return info[i].As<Napi::Number>().DoubleValue();
}
int64_t ArgInt(const Napi::CallbackInfo& info, size_t i, const char* what) {
  double d = ArgNum(info, i, what);
  if (!std::isfinite(d) || std::floor(d) != d) BadArg(info, i, "an integer", what);
  return static_cast<int64_t>(d);
}
bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* what, bool dflt) {
  if (i >= info.Length() || info[i].IsUndefined()) return dflt;
  if (!info[i].IsBoolean()) BadArg(info, i, "boolean", what);
  return info[i].As<Napi::Boolean>().Value();
}
std::string ArgStr(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsString()) BadArg(info, i, "string", what);
  return info[i].As<Napi::String>().Utf8Value();
}

PromiseWorker::PromiseWorker(Napi::Env env, Work work, Done done, const std::vector<Napi::Value>& keep)
    : Napi::AsyncWorker(env, "rxscale"), deferred_(Napi::Promise::Deferred::New(env)),
      work_(std::move(work)), done_(std::move(done)) {
  for (const auto& v : keep) keep_.emplace_back(Napi::Persistent(v));
}

void PromiseWorker::Execute() {
  try {
    work_();
  } catch (const rx::Error& e) {
    code_ = e.code();
    SetError(e.what());
  } catch (const std::bad_alloc&) {
    SetError("out of memory");
  } catch (const std::exception& e) {
    SetError(e.what());
  } catch (...) {
    SetError("unknown native error");
  }
}

void PromiseWorker::OnOK() {
  Napi::Env env = Env();
  try {
    deferred_.Resolve(done_(env));
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
  } catch (const rx::Error& e) {
    deferred_.Reject(MakeRxError(env, e.code(), e.what()));
  } catch (const std::exception& e) {
    deferred_.Reject(MakeRxError(env, "RX_INTERNAL", e.what()));
  }
}

void PromiseWorker::OnError(const Napi::Error& e) {
  deferred_.Reject(MakeRxError(Env(), code_, e.Message()));
}

Napi::Promise RunAsync(Napi::Env env, PromiseWorker::Work work, PromiseWorker::Done done,
                       const std::vector<Napi::Value>& keep) {
  auto* w = new PromiseWorker(env, std::move(work), std::move(done), keep);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

static Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsFunction())
    ThrowRx(info.Env(), "RX_ARG", "Expected function for errorClass but received " +
                                      (info.Length() ? TypeName(info[0]) : std::string("undefined")));
  Data(info.Env())->errorClass = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

}  // namespace rxb

static Napi::Object InitAll(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new rxb::AddonData());
  exports.Set("setErrorClass", Napi::Function::New(env, rxb::SetErrorClass));
  for (auto& [name, fn] : rxb::registry()) {
    (void)name;
    fn(env, exports);
  }
  return exports;
}

NODE_API_MODULE(rxscale, InitAll)
