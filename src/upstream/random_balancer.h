#pragma once
// Weighted random (`lb: random`): each pick chooses a candidate with probability
// weight / sum(weights of the candidates the pick may use), with the host set's effective
// weights (slow start included, upstream/slow_start.h). No rotation to keep, so it needs
// no coordination at all and behaves the same with one worker or many; over few requests it
// is less even than round robin, over many it converges to the weights.
//
// State is per worker: the generator (seeded from the worker's seed, so workers draw
// different sequences) and the running sums of the candidates' weights, rebuilt on setHosts.

#include <cstdint>
#include <vector>

#include "upstream/load_balancer.h"
#include "upstream/random_pick.h"

namespace portico::upstream {

class RandomBalancer final : public LoadBalancer {
 public:
  explicit RandomBalancer(uint64_t seed) : random_(seed) {}
  void setHosts(const HostSetPtr& hosts) override;
  Host* pick(const LoadBalancerContext& context) override;

 private:
  // One draw over every candidate (O(log n)); the caller rejects an avoided result.
  Host* drawAny();
  // One pass over the candidates the pick may use: for when many are avoided.
  Host* drawAllowed(const HostExclusions& avoid);

  LbRandom random_;
  HostSetPtr hosts_;
  std::vector<uint64_t> cumulative_;  // cumulative_[i] = sum of weights of candidates[0..i]
  bool equal_weights_ = true;         // then a draw is a plain index, no search
};

}  // namespace portico::upstream
