#pragma once
// Header translation for the HTTP/2 client codec (RFC 9113 8.2-8.3):
//  - a RequestHead becomes an h2 header list: :method, :scheme, :authority (from Host),
//    :path, then the fields in lower case without the connection-specific ones (Connection
//    and what it names, Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade, Host) and
//    with TE only as "trailers";
//  - response fields are read strictly: a bad name or value, a pseudo-header out of place,
//    a missing or bad :status, or a connection-specific field makes the response malformed
//    (the stream fails with 502), never a silently repaired message.

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/header_map.h"
#include "http/message.h"

namespace portico::http2 {

// An nghttp2 header list with the strings it points into.
class HeaderList {
 public:
  void add(std::string_view name, std::string_view value);
  nghttp2_nv* data();
  size_t size() const { return names_.size(); }

 private:
  std::vector<std::string> names_;
  std::vector<std::string> values_;
  std::vector<nghttp2_nv> nv_;
};

// `scheme`: "http" or "https", what the connection to the backend is.
void requestHeaderList(const http::RequestHead& head, std::string_view scheme, HeaderList* out);
// Request trailers: regular fields only, lower case, connection-specific ones dropped.
void trailerHeaderList(const http::HeaderMap& trailers, HeaderList* out);

// Collects one response header block (the head, an interim head, or trailers).
class ResponseHeaderReader {
 public:
  // Starts a block: `trailers` blocks carry no pseudo-header.
  void begin(bool trailers);
  // One field as received; false (with error() set) if the block is malformed.
  bool add(std::string_view name, std::string_view value, http::ResponseHead* head,
           http::HeaderMap* trailers);
  // The block ended; false (with error()) if a response head lacks :status.
  bool finish();
  const std::string& error() const { return error_; }

 private:
  bool fail(std::string why);

  bool trailers_ = false;
  bool status_seen_ = false;
  bool regular_seen_ = false;
  size_t bytes_ = 0;
  std::string error_;
};

// Bytes of fields one response header block may carry (names and values).
inline constexpr size_t kMaxResponseHeaderBytes = 128 * 1024;

}  // namespace portico::http2
