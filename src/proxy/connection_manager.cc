#include "proxy/connection_manager.h"

#include "core/log.h"
#include "tls/acme/challenges.h"

namespace portico::proxy {

ConnectionManager::ConnectionManager(WorkerServices& worker,
                                     std::shared_ptr<const ProxySnapshot> snapshot,
                                     const ListenerRuntime& listener, net::ConnectionPtr connection,
                                     DownstreamStart start)
    : worker_(worker),
      snapshot_(std::move(snapshot)),
      listener_(listener),
      connection_(std::move(connection)),
      requests_before_(start.requests_served),
      timer_(worker.loop(), [this] { onTimer(); }),
      reap_task_(worker.loop(), &ConnectionManager::reapThunk, this),
      tunnel_task_(worker.loop(), &ConnectionManager::tunnelThunk, this) {
  connection_->setCallbacks(this);
  connection_->setWriteBufferLimit(listener.config.limits.buffer);
  connection_->setLingerTimeout(listener.config.timeouts.linger_ms);
  if (!start.resumed) ++worker_.counters().downstream_connections;
  if (connection_->transportConnected()) startCodec();
  refreshTimer();
}

void ConnectionManager::startCodec() {
  // ALPN chooses the protocol; without ALPN (plain TCP, or a TLS client that offered none)
  // the listener's default decides (HTTP/1.1). The TLS context only offers protocols a codec
  // exists for (server/server.cc checks the configured list against the registry).
  const std::string_view protocol = connection_->transport().negotiatedProtocol();
  if (protocol == tls::acme::kAcmeTlsProtocol) {
    // RFC 8737: the handshake was the answer (its bytes are already on the socket); no codec.
    connection_->close(net::CloseType::NoFlush);
    return;
  }
  const http::ServerCodecFactory* factory =
      protocol.empty() ? listener_.default_codec : listener_.codecs->find(protocol);
  if (factory == nullptr) {
    PLOG_WARN("{}: closing connection from {}: no codec for ALPN protocol {}",
              listener_.config.name, connection_->peerAddress().toString(), protocol);
    connection_->close(net::CloseType::NoFlush);
    return;
  }
  codec_ = factory->create(*this, *this, listener_.codec_settings, requests_before_);
}

ConnectionManager::~ConnectionManager() {
  for (auto& stream : streams_) {
    if (!stream->complete()) stream->markComplete();
    stream->reap();
  }
  connection_->setCallbacks(nullptr);
}

bool ConnectionManager::streamInFlight() const {
  for (const auto& stream : streams_)
    if (!stream->complete()) return true;
  return false;
}

void ConnectionManager::onData(buffer::Buffer& data, bool end_of_stream) {
  if (closed_) return;
  if (end_of_stream) end_of_input_ = true;
  // A finished stream is reaped at the end of this turn, and the access log reads its request
  // head then: the codec must not start parsing the next request over it. What arrives
  // meanwhile (a pipelined request, the client's half-close) waits for dispatchPending().
  if (!reap_task_.scheduled() && mayDecodeNextRequest()) {
    codec_->dispatch(data);
    // The end of input reaches the codec only behind the requests that came before it: a
    // client may pipeline requests and half-close, and every one of them is still answered.
    if (end_of_input_ && data.empty() && !end_of_input_told_) {
      end_of_input_told_ = true;
      codec_->onEndOfInput();
    }
  }
  // Pipelined requests wait in the buffer; do not let a client stack up unbounded input. This
  // is not the stream's pause (nothing would lift that for a local reply): dispatchPending()
  // reads again once the backlog is down to the buffer size.
  if (!data.empty() && data.length() > listener_.config.limits.buffer) {
    connection_->readDisable(true);
  }
  refreshTimer();
}

bool ConnectionManager::mayDecodeNextRequest() const {
  // A request in flight still needs its body decoded. Between requests, the next one waits
  // while the client is not reading what it is owed: otherwise a client that pipelines and
  // never reads would make every response (local replies, files) pile up in memory.
  return !streams_.empty() || !write_above_high_;
}

void ConnectionManager::dispatchPending() {
  if (closed_ || connection_->closed() || !codec_) return;
  if (!mayDecodeNextRequest()) return;  // onBelowWriteBufferLowWatermark() comes back here
  buffer::Buffer& pending = connection_->readBuffer();
  if (!pending.empty()) codec_->dispatch(pending);
  if (end_of_input_ && pending.empty() && (codec_->idle() || !end_of_input_told_)) {
    end_of_input_told_ = true;
    codec_->onEndOfInput();
  }
  if (!paused_by_stream_ && connection_->readDisabled() && !connection_->closed() &&
      pending.length() <= listener_.config.limits.buffer)
    connection_->readDisable(false);
  refreshTimer();
}

void ConnectionManager::onEvent(net::ConnectionEvent event) {
  if (event == net::ConnectionEvent::Connected) {
    if (closed_ || codec_) return;
    startCodec();
    if (!closed_) refreshTimer();
    return;
  }
  if (closed_) return;
  closed_ = true;
  timer_.disarm();
  // Indexed: a reset may not add streams, but it runs filters' code.
  for (size_t i = 0; i < streams_.size(); ++i) {
    ActiveStream& stream = *streams_[i];
    if (stream.complete()) continue;
    stream.onStreamReset(http::StreamResetReason::ConnectionTermination);
    stream.markComplete();
  }
  // Reap at the end of this loop turn (before we are deleted), never here: the close may come
  // from inside a stream's own call chain (a tunnel's upstream closing while the router
  // writes to it), and reaping destroys its filters.
  if (!streams_.empty()) reap_task_.schedule();
  worker_.onConnectionClosed(this);  // hands us to deferredDelete
}

void ConnectionManager::onAboveWriteBufferHighWatermark() {
  write_above_high_ = true;
  if (codec_) codec_->onOutputWatermark(true);
  for (size_t i = 0; i < streams_.size(); ++i) streams_[i]->onDownstreamWatermark(true);
}

void ConnectionManager::onBelowWriteBufferLowWatermark() {
  write_above_high_ = false;
  if (!streams_.empty()) {
    for (size_t i = 0; i < streams_.size(); ++i) streams_[i]->onDownstreamWatermark(false);
  } else if (!closed_ && !reap_task_.scheduled()) {
    // Pipelined requests held back while the client was not reading; decode them at the
    // end of this turn (we are inside the connection's write path).
    reap_task_.schedule();
  }
  // Last: a multiplexing codec writes what its streams hold, which may cross the high
  // watermark again (and tell the streams so) before this returns.
  if (codec_ && !write_above_high_) codec_->onOutputWatermark(false);
}

void ConnectionManager::writeToPeer(buffer::Buffer& bytes) {
  connection_->write(bytes);
}

void ConnectionManager::writeFileToPeer(int file_fd, uint64_t offset, uint64_t length) {
  connection_->writeFile(file_fd, offset, length);
}

void ConnectionManager::closeAfterFlush() {
  connection_->close(net::CloseType::FlushWrite);
}

void ConnectionManager::closeAfterErrorReply() {
  connection_->close(net::CloseType::Linger);
}

void ConnectionManager::shutdownWriteAfterFlush() {
  buffer::Buffer nothing;
  connection_->write(nothing, true);
}

http::RequestDecoder& ConnectionManager::newStream(http::ResponseEncoder& encoder) {
  ++worker_.counters().downstream_requests;
  std::unique_ptr<ActiveStream> stream;
  if (!spare_streams_.empty()) {
    stream = std::move(spare_streams_.back());
    spare_streams_.pop_back();
  } else {
    stream = std::make_unique<ActiveStream>(*this);
  }
  stream->begin(encoder);
  streams_.push_back(std::move(stream));
  // The stream's own timers bound it from here; the connection's header timer is done.
  timer_.disarm();
  timer_mode_ = TimerMode::None;
  return *streams_.back();
}

void ConnectionManager::onStreamComplete(http::RequestDecoder& stream) {
  static_cast<ActiveStream&>(stream).markComplete();
  // Reap at the end of this loop turn: the stream's own methods may be on the stack.
  reap_task_.schedule();
}

void ConnectionManager::reapCompleteStreams() {
  // Spares beyond this many are freed: enough for HTTP/1's one stream and the usual HTTP/2
  // concurrency, without keeping a burst's worth of memory per connection.
  constexpr size_t kMaxSpareStreams = 8;
  size_t kept = 0;
  for (size_t i = 0; i < streams_.size(); ++i) {
    std::unique_ptr<ActiveStream>& stream = streams_[i];
    if (!stream->complete()) {
      streams_[kept++] = std::move(stream);
      continue;
    }
    stream->reap();
    if (spare_streams_.size() < kMaxSpareStreams) spare_streams_.push_back(std::move(stream));
  }
  streams_.resize(kept);
}

void ConnectionManager::reapThunk(void* self) {
  auto* cm = static_cast<ConnectionManager*>(self);
  cm->reapCompleteStreams();
  // The next pipelined request, if any, waits in the read buffer.
  cm->dispatchPending();
}

void ConnectionManager::onTunnelStarted() {
  // Deferred: the 101 is being written from inside the upstream connection's callbacks.
  tunnel_task_.schedule();
}

void ConnectionManager::tunnelThunk(void* self) {
  auto* cm = static_cast<ConnectionManager*>(self);
  if (cm->closed_ || cm->connection_->closed()) return;
  buffer::Buffer& pending = cm->connection_->readBuffer();
  if (!pending.empty()) cm->codec_->dispatch(pending);
  if (cm->end_of_input_) cm->codec_->onEndOfInput();
  // Reads may have been stopped while the bytes waited as a pipelined request.
  if (!cm->paused_by_stream_ && cm->connection_->readDisabled() && !cm->connection_->closed())
    cm->connection_->readDisable(false);
}

void ConnectionManager::onRequestRejected(http::RequestDecoder* stream, uint16_t status,
                                          std::string_view why) {
  ++worker_.counters().rejected_requests;
  PLOG_INFO("{} rejected request from {}: {} ({})", listener_.config.name,
            connection_->peerAddress().toString(), status, why);
  if (stream == nullptr) {
    // Rejected before it became a stream: log it here, as the stream would have.
    StreamInfo info;
    info.start_ms = worker_.loop().now();
    info.end_ms = info.start_ms;
    info.status = status;
    info.local_reply = true;
    info.failure = std::string(why);
    ++worker_.counters().responses_by_class[http::statusClass(status)];
    worker_.logAccess(nullptr, info, connection_->peerAddress());
  } else {
    auto& active = static_cast<ActiveStream&>(*stream);
    active.info().failure = std::string(why);
    active.info().status = status;
  }
}

void ConnectionManager::onHttp2Attack(http::Http2Attack attack, std::string_view detail) {
  worker_.onHttp2Attack(attack, listener_.config.name, connection_->peerAddress(), detail);
}

void ConnectionManager::pauseReading(bool pause) {
  paused_by_stream_ = pause;
  connection_->readDisable(pause);
}

void ConnectionManager::startDrain() {
  if (closed_) return;
  if (!codec_) {  // still in its TLS handshake: no request to finish
    connection_->close(net::CloseType::NoFlush);
    return;
  }
  codec_->startDrain();
}

void ConnectionManager::closeNow() {
  if (closed_) return;
  connection_->close(net::CloseType::NoFlush);
}

void ConnectionManager::refreshTimer() {
  if (closed_) return;
  const ListenerTimeouts& t = listener_.config.timeouts;
  if (!codec_) {
    if (timer_mode_ != TimerMode::Handshake) {
      timer_mode_ = TimerMode::Handshake;
      timer_.armAfterMs(listener_.handshake_timeout_ms);
    }
    return;
  }
  if (streamInFlight()) {
    // Each stream bounds itself (request body idle, send idle).
    if (timer_mode_ != TimerMode::None) {
      timer_mode_ = TimerMode::None;
      timer_.disarm();
    }
    return;
  }
  if (write_above_high_) {
    // Between requests, holding pipelined ones back: the client must read to make progress.
    if (timer_mode_ != TimerMode::SendIdle) {
      timer_mode_ = TimerMode::SendIdle;
      written_at_timer_ = connection_->bytesWritten();
      timer_.armAfterMs(t.send_idle_ms);
    }
    return;
  }
  // The first request is bounded by header_read from the accept, not only from its first
  // byte: a client that connects and says nothing is not an idle keep-alive client.
  if (codec_->readingHead() || codec_->requestCount() == 0) {
    if (timer_mode_ != TimerMode::HeaderRead) {
      timer_mode_ = TimerMode::HeaderRead;
      timer_.armAfterMs(t.header_read_ms);
    }
    return;
  }
  if (timer_mode_ != TimerMode::KeepAlive && timer_mode_ != TimerMode::Release) {
    idle_since_ = worker_.loop().now();
    // Release first if it comes before the keep-alive deadline; the same timer then goes on
    // to the deadline if the connection could not be parked.
    if (t.keepalive_release_ms < t.keepalive_idle_ms) {
      timer_mode_ = TimerMode::Release;
      timer_.armAfterMs(t.keepalive_release_ms);
    } else {
      timer_mode_ = TimerMode::KeepAlive;
      timer_.armAfterMs(t.keepalive_idle_ms);
    }
  }
}

bool ConnectionManager::parkable() const {
  return !closed_ && codec_ && codec_->parkable() && !end_of_input_ && !paused_by_stream_ &&
         streams_.empty() && codec_->idle() && !reap_task_.scheduled() &&
         !tunnel_task_.scheduled() && !worker_.draining() && connection_->quiescent();
}

int64_t ConnectionManager::keepaliveLeftMs() const {
  const int64_t left =
      listener_.config.timeouts.keepalive_idle_ms - (worker_.loop().now() - idle_since_);
  return left > 0 ? left : 0;
}

net::Connection::Released ConnectionManager::releaseForParking() {
  closed_ = true;  // from here on this manager is inert until deferredDelete frees it
  timer_.disarm();
  return connection_->release();
}

void ConnectionManager::onTimer() {
  // A lingering connection has answered; its own linger timeout ends it.
  if (closed_ || connection_->lingering()) return;
  const std::string& name = listener_.config.name;
  switch (timer_mode_) {
    case TimerMode::Release: {
      if (parkable() && worker_.parkIdleConnection(*this)) return;  // we are being deleted
      timer_mode_ = TimerMode::KeepAlive;
      timer_.armAfterMs(keepaliveLeftMs());
      return;
    }
    case TimerMode::Handshake:
      ++worker_.counters().timeouts;
      PLOG_INFO("{}: closing connection from {}: TLS handshake not done within {} ms", name,
                connection_->peerAddress().toString(), listener_.handshake_timeout_ms);
      connection_->close(net::CloseType::NoFlush);
      return;
    case TimerMode::KeepAlive:
      PLOG_DEBUG("{}: closing idle keep-alive connection from {}", name,
                 connection_->peerAddress().toString());
      // A drain of an idle connection closes it; HTTP/2 says GOAWAY first, so the client
      // knows no stream was lost.
      codec_->startDrain();
      return;
    case TimerMode::HeaderRead:
      ++worker_.counters().timeouts;
      if (!codec_->readingHead()) {
        // Not one byte of a request: nothing to answer (nginx closes such connections
        // silently too), and no request for the access log.
        PLOG_INFO("{}: closing connection from {}: no request within the header read timeout", name,
                  connection_->peerAddress().toString());
        connection_->close(net::CloseType::NoFlush);
        return;
      }
      PLOG_INFO("{}: request header read timeout from {}", name,
                connection_->peerAddress().toString());
      onRequestRejected(nullptr, 408, "request header read timeout");
      codec_->sendConnectionError(408);
      return;
    case TimerMode::SendIdle:
      // Between requests, pipelined ones held back until the client reads what it is owed.
      if (connection_->bufferedWriteBytes() > 0 &&
          connection_->bytesWritten() == written_at_timer_) {
        ++worker_.counters().timeouts;
        PLOG_INFO("{}: client {} stopped reading the responses", name,
                  connection_->peerAddress().toString());
        connection_->close(net::CloseType::NoFlush);
        return;
      }
      written_at_timer_ = connection_->bytesWritten();
      timer_.armAfterMs(listener_.config.timeouts.send_idle_ms);
      return;
    case TimerMode::None:
      return;
  }
}

}  // namespace portico::proxy
