#include "yaml/text_checks.h"

#include <array>
#include <cstring>

namespace portico::yaml {
namespace {

bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool isCtl(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

bool isToken(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (isAlnum(c)) continue;
    if (std::strchr("!#$%&'*+-.^_`|~", c) == nullptr || c == '\0') return false;
  }
  return true;
}

bool isHeaderValue(std::string_view text) {
  for (char c : text) {
    if (isCtl(c) && c != '\t') return false;
  }
  return true;
}

bool isManagedHeader(std::string_view name) {
  static constexpr std::array<std::string_view, 8> kManaged = {
      "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te",
      "trailer",        "proxy-connection"};
  for (std::string_view m : kManaged) {
    if (equalsIgnoreCase(name, m)) return true;
  }
  return false;
}

bool isName(std::string_view text) {
  if (text.empty() || text.size() > 128) return false;
  for (char c : text) {
    if (!isAlnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

bool isPath(std::string_view text) {
  if (text.empty() || text.front() != '/') return false;
  for (char c : text) {
    if (isCtl(c) || c == ' ' || c == '#') return false;
  }
  return true;
}

bool isHostname(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  size_t label = 0;
  for (char c : text) {
    if (c == '.') {
      if (label == 0) return false;  // leading dot or ".."
      label = 0;
      continue;
    }
    if (!isAlnum(c) && c != '-') return false;
    if (++label > 63) return false;
  }
  return label != 0;  // no trailing dot
}

}  // namespace portico::yaml
