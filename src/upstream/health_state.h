#pragma once
// HealthState: the consecutive-result counting of one endpoint's active health check, apart
// from any I/O so it can be tested alone. A host starts healthy (traffic flows from the first
// moment, as it did before checks were configured); `unhealthy_threshold` failures in a row
// make it unhealthy, `healthy_threshold` successes in a row make it healthy again. A result
// that agrees with the current state resets the opposite count, so flapping below a
// threshold never changes anything.

#include <cstdint>

namespace portico::upstream {

class HealthState {
 public:
  HealthState(uint32_t healthy_threshold, uint32_t unhealthy_threshold)
      : healthy_threshold_(healthy_threshold), unhealthy_threshold_(unhealthy_threshold) {}

  enum class Change { None, BecameUnhealthy, BecameHealthy };
  Change record(bool success) {
    if (success) {
      failures_ = 0;
      if (healthy_) return Change::None;
      if (++successes_ < healthy_threshold_) return Change::None;
      successes_ = 0;
      healthy_ = true;
      return Change::BecameHealthy;
    }
    successes_ = 0;
    if (!healthy_) return Change::None;
    if (++failures_ < unhealthy_threshold_) return Change::None;
    failures_ = 0;
    healthy_ = false;
    return Change::BecameUnhealthy;
  }
  bool healthy() const { return healthy_; }

 private:
  uint32_t healthy_threshold_;
  uint32_t unhealthy_threshold_;
  uint32_t successes_ = 0;
  uint32_t failures_ = 0;
  bool healthy_ = true;
};

}  // namespace portico::upstream
