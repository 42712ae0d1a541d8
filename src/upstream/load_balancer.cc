#include "upstream/load_balancer.h"

#include "upstream/maglev.h"
#include "upstream/ring_hash.h"
#include "upstream/round_robin.h"

namespace portico::upstream {

std::unique_ptr<LoadBalancer> makeLoadBalancer(const ClusterConfig& config, uint64_t seed) {
  switch (config.lb) {
    case LbPolicy::WeightedRoundRobin:
      return std::make_unique<RoundRobinBalancer>(/*use_weights=*/true, seed);
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
