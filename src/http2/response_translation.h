#pragma once
// http::ResponseHead (or trailers, or a 1xx) -> the name/value list nghttp2 submits.
// HTTP/2 wants lowercase names and has no connection-specific fields (RFC 9113 8.2.2), so
// Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade and TE are dropped, as
// is every field the Connection field nominates. Framing comes from DATA frames: Content-Length
// stays only as information (it must match, and our encoder sends what it is given).

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <string>
#include <vector>

#include "http/header_map.h"

namespace portico::http2 {

// One header block ready to submit. Owns the bytes its nv entries point to; reused per
// stream so steady state does not allocate.
class HeaderBlock {
 public:
  // A response or interim head: ":status" first, then the fields.
  void buildResponse(uint16_t status, const http::HeaderMap& headers);
  // Trailers: fields only.
  void buildTrailers(const http::HeaderMap& trailers);

  const nghttp2_nv* data() const { return nv_.data(); }
  size_t size() const { return nv_.size(); }

 private:
  void addFields(const http::HeaderMap& headers);
  void finalize();

  struct Span {
    size_t name_off, name_len, value_off, value_len;
  };
  std::string bytes_;
  std::vector<Span> spans_;
  std::vector<nghttp2_nv> nv_;
};

}  // namespace portico::http2
