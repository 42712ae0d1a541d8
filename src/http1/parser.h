#pragma once
// Sans-I/O HTTP/1.1 message parser (RFC 9112), for requests (server side) and responses
// (client side). It never touches a socket or a clock: the caller feeds bytes and gets one
// event at a time back. It is strict on purpose: every ambiguity that could let two parsers
// disagree on message boundaries (request smuggling) is an error, not a guess.
//
// Contract of feed():
//  - `data` is any contiguous run of the bytes that follow what was consumed before; the caller
//    may split the stream anywhere, and the result is the same for every split.
//  - The returned `consumed` bytes must be dropped by the caller before the next call; bytes
//    not consumed must be passed again (followed by any new bytes).
//  - Head bytes that arrive split across calls are copied into the parser; a head that arrives
//    whole is parsed in place.
//  - A Body event's bytes are data[consumed - body_len, consumed): the tail of what was consumed.
//    Framing (chunk sizes, CRLFs) is consumed silently. Body bytes are never copied.
//  - After Head, the head object passed to the constructor/reset() is filled. After Trailers,
//    trailers() holds the trailer fields. After MessageComplete the parser is Done; reset() it
//    for the next message on the connection (pipelined bytes stay unconsumed until then).
//  - feed() returns one event per call. A message without body bytes left (no body, a
//    Content-Length of 0, or the last Body of a length-delimited body) reports MessageComplete
//    on the following call, which may pass len 0; so may the call after Trailers.
//  - After Error, error() says why and statusFor(error()) which status to answer with; the
//    parser stays in Error (consumed 0) until reset().
// Not thread-safe; one parser per connection direction.

#include <cstddef>
#include <cstdint>
#include <string>

#include "http/header_map.h"
#include "http/message.h"

namespace portico::http1 {

struct ParserLimits {
  size_t max_request_line = 8192;   // method + target + version; over it: 414
  size_t max_header_line = 8192;    // one field line; over it: 431
  size_t max_header_bytes = 65536;  // the whole head including the start line; over it: 431
  size_t max_header_count = 100;    // fields; over it: 431
  uint64_t max_body_bytes = 0;      // request bodies only; 0 = unlimited; over it: 413
};

enum class ParseError : uint8_t {
  None,
  BadRequestLine,                    // 400: malformed request line
  BadMethod,                         // 400: method is not a token
  BadTarget,                         // 400: request-target has invalid characters or form
  UriTooLong,                        // 414
  BadVersion,                        // 400: not HTTP/x.y
  UnsupportedVersion,                // 505: anything other than HTTP/1.0 and HTTP/1.1
  BadStatusLine,                     // 502 (response): malformed status line
  BadHeaderName,                     // 400: field name is not a token
  BadHeaderValue,                    // 400: NUL, bare CR, or other control character in a value
  WhitespaceBeforeColon,             // 400 (RFC 9112 5.1)
  ObsFold,                           // 400: obsolete line folding
  BareCr,                            // 400: CR not followed by LF anywhere in the head
  HeaderLineTooLong,                 // 431
  HeadersTooLarge,                   // 431: total head size
  TooManyHeaders,                    // 431
  MissingHost,                       // 400: HTTP/1.1 request without Host
  DuplicateHost,                     // 400: more than one Host
  BadContentLength,                  // 400: not a non-negative decimal, or overflow
  ConflictingContentLength,          // 400: several Content-Length with different values
  ContentLengthAndTransferEncoding,  // 400: both present (request); response: 502
  TransferEncodingNotChunkedLast,    // 400: chunked is not the final coding (request)
  UnknownTransferEncoding,           // 501: a coding we do not implement
  TransferCodingNotSupported,        // 501: a request coding other than chunked (gzip, ...)
  TransferEncodingOnHttp10,          // 400: Transfer-Encoding in an HTTP/1.0 message
  BadChunkSize,                      // 400: chunk size line malformed or overflowing
  BadChunkData,                      // 400: chunk data not followed by CRLF
  BadTrailer,                        // 400: malformed trailer section
  BodyTooLarge,                      // 413
  PrematureEof,                      // connection closed inside a message
};

// The status a server answers with for a request that failed with `e`
// (400, 413, 414, 431, 501, 505). For response errors the proxy answers 502 instead.
uint16_t statusFor(ParseError e);
const char* describe(ParseError e);  // short text for the log

enum class ParseEvent : uint8_t {
  NeedMore,         // all of `data` consumed (or none usable); feed more bytes
  Head,             // head parsed into the head object
  Body,             // body_len bytes of body at the tail of consumed
  Trailers,         // chunked trailers parsed into trailers()
  MessageComplete,  // end of this message; parser is Done until reset()
  Error,
};

struct ParseResult {
  ParseEvent event = ParseEvent::NeedMore;
  size_t consumed = 0;
  size_t body_len = 0;
};

// How the body of a parsed message is delimited.
enum class BodyKind : uint8_t { None, ContentLength, Chunked, UntilClose };

class RequestParser;
class ResponseParser;
namespace detail {
// The state machine both parsers share; defined in parser.cc.
template <class Parser>
struct Engine;
}  // namespace detail

class RequestParser {
 public:
  RequestParser(http::RequestHead* head, const ParserLimits& limits);
  ParseResult feed(const char* data, size_t len);
  // Start the next message; `head` is cleared by the caller or here (it is cleared here).
  void reset();
  ParseError error() const { return error_; }
  const http::HeaderMap& trailers() const { return trailers_; }
  BodyKind bodyKind() const { return body_kind_; }
  uint64_t contentLength() const { return content_length_; }
  // After Head: the request asked to keep the connection open (HTTP/1.1 default, or 1.0 with
  // "Connection: keep-alive") and said nothing to the contrary.
  bool keepAlive() const { return keep_alive_; }
  // After Head: "Expect: 100-continue" was present (HTTP/1.1 only).
  bool expectsContinue() const { return expect_continue_; }
  // After Head: "Connection: upgrade" and an Upgrade header were present.
  bool wantsUpgrade() const { return upgrade_; }
  // After Head: the TE header listed "trailers".
  bool acceptsTrailers() const { return te_trailers_; }
  bool done() const;

 private:
  // Implementation state; see parser.cc.
  friend struct detail::Engine<RequestParser>;
  http::RequestHead* head_;
  ParserLimits limits_;
  http::HeaderMap trailers_;
  std::string partial_;  // head (or trailer) bytes that arrived split across feed() calls
  ParseError error_ = ParseError::None;
  BodyKind body_kind_ = BodyKind::None;
  uint64_t content_length_ = 0;
  uint64_t body_remaining_ = 0;
  uint64_t body_seen_ = 0;
  size_t section_bytes_ = 0;  // bytes of the head (or trailer section) in complete lines
  uint32_t fields_ = 0;       // field lines in the head (or trailer section)
  uint32_t chunk_line_ = 0;   // bytes of the current chunk-size line after the digits
  uint16_t flags_ = 0;        // what the head's fields said; see parser.cc
  uint8_t blank_lines_ = 0;   // empty lines skipped before the start line
  uint8_t hex_digits_ = 0;    // digits of the current chunk size
  uint8_t state_ = 0;
  bool keep_alive_ = true;
  bool expect_continue_ = false;
  bool upgrade_ = false;
  bool te_trailers_ = false;
};

class ResponseParser {
 public:
  ResponseParser(http::ResponseHead* head, const ParserLimits& limits);
  // Must be called before feeding each response: bodies of responses to HEAD are empty, and
  // a 2xx answer to CONNECT has no body either.
  void setRequestMethod(http::Method method) { request_method_ = method; }
  ParseResult feed(const char* data, size_t len);
  // The peer closed the connection. Returns MessageComplete if the body was delimited by the
  // close (or no message had started: consumed 0, event NeedMore), else Error(PrematureEof).
  ParseResult onEof();
  void reset();
  ParseError error() const { return error_; }
  const http::HeaderMap& trailers() const { return trailers_; }
  BodyKind bodyKind() const { return body_kind_; }
  uint64_t contentLength() const { return content_length_; }
  // After Head: the connection may be reused after this response (keep-alive and the body is
  // not delimited by close).
  bool keepAlive() const { return keep_alive_; }
  // After Head: an interim 1xx response (other than 101) was parsed; the final response follows
  // after reset-free continuation: the parser returns to head parsing by itself.
  bool isInterim() const { return interim_; }
  bool done() const;

 private:
  friend struct detail::Engine<ResponseParser>;
  http::ResponseHead* head_;
  ParserLimits limits_;
  http::HeaderMap trailers_;
  std::string partial_;
  ParseError error_ = ParseError::None;
  BodyKind body_kind_ = BodyKind::None;
  http::Method request_method_ = http::Method::Get;
  uint64_t content_length_ = 0;
  uint64_t body_remaining_ = 0;
  size_t section_bytes_ = 0;
  uint32_t fields_ = 0;
  uint32_t chunk_line_ = 0;
  uint16_t flags_ = 0;
  uint8_t blank_lines_ = 0;
  uint8_t hex_digits_ = 0;
  uint8_t state_ = 0;
  bool keep_alive_ = true;
  bool interim_ = false;
  bool after_interim_ = false;  // a 1xx was parsed; the final response has not been
};

}  // namespace portico::http1
