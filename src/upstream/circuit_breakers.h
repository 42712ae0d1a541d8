#pragma once
// Circuit breakers: cluster-wide ceilings on what Portico asks of a cluster's backends at once.
// Over a ceiling a request gets 503 at once (with a log line naming the limit) rather than
// pile onto backends that are already struggling; a retry over its ceiling is not made.
//
// The counts are shared by every worker on purpose: a breaker protects the backends from the
// whole process, and a per-worker count would multiply the limit by the number of workers.
// Relaxed atomics: a limit may be overshot by a request or two when workers race, which is the
// usual trade (Envoy's breakers behave the same).

#include <atomic>
#include <cstdint>

namespace portico::upstream {

struct CircuitBreakerLimits {            // 0 = no limit
  uint32_t max_connections = 0;          // upstream connections, busy or idle
  uint32_t max_pending_requests = 1024;  // requests waiting for a connection
  uint32_t max_requests = 0;             // requests in flight
  uint32_t max_retries = 0;              // retries in flight (the retry budget applies too)
};

class ClusterLoad {
 public:
  enum class Kind { Connections, Pending, Requests, Retries };

  // Takes one unit of `kind` if under `limit` (0 = no limit); false when at the ceiling.
  bool tryAcquire(Kind kind, uint32_t limit) {
    std::atomic<uint32_t>& c = counter(kind);
    if (limit != 0 && c.load(std::memory_order_relaxed) >= limit) return false;
    c.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  void release(Kind kind) { counter(kind).fetch_sub(1, std::memory_order_relaxed); }
  uint32_t current(Kind kind) const {
    return const_cast<ClusterLoad*>(this)->counter(kind).load(std::memory_order_relaxed);
  }

 private:
  std::atomic<uint32_t>& counter(Kind kind) {
    switch (kind) {
      case Kind::Connections:
        return connections_;
      case Kind::Pending:
        return pending_;
      case Kind::Requests:
        return requests_;
      case Kind::Retries:
        break;
    }
    return retries_;
  }
  std::atomic<uint32_t> connections_{0};
  std::atomic<uint32_t> pending_{0};
  std::atomic<uint32_t> requests_{0};
  std::atomic<uint32_t> retries_{0};
};

const char* limitName(ClusterLoad::Kind kind);  // the config key, for log lines

}  // namespace portico::upstream
