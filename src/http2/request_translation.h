#pragma once
// HTTP/2 request header block -> http::RequestHead, strictly (RFC 9113 8.2 and 8.3).
// Fields are fed one at a time as HPACK decodes them; anything malformed makes the request a
// stream error (RST_STREAM PROTOCOL_ERROR), never a request a backend sees:
//   - names: empty, uppercase, or bytes outside the token set (CR, LF, NUL, SP, ...);
//   - values: CR, LF or NUL anywhere, whitespace at either end;
//   - connection-specific fields (connection, keep-alive, proxy-connection,
//     transfer-encoding, upgrade) and TE other than "trailers";
//   - pseudo-headers unknown, duplicated, after a regular field, missing (:method, :scheme,
//     :path; :authority for CONNECT), or where they do not belong (:scheme/:path on CONNECT);
//     :path empty or neither origin-form nor "*" (OPTIONS only); :protocol (RFC 8441) other
//     than on a CONNECT with :authority, which then also needs :scheme and :path;
//   - :authority and Host both present and different (8.3.1); only Host: it is the authority;
//   - Content-Length not a number, several that disagree, or not zero on a bodiless request.
// A header list over the size or count limit is not malformed but too large: 431.
// Cookie crumbs (8.2.3) are joined with "; " into one field for HTTP/1 backends.
// The builder keeps no state beyond one request; reset() readies it for the next.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/header_map.h"
#include "http/message.h"

namespace portico::http2 {

// One field of a header block, as HTTP/2 allows it in requests and trailers: a lowercase
// token name (or a pseudo-header) and a value without CR, LF, NUL or outer whitespace. Returns
// the reason it is malformed, or null.
const char* checkField(std::string_view name, std::string_view value);

class RequestBuilder {
 public:
  struct Limits {
    size_t max_list_size = 65536;  // sum of name + value + 32 per field (RFC 9113 6.5.2)
    size_t max_fields = 100;
  };

  // Starts a request that fills `head` (cleared here).
  void reset(http::RequestHead* head, Limits limits);
  // One decoded field. false: the request is malformed (see why()); ignore the rest.
  bool addField(std::string_view name, std::string_view value);
  // The header block ended (`end_stream`: no body follows). false: malformed.
  bool finish(bool end_stream);

  // Over the header list size or count: answered 431 once the block ends.
  bool tooLarge() const { return too_large_; }
  const char* why() const { return why_; }
  // The request's Content-Length, if it sent one (checked against its DATA frames).
  std::optional<uint64_t> contentLength() const { return content_length_; }
  // "Expect: 100-continue" was sent (and removed): the codec answers 100 itself.
  bool expectsContinue() const { return expect_continue_; }
  // The :protocol of an extended CONNECT (RFC 8441), or empty. Such a request has :scheme,
  // :path and :authority like any other; the codec decides what the protocol becomes.
  const std::string& protocol() const { return protocol_; }

 private:
  bool fail(const char* why);
  bool addPseudo(std::string_view name, std::string_view value);
  bool addRegular(std::string_view name, std::string_view value);

  http::RequestHead* head_ = nullptr;
  Limits limits_;
  size_t list_size_ = 0;
  size_t fields_ = 0;
  const char* why_ = nullptr;
  bool too_large_ = false;
  bool regular_seen_ = false;
  bool has_method_ = false, has_scheme_ = false, has_path_ = false, has_authority_ = false;
  bool has_protocol_ = false;
  std::string protocol_;
  std::string path_;
  std::optional<std::string> host_;
  std::string cookie_;
  bool has_cookie_ = false;
  std::optional<uint64_t> content_length_;
  bool expect_continue_ = false;
};

// Validates and adds one trailer field (no pseudo-headers, same field rules). false: malformed.
bool addTrailerField(http::HeaderMap& trailers, std::string_view name, std::string_view value,
                     const char** why);

}  // namespace portico::http2
