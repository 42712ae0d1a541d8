#pragma once
// A worker for tests that drive a real ConnectionManager: its own loop, no clusters, and the
// access log lines kept in memory. Plus a FilterFactory made from a lambda, and a listener
// whose one route takes every request (tests replace its terminal filter).

#include <memory>
#include <memory_resource>
#include <string>
#include <vector>

#include "filters/filter.h"
#include "proxy/connection_manager.h"
#include "proxy/route_config.h"
#include "proxy/worker_services.h"

namespace portico::testing {

class FakeWorker final : public proxy::WorkerServices {
 public:
  struct Logged {
    uint16_t status = 0;
    std::string path;
    std::string failure;
  };

  FakeWorker() : clusters_(loop_, no_clusters_, 0) {}
  event::EventLoop& loop() override { return loop_; }
  upstream::ClusterManager& clusters() override { return clusters_; }
  proxy::WorkerCounters& counters() override { return counters_; }
  bool draining() const override { return false; }
  void logAccess(const http::RequestHead* request, const proxy::StreamInfo& info,
                 const net::Address&) override {
    logged_status = info.status;
    logged_path = request ? request->path : "";
    logged.push_back({info.status, logged_path, info.failure});
  }
  void onConnectionClosed(proxy::ConnectionManager* c) override {
    loop_.deferredDelete(std::unique_ptr<event::Deletable>(c));
  }

  uint16_t logged_status = 0;  // of the last line
  std::string logged_path;
  std::vector<Logged> logged;

 private:
  event::EventLoop loop_;
  std::vector<std::unique_ptr<upstream::ClusterState>> no_clusters_;
  upstream::ClusterManager clusters_;
  proxy::WorkerCounters counters_;
};

template <typename MakeFilter>
class LambdaFactory final : public filters::FilterFactory {
 public:
  explicit LambdaFactory(MakeFilter make) : make_(std::move(make)) {}
  filters::Filter* create(std::pmr::memory_resource& arena) const override { return make_(arena); }

 private:
  MakeFilter make_;
};

inline proxy::ListenerConfig catchAllListener(std::string name) {
  proxy::ListenerConfig listener;
  listener.name = std::move(name);
  proxy::VirtualHostConfig vh;
  vh.name = "all";
  vh.domains = {"*"};
  proxy::RouteConfig route;
  route.action = proxy::RouteConfig::ActionKind::Direct;
  vh.routes.push_back(route);
  listener.virtual_hosts.push_back(vh);
  return listener;
}

}  // namespace portico::testing
