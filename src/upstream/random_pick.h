#pragma once
// Randomness for the balancers that choose at random (random, least_request, peak_ewma).
//
// Each balancer owns one LbRandom, so the generator is per worker and per cluster: no shared
// state, no lock, no atomic on the pick path. It is seeded from the worker's seed (see
// makeLoadBalancer), so workers draw different sequences, and a test that fixes the seed gets
// a repeatable one. Not for anything secret.

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "upstream/load_balancer.h"

namespace portico::upstream {

class LbRandom {
 public:
  // The seed is spread first: workers' seeds are small neighbouring integers.
  explicit LbRandom(uint64_t seed) : engine_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  // Uniform in [0, n), n > 0. The modulo bias is below n / 2^64: nothing for host counts.
  uint64_t below(uint64_t n) { return engine_() % n; }

 private:
  std::mt19937_64 engine_;
};

// Chooses up to `k` distinct hosts among `candidates` that `avoid` does not hold, uniformly at
// random, into out[0..k). Returns how many it chose: fewer than `k` only when fewer are
// allowed. A few random draws do it when most candidates are allowed (the usual case: avoid
// holds only the hosts this request already tried); otherwise it falls back to one pass
// that lists the allowed ones, so a pick never loops long. `scratch` is the caller's reused
// list for that pass.
size_t sampleAllowed(const std::vector<HostPtr>& candidates, const HostExclusions& avoid,
                     LbRandom& random, size_t k, Host** out, std::vector<Host*>& scratch);

}  // namespace portico::upstream
