#include "http2/client_headers.h"

#include "http2/connection_fields.h"

#include <algorithm>

namespace portico::http2 {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Whether `lower_name` is listed in the Connection field's tokens (they are hop-by-hop too).
bool namedByConnection(const http::HeaderMap& headers, std::string_view lower_name) {
  bool named = false;
  headers.forEach([&](std::string_view name, std::string_view value) {
    if (named || !http::equalsIgnoreCase(name, "connection")) return;
    size_t start = 0;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      std::string_view token = value.substr(
          start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
        token.remove_prefix(1);
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t'))
        token.remove_suffix(1);
      if (http::equalsIgnoreCase(token, lower_name)) named = true;
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  });
  return named;
}

void addRegularFields(const http::HeaderMap& headers, bool request, HeaderList* out) {
  headers.forEach([&](std::string_view name, std::string_view value) {
    std::string n = lower(name);
    if (connectionSpecific(n) || (request && n == "host") || namedByConnection(headers, n)) {
      return;
    }
    // TE is allowed only as "trailers" (RFC 9113 8.2.2); a request always carries that one.
    if (n == "te" && (request || !http::equalsIgnoreCase(value, "trailers"))) return;
    out->add(n, value);
  });
}

}  // namespace

void HeaderList::add(std::string_view name, std::string_view value) {
  names_.emplace_back(name);
  values_.emplace_back(value);
}

nghttp2_nv* HeaderList::data() {
  // Built at the end: the strings no longer move.
  nv_.clear();
  nv_.reserve(names_.size());
  for (size_t i = 0; i < names_.size(); ++i) {
    nv_.push_back(nghttp2_nv{reinterpret_cast<uint8_t*>(names_[i].data()),
                             reinterpret_cast<uint8_t*>(values_[i].data()), names_[i].size(),
                             values_[i].size(), NGHTTP2_NV_FLAG_NONE});
  }
  return nv_.data();
}

void requestHeaderList(const http::RequestHead& head, std::string_view scheme, HeaderList* out) {
  out->add(":method", head.method_text);
  out->add(":scheme", scheme);
  std::optional<std::string_view> host = head.headers.get("Host");
  out->add(":authority", host ? *host : std::string_view(head.authority));
  std::string path = head.path.empty() ? std::string("/") : head.path;
  if (!head.query.empty()) path += "?" + head.query;
  if (head.method == http::Method::Options && head.target == "*") path = "*";
  out->add(":path", path);
  addRegularFields(head.headers, /*request=*/true, out);
  // Portico reads trailers on every HTTP/2 response (and drops them for a client that cannot
  // take them), so it says so; gRPC backends require it. The client's own TE is hop-by-hop
  // and was removed with the other such fields.
  out->add("te", "trailers");
}

void trailerHeaderList(const http::HeaderMap& trailers, HeaderList* out) {
  addRegularFields(trailers, /*request=*/false, out);
}

void ResponseHeaderReader::begin(bool trailers) {
  trailers_ = trailers;
  status_seen_ = false;
  regular_seen_ = false;
  bytes_ = 0;
  error_.clear();
}

bool ResponseHeaderReader::fail(std::string why) {
  error_ = std::move(why);
  return false;
}

bool ResponseHeaderReader::add(std::string_view name, std::string_view value,
                               http::ResponseHead* head, http::HeaderMap* trailers) {
  bytes_ += name.size() + value.size();
  if (bytes_ > kMaxResponseHeaderBytes) return fail("response header block too large");
  if (!name.empty() && name[0] == ':') {
    if (trailers_) return fail("pseudo-header in response trailers");
    if (regular_seen_) return fail("pseudo-header after a regular response field");
    if (name != ":status") return fail("unknown response pseudo-header " + std::string(name));
    if (status_seen_) return fail("repeated :status");
    if (value.size() != 3 ||
        !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return fail("invalid :status");
    }
    const uint16_t status =
        static_cast<uint16_t>((value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0'));
    if (status < 100) return fail("invalid :status");
    status_seen_ = true;
    head->status = status;
    head->reason = std::string(http::reasonPhrase(status));
    return true;
  }
  regular_seen_ = true;
  if (nghttp2_check_header_name(reinterpret_cast<const uint8_t*>(name.data()), name.size()) == 0) {
    return fail("invalid response field name");
  }
  for (char c : name) {
    if (c >= 'A' && c <= 'Z') return fail("upper-case response field name");
  }
  if (nghttp2_check_header_value_rfc9113(reinterpret_cast<const uint8_t*>(value.data()),
                                         value.size()) == 0) {
    return fail("invalid value in response field " + std::string(name));
  }
  if (connectionSpecific(name)) {
    return fail("connection-specific field " + std::string(name) + " in an HTTP/2 response");
  }
  if (trailers_) {
    trailers->add(name, value);
  } else {
    head->headers.add(name, value);
  }
  return true;
}

bool ResponseHeaderReader::finish() {
  if (!trailers_ && !status_seen_) return fail("response without :status");
  return true;
}

}  // namespace portico::http2
