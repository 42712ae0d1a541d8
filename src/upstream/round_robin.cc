#include "upstream/round_robin.h"

namespace portico::upstream {

void RoundRobinBalancer::setHosts(const HostSetPtr& hosts) {
  hosts_ = hosts;
  weights_ = use_weights_ ? hosts->weights().data() : hosts->ramps().data();
  if (current_.size() < hosts->indexLimit()) current_.resize(hosts->indexLimit(), 0);
  if (started_ || hosts->candidates().empty()) return;
  started_ = true;
  // Start this worker's rotation somewhere else than its neighbours'.
  HostExclusions none;
  LoadBalancerContext context;
  context.avoid = &none;
  const uint64_t skip = seed_ % hosts->candidates().size();
  for (uint64_t i = 0; i < skip; ++i) pick(context);
}

Host* RoundRobinBalancer::pick(const LoadBalancerContext& context) {
  Host* best = nullptr;
  int64_t total = 0;
  for (const HostPtr& h : hosts_->candidates()) {
    if (context.avoid->has(*h)) continue;
    int64_t& current = current_[h->index()];
    const int64_t weight = weights_[h->index()];
    current += weight;
    total += weight;
    if (best == nullptr || current > current_[best->index()]) best = h.get();
  }
  if (best != nullptr) current_[best->index()] -= total;
  return best;
}

}  // namespace portico::upstream
