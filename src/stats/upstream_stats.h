#pragma once
// What the status endpoint reports about clusters and their endpoints.
//
// Ownership follows who sees the event:
//  - each worker writes its own WorkerClusterStats per cluster (attempts, responses, errors,
//    latency, pool numbers per endpoint; retries and local 503s per cluster). Single writer,
//    so no lock-prefixed instruction on the request path (see counter.h);
//  - the main thread writes EndpointHealthStats (ejections, failed active checks), since
//    outlier detection and health checks run there;
//  - the main thread reads everything when the status endpoint is asked, summing the workers.
// The sums are a consistent-enough snapshot, not an atomic one: a request finishing while
// they are read may show in one counter and not yet in another.
//
// Endpoint tables are indexed by Host::index() and grow on first use: endpoints may be added
// while the process runs (DNS discovery), with new, larger indices.

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "stats/counter.h"
#include "stats/growable_table.h"
#include "stats/latency_histogram.h"

namespace portico::stats {

// How an attempt on an endpoint failed without a response.
enum class UpstreamError : size_t { ConnectFailure, ConnectTimeout, Reset, ResponseTimeout };
inline constexpr size_t kUpstreamErrors = 4;
const char* upstreamErrorName(UpstreamError error);  // the status report's key

// Why a cluster answered 503 itself, before any endpoint saw the request.
enum class Refusal : size_t {
  MaxRequests,
  MaxPendingRequests,
  AtConnectionLimit,
  NoHealthyHost,
  QueueTimeout,
};
inline constexpr size_t kRefusals = 5;
const char* refusalName(Refusal refusal);

// Cache-line aligned, here and below: two workers' blocks never share a line, so one
// worker's stores never evict what another is writing.
inline constexpr size_t kCacheLine = 64;

// One worker's numbers for one endpoint.
struct alignas(kCacheLine) EndpointStats {
  Counter requests;                  // attempts sent to it
  std::array<Counter, 6> responses;  // by status / 100; [0] unused
  std::array<Counter, kUpstreamErrors> errors;
  LatencyHistogram latency;  // attempt start -> response headers
  Counter connections_opened;
  Counter streams;         // requests given a connection
  Counter streams_reused;  // ... one that had carried requests before
  Gauge connections;       // open (connecting, busy or idle)
  Gauge idle_connections;
};

// One worker's numbers for one cluster. Written by that worker only.
class alignas(kCacheLine) WorkerClusterStats {
 public:
  EndpointStats& endpoint(uint32_t host_index) { return endpoints_.at(host_index); }
  const EndpointStats* findEndpoint(uint32_t host_index) const {
    return endpoints_.find(host_index);
  }
  Counter retries;
  Counter queued;  // requests that waited for a connection (endpoints at their limit)
  std::array<Counter, kRefusals> refusals;

 private:
  GrowableTable<EndpointStats> endpoints_;
};

// Main thread only (written and read there).
struct EndpointHealthStats {
  uint64_t ejections = 0;              // by outlier detection
  uint64_t active_check_failures = 0;  // failed probes, not only those that flipped health
};

// The sums a reader makes: plain numbers.
struct EndpointTotals {
  uint64_t requests = 0;
  std::array<uint64_t, 6> responses{};
  std::array<uint64_t, kUpstreamErrors> errors{};
  LatencySummary latency;
  uint64_t connections_opened = 0;
  uint64_t streams = 0;
  uint64_t streams_reused = 0;
  uint64_t connections = 0;
  uint64_t idle_connections = 0;

  void add(const EndpointStats& s);
  void add(const EndpointTotals& t);
  // Share of requests that found a connection already used before; 0 with none yet.
  double reuseRatio() const;
};

struct ClusterTotals {
  uint64_t retries = 0;
  uint64_t queued = 0;
  std::array<uint64_t, kRefusals> refusals{};
};

class ClusterStats {
 public:
  // A block for one worker's view of the cluster (made when the worker starts). The caller
  // keeps it and is its only writer; the registry keeps it too, for readers.
  std::shared_ptr<WorkerClusterStats> addWorker();

  // Main thread only.
  EndpointHealthStats& health(uint32_t host_index);
  EndpointHealthStats healthOf(uint32_t host_index) const;

  // Reader (main thread): sums over every worker.
  EndpointTotals endpoint(uint32_t host_index) const;
  ClusterTotals cluster() const;

 private:
  mutable std::mutex mutex_;  // guards workers_ (taken at worker start and by readers)
  std::vector<std::shared_ptr<WorkerClusterStats>> workers_;
  std::vector<EndpointHealthStats> health_;
};

}  // namespace portico::stats
