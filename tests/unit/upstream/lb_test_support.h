#pragma once
// Helpers for balancer tests: hosts with given weights, and a picker that reports indices.

#include <map>
#include <memory>
#include <vector>

#include "upstream/load_balancer.h"

namespace portico::upstream::testing {

// Hosts with these weights, indexed 0..n-1.
inline std::vector<HostPtr> hostsWithWeights(const std::vector<uint32_t>& weights) {
  std::vector<HostPtr> hosts;
  for (uint32_t w : weights) {
    EndpointConfig e;
    e.weight = w;
    hosts.push_back(std::make_shared<Host>(e, static_cast<uint32_t>(hosts.size())));
  }
  return hosts;
}

inline ClusterConfig withPolicy(LbPolicy policy) {
  ClusterConfig c;
  c.lb = policy;
  return c;
}

// A balancer given one host set, picking with `avoid` (empty until a test adds to it).
struct Picker {
  Picker(std::unique_ptr<LoadBalancer> b, HostSetPtr set) : lb(std::move(b)) {
    lb->setHosts(set);
    context.avoid = &avoid;
  }
  // The picked host's index, or -1 for none.
  int pick() {
    Host* h = lb->pick(context);
    return h == nullptr ? -1 : static_cast<int>(h->index());
  }
  // How often each index was picked in `n` picks.
  std::map<int, int> counts(int n) {
    std::map<int, int> c;
    for (int i = 0; i < n; ++i) ++c[pick()];
    return c;
  }
  std::unique_ptr<LoadBalancer> lb;
  HostExclusions avoid;
  LoadBalancerContext context;
};

}  // namespace portico::upstream::testing
