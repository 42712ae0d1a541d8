#pragma once
// GrpcCheckResponse: judges the answer to a grpc.health.v1.Health/Check call, sans I/O. It is
// the call's http::ResponseDecoder (the HTTP/2 client codec parses the frames); the verdict
// is known at the end of the call: HTTP status 200, grpc-status 0 (in the trailers, or in the
// headers of a trailers-only answer) and one HealthCheckResponse message whose status is
// SERVING. The message is read bounded (kGrpcCheckMessageLimit).
//
// Also builds the request: the 5-byte gRPC message prefix and HealthCheckRequest{service}
// encoded by hand (field 1, a string), so no protobuf library is needed for one field.

#include <cstddef>
#include <string>

#include "http/codec.h"

namespace portico::upstream {

inline constexpr size_t kGrpcCheckMessageLimit = 1024;

// The length-prefixed message of a Check call for `service` ("" = the server as a whole).
std::string grpcHealthCheckRequest(const std::string& service);

class GrpcCheckResponse final : public http::ResponseDecoder {
 public:
  enum class Verdict { Pending, Healthy, Unhealthy };
  Verdict verdict() const { return verdict_; }
  const std::string& reason() const { return reason_; }

  // http::ResponseDecoder
  void decodeInterim(http::ResponseHead&) override {}
  void decodeHeaders(http::ResponseHead& head, bool end_stream) override;
  void decodeData(buffer::Buffer& data, bool end_stream) override;
  void decodeTrailers(http::HeaderMap& trailers) override;
  void onResponseError(const http::ResponseError& error) override;

 private:
  void fail(std::string why);
  // The call ended; `fields` hold grpc-status.
  void finish(const http::HeaderMap& fields);

  std::string message_;  // the gRPC-framed response, at most kGrpcCheckMessageLimit bytes
  Verdict verdict_ = Verdict::Pending;
  std::string reason_;
};

}  // namespace portico::upstream
