#pragma once
// Server: the main thread's orchestration. It loads the configuration, binds every listener
// once per worker (so bind errors surface before anything starts), starts the workers, then
// waits for signals: SIGTERM/SIGINT start a graceful drain bounded by drain_timeout; SIGHUP
// reloads TLS certificates (see certificate_reloader.h) and checks ACME ones (tls/acme/manager.h).

#include <memory>
#include <vector>

#include "config/server_config.h"
#include "proxy/snapshot.h"
#include "server/access_log.h"
#include "server/worker.h"

namespace portico::server {

class Server {
 public:
  explicit Server(config::ServerConfig config);
  ~Server();
  // Binds, starts workers and blocks until shutdown. Returns the process exit code.
  int run();

 private:
  config::ServerConfig config_;
  std::shared_ptr<const proxy::ProxySnapshot> snapshot_;
  std::unique_ptr<AccessLogWriter> access_log_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace portico::server
