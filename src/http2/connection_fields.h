#pragma once
// RFC 9113 8.2.2: fields that only mean something on one HTTP/1 connection, which an HTTP/2
// message must not carry. One list for requests from clients and responses from backends.

#include <string_view>

namespace portico::http2 {

// `lower_name` is already lowercase (HTTP/2 field names are).
inline bool connectionSpecific(std::string_view lower_name) {
  return lower_name == "connection" || lower_name == "keep-alive" ||
         lower_name == "proxy-connection" || lower_name == "transfer-encoding" ||
         lower_name == "upgrade";
}

}  // namespace portico::http2
