#pragma once
// Host: one backend endpoint as balancers, connection pools and health checking see it.
//
// Identity (address, weight, priority, index) is fixed when the host is made. Two things
// change while it serves, and both are shared by every worker on purpose:
//  - health flags, set by the main thread (active checks) or by outlier detection. A flag
//    only takes effect in picking once the main thread publishes a new HostSet; workers read
//    the flags for visibility (status endpoint, logs), never to decide alone;
//  - requests in flight across all workers, which least-request balancing compares. It is
//    global load on the backend, which is the point: a per-worker count would let each worker
//    pile onto the host the others already loaded.
// Both are relaxed atomics: they are hints for choosing, never guards for memory.

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "net/address.h"
#include "upstream/cluster_config.h"

namespace portico::upstream {

enum class HealthFlag : uint32_t {
  FailedActiveCheck = 1u << 0,  // the active health check says it is down
  OutlierEjected = 1u << 1,     // passive outlier detection took it out for a while
};

class Host {
 public:
  Host(EndpointConfig config, uint32_t index) : config_(std::move(config)), index_(index) {}
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  const EndpointConfig& config() const { return config_; }
  const net::Address& address() const { return config_.address; }
  const std::string& addressText() const { return config_.address_text; }
  uint32_t weight() const { return config_.weight; }
  // 0 = primary; a higher number is a backup level, used when the levels before it have
  // too few healthy hosts (see HostSet).
  uint32_t priority() const { return config_.priority; }
  // Position in its cluster's list of hosts, stable for the host's life: per-worker tables
  // (connection pools, latency estimates, exclusions) are indexed by it.
  uint32_t index() const { return index_; }

  bool healthy() const { return health_.load(std::memory_order_relaxed) == 0; }
  bool hasHealthFlag(HealthFlag flag) const {
    return (health_.load(std::memory_order_relaxed) & static_cast<uint32_t>(flag)) != 0;
  }
  // Sets or clears one flag; true when that changed whether the host is healthy (the caller
  // then publishes a new host set).
  bool setHealthFlag(HealthFlag flag, bool on);

  // Consecutive failures of real traffic, for passive outlier detection
  // (upstream/outlier_detection.h): counted by whichever worker saw the outcome.
  struct FailureStreaks {
    std::atomic<uint32_t> consecutive_5xx{0};
    std::atomic<uint32_t> consecutive_gateway{0};
    std::atomic<uint32_t> consecutive_connect{0};
    void reset() {
      consecutive_5xx.store(0, std::memory_order_relaxed);
      consecutive_gateway.store(0, std::memory_order_relaxed);
      consecutive_connect.store(0, std::memory_order_relaxed);
    }
  };
  FailureStreaks& streaks() { return streaks_; }

  // When the host last joined the healthy set (monotonic ms), for slow start
  // (upstream/slow_start.h); kHealthyFromStart for hosts healthy since the process started.
  // Written by the main thread (HostPublisher) only, read when it builds a host set.
  static constexpr int64_t kHealthyFromStart = std::numeric_limits<int64_t>::min();
  int64_t healthySinceMs() const { return healthy_since_ms_.load(std::memory_order_relaxed); }
  void setHealthySinceMs(int64_t ms) { healthy_since_ms_.store(ms, std::memory_order_relaxed); }

  uint32_t activeRequests() const { return active_requests_.load(std::memory_order_relaxed); }
  void requestStarted() { active_requests_.fetch_add(1, std::memory_order_relaxed); }
  void requestFinished() { active_requests_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  const EndpointConfig config_;
  const uint32_t index_;
  std::atomic<uint32_t> health_{0};
  std::atomic<uint32_t> active_requests_{0};
  std::atomic<int64_t> healthy_since_ms_{kHealthyFromStart};
  FailureStreaks streaks_;
};

using HostPtr = std::shared_ptr<Host>;

}  // namespace portico::upstream
