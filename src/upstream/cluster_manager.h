#pragma once
// Clusters as each worker sees them. ClusterState is shared, immutable configuration plus the
// few atomics that must be global (round-robin position); ThreadLocalCluster is one worker's
// balancer and connection pools for it. Nothing here takes a lock.

#include <atomic>
#include <memory>
#include <vector>

#include "event/event_loop.h"
#include "upstream/cluster_config.h"
#include "upstream/conn_pool.h"
#include "upstream/load_balancer.h"

namespace portico::upstream {

struct ClusterState {
  explicit ClusterState(ClusterConfig c) : config(std::move(c)) {}
  ClusterConfig config;
  // Makes each upstream connection's transport: plain, or TLS with the cluster's context.
  std::shared_ptr<const net::TransportSocketFactory> transport = net::plainTransportFactory();
  std::atomic<uint64_t> rr_position{0};
};

// Default per-connection buffer limit towards backends.
inline constexpr size_t kUpstreamBufferLimit = 64 * 1024;

class ThreadLocalCluster {
 public:
  ThreadLocalCluster(event::EventLoop& loop, ClusterState& state);
  const ClusterConfig& config() const { return state_.config; }
  LoadBalancer& loadBalancer() { return *lb_; }
  ConnPool& pool(size_t endpoint) { return *pools_[endpoint]; }
  size_t endpointCount() const { return pools_.size(); }

 private:
  ClusterState& state_;
  std::unique_ptr<LoadBalancer> lb_;
  std::vector<std::unique_ptr<ConnPool>> pools_;
};

class ClusterManager {
 public:
  ClusterManager(event::EventLoop& loop, const std::vector<std::unique_ptr<ClusterState>>& states);
  ThreadLocalCluster* get(int index) {
    return index >= 0 && static_cast<size_t>(index) < clusters_.size()
               ? clusters_[static_cast<size_t>(index)].get()
               : nullptr;
  }
  void closeIdle();
  PoolStats totals() const;

 private:
  std::vector<std::unique_ptr<ThreadLocalCluster>> clusters_;
};

}  // namespace portico::upstream
