#include "http2/request_translation.h"

#include "http2/connection_fields.h"

#include "http/tokens.h"

namespace portico::http2 {

namespace {

std::optional<uint64_t> parseLength(std::string_view v) {
  if (v.empty() || v.size() > 19) return std::nullopt;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

// Origin-form (or "*") as RFC 9113 8.3.1 wants :path: visible ASCII only, no fragment.
bool validPath(std::string_view path) {
  if (path.empty()) return false;
  if (path != "*" && path[0] != '/') return false;
  for (unsigned char c : path)
    if (c <= 0x20 || c >= 0x7f || c == '#') return false;
  return true;
}

}  // namespace

const char* checkField(std::string_view name, std::string_view value) {
  if (name.empty()) return "empty header name";
  const std::string_view bare = name[0] == ':' ? name.substr(1) : name;
  if (bare.empty()) return "empty header name";
  for (char c : bare) {
    if (c >= 'A' && c <= 'Z') return "uppercase header name";
    if (!http::isTchar(c)) return "invalid character in header name";
  }
  for (char c : value)
    if (c == '\r' || c == '\n' || c == '\0') return "CR, LF or NUL in header value";
  if (!value.empty() && (value.front() == ' ' || value.front() == '\t' || value.back() == ' ' ||
                         value.back() == '\t'))
    return "whitespace around header value";
  return nullptr;
}

void RequestBuilder::reset(http::RequestHead* head, Limits limits) {
  head_ = head;
  head_->clear();
  head_->version = {2, 0};
  limits_ = limits;
  list_size_ = 0;
  fields_ = 0;
  why_ = nullptr;
  too_large_ = false;
  regular_seen_ = false;
  has_method_ = has_scheme_ = has_path_ = has_authority_ = false;
  has_protocol_ = false;
  protocol_.clear();
  path_.clear();
  host_.reset();
  cookie_.clear();
  has_cookie_ = false;
  content_length_.reset();
  expect_continue_ = false;
}

bool RequestBuilder::fail(const char* why) {
  if (why_ == nullptr) why_ = why;
  return false;
}

bool RequestBuilder::addField(std::string_view name, std::string_view value) {
  if (why_ != nullptr) return false;
  // Counted before any check so a flood of bad fields is bounded too; once over, the rest is
  // only validated (HPACK must still decode it to keep the connection's table in step).
  list_size_ += name.size() + value.size() + 32;
  ++fields_;
  if (list_size_ > limits_.max_list_size || fields_ > limits_.max_fields) too_large_ = true;
  if (const char* bad = checkField(name, value)) return fail(bad);
  if (name[0] == ':') return addPseudo(name, value);
  regular_seen_ = true;
  return addRegular(name, value);
}

bool RequestBuilder::addPseudo(std::string_view name, std::string_view value) {
  if (regular_seen_) return fail("pseudo-header after a regular field");
  bool* seen = nullptr;
  if (name == ":method") {
    seen = &has_method_;
  } else if (name == ":scheme") {
    seen = &has_scheme_;
  } else if (name == ":path") {
    seen = &has_path_;
  } else if (name == ":authority") {
    seen = &has_authority_;
  } else if (name == ":protocol") {
    seen = &has_protocol_;
  } else {
    return fail("unknown pseudo-header");
  }
  if (*seen) return fail("duplicate pseudo-header");
  *seen = true;
  if (too_large_) return true;
  if (name == ":method") {
    if (!http::isToken(value)) return fail("invalid :method");
    head_->method_text.assign(value);
    head_->method = http::parseMethod(value);
  } else if (name == ":scheme") {
    if (!http::isToken(value)) return fail("invalid :scheme");
    head_->scheme.assign(value);
  } else if (name == ":path") {
    path_.assign(value);
  } else if (name == ":protocol") {
    protocol_.assign(value);
  } else {
    head_->authority.assign(value);
  }
  return true;
}

bool RequestBuilder::addRegular(std::string_view name, std::string_view value) {
  if (connectionSpecific(name)) return fail("connection-specific header field");
  if (name == "te") {
    if (!http::equalsIgnoreCase(value, "trailers")) return fail("TE other than trailers");
  } else if (name == "content-length") {
    std::optional<uint64_t> n = parseLength(value);
    if (!n) return fail("invalid Content-Length");
    if (content_length_ && *content_length_ != *n) return fail("conflicting Content-Length");
    if (content_length_) return true;  // one field is enough for the backend
    content_length_ = n;
  } else if (name == "host") {
    if (host_) return fail("duplicate Host");
    host_.emplace(value);
    return true;  // reconciled with :authority in finish()
  } else if (name == "cookie") {
    // RFC 9113 8.2.3: crumbs travel as separate fields; HTTP/1 wants one line.
    if (!too_large_) {
      if (has_cookie_) cookie_ += "; ";
      cookie_.append(value);
    }
    has_cookie_ = true;
    return true;
  } else if (name == "expect" && http::equalsIgnoreCase(value, "100-continue")) {
    expect_continue_ = true;
    return true;
  }
  if (!too_large_) head_->headers.add(name, value);
  return true;
}

bool RequestBuilder::finish(bool end_stream) {
  if (why_ != nullptr) return false;
  if (!has_method_) return fail("missing :method");
  http::RequestHead& h = *head_;
  if (has_protocol_ && h.method != http::Method::Connect) return fail(":protocol on a non-CONNECT");
  if (has_protocol_ && (!has_authority_ || protocol_.empty()))
    return fail("extended CONNECT without :authority or :protocol");
  if (h.method == http::Method::Connect && !has_protocol_) {
    // RFC 9113 8.5: CONNECT names only the authority it tunnels to.
    if (has_scheme_ || has_path_) return fail(":scheme or :path on CONNECT");
    if (!has_authority_ || h.authority.empty()) return fail("CONNECT without :authority");
    h.target = h.authority;
  } else {
    if (!has_scheme_) return fail("missing :scheme");
    if (!has_path_) return fail("missing :path");
    if (path_.empty()) return fail("empty :path");
    if (!validPath(path_)) return fail("invalid :path");
    if (path_ == "*" && h.method != http::Method::Options) return fail(":path * on a non-OPTIONS");
    h.target = path_;
    const size_t q = path_.find('?');
    if (q == std::string::npos) {
      h.path = path_;
      h.query.clear();
    } else {
      h.path.assign(path_, 0, q);
      h.query.assign(path_, q + 1);
    }
  }
  // RFC 9113 8.3.1: :authority wins; a Host that says otherwise makes the request malformed
  // (a proxy routing by one and a backend by the other is how cache poisoning starts).
  if (host_) {
    if (has_authority_) {
      if (!http::equalsIgnoreCase(*host_, h.authority)) return fail(":authority and Host differ");
    } else {
      if (host_->empty()) return fail("empty Host");
      h.authority = *host_;
    }
  }
  if (h.authority.empty() && has_authority_) return fail("empty :authority");
  if (has_cookie_ && !too_large_) h.headers.add("cookie", cookie_);
  if (end_stream && content_length_ && *content_length_ != 0)
    return fail("Content-Length on a request without a body");
  return true;
}

bool addTrailerField(http::HeaderMap& trailers, std::string_view name, std::string_view value,
                     const char** why) {
  if (const char* bad = checkField(name, value)) {
    *why = bad;
    return false;
  }
  if (name[0] == ':') {
    *why = "pseudo-header in trailers";
    return false;
  }
  if (connectionSpecific(name) || name == "te") {
    *why = "connection-specific field in trailers";
    return false;
  }
  trailers.add(name, value);
  return true;
}

}  // namespace portico::http2
