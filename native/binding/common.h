// Shared N-API helpers: RxError construction, argument conversion, async work.
#pragma once
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"

namespace rxb {

// The JS RxError class, handed to the addon at start-up by lib/native (setErrorClass).
Napi::Value MakeRxError(Napi::Env env, const std::string& code, const std::string& message);
[[noreturn]] void ThrowRx(Napi::Env env, const std::string& code, const std::string& message);

// Argument helpers: throw RX_ARG "Expected X for Y but received Z".
std::string TypeName(const Napi::Value& v);
Napi::Float64Array ArgF64(const Napi::CallbackInfo& info, size_t i, const char* what);
Napi::Int32Array ArgI32(const Napi::CallbackInfo& info, size_t i, const char* what);
Napi::Uint8Array ArgU8(const Napi::CallbackInfo& info, size_t i, const char* what, bool optional = false);
double ArgNum(const Napi::CallbackInfo& info, size_t i, const char* what);
int64_t ArgInt(const Napi::CallbackInfo& info, size_t i, const char* what);
bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* what, bool dflt);
std::string ArgStr(const Napi::CallbackInfo& info, size_t i, const char* what);

// Runs `work` on the libuv pool and resolves the returned promise with `done(env)`
// on the JS thread. Any exception from `work` (rx::Error or std::exception) rejects
// the promise with an RxError; nothing crosses threads. `keep` holds JS values (input
// TypedArrays) alive until the work completes.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<void()>;
  using Done = std::function<Napi::Value(Napi::Env)>;
  PromiseWorker(Napi::Env env, Work work, Done done, const std::vector<Napi::Value>& keep);
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& e) override;

 private:
  Napi::Promise::Deferred deferred_;
  Work work_;
  Done done_;
  std::vector<Napi::Reference<Napi::Value>> keep_;
  std::string code_ = "RX_INTERNAL";
  std::string message_;
};

Napi::Promise RunAsync(Napi::Env env, PromiseWorker::Work work, PromiseWorker::Done done,
                       const std::vector<Napi::Value>& keep = {});

// Wraps a synchronous entry point body: converts C++ exceptions into a thrown RxError.
template <typename F>
Napi::Value Guard(Napi::Env env, F&& f) {
  try {
    return f();
  } catch (const Napi::Error&) {
    throw;
  } catch (const rx::Error& e) {
    ThrowRx(env, e.code(), e.what());
  } catch (const std::bad_alloc&) {
    ThrowRx(env, "RX_INTERNAL", "out of memory");
  } catch (const std::exception& e) {
    ThrowRx(env, "RX_INTERNAL", e.what());
  }
}

}  // namespace rxb
