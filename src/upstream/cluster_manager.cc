#include "upstream/cluster_manager.h"

namespace portico::upstream {

ThreadLocalCluster::ThreadLocalCluster(event::EventLoop& loop, ClusterState& state)
    : state_(state), lb_(makeLoadBalancer(state.config, &state.rr_position)) {
  for (const EndpointConfig& e : state.config.endpoints) {
    pools_.push_back(
        std::make_unique<ConnPool>(loop, state.config, e, *state.transport, kUpstreamBufferLimit));
  }
}

ClusterManager::ClusterManager(event::EventLoop& loop,
                               const std::vector<std::unique_ptr<ClusterState>>& states) {
  for (const auto& s : states) clusters_.push_back(std::make_unique<ThreadLocalCluster>(loop, *s));
}

void ClusterManager::closeIdle() {
  for (auto& c : clusters_) {
    for (size_t i = 0; i < c->endpointCount(); ++i) c->pool(i).closeIdle();
  }
}

PoolStats ClusterManager::totals() const {
  PoolStats t;
  for (const auto& c : clusters_) {
    for (size_t i = 0; i < c->endpointCount(); ++i) {
      const PoolStats& s = c->pool(i).stats();
      t.connections_opened += s.connections_opened;
      t.connections_reused += s.connections_reused;
      t.connect_failures += s.connect_failures;
      t.connect_timeouts += s.connect_timeouts;
      t.streams_opened += s.streams_opened;
    }
  }
  return t;
}

}  // namespace portico::upstream
