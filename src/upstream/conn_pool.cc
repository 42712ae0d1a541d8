#include "upstream/conn_pool.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/log.h"

namespace portico::upstream {

UpstreamConnection::UpstreamConnection(ConnPool& pool, net::ConnectionPtr connection,
                                       const http1::ParserLimits& limits)
    : pool_(pool),
      connection_(std::move(connection)),
      codec_(*this, limits),
      timer_(pool.loop(), [this] { pool_.onTimeout(this); }) {
  connection_->setCallbacks(this);
}

UpstreamConnection::~UpstreamConnection() {
  if (connection_) connection_->setCallbacks(nullptr);
}

void UpstreamConnection::onData(buffer::Buffer& data, bool end_of_stream) {
  if (state_ == State::Idle) {
    // A backend that talks while idle is out of step (or closing): never reuse it.
    PLOG_DEBUG("upstream {}: {} unexpected bytes on an idle connection",
               pool_.endpoint().address_text, data.length());
    data.clear();
    connection_->close(net::CloseType::NoFlush);
    return;
  }
  if (state_ != State::Active) {
    data.clear();
    return;
  }
  if (!codec_.dispatch(data)) {
    connection_->close(net::CloseType::NoFlush);
    return;
  }
  if (end_of_stream) codec_.onEndOfInput();
}

void UpstreamConnection::onEvent(net::ConnectionEvent event) {
  switch (event) {
    case net::ConnectionEvent::Connected:
      pool_.onConnected(this);
      return;
    case net::ConnectionEvent::RemoteClose:
    case net::ConnectionEvent::LocalClose:
      if (state_ == State::Active) codec_.onEndOfInput();
      pool_.onClosed(this);
      return;
  }
}

void UpstreamConnection::onAboveWriteBufferHighWatermark() {
  if (watermark_cb_) watermark_cb_->onUpstreamWriteWatermark(true);
}

void UpstreamConnection::onBelowWriteBufferLowWatermark() {
  if (watermark_cb_) watermark_cb_->onUpstreamWriteWatermark(false);
}

ConnPool::ConnPool(event::EventLoop& loop, const ClusterConfig& cluster,
                   const EndpointConfig& endpoint, const net::TransportSocketFactory& transport,
                   size_t buffer_limit)
    : loop_(loop),
      cluster_(cluster),
      endpoint_(endpoint),
      transport_(transport),
      buffer_limit_(buffer_limit) {
  // Responses are held to generous limits: the backend is trusted more than clients, but a
  // broken one must still not make us buffer without bound.
  limits_.max_header_line = 64 * 1024;
  limits_.max_header_bytes = 128 * 1024;
  limits_.max_header_count = 200;
}

ConnPool::~ConnPool() {
  for (UpstreamConnection* c : all_) {
    c->state_ = UpstreamConnection::State::Closed;
    c->connection_->setCallbacks(nullptr);
    delete c;
  }
}

UpstreamConnection* ConnPool::newStream(PoolCallbacks& callbacks, std::string_view server_name) {
  // The most recently released idle connection made for this name (all are, usually).
  for (size_t i = idle_.size(); i-- > 0;) {
    UpstreamConnection* c = idle_[i];
    if (c->server_name_ != server_name) continue;
    idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i));
    if (c->connection_->closed() || c->connection_->remoteClosed()) continue;
    c->timer_.disarm();
    c->state_ = UpstreamConnection::State::Active;
    c->written_at_assign_ = c->connection_->bytesWritten();
    ++c->requests_;
    ++stats_.connections_reused;
    c->lent_ = true;
    callbacks.onPoolReady(*c, true);
    return nullptr;
  }
  net::TransportSocketPtr transport = transport_.create(endpoint_.address, server_name);
  auto conn = transport ? net::Connection::connectTo(loop_, endpoint_.address, std::move(transport))
                        : nullptr;
  if (!conn) {
    if (!transport && errno == 0) errno = ENOMEM;
    ++stats_.connect_failures;
    callbacks.onPoolFailure(PoolFailure::ConnectFailed, strerror(errno));
    return nullptr;
  }
  conn->setWriteBufferLimit(buffer_limit_);
  ++stats_.connections_opened;
  auto* c = new UpstreamConnection(*this, std::move(conn), limits_);
  c->server_name_ = std::string(server_name);
  c->self_ = all_.insert(all_.end(), c);
  c->pending_ = &callbacks;
  if (!c->connection_->transportConnected()) {
    // Connecting, or (TLS) handshaking: the connect timeout covers both.
    c->timer_.armAfterMs(cluster_.connect_timeout_ms);
    return c;
  }
  onConnected(c);  // connected at once (possible on loopback)
  return nullptr;
}

void ConnPool::onConnected(UpstreamConnection* c) {
  c->timer_.disarm();
  PoolCallbacks* cb = c->pending_;
  c->pending_ = nullptr;
  c->state_ = UpstreamConnection::State::Active;
  c->written_at_assign_ = c->connection_->bytesWritten();
  ++c->requests_;
  if (cb) {
    c->lent_ = true;
    cb->onPoolReady(*c, false);
  } else {
    release(c);
  }
}

void ConnPool::cancel(UpstreamConnection* pending) {
  pending->pending_ = nullptr;
  pending->connection_->close(net::CloseType::NoFlush);
}

void ConnPool::release(UpstreamConnection* c) {
  c->lent_ = false;
  c->setWatermarkCallbacks(nullptr);
  c->codec_.detachDecoder();
  if (c->state_ == UpstreamConnection::State::Closed) {
    // It closed while lent out, and onClosed() left freeing it to this release.
    destroy(c);
    return;
  }
  bool reusable = c->state_ == UpstreamConnection::State::Active && c->codec_.reusable() &&
                  !c->connection_->closed() && !c->connection_->remoteClosed() &&
                  c->connection_->bufferedWriteBytes() == 0 &&
                  idle_.size() < cluster_.keepalive_max_idle;
  if (!reusable) {
    if (c->codec_.tunneling()) {
      // A tunnel's last bytes (and its half-close) may still wait in the write buffer: the
      // client's side ended in the same turn. Let them leave, within the idle timeout.
      c->timer_.armAfterMs(cluster_.idle_timeout_ms);
      c->connection_->close(net::CloseType::FlushWrite);
      return;
    }
    c->connection_->close(net::CloseType::NoFlush);
    return;
  }
  c->connection_->readDisable(false);
  c->state_ = UpstreamConnection::State::Idle;
  c->timer_.armAfterMs(cluster_.keepalive_idle_timeout_ms);
  idle_.push_back(c);
}

void ConnPool::onTimeout(UpstreamConnection* c) {
  if (c->state_ == UpstreamConnection::State::Connecting) {
    ++stats_.connect_timeouts;
    PoolCallbacks* cb = c->pending_;
    c->pending_ = nullptr;
    c->connection_->close(net::CloseType::NoFlush);
    if (cb) cb->onPoolFailure(PoolFailure::ConnectTimeout, "connect timed out");
    return;
  }
  // Idle, or a finished tunnel that could not flush in time.
  c->connection_->close(net::CloseType::NoFlush);
}

void ConnPool::removeFromIdle(UpstreamConnection* c) {
  auto it = std::find(idle_.begin(), idle_.end(), c);
  if (it != idle_.end()) idle_.erase(it);
}

void ConnPool::onClosed(UpstreamConnection* c) {
  UpstreamConnection::State was = c->state_;
  c->state_ = UpstreamConnection::State::Closed;
  c->timer_.disarm();
  if (was == UpstreamConnection::State::Idle) removeFromIdle(c);
  if (was == UpstreamConnection::State::Connecting) {
    ++stats_.connect_failures;
    PoolCallbacks* cb = c->pending_;
    c->pending_ = nullptr;
    if (cb) cb->onPoolFailure(PoolFailure::ConnectFailed, "connection refused or reset");
  }
  // The requester still points at a lent connection (for example after its response ended and
  // before its stream is reaped): it is freed when released.
  if (c->lent_) return;
  destroy(c);
}

void ConnPool::destroy(UpstreamConnection* c) {
  all_.erase(c->self_);
  // The connection's own callback is on the stack: free it after this loop turn.
  struct Holder : event::Deletable {
    explicit Holder(UpstreamConnection* conn) : c(conn) {}
    ~Holder() override { delete c; }
    UpstreamConnection* c;
  };
  loop_.deferredDelete(std::make_unique<Holder>(c));
}

void ConnPool::closeIdle() {
  std::vector<UpstreamConnection*> idle;
  idle.swap(idle_);
  for (UpstreamConnection* c : idle) c->connection_->close(net::CloseType::NoFlush);
}

}  // namespace portico::upstream
