#pragma once
// Maglev consistent hashing (Eisenbud et al., NSDI 2016), `lb: maglev`.
//
// A lookup table of a prime number of entries (maglev.table_size, 65537 by default) is filled
// from a permutation per host: host h prefers entries offset(h), offset(h)+skip(h), ... (mod
// the size), both hashed from its address, and the hosts take turns claiming their next
// preferred free entry until the table is full. A host with weight w takes a turn w/max times
// per round, so its share of entries follows its weight. A request's key picks an entry
// (key mod size): a pick is one array read, and when a host leaves, mostly its own entries
// change hands.
//
// An avoided host (tried already, or full): the key is rehashed with a few other seeds
// (each a deterministic, independent entry, so a retry spreads over the other hosts by their
// weights rather than all landing on one neighbour), then the table is walked on from the
// first entry to the next host not avoided.
//
// A request without a key gets a random entry from the worker's generator. State is per
// worker: every worker builds the same table from the same host set, without sharing it.

#include <cstdint>
#include <vector>

#include "upstream/hash.h"
#include "upstream/load_balancer.h"

namespace portico::upstream {

class MaglevBalancer final : public LoadBalancer {
 public:
  MaglevBalancer(const MaglevConfig& config, uint64_t seed) : config_(config), random_(seed) {}
  void setHosts(const HostSetPtr& hosts) override;
  Host* pick(const LoadBalancerContext& context) override;

  // Table entries owned by each candidate (by position in candidates()), for tests.
  std::vector<size_t> entriesPerCandidate() const;

 private:
  MaglevConfig config_;
  WorkerRandom random_;
  HostSetPtr hosts_;
  std::vector<uint32_t> table_;  // position in candidates(); empty when there is none
};

}  // namespace portico::upstream
