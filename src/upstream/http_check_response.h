#pragma once
// HttpCheckResponse: judges the backend's answer to an HTTP health check, sans I/O. Bytes are
// fed as they arrive and parsed with the project's HTTP/1 response parser (never searched as
// text); the verdict comes as soon as it is known: at the head when the status is not
// expected or no body check is configured, at the first body bytes that contain
// `body_contains`, or at the end of the body (or after kHealthCheckBodyLimit bytes) when they
// did not.

#include <cstddef>
#include <string>

#include "http/message.h"
#include "http1/parser.h"
#include "upstream/health_check_config.h"

namespace portico::upstream {

class HttpCheckResponse {
 public:
  // `head_request`: the check was sent as HEAD (its response has no body).
  HttpCheckResponse(const HealthCheckConfig& config, bool head_request);

  enum class Verdict { Pending, Healthy, Unhealthy };
  // Consumes all of `data`. Once the verdict is not Pending, further calls change nothing.
  Verdict feed(const char* data, size_t len);
  // The backend closed the connection.
  Verdict onEof();
  Verdict verdict() const { return verdict_; }
  // Why it is unhealthy, for the transition log line: "status 503", "body mismatch", ...
  const std::string& reason() const { return reason_; }

 private:
  Verdict feedContiguous(const char* data, size_t len);
  Verdict fail(std::string why);
  Verdict onHead();
  void onBody(const char* data, size_t len);
  Verdict onComplete();

  const HealthCheckConfig& config_;
  http::ResponseHead head_;
  http1::ResponseParser parser_;
  std::string carry_;  // bytes the parser did not take yet (passed again with the next ones)
  std::string body_;   // kept only while body_contains is looked for, bounded
  Verdict verdict_ = Verdict::Pending;
  std::string reason_;
};

}  // namespace portico::upstream
