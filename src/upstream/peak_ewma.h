#pragma once
// Peak EWMA (`lb: peak_ewma`), the latency-aware balancer of Finagle and Linkerd: each pick
// draws two distinct random candidates and takes the cheaper, where
//
//   cost = latency estimate x (requests in flight + 1)
//
// The estimate is a moving average of the host's response latency that is pessimistic on
// purpose: an observation above it replaces it at once (the peak), one below it pulls it down
// gradually, with weight 1 - exp(-elapsed / decay) for the time since the previous one. A host
// that turns slow is avoided after one slow answer; one that recovers wins traffic back over
// about `decay`. When read for a pick the estimate also decays towards zero over the time
// since its last observation, so a host that lost all its traffic is tried again eventually
// instead of being judged forever on old news.
//
//  - A host with no observation yet is given the mean estimate of the observed hosts (a
//    neutral cost): it is neither avoided nor flooded, and is probed like any average host.
//  - A failed attempt (connect failure, timeout, reset) is observed as a latency of
//    max(failure_penalty, time it took), so a failing host becomes expensive at once.
//  - A host in slow start (upstream/slow_start.h) has its cost divided by its ramp factor:
//    weights are otherwise not used here, so a ramping host looks proportionally dearer.
//  - Latencies are whole milliseconds, so the cost uses estimate + 1 ms: hosts that all answer
//    within a millisecond compare by their load alone instead of all costing zero.
//
// State: the estimates are per worker (each worker learns from its own attempts: no sharing,
// no lock), kept by Host::index() so they survive new host sets. The in-flight counts are
// Host::activeRequests(), shared by every worker: the load term is global. The generator is
// per worker, seeded from the worker's seed.

#include <cstdint>
#include <functional>
#include <vector>

#include "upstream/load_balancer.h"
#include "upstream/random_pick.h"

namespace portico::upstream {

class PeakEwmaBalancer final : public LoadBalancer {
 public:
  // Milliseconds on a monotonic clock; injected so tests control time.
  using Clock = std::function<int64_t()>;
  PeakEwmaBalancer(const PeakEwmaConfig& config, uint64_t seed, Clock now_ms);
  void setHosts(const HostSetPtr& hosts) override;
  Host* pick(const LoadBalancerContext& context) override;
  void onAttemptOutcome(Host& host, const AttemptOutcome& outcome) override;

  // The estimate a pick at `now_ms` uses for host `index` (milliseconds), neutral when the
  // host has no observation yet. For tests and, later, the status endpoint.
  double estimateMs(uint32_t index, int64_t now_ms) const;
  double cost(const Host& host, int64_t now_ms) const;

 private:
  struct Estimate {
    double latency_ms = 0;
    int64_t at_ms = 0;  // when it was last observed
    bool observed = false;
  };
  void observe(uint32_t index, double latency_ms, int64_t now_ms);
  // exp(-elapsed / decay): how much of an estimate `elapsed` ms old still counts.
  double keep(int64_t elapsed_ms) const;

  PeakEwmaConfig config_;
  LbRandom random_;
  Clock now_ms_;
  HostSetPtr hosts_;
  std::vector<Estimate> estimates_;  // by Host::index()
  // Over observed hosts, for the neutral estimate: O(1) per pick.
  double observed_sum_ms_ = 0;
  uint32_t observed_count_ = 0;
  std::vector<Host*> scratch_;
};

}  // namespace portico::upstream
