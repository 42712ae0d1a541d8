#pragma once
// One OCSP request over plain HTTP/1.1 (RFC 6960 appendix A.1: POST, application/ocsp-request),
// on the main thread's event loop: name resolution (getaddrinfo_a, polled), a non-blocking
// connect, send and read, all under one deadline, and the response capped at 64 KiB.

#include <netdb.h>
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "event/event_loop.h"
#include "tls/ocsp.h"

namespace portico::tls {

inline constexpr size_t kMaxOcspHttpResponse = 64 * 1024;

// The HTTP request carrying a DER OCSPRequest to `url`.
std::string ocspHttpRequest(const HttpUrl& url, std::string_view der);

// Reads an HTTP/1.x response as it arrives. `complete` is true once the peer closed.
// done with the body when the response is whole; not done when more bytes are needed; an Error
// when it can never be a usable 200 response.
struct HttpBodyResult {
  bool done = false;
  std::string body;
};
Result<HttpBodyResult> parseOcspHttpResponse(std::string_view raw, bool complete);

class OcspFetch final : public event::IoHandler, public event::Deletable {
 public:
  using Done = std::function<void(Result<std::string> der)>;

  // Starts at once. `done` runs exactly once, on the loop, unless the fetch is destroyed first;
  // it may destroy the fetch only through loop.deferredDelete.
  OcspFetch(event::EventLoop& loop, HttpUrl url, std::string request_der, int64_t timeout_ms,
            Done done);
  ~OcspFetch() override;

  void onIoReady(uint32_t events) override;

 private:
  void start();
  void pollResolution();
  void takeAddresses(addrinfo* list);  // and frees it
  void connectNext();
  void onWritable();
  void onReadable();
  void finish(Result<std::string> result);
  void closeSocket();

  event::EventLoop& loop_;
  HttpUrl url_;
  std::string request_;  // the whole HTTP request
  size_t sent_ = 0;
  std::string received_;
  Done done_;
  event::Timer deadline_;
  event::Timer poll_;
  std::string port_text_;
  struct Lookup;
  std::unique_ptr<Lookup> lookup_;  // while resolving a name
  std::vector<std::pair<sockaddr_storage, socklen_t>> addresses_;
  size_t next_address_ = 0;
  std::string last_error_;
  int fd_ = -1;
  bool connected_ = false;
  bool finished_ = false;
};

}  // namespace portico::tls
