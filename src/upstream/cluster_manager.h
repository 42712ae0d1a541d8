#pragma once
// Clusters as each worker sees them.
//
// ClusterState is shared and lives in the snapshot: the configuration, the cluster's Host
// objects (shared by every worker; see host.h) and the host set they started with.
// ThreadLocalCluster is one worker's view: the host set it balances over now (swapped in by
// setHosts when the main thread publishes a new one), its balancer, and its connection pools
// (one per host, made when the host is first chosen). Choosing a host is two separate
// questions: may this host take one more request (capacity: max_connections_per_endpoint,
// later circuit breakers), and which of those that may does the algorithm prefer (the
// balancer). Nothing here takes a lock.

#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "event/event_loop.h"
#include "stats/upstream_stats.h"
#include "upstream/cluster_config.h"
#include "upstream/conn_pool.h"
#include "upstream/host_set.h"
#include "upstream/load_balancer.h"
#include "upstream/outlier_detection.h"
#include "upstream/request_queue.h"

namespace portico::upstream {

struct ClusterState {
  explicit ClusterState(ClusterConfig c);
  ClusterConfig config;
  // Makes each upstream connection's transport: plain, or TLS with the cluster's context.
  std::shared_ptr<const net::TransportSocketFactory> transport = net::plainTransportFactory();
  // The cluster's hosts now; main thread only (workers see published HostSets). At start one
  // per static endpoint, index = position in config.endpoints; DNS discovery then adds and
  // removes hosts (upstream/dns_discovery.h), new ones taking indices from next_host_index,
  // which only grows: an index is never reused, so hosts[i]->index() == i does not hold.
  std::vector<HostPtr> hosts;
  uint32_t next_host_index = 0;
  // Main thread: the host with Host::index() `index`, or null when it left the cluster.
  HostPtr findHost(uint32_t index) const;
  // The set every worker starts with; later sets are posted to workers by the main thread.
  HostSetPtr initial_hosts;
  // What every worker has in flight towards the cluster: circuit breakers, retry budget.
  ClusterLoad load;
  size_t index = 0;  // position in the snapshot's cluster list
  // Where workers report hosts that reached an outlier threshold (set by the server before
  // the workers start; null: nobody listens, as in unit tests).
  OutlierReporter* outlier_reporter = nullptr;
  // Per-worker counters for the status endpoint (stats/upstream_stats.h), summed on read.
  stats::ClusterStats stats;
};

// Default per-connection buffer limit towards backends.
inline constexpr size_t kUpstreamBufferLimit = 64 * 1024;

struct HostChoice {
  enum class Refusal { None, NoHealthyHost, AtCapacity };
  Host* host = nullptr;
  Refusal refusal = Refusal::None;
};

class ThreadLocalCluster {
 public:
  // `seed` tells workers apart (balancers start their rotations apart).
  ThreadLocalCluster(event::EventLoop& loop, ClusterState& state, uint64_t seed);
  ~ThreadLocalCluster();
  const ClusterConfig& config() const { return state_.config; }
  const HostSet& hosts() const { return *hosts_; }
  ClusterLoad& load() { return state_.load; }
  // Worker thread: balance over `hosts` from the next pick on. Pools of hosts that left the
  // set (DNS) close their idle connections; busy ones finish their requests.
  void setHosts(HostSetPtr hosts);

  // The host for a request's next attempt: one the balancer picks among the candidates that
  // `tried` does not hold and that have capacity. When every candidate with capacity was
  // tried already, `tried` is cleared and one is picked again (a fresh connection to a host
  // that failed on a stale keep-alive connection is still worth it).
  // `sticky_id` (a valid sticky cookie's host, upstream/sticky.h) is chosen before the
  // balancer is asked, while it is a candidate, not tried and has capacity.
  HostChoice chooseHost(const std::optional<uint64_t>& hash_key, HostExclusions& tried,
                        const std::optional<uint64_t>& sticky_id = std::nullopt);
  ConnPool& pool(Host& host);

  // Accounting around each attempt on a host: attemptStarted() when it is chosen, at most one
  // attemptOutcome() (response headers, or how it failed: what the balancer learns from), and
  // exactly one attemptFinished() when the exchange is over (active requests, which
  // least-request balancing compares, count until then).
  void attemptStarted(Host& host) {
    host.requestStarted();
    stats_->endpoint(host.index()).requests.add();
  }
  void attemptOutcome(Host& host, const AttemptOutcome& outcome);
  void attemptFinished(Host& host) { host.requestFinished(); }
  // A request of this cluster is tried again / answered 503 here (for the status endpoint).
  void countRetry() { stats_->retries.add(); }
  void countQueued() { stats_->queued.add(); }
  void countRefusal(stats::Refusal why) { stats_->refusals[static_cast<size_t>(why)].add(); }

  // The queue of requests waiting for a connection (upstream/request_queue.h). A waiter gets
  // its turn at the end of a loop turn in which a pool released a stream or closed a
  // connection, while some candidate has room; it must leave (leaveQueue) when it gives up.
  void enqueue(QueueWaiter& waiter) { queue_.pushBack(waiter); }
  void requeueAtFront(QueueWaiter& waiter) { queue_.pushFront(waiter); }
  void leaveQueue(QueueWaiter& waiter) { queue_.remove(waiter); }
  size_t queued() const { return queue_.size(); }

  template <typename Fn>
  void forEachPool(Fn&& fn) const {
    for (const auto& p : pools_) {
      if (p) fn(*p);
    }
  }

 private:
  static void recordOutcome(stats::EndpointStats& s, const AttemptOutcome& outcome);

  event::EventLoop& loop_;
  ClusterState& state_;
  HostSetPtr hosts_;
  std::unique_ptr<LoadBalancer> lb_;
  // Declared before the pools: a pool closing its connections on destruction still tells them.
  RequestQueue queue_;
  event::ScheduledTask serve_queue_;
  // Some pool may have room again: give queued requests their turn (serve_queue_).
  void onCapacityFreed();
  void serveQueue();
  // Some candidate could take one more request now.
  bool anyCandidateHasRoom();
  std::shared_ptr<stats::WorkerClusterStats> stats_;  // this worker writes it, nobody else
  std::vector<HostPtr> pool_hosts_;  // keeps each pool's host alive; declared before pools_
  std::vector<std::unique_ptr<ConnPool>> pools_;  // by Host::index()
  HostExclusions scratch_;                        // tried + full, rebuilt per choice
  // Sticky host id -> candidate, for clusters with `sticky`; rebuilt with each host set.
  std::unordered_map<uint64_t, Host*> sticky_candidates_;
};

class ClusterManager {
 public:
  // `seed` tells workers apart (see ThreadLocalCluster).
  ClusterManager(event::EventLoop& loop, const std::vector<std::unique_ptr<ClusterState>>& states,
                 uint64_t seed);
  ThreadLocalCluster* get(int index) {
    return index >= 0 && static_cast<size_t>(index) < clusters_.size()
               ? clusters_[static_cast<size_t>(index)].get()
               : nullptr;
  }
  void closeIdle();
  PoolStats totals() const;

 private:
  std::vector<std::unique_ptr<ThreadLocalCluster>> clusters_;
};

}  // namespace portico::upstream
