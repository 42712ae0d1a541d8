#pragma once
// The JSON document GET /status answers with: the server, its listeners, and per cluster and
// endpoint the counters of stats/upstream_stats.h summed over the workers, plus each host's
// health as the main thread last set it. Built on the main thread when asked; the numbers are
// a consistent-enough snapshot (each counter is read once, while workers keep counting), not
// an atomic one. Later metrics work (Prometheus text) reads the same sums.
//
// Shape (docs/operations.md describes every field):
//   {"server": {version, uptime_seconds, workers, draining, connections},
//    "listeners": [{name, address}],
//    "clusters": [{name, lb, counters, errors, refusals, latency_ms, gauges,
//                  endpoints: [{address, weight, priority, health, active_requests,
//                               counters, errors, latency_ms, gauges}]}]}

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "upstream/cluster_manager.h"

namespace portico::admin {

struct ListenerStatus {
  std::string name;
  std::string address;
};

struct ServerStatus {
  std::string version;
  int64_t uptime_ms = 0;
  size_t workers = 0;
  bool draining = false;
  uint64_t connections = 0;  // downstream connections open, all workers
  std::vector<ListenerStatus> listeners;
};

// "healthy", "failed_active_check", "ejected" (an ejected host that also fails its active
// check reports "failed_active_check": that one lasts until checks pass again).
const char* healthName(const upstream::Host& host);
const char* lbName(upstream::LbPolicy policy);

nlohmann::ordered_json statusReport(
    const ServerStatus& server,
    const std::vector<std::unique_ptr<upstream::ClusterState>>& clusters);

}  // namespace portico::admin
