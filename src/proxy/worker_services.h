#pragma once
// What a worker provides to the connections and streams it owns. server/ implements it; proxy/
// depends only on this interface, so it can be unit-tested with a fake worker.

#include "event/event_loop.h"
#include "filters/stream_info.h"
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
  uint64_t timeouts = 0;
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
  // An idle keep-alive connection offers itself for parking (it is parkable()). Returns true
  // if the worker took its socket and will delete it; false keeps it as it is.
  virtual bool parkIdleConnection(ConnectionManager& connection) {
    (void)connection;
    return false;
  }
};

}  // namespace portico::proxy
