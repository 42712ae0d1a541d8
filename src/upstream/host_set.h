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
//
// Effective weights: each host's weight as balancers use it, scaled by kWeightScale and, for a
// host in slow start, by its ramp factor at the time the set was built (upstream/slow_start.h).
// A ramping set is rebuilt and republished by the main thread as the ramp advances.

#include <cstdint>
#include <memory>
#include <vector>

#include "upstream/host.h"
#include "upstream/slow_start.h"

namespace portico::upstream {

class HostSet {
 public:
  // `hosts` in index order (hosts[i]->index() == i is not required, but indices are unique).
  // Reads each host's health flags once, now: later flag changes need a new set.
  // `slow_start` (may be null: off) and `now_ms` (monotonic) give the ramp factors.
  static std::shared_ptr<const HostSet> build(std::vector<HostPtr> hosts,
                                              uint32_t panic_threshold_percent,
                                              const SlowStartConfig* slow_start = nullptr,
                                              int64_t now_ms = 0);

  const std::vector<HostPtr>& all() const { return all_; }
  // What balancers pick from (see above); empty only when no host exists, or when none is
  // healthy and panic is off.
  const std::vector<HostPtr>& candidates() const { return candidates_; }
  bool panic() const { return panic_; }
  // One past the highest host index: the size of per-worker tables indexed by Host::index().
  uint32_t indexLimit() const { return index_limit_; }
  size_t healthyCount() const { return healthy_count_; }
  // By Host::index(): weight x kWeightScale x ramp factor (what weighted balancers compare).
  const std::vector<uint32_t>& weights() const { return weights_; }
  // By Host::index(): kWeightScale x ramp factor, the weight of a host when every configured
  // weight counts as 1 (round_robin, peak_ewma).
  const std::vector<uint32_t>& ramps() const { return ramps_; }
  // Some candidate is in slow start: its weight grows in the sets that follow.
  bool ramping() const { return ramping_; }

 private:
  // Levels, candidates and panic from the health flags.
  static std::shared_ptr<HostSet> buildMembers(std::vector<HostPtr> hosts,
                                               uint32_t panic_threshold_percent);

  std::vector<HostPtr> all_;
  std::vector<HostPtr> candidates_;
  bool panic_ = false;
  uint32_t index_limit_ = 0;
  size_t healthy_count_ = 0;
  std::vector<uint32_t> weights_;
  std::vector<uint32_t> ramps_;
  bool ramping_ = false;
};

using HostSetPtr = std::shared_ptr<const HostSet>;

}  // namespace portico::upstream
