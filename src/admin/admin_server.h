#pragma once
// The admin listener: a small HTTP/1.1 server on the main thread's event loop, apart from the
// proxy listeners and never on a worker, so reading the status never competes with traffic
// and a busy worker cannot make it stall.
//
// Requests are read with the project's HTTP/1 parser (http1/parser.h) under tight limits:
// a 8 KiB head, no request body, at most kMaxRequestsPerConnection requests on a keep-alive
// connection, kMaxConnections connections at once, and each request must arrive complete
// within kRequestTimeoutMs of the connection opening or the previous answer. Malformed input
// gets the parser's status (400, 414, 431, 505) and the connection is closed; the listener
// keeps serving.
//
// Endpoints: GET (or HEAD) /status -> application/json (admin/status_report.h), /ready -> 200
// while serving, 503 while draining. Any other path 404; any other method 405.

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>

#include "admin/status_report.h"
#include "config/server_config.h"
#include "event/event_loop.h"

namespace portico::admin {

class AdminConnection;

// What the endpoints read; the server implements it (main thread).
class AdminSource {
 public:
  virtual ~AdminSource() = default;
  virtual ServerStatus serverStatus() const = 0;
  virtual const std::vector<std::unique_ptr<upstream::ClusterState>>& clusters() const = 0;
};

struct AdminReply {
  uint16_t status = 200;
  std::string content_type = "text/plain";
  std::string body;
  const char* allow = nullptr;  // the Allow field of a 405
};

// The answer to one request: routing and the endpoints, apart from the HTTP plumbing.
AdminReply handleAdminRequest(http::Method method, std::string_view target,
                              const AdminSource& source);

class AdminServer final : public event::IoHandler {
 public:
  static constexpr size_t kMaxConnections = 64;
  static constexpr uint32_t kMaxRequestsPerConnection = 100;
  static constexpr int64_t kRequestTimeoutMs = 10000;

  AdminServer(event::EventLoop& loop, const AdminSource& source);
  ~AdminServer() override;
  // Binds; false (and `error`) when the address cannot be had.
  bool listen(const config::AdminConfig& config, std::string* error);

  void onIoReady(uint32_t events) override;

 private:
  friend class AdminConnection;
  void onConnectionDone(AdminConnection* connection);

  event::EventLoop& loop_;
  const AdminSource& source_;
  int fd_ = -1;
  std::unordered_set<AdminConnection*> connections_;  // owned
};

}  // namespace portico::admin
