#pragma once
// Ring hash (ketama) consistent hashing, `lb: ring_hash`.
//
// Every candidate host gets points on a 64-bit ring, as many as its share of the ring by
// weight: point i of a host is hash64(canonical address, seed i), so the points depend only on
// the host's address and the ring's density, never on the other hosts. A request's hash key
// lands on the first point at or after it (wrapping); that point's host serves it. When a host
// leaves, only the keys that landed on its points move (to the next points, spread over the
// remaining hosts); when it comes back they return. An avoided host (already tried by this
// request, or full) is passed over: the walk goes on to the next point of a different host,
// which is also where the key would go if that host left.
//
// A request without a key gets a random point from the worker's own generator, so weights
// still hold.
//
// State is per worker: each worker builds the same ring from the same host set (it is a pure
// function of the candidates and the configuration), so workers agree without sharing it.

#include <cstdint>
#include <vector>

#include "upstream/hash.h"
#include "upstream/load_balancer.h"

namespace portico::upstream {

class RingHashBalancer final : public LoadBalancer {
 public:
  RingHashBalancer(const RingHashConfig& config, uint64_t seed) : config_(config), random_(seed) {}
  void setHosts(const HostSetPtr& hosts) override;
  Host* pick(const LoadBalancerContext& context) override;

  size_t ringSize() const { return points_.size(); }

 private:
  RingHashConfig config_;
  WorkerRandom random_;
  HostSetPtr hosts_;
  // The ring, sorted by point; owners_[i] is the candidate (index into candidates()) whose
  // point is points_[i]. Two arrays rather than pairs: the binary search touches only points.
  std::vector<uint64_t> points_;
  std::vector<uint32_t> owners_;
};

}  // namespace portico::upstream
