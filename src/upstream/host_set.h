#pragma once
// HostSet: one cluster's hosts at one moment, and the ones to balance over now. Immutable.
//
// The main thread builds a new set whenever membership (DNS) or health changes and posts it to
// every worker, which swaps it in between picks (ThreadLocalCluster::setHosts). A request that
// already chose a host keeps it; nothing is locked on the request path.
//
// Which hosts take traffic (priority levels and panic):
//  - hosts are grouped by priority, 0 first; a level is "enough" when it has a healthy host
//    and at least panic_threshold percent of its hosts are healthy;
//  - Portico balances over the healthy hosts of the first level that is enough, together with
//    the healthy hosts of the levels before it (which were too few to carry the load alone):
//    backups take traffic only when the primaries are unhealthy, and then alongside what is
//    left of them;
//  - when no level is enough, Portico panics: it balances over every host of every level,
//    healthy or not, rather than send all traffic to the few left (or refuse it). A panic
//    threshold of 0 turns panic off: with no healthy host a request gets 503.

#include <cstdint>
#include <memory>
#include <vector>

#include "upstream/host.h"

namespace portico::upstream {

class HostSet {
 public:
  // `hosts` in index order (hosts[i]->index() == i is not required, but indices are unique).
  // Reads each host's health flags once, now: later flag changes need a new set.
  static std::shared_ptr<const HostSet> build(std::vector<HostPtr> hosts,
                                              uint32_t panic_threshold_percent);

  const std::vector<HostPtr>& all() const { return all_; }
  // What balancers pick from (see above); empty only when no host exists, or when none is
  // healthy and panic is off.
  const std::vector<HostPtr>& candidates() const { return candidates_; }
  bool panic() const { return panic_; }
  // One past the highest host index: the size of per-worker tables indexed by Host::index().
  uint32_t indexLimit() const { return index_limit_; }
  size_t healthyCount() const { return healthy_count_; }

 private:
  std::vector<HostPtr> all_;
  std::vector<HostPtr> candidates_;
  bool panic_ = false;
  uint32_t index_limit_ = 0;
  size_t healthy_count_ = 0;
};

using HostSetPtr = std::shared_ptr<const HostSet>;

}  // namespace portico::upstream
