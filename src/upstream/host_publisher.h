#pragma once
// HostPublisher: the main thread's way to change what workers balance over. Whoever changes a
// host's health (active health checks, outlier detection) or a cluster's membership (DNS)
// does so on the main thread and then calls publish(): a new immutable HostSet is built from
// every host's current flags and handed to each worker (HostSetSink, implemented by the
// server: one posted task per worker), which swaps it in between picks.

#include <cstddef>
#include <memory>
#include <vector>

#include "upstream/cluster_manager.h"
#include "upstream/host_set.h"

namespace portico::upstream {

class HostSetSink {
 public:
  virtual ~HostSetSink() = default;
  // Main thread: make every worker balance cluster `cluster_index` over `set`.
  virtual void deliverHostSet(size_t cluster_index, HostSetPtr set) = 0;
};

class HostPublisher {
 public:
  HostPublisher(const std::vector<std::unique_ptr<ClusterState>>& clusters, HostSetSink& sink)
      : clusters_(clusters), sink_(sink) {}
  // Main thread. Logs how many endpoints are healthy, and when the cluster enters or leaves
  // panic. Returns the set it delivered.
  HostSetPtr publish(size_t cluster_index);

 private:
  const std::vector<std::unique_ptr<ClusterState>>& clusters_;
  HostSetSink& sink_;
  std::vector<bool> panic_;  // last published panic state, by cluster index
};

}  // namespace portico::upstream
