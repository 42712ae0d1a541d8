#include "upstream/conn_pool.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/log.h"
#include "upstream/client_codecs.h"

namespace portico::upstream {

// One upstream connection: the socket, and once connected the codec that its protocol needs.
class PooledConnection final : public net::ConnectionCallbacks,
                               public http::CodecOutput,
                               public http::ClientCodecCallbacks {
 public:
  enum class State { Connecting, Active, Idle, Closed };

  PooledConnection(ConnPool& pool, net::ConnectionPtr connection)
      : pool_(pool),
        connection_(std::move(connection)),
        timer_(pool.loop(), [this] { pool_.onTimeout(this); }) {
    connection_->setCallbacks(this);
  }
  ~PooledConnection() override {
    if (connection_) connection_->setCallbacks(nullptr);
  }

  // Streams this connection may take now.
  bool hasRoom() const {
    return state_ != State::Closed && state_ != State::Connecting && codec_ &&
           codec_->acceptsNewStreams() && lent_ < codec_->streamLimit() && !connection_->closed() &&
           !connection_->remoteClosed();
  }

  // net::ConnectionCallbacks
  void onData(buffer::Buffer& data, bool end_of_stream) override {
    if (state_ == State::Idle && !multiplexed_) {
      // An HTTP/1 backend that talks while idle is out of step (or closing): never reuse it.
      PLOG_DEBUG("upstream {}: {} unexpected bytes on an idle connection",
                 pool_.endpoint().address_text, data.length());
      data.clear();
      connection_->close(net::CloseType::NoFlush);
      return;
    }
    if (!codec_ || state_ == State::Closed || state_ == State::Connecting) {
      data.clear();
      return;
    }
    if (!codec_->dispatch(data)) {
      data.clear();
      connection_->close(net::CloseType::NoFlush);
      return;
    }
    if (end_of_stream) codec_->onEndOfInput();
  }
  void onEvent(net::ConnectionEvent event) override {
    switch (event) {
      case net::ConnectionEvent::Connected:
        pool_.onConnected(this);
        return;
      case net::ConnectionEvent::RemoteClose:
      case net::ConnectionEvent::LocalClose:
        if (codec_ && (state_ == State::Active || state_ == State::Idle)) codec_->onEndOfInput();
        pool_.onClosed(this);
        return;
    }
  }
  void onAboveWriteBufferHighWatermark() override {
    if (codec_) codec_->onWriteWatermark(true);
  }
  void onBelowWriteBufferLowWatermark() override {
    if (codec_) codec_->onWriteWatermark(false);
  }

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

  // http::ClientCodecCallbacks
  void pauseReading(bool pause) override { connection_->readDisable(pause); }
  void onStreamLimitChanged() override { pool_.onStreamLimitChanged(this); }

  ConnPool& pool_;
  net::ConnectionPtr connection_;
  std::unique_ptr<http::ClientConnectionCodec> codec_;  // set once connected
  State state_ = State::Connecting;
  bool multiplexed_ = false;  // the codec carries several streams at once
  // Requesters waiting for the connect to finish (several only when the cluster's protocol
  // multiplexes).
  std::vector<PoolCallbacks*> waiters_;
  uint32_t lent_ = 0;     // streams handed out and not yet released
  uint32_t streams_ = 0;  // streams carried so far
  event::Timer timer_;    // connect timeout, then idle timeout
  // The TLS name this connection was made for (SNI and verified name taken from a request's
  // host); empty when every connection of the pool is alike. Only requests for the same name
  // may use it.
  std::string server_name_;
  std::list<PooledConnection*>::iterator self_;
};

bool UpstreamStream::requestSent() const {
  return stream_->requestStarted() && connection_.connection_->bytesWritten() > written_at_start_;
}

bool UpstreamStream::connectionClosed() const {
  return connection_.connection_->closed();
}

std::string_view UpstreamStream::protocol() const {
  return connection_.codec_->protocol();
}

ConnPool::ConnPool(event::EventLoop& loop, const ClusterConfig& cluster,
                   const EndpointConfig& endpoint, const net::TransportSocketFactory& transport,
                   size_t buffer_limit, ClusterLoad* load, stats::EndpointStats* counters)
    : loop_(loop),
      cluster_(cluster),
      endpoint_(endpoint),
      transport_(transport),
      buffer_limit_(buffer_limit),
      load_(load),
      counters_(counters) {}

ConnPool::~ConnPool() {
  for (PooledConnection* c : all_) {
    if (load_ != nullptr) load_->release(ClusterLoad::Kind::Connections);
    c->state_ = PooledConnection::State::Closed;
    c->connection_->setCallbacks(nullptr);
    delete c;
  }
  all_.clear();
  idle_.clear();
  shared_.clear();
  publishGauges();
}

void ConnPool::publishGauges() {
  if (counters_ == nullptr) return;
  counters_->connections.set(all_.size());
  counters_->idle_connections.set(idleCount());
}

PooledConnection* ConnPool::multiplexedWithRoom(std::string_view server_name) const {
  // The busiest connection with room: streams gather on few connections, and the others go
  // idle and time out.
  PooledConnection* best = nullptr;
  for (PooledConnection* c : shared_) {
    if (c->server_name_ != server_name || !c->hasRoom()) continue;
    if (best == nullptr || c->lent_ > best->lent_) best = c;
  }
  return best;
}

bool ConnPool::newStream(PoolCallbacks& callbacks, std::string_view server_name) {
  if (PooledConnection* c = multiplexedWithRoom(server_name)) {
    lend(c, callbacks, true);
    return false;
  }
  // The most recently released idle connection made for this name (all are, usually).
  for (size_t i = idle_.size(); i-- > 0;) {
    PooledConnection* c = idle_[i];
    if (c->server_name_ != server_name) continue;
    idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i));
    if (c->connection_->closed() || c->connection_->remoteClosed()) continue;
    lend(c, callbacks, true);
    return false;
  }
  if (multiplexesBeforeConnect(cluster_)) {
    // Wait with others for a connection already being opened, while it has room for all.
    for (PooledConnection* c : all_) {
      if (c->state_ == PooledConnection::State::Connecting && c->server_name_ == server_name &&
          c->waiters_.size() < cluster_.http2.max_streams_per_connection) {
        c->waiters_.push_back(&callbacks);
        return true;
      }
    }
  }
  net::TransportSocketPtr transport =
      transport_.create(endpoint_.address, server_name, endpoint_.hostname);
  auto conn = transport ? net::Connection::connectTo(loop_, endpoint_.address, std::move(transport))
                        : nullptr;
  if (!conn) {
    if (!transport && errno == 0) errno = ENOMEM;
    ++stats_.connect_failures;
    callbacks.onPoolFailure(PoolFailure::ConnectFailed, strerror(errno));
    return false;
  }
  conn->setWriteBufferLimit(buffer_limit_);
  ++stats_.connections_opened;
  if (counters_ != nullptr) counters_->connections_opened.add();
  // Counted only (hasCapacity() checked the ceiling); released in destroy().
  if (load_ != nullptr) load_->tryAcquire(ClusterLoad::Kind::Connections, 0);
  auto* c = new PooledConnection(*this, std::move(conn));
  c->server_name_ = std::string(server_name);
  c->self_ = all_.insert(all_.end(), c);
  c->waiters_.push_back(&callbacks);
  publishGauges();
  if (!c->connection_->transportConnected()) {
    // Connecting, or (TLS) handshaking: the connect timeout covers both.
    c->timer_.armAfterMs(cluster_.connect_timeout_ms);
    return true;
  }
  onConnected(c);  // connected at once (possible on loopback)
  return false;
}

void ConnPool::lend(PooledConnection* c, PoolCallbacks& callbacks, bool reused) {
  c->timer_.disarm();
  c->state_ = PooledConnection::State::Active;
  http::ClientStream& s = c->codec_->newStream();
  auto* stream = new UpstreamStream(*c, s, c->connection_->bytesWritten());
  ++c->lent_;
  ++c->streams_;
  ++stats_.streams_opened;
  if (reused) ++stats_.connections_reused;
  if (counters_ != nullptr) {
    counters_->streams.add();
    if (reused) counters_->streams_reused.add();
    publishGauges();
  }
  callbacks.onPoolReady(*stream, reused);
}

void ConnPool::onConnected(PooledConnection* c) {
  c->timer_.disarm();
  std::string error;
  c->codec_ =
      makeClientCodec(cluster_, c->connection_->transport().negotiatedProtocol(), *c, *c, &error);
  if (!c->codec_) {
    PLOG_WARN("upstream {}: {}", endpoint_.address_text, error);
    c->connection_->close(net::CloseType::NoFlush);  // onClosed() tells the waiters
    return;
  }
  c->state_ = PooledConnection::State::Active;
  c->multiplexed_ = c->codec_->streamLimit() > 1;
  if (c->multiplexed_) shared_.push_back(c);
  std::vector<PoolCallbacks*> waiters;
  waiters.swap(c->waiters_);
  if (waiters.empty()) {
    park(c);  // every requester gave up meanwhile
    publishGauges();
    return;
  }
  for (PoolCallbacks* w : waiters) {
    if (c->hasRoom()) {
      lend(c, *w, false);
    } else {
      newStream(*w, c->server_name_);  // more waited than the backend allows at once
    }
  }
}

void ConnPool::cancel(PoolCallbacks& callbacks) {
  for (PooledConnection* c : all_) {
    auto it = std::find(c->waiters_.begin(), c->waiters_.end(), &callbacks);
    if (it == c->waiters_.end()) continue;
    c->waiters_.erase(it);
    if (c->waiters_.empty()) c->connection_->close(net::CloseType::NoFlush);
    return;
  }
}

void ConnPool::release(UpstreamStream* stream) {
  PooledConnection* c = &stream->connection_;
  c->codec_->releaseStream(*stream->stream_);
  delete stream;
  --c->lent_;
  if (c->state_ == PooledConnection::State::Closed) {
    // It closed while streams were lent, and onClosed() left freeing it to the last release.
    if (c->lent_ == 0) destroy(c);
    return;
  }
  if (c->lent_ == 0) {
    park(c);
    publishGauges();
  }
  if (on_capacity_) on_capacity_();
}

void ConnPool::park(PooledConnection* c) {
  const bool usable = c->codec_->acceptsNewStreams() && !c->connection_->closed() &&
                      !c->connection_->remoteClosed();
  if (!c->multiplexed_) {
    const bool reusable = usable && c->connection_->bufferedWriteBytes() == 0 &&
                          idle_.size() < cluster_.keepalive_max_idle;
    if (!reusable) {
      if (c->codec_->tunneling()) {
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
    c->state_ = PooledConnection::State::Idle;
    c->timer_.armAfterMs(cluster_.keepalive_idle_timeout_ms);
    idle_.push_back(c);
    return;
  }
  // Multiplexed: a connection that stopped taking streams (GOAWAY) closes with its last one,
  // after sending what it still owes (the RST_STREAMs of abandoned streams).
  if (!usable || idleCount() >= cluster_.keepalive_max_idle) {
    c->connection_->close(net::CloseType::FlushWrite);
    return;
  }
  c->state_ = PooledConnection::State::Idle;
  c->timer_.armAfterMs(cluster_.keepalive_idle_timeout_ms);
}

void ConnPool::onStreamLimitChanged(PooledConnection* c) {
  if (c->state_ == PooledConnection::State::Idle && !c->codec_->acceptsNewStreams()) {
    c->connection_->close(net::CloseType::FlushWrite);  // GOAWAY on an idle connection
  }
}

size_t ConnPool::idleCount() const {
  size_t n = idle_.size();
  for (PooledConnection* c : shared_) {
    if (c->state_ == PooledConnection::State::Idle) ++n;
  }
  return n;
}

bool ConnPool::hasCapacity() const {
  if (!idle_.empty()) return true;
  for (PooledConnection* c : shared_) {
    if (c->hasRoom()) return true;
  }
  if (multiplexesBeforeConnect(cluster_)) {
    for (PooledConnection* c : all_) {
      if (c->state_ == PooledConnection::State::Connecting &&
          c->waiters_.size() < cluster_.http2.max_streams_per_connection) {
        return true;
      }
    }
  }
  // A new connection is needed: within this endpoint's and the cluster's ceilings?
  const uint32_t max = cluster_.max_connections_per_endpoint;
  if (max != 0 && all_.size() >= max) return false;
  const uint32_t cluster_max = cluster_.circuit_breakers.max_connections;
  return load_ == nullptr || cluster_max == 0 ||
         load_->current(ClusterLoad::Kind::Connections) < cluster_max;
}

void ConnPool::failWaiters(PooledConnection* c, PoolFailure reason, std::string_view why) {
  std::vector<PoolCallbacks*> waiters;
  waiters.swap(c->waiters_);
  for (PoolCallbacks* w : waiters) w->onPoolFailure(reason, why);
}

void ConnPool::onTimeout(PooledConnection* c) {
  if (c->state_ == PooledConnection::State::Connecting) {
    ++stats_.connect_timeouts;
    c->state_ = PooledConnection::State::Closed;
    std::vector<PoolCallbacks*> waiters;
    waiters.swap(c->waiters_);
    c->connection_->close(net::CloseType::NoFlush);
    for (PoolCallbacks* w : waiters)
      w->onPoolFailure(PoolFailure::ConnectTimeout, "connect timed out");
    return;
  }
  // Idle, or a finished tunnel that could not flush in time.
  c->connection_->close(net::CloseType::NoFlush);
}

void ConnPool::removeFromIdle(PooledConnection* c) {
  auto it = std::find(idle_.begin(), idle_.end(), c);
  if (it != idle_.end()) idle_.erase(it);
}

void ConnPool::onClosed(PooledConnection* c) {
  PooledConnection::State was = c->state_;
  c->state_ = PooledConnection::State::Closed;
  c->timer_.disarm();
  removeFromIdle(c);
  auto shared = std::find(shared_.begin(), shared_.end(), c);
  if (shared != shared_.end()) shared_.erase(shared);
  if (was == PooledConnection::State::Connecting) {
    ++stats_.connect_failures;
    failWaiters(c, PoolFailure::ConnectFailed, "connection refused or reset");
  }
  // Requesters still hold lent streams (for example after a response ended and before its
  // stream is reaped): the connection is freed by the last release.
  if (c->lent_ == 0) destroy(c);
  publishGauges();
}

void ConnPool::destroy(PooledConnection* c) {
  all_.erase(c->self_);
  publishGauges();
  if (load_ != nullptr) load_->release(ClusterLoad::Kind::Connections);
  if (on_capacity_) on_capacity_();
  // The connection's own callback is on the stack: free it after this loop turn.
  struct Holder : event::Deletable {
    explicit Holder(PooledConnection* conn) : c(conn) {}
    ~Holder() override { delete c; }
    PooledConnection* c;
  };
  loop_.deferredDelete(std::make_unique<Holder>(c));
}

void ConnPool::closeIdle() {
  std::vector<PooledConnection*> idle;
  idle.swap(idle_);
  for (PooledConnection* c : shared_) {
    if (c->state_ == PooledConnection::State::Idle) idle.push_back(c);
  }
  for (PooledConnection* c : idle) c->connection_->close(net::CloseType::NoFlush);
}

}  // namespace portico::upstream
