#pragma once
// gRPC error replies for answers Portico makes itself. A gRPC client reads the call's outcome
// from grpc-status and grpc-message, not from the HTTP status or an HTML body: a 503 page
// would surface as a confusing protocol error ("unexpected content-type text/html").
// So a local reply to a gRPC request (content-type application/grpc...) becomes a gRPC
// "trailers-only" response: HTTP 200, content-type application/grpc, grpc-status and a
// percent-encoded grpc-message in the head, and no body (HTTP/2: one HEADERS frame with
// END_STREAM; HTTP/1.1: just the head).
//
// The HTTP status maps to a gRPC code as the gRPC project's "HTTP to gRPC status code
// mapping" says (doc/http-grpc-status-mapping.md). A 504 (an upstream timeout) maps to
// UNAVAILABLE like the table says, not DEADLINE_EXCEEDED: the proxy's timeout is not the
// caller's deadline, and UNAVAILABLE is the code gRPC clients may retry; a client's own
// deadline still ends its call with DEADLINE_EXCEEDED on the client.
//
// Pure functions: no state, no I/O.

#include <cstdint>
#include <string>
#include <string_view>

#include "http/header_map.h"
#include "http/message.h"

namespace portico::http {

// gRPC status codes (grpc/status.h), the ones a local reply uses and the rest for tests.
enum class GrpcStatus : uint8_t {
  Ok = 0,
  Cancelled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  Unauthenticated = 16,
};

// The request's content-type says gRPC: "application/grpc" alone or followed by "+format",
// ";params" or "-web..." (gRPC-Web also reads a trailers-only head).
bool isGrpcContentType(std::string_view content_type);
bool isGrpcRequest(const HeaderMap& request_headers);

GrpcStatus grpcStatusForHttp(uint16_t http_status);

// grpc-message is percent-encoded (gRPC PROTOCOL-HTTP2.md): every byte outside printable
// ASCII (0x20-0x7E), and '%' itself, becomes %XX with uppercase hex.
std::string percentEncodeGrpcMessage(std::string_view message);

// Fills `head` with the trailers-only gRPC error for a local reply of `http_status`.
// `message` is the text for grpc-message (the caller's body, or the status's reason phrase
// when empty). `request_content_type` picks application/grpc or application/grpc-web.
void makeGrpcLocalReply(uint16_t http_status, std::string_view message,
                        std::string_view request_content_type, ResponseHead& head);

}  // namespace portico::http
