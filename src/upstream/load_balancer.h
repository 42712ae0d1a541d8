#pragma once
// Load balancers choose the host for each attempt of a request.
//
// A balancer lives in one worker (ThreadLocalCluster owns it) and is told, on that worker's
// thread, of every new host set (setHosts) and of how each attempt ended (onAttemptOutcome).
// A pick sees the request through LoadBalancerContext: its hash key, and the hosts it must
// not return (already tried by this request, or without capacity: capacity is the cluster's
// business, not the algorithm's). Each implementation says which of its state is per worker
// and which, if any, is shared.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "upstream/cluster_config.h"
#include "upstream/host_set.h"

namespace portico::upstream {

// Hosts one pick must skip, by Host::index().
class HostExclusions {
 public:
  void reset(uint32_t index_limit) { excluded_.assign(index_limit, false); }
  void add(const Host& host) {
    if (host.index() >= excluded_.size()) excluded_.resize(host.index() + 1, false);
    excluded_[host.index()] = true;
  }
  bool has(const Host& host) const {
    return host.index() < excluded_.size() && excluded_[host.index()];
  }
  void clear() { std::fill(excluded_.begin(), excluded_.end(), false); }

 private:
  std::vector<bool> excluded_;
};

struct LoadBalancerContext {
  // Consistent-hash key from the route's hash policy (client IP, header, cookie, path, query
  // parameter); absent when the request has none, and hashing balancers then choose freely.
  std::optional<uint64_t> hash_key;
  // Hosts not to return; never null inside pick().
  const HostExclusions* avoid = nullptr;
};

// How one attempt on a host ended, for balancers that learn from traffic (latency) and for
// outlier detection.
struct AttemptOutcome {
  enum class Kind {
    Response,        // response headers arrived: `status` and `latency_ms` are set
    ConnectFailure,  // refused, unreachable, or TLS handshake failed
    Timeout,         // connect, response header or idle timeout
    Reset,           // the connection or stream broke, or the response was invalid
    Cancelled,       // the client went away first: says nothing about the host
  };
  Kind kind = Kind::Response;
  uint16_t status = 0;
  // The connection was not established yet (a Timeout then is a connect timeout).
  bool during_connect = false;
  // Request handed to the backend -> response headers (or -> the failure).
  int64_t latency_ms = 0;
};

class LoadBalancer {
 public:
  virtual ~LoadBalancer() = default;
  // A new host set: called once before the first pick, then whenever the main thread
  // publishes one. Per-host state of hosts that remain (same index) should survive.
  virtual void setHosts(const HostSetPtr& hosts) = 0;
  // A host among the set's candidates that context.avoid does not hold; nullptr when every
  // candidate is avoided (or there is none).
  virtual Host* pick(const LoadBalancerContext& context) = 0;
  // An attempt on `host` (chosen by this balancer) ended.
  virtual void onAttemptOutcome(Host& host, const AttemptOutcome& outcome) {
    (void)host;
    (void)outcome;
  }
};

// `seed` differs per worker, so workers do not start their rotations or random sequences in
// step.
std::unique_ptr<LoadBalancer> makeLoadBalancer(const ClusterConfig& config, uint64_t seed);

}  // namespace portico::upstream
