#pragma once
// Protocol-neutral request and response heads. HTTP/1 and HTTP/2 codecs both produce and
// consume these, so nothing above the codec knows which protocol carried a message.
// Strings are owned (copied out of the read buffer) so heads outlive the bytes they came from;
// objects are reused per connection, so steady-state parsing does not allocate.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "http/header_map.h"

namespace portico::http {

enum class Method : uint8_t { Get, Head, Post, Put, Delete, Connect, Options, Trace, Patch, Other };

Method parseMethod(std::string_view token);
// True for methods RFC 9110 9.2.2 calls idempotent: safe to retry after bytes were sent.
bool isIdempotent(Method m);

struct Version {
  uint8_t major = 1;
  uint8_t minor = 1;
  bool operator==(const Version&) const = default;
};

struct RequestHead {
  Method method = Method::Get;
  std::string method_text;  // the token as received ("GET", "PROPFIND", ...)
  std::string target;       // request-target as received: origin-form, absolute-form, ...
  std::string path;         // path part of the target (absolute-form is reduced to this)
  std::string query;        // after '?', without it; empty if none
  std::string authority;    // Host header value or the absolute-form authority
  std::string scheme;       // "http" or "https": how the client reached us
  // An HTTP/2 extended CONNECT (RFC 8441) that the codec turned into the HTTP/1.1 handshake a
  // backend knows: its :protocol ("websocket"). The head's method is then the GET sent on;
  // the access log shows the CONNECT the client sent. Empty otherwise.
  std::string upgraded_from_connect;
  Version version;
  HeaderMap headers;

  void clear();
};

struct ResponseHead {
  uint16_t status = 200;  // 100..999: a backend's 6xx..9xx is passed on, counted as 5xx
  std::string reason;
  Version version;
  HeaderMap headers;
  // Transfer codings the body still carries as it is handed on ("gzip"), as the backend listed
  // them, without a final "chunked" (the codec takes that framing off and puts its own on).
  // Transfer-Encoding is hop-by-hop and removed with the other such fields, so this is what
  // tells the server codec to announce them to the client.
  std::string transfer_codings;

  void clear();
};

// The host of an authority ("Example.com:8080" -> "example.com", "[::1]:80" -> "[::1]"),
// lower-cased: what virtual hosts and TLS names are matched by.
std::string hostWithoutPort(std::string_view authority);

// Standard reason phrase for a status code ("OK", "Not Found"); "Unknown" if none.
std::string_view reasonPhrase(uint16_t status);

// The body of a local error reply: the listener's error page for `status` if `pages` has
// one, else "404 Not Found\n". What every codec and the proxy core answer with.
std::string errorBody(uint16_t status, const std::map<uint16_t, std::string>* pages);

// The class a status is counted and logged under: 1..5. Backends may send 600..999 (RFC 9110
// 15 leaves them undefined); like nginx and HAProxy we pass them on, and count them as 5xx.
inline unsigned statusClass(uint16_t status) {
  unsigned c = status / 100u;
  return c > 5 ? 5 : c;
}

// Responses that never carry a body (RFC 9110 6.4.1): 1xx, 204, 304.
inline bool statusHasNoBody(uint16_t status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

}  // namespace portico::http
