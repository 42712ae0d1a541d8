#pragma once
// Server: the main thread's orchestration. It loads the configuration, binds every listener
// once per worker (so bind errors surface before anything starts), starts the workers, then
// waits for signals: SIGTERM/SIGINT start a graceful drain bounded by drain_timeout; SIGHUP
// reloads TLS certificates (see certificate_reloader.h) and checks ACME ones (tls/acme/manager.h).

#include <memory>
#include <vector>

#include "admin/admin_server.h"
#include "config/server_config.h"
#include "proxy/snapshot.h"
#include "server/access_log.h"
#include "server/worker.h"
#include "upstream/host_publisher.h"
#include "upstream/outlier_detection.h"

namespace portico::server {

class Server final : private upstream::HostSetSink,
                     private upstream::OutlierReporter,
                     private admin::AdminSource {
 public:
  explicit Server(config::ServerConfig config);
  ~Server();
  // Binds, starts workers and blocks until shutdown. Returns the process exit code.
  int run();

 private:
  // upstream::HostSetSink: a new host set goes to every worker.
  void deliverHostSet(size_t cluster_index, upstream::HostSetPtr set) override;
  // upstream::OutlierReporter (any thread): the main thread's detector decides.
  void reportOutlier(size_t cluster_index, uint32_t host_index,
                     upstream::EjectReason reason) override;
  // admin::AdminSource (main thread): what the status endpoint reports.
  admin::ServerStatus serverStatus() const override;
  const std::vector<std::unique_ptr<upstream::ClusterState>>& clusters() const override {
    return snapshot_->clusters;
  }

  config::ServerConfig config_;
  std::shared_ptr<const proxy::ProxySnapshot> snapshot_;
  std::unique_ptr<AccessLogWriter> access_log_;
  std::vector<std::unique_ptr<Worker>> workers_;
  // Main thread: what health checks and outlier detection call after changing a host's health.
  std::unique_ptr<upstream::HostPublisher> hosts_;
  event::EventLoop* main_loop_ = nullptr;  // while run() runs
  std::unique_ptr<upstream::OutlierDetector> outliers_;
  bool draining_ = false;
  int64_t started_ms_ = 0;  // main loop clock, for uptime
};

}  // namespace portico::server
