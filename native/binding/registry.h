// Self-registration of binding modules: each native/binding/*.cpp declares
//   RXB_MODULE(name) { exports.Set("fn", Napi::Function::New(env, Fn)); }
// and is picked up by the CMake glob; no central list to edit.
#pragma once
#include <napi.h>

#include <utility>
#include <vector>

namespace rxb {
using InitFn = void (*)(Napi::Env, Napi::Object);
std::vector<std::pair<const char*, InitFn>>& registry();
struct Register {
  Register(const char* name, InitFn fn) { registry().emplace_back(name, fn); }
};
}  // namespace rxb

#define RXB_MODULE(name)                                                  \
  static void rxb_init_##name(Napi::Env env, Napi::Object exports);       \
  static ::rxb::Register rxb_reg_##name(#name, rxb_init_##name);          \
  static void rxb_init_##name(Napi::Env env, Napi::Object exports)
