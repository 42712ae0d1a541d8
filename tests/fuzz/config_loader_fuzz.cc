// libFuzzer target: any bytes given to the configuration loader must produce a config or an
// error list, never a crash, hang, leak or exception.

#include <cstddef>
#include <cstdint>
#include <string>

#include "config/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  portico::config::LoadResult result = portico::config::loadConfigString(text, "fuzz.yaml");
  // The loader's contract, checked here so a violation is a finding and not just a silent
  // oddity: exactly one of "config" and "errors" is set, and every error is printable.
  if (result.config.has_value() == !result.errors.empty()) __builtin_trap();
  for (const portico::config::ConfigError& e : result.errors) {
    if (e.line < 1 || e.column < 1 || e.key.empty() || e.message.empty()) __builtin_trap();
    (void)e.toString();
  }
  return 0;
}
