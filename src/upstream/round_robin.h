#pragma once
// Smooth weighted round robin (nginx's algorithm): over sum(weights) picks each host is chosen
// `weight` times, interleaved rather than in bursts (weights 5,1,1 give a a b a c a a, not
// a a a a a b c). `lb: round_robin` runs it with every weight taken as 1: a plain rotation.
//
// Weights are the host set's effective weights (HostSet::weights(), or HostSet::ramps() for
// `round_robin`), so a host in slow start (upstream/slow_start.h) gets its growing share in
// both; with nothing ramping they are the configured weights (or all equal), scaled, and the
// pick does exactly the work it did before.
//
// State is per worker: each worker rotates on its own, starting at a different place (the
// seed), so N workers together still spread evenly without sharing a counter. The running
// "current weight" of each host is kept by host index across host set changes.

#include <cstdint>
#include <vector>

#include "upstream/load_balancer.h"

namespace portico::upstream {

class RoundRobinBalancer final : public LoadBalancer {
 public:
  RoundRobinBalancer(bool use_weights, uint64_t seed) : use_weights_(use_weights), seed_(seed) {}
  void setHosts(const HostSetPtr& hosts) override;
  Host* pick(const LoadBalancerContext& context) override;

 private:
  bool use_weights_;
  uint64_t seed_;
  bool started_ = false;
  HostSetPtr hosts_;
  std::vector<int64_t> current_;       // by Host::index()
  const uint32_t* weights_ = nullptr;  // by Host::index(), into hosts_
};

}  // namespace portico::upstream
