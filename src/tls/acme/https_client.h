#pragma once
// A small blocking HTTPS/1.1 client for the ACME thread: one request per connection
// (Connection: close), the server verified against a CA bundle and its name (or IP), every
// socket operation bounded by a timeout. Never used on a worker or the main loop.

#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "tls/handles.h"

namespace portico::tls::acme {

// Lets another thread abort the request in flight (at shutdown): the socket is shut down,
// which wakes any blocking read or write, and no new request starts.
class Cancellation {
 public:
  void cancel();
  bool cancelled() const;
  // The socket of the request in flight (-1: none). False when already cancelled.
  bool track(int fd);

 private:
  mutable std::mutex mutex_;
  int fd_ = -1;
  bool cancelled_ = false;
};

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  // The first value of a header (name in lower case), or empty.
  std::string header(std::string_view name) const;
};

class HttpsClient {
 public:
  // `ca`: a PEM bundle to verify servers against; empty: the system's.
  static Result<HttpsClient> create(const std::string& ca, int64_t timeout_ms,
                                    Cancellation* cancellation = nullptr);

  // `body` non-empty (or method POST) sends it with `content_type`. Fails on connection,
  // TLS, verification or framing errors and timeouts; any HTTP status is a response.
  Result<HttpResponse> request(const std::string& method, const std::string& url,
                               const std::string& content_type = {}, const std::string& body = {},
                               const std::string& accept = {}) const;

 private:
  std::shared_ptr<SSL_CTX> ctx_;
  int64_t timeout_ms_ = 10000;
  Cancellation* cancellation_ = nullptr;
};

}  // namespace portico::tls::acme
