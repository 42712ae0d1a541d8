#pragma once
// Least request (`lb: least_request`): the power of `choices` random choices. Each pick draws
// `choices` distinct random candidates (2 by default) among those the pick may use and takes
// the one with the fewest requests in flight relative to its weight, (active + 1) / weight,
// with the host set's effective weight (slow start included, upstream/slow_start.h).
// Comparing a couple of random hosts instead of scanning all of them costs O(1), and it avoids
// the herd a global minimum causes: every worker would send its next request to the same
// momentarily idle host.
//
// State: the in-flight counts are Host::activeRequests(), shared by every worker, so a pick
// sees the load the other workers put on a host too (that is the point). The generator is per
// worker, seeded from the worker's seed.

#include <cstdint>
#include <vector>

#include "upstream/load_balancer.h"
#include "upstream/random_pick.h"

namespace portico::upstream {

class LeastRequestBalancer final : public LoadBalancer {
 public:
  // `choices`: 2..kMaxChoices (the loader checks; larger values are clamped).
  static constexpr uint32_t kMaxChoices = 10;
  LeastRequestBalancer(uint32_t choices, uint64_t seed);
  void setHosts(const HostSetPtr& hosts) override { hosts_ = hosts; }
  Host* pick(const LoadBalancerContext& context) override;

 private:
  size_t choices_;
  LbRandom random_;
  HostSetPtr hosts_;
  std::vector<Host*> scratch_;
};

}  // namespace portico::upstream
