#include "upstream/load_balancer.h"

namespace portico::upstream {

int RoundRobinBalancer::pick(const std::vector<bool>& excluded) {
  for (size_t tries = 0; tries < count_; ++tries) {
    size_t i = position_->fetch_add(1, std::memory_order_relaxed) % count_;
    if (i >= excluded.size() || !excluded[i]) return static_cast<int>(i);
  }
  return -1;
}

WeightedRoundRobinBalancer::WeightedRoundRobinBalancer(const std::vector<EndpointConfig>& endpoints)
    : weights_(endpoints.size()), current_(endpoints.size(), 0) {
  for (size_t i = 0; i < endpoints.size(); ++i) weights_[i] = endpoints[i].weight;
}

int WeightedRoundRobinBalancer::pick(const std::vector<bool>& excluded) {
  int best = -1;
  int64_t total = 0;
  for (size_t i = 0; i < weights_.size(); ++i) {
    if (i < excluded.size() && excluded[i]) continue;
    current_[i] += weights_[i];
    total += weights_[i];
    if (best < 0 || current_[i] > current_[static_cast<size_t>(best)]) best = static_cast<int>(i);
  }
  if (best >= 0) current_[static_cast<size_t>(best)] -= total;
  return best;
}

std::unique_ptr<LoadBalancer> makeLoadBalancer(const ClusterConfig& config,
                                               std::atomic<uint64_t>* rr_position) {
  switch (config.lb) {
    case LbPolicy::WeightedRoundRobin:
      return std::make_unique<WeightedRoundRobinBalancer>(config.endpoints);
    case LbPolicy::RoundRobin:
      break;
  }
  return std::make_unique<RoundRobinBalancer>(config.endpoints.size(), rr_position);
}

}  // namespace portico::upstream
