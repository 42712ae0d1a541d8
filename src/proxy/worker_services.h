#pragma once
// What a worker provides to the connections and streams it owns. server/ implements it; proxy/
// depends only on this interface, so it can be unit-tested with a fake worker.

#include <string_view>

#include "event/event_loop.h"
#include "filters/stream_info.h"
#include "http/http2_attack_limits.h"
#include "http/message.h"
#include "upstream/cluster_manager.h"

namespace portico::proxy {

using filters::StreamInfo;

class ConnectionManager;

struct WorkerCounters {
  uint64_t downstream_connections = 0;
  uint64_t downstream_requests = 0;
  uint64_t responses_by_class[6] = {0, 0, 0, 0, 0, 0};  // index = status / 100
  uint64_t rejected_requests = 0;
  uint64_t upstream_requests = 0;
  uint64_t upstream_retries = 0;
  uint64_t upstream_failures = 0;
  uint64_t upstream_overflows = 0;  // 503: every endpoint at max_connections_per_endpoint
  // Requests that waited in a cluster's queue for a connection, and those of them that got
  // 503 at queue_timeout.
  uint64_t upstream_queued = 0;
  uint64_t upstream_queue_timeouts = 0;
  uint64_t timeouts = 0;
  // Downstream HTTP/2 connections closed for tripping an attack limit, by kind (index:
  // http::Http2Attack; [0] unused).
  uint64_t http2_attacks[http::kHttp2AttackKinds] = {};
};

class WorkerServices {
 public:
  virtual ~WorkerServices() = default;
  virtual event::EventLoop& loop() = 0;
  virtual upstream::ClusterManager& clusters() = 0;
  virtual WorkerCounters& counters() = 0;
  virtual bool draining() const = 0;
  // One access log line for a finished exchange. `request` may be null for requests rejected
  // before their head was complete.
  virtual void logAccess(const http::RequestHead* request, const StreamInfo& info,
                         const net::Address& peer) = 0;
  virtual void onConnectionClosed(ConnectionManager* connection) = 0;
  // A downstream connection tripped an HTTP/2 attack limit and is being closed. Counted by
  // kind; the worker also writes one error-log line per connection (`detail`: which limit and
  // what the client sent), summarising a flood of them.
  virtual void onHttp2Attack(http::Http2Attack attack, std::string_view listener,
                             const net::Address& peer, std::string_view detail) {
    (void)listener;
    (void)peer;
    (void)detail;
    ++counters().http2_attacks[static_cast<size_t>(attack)];
  }
  // An idle keep-alive connection offers itself for parking (it is parkable()). Returns true
  // if the worker took its socket and will delete it; false keeps it as it is.
  virtual bool parkIdleConnection(ConnectionManager& connection) {
    (void)connection;
    return false;
  }
};

}  // namespace portico::proxy
