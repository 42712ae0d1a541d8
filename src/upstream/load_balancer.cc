#include "upstream/load_balancer.h"

#include "event/event_loop.h"
#include "upstream/least_request.h"
#include "upstream/maglev.h"
#include "upstream/peak_ewma.h"
#include "upstream/random_balancer.h"
#include "upstream/ring_hash.h"
#include "upstream/round_robin.h"

namespace portico::upstream {

std::unique_ptr<LoadBalancer> makeLoadBalancer(const ClusterConfig& config, uint64_t seed) {
  switch (config.lb) {
    case LbPolicy::WeightedRoundRobin:
      return std::make_unique<RoundRobinBalancer>(/*use_weights=*/true, seed);
    case LbPolicy::Random:
      return std::make_unique<RandomBalancer>(seed);
    case LbPolicy::LeastRequest:
      return std::make_unique<LeastRequestBalancer>(config.least_request_choices, seed);
    case LbPolicy::PeakEwma:
      return std::make_unique<PeakEwmaBalancer>(config.peak_ewma, seed, event::monotonicNowMs);
    case LbPolicy::RingHash:
      return std::make_unique<RingHashBalancer>(config.ring_hash, seed);
    case LbPolicy::Maglev:
      return std::make_unique<MaglevBalancer>(config.maglev, seed);
    case LbPolicy::RoundRobin:
      break;
  }
  return std::make_unique<RoundRobinBalancer>(/*use_weights=*/false, seed);
}

}  // namespace portico::upstream
