#pragma once
// Per-worker, per-endpoint pool of upstream connections that hands out streams.
//
// A requester asks for a stream (newStream) and gets an UpstreamStream: a request encoder on
// some connection plus what the router needs to know about it. Which protocol the connection
// speaks is the codec's business (upstream/client_codecs.h picks it per cluster, or by ALPN
// for `protocol: auto`); the pool only reads how many streams a connection may carry:
//  - HTTP/1 (one stream at a time): an idle connection is handed over at once, most
//    recently used first (the warmest are kept, cold ones time out); otherwise a new one is
//    opened. A connection returns to the idle list only when both messages were read and
//    written completely and both sides agreed to keep it alive; anything else closes it.
//    Idle connections are capped (keepalive.max_idle) and time out.
//  - HTTP/2 (many): a connection takes streams up to min(the peer's
//    SETTINGS_MAX_CONCURRENT_STREAMS, http2.max_streams_per_connection); the busiest one with
//    room is picked, so few connections carry many streams; when all are full another one is
//    opened (within max_connections_per_endpoint), and requests that arrive while an h2
//    connection is being opened wait for it rather than each opening their own. A connection
//    that got GOAWAY takes no new streams and closes when its last stream is released. One
//    with no stream is idle: the same cap and timeout apply.
// Worker-local.

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "event/event_loop.h"
#include "http/client_codec.h"
#include "net/connection.h"
#include "stats/upstream_stats.h"
#include "upstream/cluster_config.h"

namespace portico::upstream {

class ConnPool;
class PooledConnection;
class UpstreamStream;

enum class PoolFailure { ConnectFailed, ConnectTimeout };

class PoolCallbacks {
 public:
  virtual ~PoolCallbacks() = default;
  // `reused`: the connection carried earlier requests (a stale keep-alive race is possible).
  virtual void onPoolReady(UpstreamStream& stream, bool reused) = 0;
  virtual void onPoolFailure(PoolFailure reason, std::string_view why) = 0;
};

struct PoolStats {
  uint64_t connections_opened = 0;
  uint64_t connections_reused = 0;  // streams served on a connection that carried others
  uint64_t connect_failures = 0;
  uint64_t connect_timeouts = 0;
  uint64_t streams_opened = 0;
};

// A stream lent to a requester, valid until ConnPool::release(). Its connection may close
// meanwhile (the codec then reports onResponseError); the stream stays safe to release.
class UpstreamStream {
 public:
  http::ClientStream& codec() { return *stream_; }
  // Some byte of this request may have reached the backend: it was handed to the
  // connection, and the connection wrote to its socket since the stream began.
  bool requestSent() const;
  // The connection under the stream is gone (a tunnel's backend leg closed).
  bool connectionClosed() const;
  std::string_view protocol() const;
  void pauseResponse(bool pause) { stream_->pauseResponse(pause); }

 private:
  friend class ConnPool;
  UpstreamStream(PooledConnection& connection, http::ClientStream& stream, uint64_t written)
      : connection_(connection), stream_(&stream), written_at_start_(written) {}
  PooledConnection& connection_;
  http::ClientStream* stream_;
  uint64_t written_at_start_;
};

class ConnPool {
 public:
  // `load`: the cluster's shared counts, for circuit_breakers.max_connections (none in tests).
  // `counters`: this worker's status-endpoint numbers for the endpoint (none in tests).
  ConnPool(event::EventLoop& loop, const ClusterConfig& cluster, const EndpointConfig& endpoint,
           const net::TransportSocketFactory& transport, size_t buffer_limit,
           ClusterLoad* load = nullptr, stats::EndpointStats* counters = nullptr);
  ~ConnPool();

  // Asks for a stream. If a connection has room, callbacks.onPoolReady() runs before this
  // returns and the result is false; otherwise the request waits for a connection being
  // opened, true is returned, and cancel(callbacks) withdraws it if the requester gives up.
  // A connect that fails at once also calls back before returning (onPoolFailure).
  // `server_name`: the request's host, for clusters whose TLS names follow it (see
  // net::TransportSocketFactory::create); empty otherwise. Only requests for the same name
  // share a connection.
  bool newStream(PoolCallbacks& callbacks, std::string_view server_name = {});
  void cancel(PoolCallbacks& callbacks);
  // The requester is done with `stream` (an unfinished one is abandoned: HTTP/1 closes the
  // connection, HTTP/2 resets the stream). Every stream handed out by onPoolReady() must be
  // released exactly once, even after its connection closed.
  void release(UpstreamStream* stream);

  const EndpointConfig& endpoint() const { return endpoint_; }
  const ClusterConfig& cluster() const { return cluster_; }
  event::EventLoop& loop() { return loop_; }
  const PoolStats& stats() const { return stats_; }
  // Connections that carry no stream.
  size_t idleCount() const;
  // False when a request would need a new connection and the endpoint is at its limit
  // (cluster max_connections_per_endpoint) or the cluster at circuit_breakers.max_connections.
  bool hasCapacity() const;
  size_t totalCount() const { return all_.size(); }
  // Closes idle connections now (drain, shutdown).
  void closeIdle();
  // Called whenever room may have appeared: a stream was released, or a connection closed.
  // Runs inside the pool's own callbacks, so the listener should only schedule work (the
  // cluster's request queue, upstream/request_queue.h). Empty: nobody listens.
  void setCapacityListener(std::function<void()> listener) { on_capacity_ = std::move(listener); }

 private:
  friend class PooledConnection;
  void lend(PooledConnection* c, PoolCallbacks& callbacks, bool reused);
  void onConnected(PooledConnection* c);
  void onClosed(PooledConnection* c);
  void onTimeout(PooledConnection* c);
  void onStreamLimitChanged(PooledConnection* c);
  // A connection with no stream out: idle (capped, timed) or closed.
  void park(PooledConnection* c);
  void failWaiters(PooledConnection* c, PoolFailure reason, std::string_view why);
  void removeFromIdle(PooledConnection* c);
  void destroy(PooledConnection* c);
  PooledConnection* multiplexedWithRoom(std::string_view server_name) const;
  // Copies the connection counts into counters_ (after anything that may change them).
  void publishGauges();

  event::EventLoop& loop_;
  const ClusterConfig& cluster_;
  const EndpointConfig& endpoint_;
  const net::TransportSocketFactory& transport_;
  size_t buffer_limit_;
  ClusterLoad* load_;
  stats::EndpointStats* counters_;
  std::list<PooledConnection*> all_;       // owned
  std::vector<PooledConnection*> idle_;    // one-stream connections, most recent last
  std::vector<PooledConnection*> shared_;  // connected multiplexed connections
  PoolStats stats_;
  std::function<void()> on_capacity_;
};

}  // namespace portico::upstream
