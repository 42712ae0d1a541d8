#pragma once
// RFC 9113 8.2.2: fields that only mean something on one HTTP/1 connection, which an HTTP/2
// message must not carry. One list for requests from clients and responses from backends.

#include <string_view>

#include "http/header_map.h"

namespace portico::http2 {

// Any case: HTTP/2 names arrive lowercase, names bound for HTTP/2 may come from HTTP/1.
inline bool connectionSpecific(std::string_view name) {
  using http::equalsIgnoreCase;
  return equalsIgnoreCase(name, "connection") || equalsIgnoreCase(name, "keep-alive") ||
         equalsIgnoreCase(name, "proxy-connection") ||
         equalsIgnoreCase(name, "transfer-encoding") || equalsIgnoreCase(name, "upgrade");
}

}  // namespace portico::http2
