#include "upstream/least_request.h"

#include <algorithm>

namespace portico::upstream {

namespace {

// a is less loaded than b: (active_a + 1) / weight_a < (active_b + 1) / weight_b, compared
// without division. The + 1 counts the request being placed, so that between two idle hosts
// the heavier one wins.
// Weights are the set's effective ones (slow start included).
bool lessLoaded(const Host& a, const Host& b, const uint32_t* weights) {
  return (uint64_t{a.activeRequests()} + 1) * weights[b.index()] <
         (uint64_t{b.activeRequests()} + 1) * weights[a.index()];
}

}  // namespace

LeastRequestBalancer::LeastRequestBalancer(uint32_t choices, uint64_t seed)
    : choices_(std::clamp<uint32_t>(choices, 2, kMaxChoices)), random_(seed) {}

Host* LeastRequestBalancer::pick(const LoadBalancerContext& context) {
  if (hosts_ == nullptr) return nullptr;
  Host* drawn[kMaxChoices];
  const size_t n =
      sampleAllowed(hosts_->candidates(), *context.avoid, random_, choices_, drawn, scratch_);
  if (n == 0) return nullptr;
  // Ties go to the first drawn, which is itself random.
  const uint32_t* weights = hosts_->weights().data();
  Host* best = drawn[0];
  for (size_t i = 1; i < n; ++i) {
    if (lessLoaded(*drawn[i], *best, weights)) best = drawn[i];
  }
  return best;
}

}  // namespace portico::upstream
