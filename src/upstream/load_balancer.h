#pragma once
// Load balancers pick an endpoint of a cluster for each attempt. Worker-local: each worker
// keeps its own balancer state, so picks take no lock (the cost: with several workers, round
// robin is exact per worker, not globally).

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "upstream/cluster_config.h"

namespace portico::upstream {

class LoadBalancer {
 public:
  virtual ~LoadBalancer() = default;
  // Picks an endpoint index, skipping those with excluded[i] set (endpoints already tried by
  // this request). Returns -1 when none is left.
  virtual int pick(const std::vector<bool>& excluded) = 0;
};

// Plain rotation; weights are ignored. The position is one relaxed atomic counter shared by
// all workers (it lives in the cluster's snapshot state), so the rotation is exact across
// workers: successive requests alternate even when they land on different workers. One
// uncontended-in-practice fetch_add per pick is the price; no lock is taken.
class RoundRobinBalancer final : public LoadBalancer {
 public:
  RoundRobinBalancer(size_t endpoint_count, std::atomic<uint64_t>* position)
      : count_(endpoint_count), position_(position) {}
  int pick(const std::vector<bool>& excluded) override;

 private:
  size_t count_;
  std::atomic<uint64_t>* position_;
};

// Smooth weighted round robin: over sum(weights) picks each endpoint is chosen `weight` times,
// interleaved rather than in bursts (weights 5,1,1 give a a b a c a a, not a a a a a b c).
class WeightedRoundRobinBalancer final : public LoadBalancer {
 public:
  explicit WeightedRoundRobinBalancer(const std::vector<EndpointConfig>& endpoints);
  int pick(const std::vector<bool>& excluded) override;

 private:
  std::vector<int64_t> weights_;
  std::vector<int64_t> current_;
};

// `rr_position` is the cluster's shared round-robin position (see RoundRobinBalancer).
std::unique_ptr<LoadBalancer> makeLoadBalancer(const ClusterConfig& config,
                                               std::atomic<uint64_t>* rr_position);

}  // namespace portico::upstream
