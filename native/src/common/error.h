// Plain C++ error type carried from kernels to the binding layer (no Node headers).
#pragma once
#include <stdexcept>
#include <string>

namespace rx {

// code is one of the RxError codes used in JS: RX_ARG, RX_IO, RX_PARSE, RX_SCHEMA,
// RX_SINGULAR, RX_DATA_SOURCE, RX_CANCELLED, RX_INTERNAL ...
class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& msg) : std::runtime_error(msg), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

}  // namespace rx
