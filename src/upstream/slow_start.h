#pragma once
// Slow start (`slow_start:` of a cluster): a host that joins the healthy set while Portico
// runs gets a share of traffic that grows over a window instead of its full share at once, so
// a backend with cold caches, an empty JIT or a just-restarted pool is not flooded by its
// first second of traffic. The curve is Envoy's slow_start_config:
//
//   factor = max(min_weight_percent / 100, (time_in_set / window) ^ (1 / aggression))
//   effective weight = weight x factor, until time_in_set reaches the window
//
// A host "joins" when it turns healthy after being unhealthy (active check recovered, outlier
// ejection ended) or appears in a later host set (DNS); Host::healthySinceMs() holds when, set
// by the main thread (HostPublisher). The hosts a process starts with are not ramped.
//
// Where it applies: HostSet::build() turns the factor into per-host effective weights, which
// weighted_round_robin, round_robin (as weight 1 x factor), random, least_request and
// peak_ewma read. Ring hash and Maglev ignore it: a ramping host would have to own a growing
// slice of the key space, moving keys twice; a consistent-hash host takes its keys at once.
//
// How the ramp advances: host sets are immutable, so while some host ramps the main thread
// republishes the cluster's set every rampTickMs() (HostPublisher). The balancers then need
// no clock and no per-pick check: their pick cost with nothing ramping is what it was.

#include <cstdint>

#include "upstream/cluster_config.h"

namespace portico::upstream {

// Effective weights are integers scaled by this, so a weight-1 host at 10% is still 100, and
// any set's weights share one scale (smooth round robin keeps running sums across sets).
inline constexpr uint32_t kWeightScale = 1000;

// The factor x kWeightScale for a host `time_in_set_ms` into its window: kWeightScale once the
// window is over (or time_in_set_ms is negative: not ramping), never below 1.
uint32_t slowStartScaled(const SlowStartConfig& config, int64_t time_in_set_ms);

// How often the main thread republishes a set while a host of it ramps: a tenth of the window,
// between 100 ms and 1 s. Each step moves a host's weight by at most about a tenth of it.
int64_t rampTickMs(const SlowStartConfig& config);

}  // namespace portico::upstream
