#pragma once
// ConnectionManager: owns one downstream connection, its server codec and its streams.
// It turns socket events into codec input, codec output into socket writes, and enforces the
// connection's timeouts (TLS handshake, header read, keep-alive idle, send idle between
// requests); each stream keeps its own (proxy/stream.h).
//
// The codec comes from the factory its ALPN result (or the listener's default) names
// (http/server_codec_factory.h): nothing here knows which protocol it speaks. Streams are
// owned here, any number at once (HTTP/1 has at most one); finished ones are reaped at the
// end of the loop turn and kept in a small spare list, so a keep-alive connection allocates
// no stream per request.
// Worker-local; destroyed through the loop's deferredDelete after the connection closes.

#include <memory>
#include <vector>

#include "http/codec.h"
#include "net/connection.h"
#include "proxy/snapshot.h"
#include "proxy/stream.h"
#include "proxy/worker_services.h"

namespace portico::proxy {

// Where a downstream connection comes from: a fresh accept, or an idle keep-alive connection
// that was parked (server/parked_connections.h) and is resuming with a fresh manager.
struct DownstreamStart {
  bool resumed = false;
  uint32_t requests_served = 0;  // carried over, so per-connection request limits still hold
};

class ConnectionManager final : public net::ConnectionCallbacks,
                                public http::CodecOutput,
                                public http::ServerConnectionCallbacks,
                                public event::Deletable {
 public:
  ConnectionManager(WorkerServices& worker, std::shared_ptr<const ProxySnapshot> snapshot,
                    const ListenerRuntime& listener, net::ConnectionPtr connection,
                    DownstreamStart start = {});
  ~ConnectionManager() override;

  // Graceful drain: finish the exchange in flight, then close; close at once if idle.
  void startDrain();
  // Closes without waiting (end of the drain timeout).
  void closeNow();

  // Idle between requests with nothing in flight: the worker may park the socket in a small
  // record and destroy this manager (see keepalive_release). The keep-alive deadline the
  // parked record must keep, and what it carries over, come from here.
  bool parkable() const;
  net::Connection::Released releaseForParking();
  uint32_t requestsServed() const { return codec_ ? codec_->requestCount() : requests_before_; }
  // Time left until the keep-alive deadline of the current idle period (0 if it passed).
  int64_t keepaliveLeftMs() const;
  WorkerServices& worker() { return worker_; }
  const ListenerRuntime& listener() const { return listener_; }
  net::Connection& connection() { return *connection_; }
  const std::shared_ptr<const ProxySnapshot>& snapshot() const { return snapshot_; }

  // net::ConnectionCallbacks
  void onData(buffer::Buffer& data, bool end_of_stream) override;
  void onEvent(net::ConnectionEvent event) override;
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;

  // http::CodecOutput
  void writeToPeer(buffer::Buffer& bytes) override;
  void writeFileToPeer(int file_fd, uint64_t offset, uint64_t length) override;
  void closeAfterFlush() override;
  void closeAfterErrorReply() override;
  void shutdownWriteAfterFlush() override;

  // http::ServerConnectionCallbacks
  http::RequestDecoder& newStream(http::ResponseEncoder& encoder) override;
  void onStreamComplete(http::RequestDecoder& stream) override;
  void onRequestRejected(http::RequestDecoder* stream, uint16_t status,
                         std::string_view why) override;
  void onTunnelStarted() override;
  // A codec without per-stream flow control pausing a stream's request body (HTTP/1).
  void pauseReading(bool pause) override;
  void onHttp2Attack(http::Http2Attack attack, std::string_view detail) override;

  bool writeBlocked() const { return write_above_high_; }
  // Streams begun and not reaped yet (complete ones wait for the end of the loop turn).
  size_t streamCount() const { return streams_.size(); }

 private:
  enum class TimerMode { None, Handshake, Release, KeepAlive, HeaderRead, SendIdle };
  // The transport is connected (TLS handshake done): pick the codec its ALPN result names.
  void startCodec();
  void refreshTimer();
  void onTimer();
  void dispatchPending();
  bool mayDecodeNextRequest() const;
  // True while a stream exists whose exchange is not over: its own timers run, not ours.
  bool streamInFlight() const;
  void reapCompleteStreams();
  static void reapThunk(void* self);
  static void tunnelThunk(void* self);

  WorkerServices& worker_;
  std::shared_ptr<const ProxySnapshot> snapshot_;
  const ListenerRuntime& listener_;
  net::ConnectionPtr connection_;
  // Made once the transport is connected: until a TLS handshake ends, ALPN is not known.
  std::unique_ptr<http::ServerCodec> codec_;
  uint32_t requests_before_;  // served before a parked connection resumed
  // Live streams in the order they began (HTTP/1: at most one), and reaped ones kept for
  // reuse. Owned here: a stream's address stays valid from newStream() to its reap.
  std::vector<std::unique_ptr<ActiveStream>> streams_;
  std::vector<std::unique_ptr<ActiveStream>> spare_streams_;
  event::Timer timer_;
  TimerMode timer_mode_ = TimerMode::None;
  uint64_t written_at_timer_ = 0;
  event::MonoTime idle_since_ = 0;
  event::ScheduledTask reap_task_;
  event::ScheduledTask tunnel_task_;  // hands input held before a 101 to the tunnel
  bool write_above_high_ = false;
  bool paused_by_stream_ = false;  // the codec stopped reading for a stream's backpressure
  bool closed_ = false;
  bool end_of_input_ = false;
  bool end_of_input_told_ = false;  // the codec heard about end_of_input_
};

}  // namespace portico::proxy
