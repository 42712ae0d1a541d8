#pragma once
// Keeping a cluster's Host objects across membership changes (DNS discovery), on the main
// thread.
//
// A host that stays (same address, weight and priority) keeps its Host object, so its health
// flags, in-flight count and, on every worker, its connection pool (indexed by Host::index())
// stay. A new endpoint gets a new Host with a NEW index, taken from a counter that only grows:
// a worker may still hold a pool (with busy connections) under the index of a host that left,
// and must never find a different host's requests sent to it. Per-worker tables grow to
// HostSet::indexLimit(). A weight or priority change is a new Host (both are fixed for a
// host's life, because balancers read them without locks), and so is a change of the DNS name
// an address came under (its TLS name and Host).

#include <cstdint>
#include <vector>

#include "upstream/host.h"

namespace portico::upstream {

struct HostListChange {
  std::vector<HostPtr> hosts;    // the new list: kept hosts and new ones, in `desired` order
  std::vector<HostPtr> added;    // new Host objects
  std::vector<HostPtr> removed;  // hosts of `current` that are not in `hosts`
  bool changed() const { return !added.empty() || !removed.empty(); }
};

// `desired` may repeat an address (two names resolving to one backend): the first entry wins.
// `next_index` is the cluster's counter; new hosts take indices from it.
HostListChange updateHostList(const std::vector<HostPtr>& current,
                              const std::vector<EndpointConfig>& desired, uint32_t* next_index);

// Main thread: told when a cluster's hosts change (DNS), after ClusterState::hosts was
// updated and before the new set is published. Health checks start and stop probing;
// outlier detection forgets ejections of hosts that left.
class HostListObserver {
 public:
  virtual ~HostListObserver() = default;
  virtual void hostsChanged(size_t cluster_index, const std::vector<HostPtr>& added,
                            const std::vector<HostPtr>& removed) = 0;
};

}  // namespace portico::upstream
