#pragma once
// Per-worker, per-endpoint pool of HTTP/1.1 connections to a backend.
//
// A request asks the pool for a connection: an idle one is handed over at once (most recently
// used first, so the warmest connections are kept and cold ones time out), otherwise a new
// connection is opened for it. A connection carries one request at a time and returns to the
// idle list only when both messages were read and written completely and both sides agreed to
// keep it alive; anything else closes it. Idle connections are capped and time out.
// Worker-local.

#include <cstdint>
#include <list>
#include <memory>
#include <string_view>
#include <vector>

#include "event/event_loop.h"
#include "http/codec.h"
#include "http1/client_codec.h"
#include "net/connection.h"
#include "upstream/cluster_config.h"

namespace portico::upstream {

class ConnPool;
class UpstreamConnection;

enum class PoolFailure { ConnectFailed, ConnectTimeout };

class PoolCallbacks {
 public:
  virtual ~PoolCallbacks() = default;
  // `reused`: the connection carried earlier requests (a stale keep-alive race is possible).
  virtual void onPoolReady(UpstreamConnection& connection, bool reused) = 0;
  virtual void onPoolFailure(PoolFailure reason, std::string_view why) = 0;
};

// The user of an active connection hears about its write-side backpressure here.
class UpstreamWatermarkCallbacks {
 public:
  virtual ~UpstreamWatermarkCallbacks() = default;
  virtual void onUpstreamWriteWatermark(bool above_high) = 0;
};

struct PoolStats {
  uint64_t connections_opened = 0;
  uint64_t connections_reused = 0;  // requests served on a connection from the idle list
  uint64_t connect_failures = 0;
  uint64_t connect_timeouts = 0;
};

class UpstreamConnection final : public net::ConnectionCallbacks, public http::CodecOutput {
 public:
  UpstreamConnection(ConnPool& pool, net::ConnectionPtr connection,
                     const http1::ParserLimits& limits);
  ~UpstreamConnection() override;

  http1::ClientCodecImpl& codec() { return codec_; }
  net::Connection& connection() { return *connection_; }
  ConnPool& pool() { return pool_; }
  void setWatermarkCallbacks(UpstreamWatermarkCallbacks* cb) { watermark_cb_ = cb; }
  // Bytes of the current request written to the socket so far (0 = nothing left us yet).
  uint64_t requestBytesWritten() const { return connection_->bytesWritten() - written_at_assign_; }
  uint32_t requestsServed() const { return requests_; }

  // net::ConnectionCallbacks
  void onData(buffer::Buffer& data, bool end_of_stream) override;
  void onEvent(net::ConnectionEvent event) override;
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;

  // http::CodecOutput
  void writeToPeer(buffer::Buffer& bytes) override { connection_->write(bytes); }
  void writeFileToPeer(int file_fd, uint64_t offset, uint64_t length) override {
    connection_->writeFile(file_fd, offset, length);
  }
  void closeAfterFlush() override { connection_->close(net::CloseType::FlushWrite); }
  void shutdownWriteAfterFlush() override {
    buffer::Buffer nothing;
    connection_->write(nothing, true);
  }

 private:
  friend class ConnPool;
  enum class State { Connecting, Active, Idle, Closed };

  ConnPool& pool_;
  net::ConnectionPtr connection_;
  http1::ClientCodecImpl codec_;
  State state_ = State::Connecting;
  PoolCallbacks* pending_ = nullptr;  // waiting for the connect to finish
  UpstreamWatermarkCallbacks* watermark_cb_ = nullptr;
  event::Timer timer_;  // connect timeout, then idle timeout
  uint64_t written_at_assign_ = 0;
  uint32_t requests_ = 0;
  // The TLS name this connection was made for (SNI and verified name taken from a request's
  // host); empty when every connection of the pool is alike. Only requests for the same
  // name may reuse it.
  std::string server_name_;
  // Handed to a requester that has not released it yet. The requester holds a pointer, so a
  // lent connection that closes stays allocated until release() (which then frees it).
  bool lent_ = false;
  std::list<UpstreamConnection*>::iterator self_;
};

class ConnPool {
 public:
  ConnPool(event::EventLoop& loop, const ClusterConfig& cluster, const EndpointConfig& endpoint,
           const net::TransportSocketFactory& transport, size_t buffer_limit);
  ~ConnPool();

  // Asks for a connection. If an idle one is available, callbacks.onPoolReady() runs before
  // this returns and the result is nullptr; otherwise the returned handle identifies the
  // pending connect, to be passed to cancel() if the requester gives up. A connect that fails
  // at once also calls back before returning (onPoolFailure) and returns nullptr.
  // `server_name`: the request's host, for clusters whose TLS names follow it (see
  // net::TransportSocketFactory::create); empty otherwise.
  UpstreamConnection* newStream(PoolCallbacks& callbacks, std::string_view server_name = {});
  void cancel(UpstreamConnection* pending);
  // The requester is done with `connection`: it goes back to the idle list if reusable,
  // otherwise it is closed. Every connection handed out by onPoolReady() must be released
  // exactly once, even after it closed.
  void release(UpstreamConnection* connection);

  const EndpointConfig& endpoint() const { return endpoint_; }
  event::EventLoop& loop() { return loop_; }
  const PoolStats& stats() const { return stats_; }
  size_t idleCount() const { return idle_.size(); }
  // False when a request would need a new connection and the endpoint is at its limit
  // (cluster max_connections_per_endpoint).
  bool hasCapacity() const {
    return !idle_.empty() || cluster_.max_connections_per_endpoint == 0 ||
           all_.size() < cluster_.max_connections_per_endpoint;
  }
  size_t totalCount() const { return all_.size(); }
  // Closes idle connections now (drain, shutdown).
  void closeIdle();

 private:
  friend class UpstreamConnection;
  void onConnected(UpstreamConnection* c);
  void onClosed(UpstreamConnection* c);
  void onTimeout(UpstreamConnection* c);
  void removeFromIdle(UpstreamConnection* c);
  void destroy(UpstreamConnection* c);

  event::EventLoop& loop_;
  const ClusterConfig& cluster_;
  const EndpointConfig& endpoint_;
  const net::TransportSocketFactory& transport_;
  size_t buffer_limit_;
  http1::ParserLimits limits_;
  std::list<UpstreamConnection*> all_;     // owned
  std::vector<UpstreamConnection*> idle_;  // most recently released last
  PoolStats stats_;
};

}  // namespace portico::upstream
