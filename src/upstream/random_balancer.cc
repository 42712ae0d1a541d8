#include "upstream/random_balancer.h"

#include <algorithm>

namespace portico::upstream {

void RandomBalancer::setHosts(const HostSetPtr& hosts) {
  hosts_ = hosts;
  const std::vector<uint32_t>& weights = hosts->weights();
  cumulative_.clear();
  uint64_t total = 0;
  for (const HostPtr& h : hosts->candidates()) {
    total += weights[h->index()];
    cumulative_.push_back(total);
  }
  const auto& c = hosts->candidates();
  equal_weights_ = std::all_of(c.begin(), c.end(), [&](const HostPtr& h) {
    return weights[h->index()] == weights[c.front()->index()];
  });
}

Host* RandomBalancer::drawAny() {
  const auto& candidates = hosts_->candidates();
  if (equal_weights_) return candidates[random_.below(candidates.size())].get();
  const uint64_t r = random_.below(cumulative_.back());
  // The first candidate whose running sum exceeds r: host i owns [cumulative[i-1], cumulative[i]).
  const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), r);
  return candidates[static_cast<size_t>(it - cumulative_.begin())].get();
}

Host* RandomBalancer::drawAllowed(const HostExclusions& avoid) {
  const std::vector<uint32_t>& weights = hosts_->weights();
  uint64_t total = 0;
  for (const HostPtr& h : hosts_->candidates()) {
    if (!avoid.has(*h)) total += weights[h->index()];
  }
  if (total == 0) return nullptr;
  uint64_t r = random_.below(total);
  for (const HostPtr& h : hosts_->candidates()) {
    if (avoid.has(*h)) continue;
    const uint32_t w = weights[h->index()];
    if (r < w) return h.get();
    r -= w;
  }
  return nullptr;  // not reached: r < total
}

Host* RandomBalancer::pick(const LoadBalancerContext& context) {
  if (hosts_ == nullptr || hosts_->candidates().empty()) return nullptr;
  // Rejecting an avoided draw and drawing again keeps the weights exact among the rest; after
  // a few misses most of the weight is avoided and one pass is cheaper.
  for (int attempt = 0; attempt < 4; ++attempt) {
    Host* h = drawAny();
    if (!context.avoid->has(*h)) return h;
  }
  return drawAllowed(*context.avoid);
}

}  // namespace portico::upstream
