#include "tls/handles.h"

#include <openssl/err.h>

namespace portico::tls {

std::string takeOpensslErrors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(code);
    if (!out.empty()) out += "; ";
    out += reason != nullptr ? reason : "error " + std::to_string(ERR_GET_REASON(code));
  }
  return out.empty() ? "unknown error" : out;
}

}  // namespace portico::tls
