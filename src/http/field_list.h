#pragma once
// Comma-separated list fields (RFC 9110 5.6.1): Connection, Transfer-Encoding, TE, Upgrade...
// One walker for the parser, the codecs and the proxy semantics, so they all split a list the
// same way.

#include <string_view>

#include "http/header_map.h"
#include "http/tokens.h"

namespace portico::http {

// Calls f(element) for each element of `list`, trimmed of OWS (SP, HTAB); empty elements are
// skipped as the list rule requires. f returns false to stop; then this returns false.
template <typename F>
bool forEachListElement(std::string_view list, F&& f) {
  while (true) {
    const size_t comma = list.find(',');
    const std::string_view element = trimOws(list.substr(0, comma));
    if (!element.empty() && !f(element)) return false;
    if (comma == std::string_view::npos) return true;
    list.remove_prefix(comma + 1);
  }
}

// Whether `list` has an element equal to `token`, ignoring case.
inline bool listHasToken(std::string_view list, std::string_view token) {
  return !forEachListElement(list,
                             [token](std::string_view e) { return !equalsIgnoreCase(e, token); });
}

}  // namespace portico::http
