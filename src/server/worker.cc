#include "server/worker.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "buffer/block_pool.h"
#include "core/log.h"
#include "net/connection.h"

namespace portico::server {

namespace {
// Free buffer blocks a worker always keeps resident (512 KiB), and how often the ones beyond
// that are checked: blocks unused for a whole period go back to the kernel.
constexpr size_t kResidentBlocks = 32;
constexpr int64_t kHousekeepingMs = 250;
// How soon a listener tries again after accept failed for want of descriptors or memory.
constexpr int64_t kAcceptRetryMs = 250;
// Identical acceptor warnings within this window are counted into one line.
constexpr int64_t kRepeatedWarningMs = 10000;
}  // namespace

Acceptor::Acceptor(Worker& worker, int fd, const proxy::ListenerRuntime& listener)
    : worker_(worker),
      fd_(fd),
      listener_(listener),
      retry_(worker.loop(), [this] { acceptAll(); }),
      refused_log_(log::Level::Warn, kRepeatedWarningMs,
                   [&loop = worker.loop()] { return loop.now(); }),
      accept_error_log_(log::Level::Error, kRepeatedWarningMs,
                        [&loop = worker.loop()] { return loop.now(); }),
      warnings_flush_(worker.loop(), [this] { flushWarnings(); }) {
  worker_.loop().addFd(fd_, EPOLLIN, this);
}

Acceptor::~Acceptor() {
  close();
}

void Acceptor::close() {
  if (fd_ < 0) return;
  retry_.disarm();
  worker_.loop().removeFd(fd_);
  ::close(fd_);
  fd_ = -1;
}

void Acceptor::onIoReady(uint32_t) {
  // A retry pending means accept just failed: the new edge will most likely fail the same
  // way, and the timer comes soon enough.
  if (!retry_.armed()) acceptAll();
}

void Acceptor::acceptAll() {
  // Edge-triggered: accept until the queue is empty.
  const uint32_t limit = listener_.config.limits.max_connections;
  while (fd_ >= 0) {
    sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      // EMFILE/ENFILE (out of descriptors), ENOBUFS/ENOMEM: the queued connections stay in the
      // kernel until a retry finds room.
      accept_error_log_.log("{}: accept: {}; retrying every {}ms", listener_.config.name,
                            strerror(errno), kAcceptRetryMs);
      retry_.armAfterMs(kAcceptRetryMs);
      break;
    }
    if (worker_.connectionCount(listener_) >= limit) {
      refused_log_.log("{}: connection limit {} reached; refusing a connection",
                       listener_.config.name, limit);
      ::close(fd);
      continue;
    }
    worker_.onAccepted(fd, net::addressFromSockaddr(reinterpret_cast<sockaddr*>(&ss), len),
                       listener_);
  }
  flushWarnings();
}

void Acceptor::flushWarnings() {
  int64_t next = -1;
  for (log::RepeatLog* l : {&refused_log_, &accept_error_log_}) {
    l->flush();
    const int64_t due = l->msUntilFlush();
    if (due >= 0 && (next < 0 || due < next)) next = due;
  }
  if (next >= 0) {
    warnings_flush_.armAfterMs(next);
  } else {
    warnings_flush_.disarm();
  }
}

Worker::Worker(size_t index, std::shared_ptr<const proxy::ProxySnapshot> snapshot,
               AccessLogWriter* access_log, config::AccessLogFormat format,
               config::IoUringMode io_uring)
    : index_(index),
      snapshot_(std::move(snapshot)),
      clusters_(std::make_unique<upstream::ClusterManager>(loop_, snapshot_->clusters, index)),
      access_log_(loop_, access_log, format),
      access_log_enabled_(access_log != nullptr),
      io_uring_(io_uring) {}

Worker::~Worker() {
  join();
  acceptors_.clear();
  for (proxy::ConnectionManager* c : connections_) delete c;
  connections_.clear();
}

void Worker::start(std::vector<int> listen_fds) {
  for (size_t i = 0; i < listen_fds.size(); ++i) {
    acceptors_.push_back(
        std::make_unique<Acceptor>(*this, listen_fds[i], *snapshot_->listeners[i]));
  }
  thread_ = std::thread([this] { run(); });
}

void Worker::run() {
  // Set up here, on the worker's thread: the ring is bound to the thread that submits to it.
  // Depth 256 covers one epoll batch of reads (the loop fetches at most 256 events).
  // Workers share their fate (same kernel, same policy): worker 0 speaks for all of them.
  if (io_uring_ == config::IoUringMode::Auto) {
    if (loop_.enableIoBatching(256)) {
      if (index_ == 0) PLOG_INFO("io_uring: socket reads and writes are batched per loop turn");
    } else if (index_ == 0) {
      // Containers often forbid io_uring (seccomp, kernel.io_uring_disabled).
      PLOG_WARN(
          "io_uring is not available ({}): workers use one system call per socket "
          "operation; set `io_uring: off` to silence this",
          strerror(errno));
    }
  }
  loop_.run();
  access_log_.flush();
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::onAccepted(int fd, const net::Address& peer, const proxy::ListenerRuntime& listener) {
  // TCP_NODELAY came from the listening socket (see net::openListenSocket).
  net::TransportSocketPtr transport = listener.transport->create(peer, {}, {});
  if (!transport) {  // out of memory for a TLS session: refuse this one, keep serving
    PLOG_WARN("{}: no transport for connection from {}", listener.config.name, peer.toString());
    ::close(fd);
    return;
  }
  auto connection = std::make_unique<net::Connection>(loop_, fd, std::move(transport),
                                                      net::SocketStart::Accepted);
  connection->setPeerAddress(peer);
  auto* cm = new proxy::ConnectionManager(*this, snapshot_, listener, std::move(connection));
  connections_.insert(cm);
  open_connections_.fetch_add(1, std::memory_order_relaxed);
  ++open_by_listener_[&listener];
  if (draining_) cm->startDrain();
}

void Worker::scheduleHousekeeping() {
  if (!housekeeping_.armed()) housekeeping_.armAfterMs(kHousekeepingMs);
}

void Worker::housekeeping() {
  buffer::trimIdleBlocks(kResidentBlocks);
  // Blocks freed since are trimmed a period later if they stay unused.
  if (buffer::recycledBlockCount() > kResidentBlocks) scheduleHousekeeping();
}

void Worker::onHttp2Attack(http::Http2Attack attack, std::string_view listener,
                           const net::Address& peer, std::string_view detail) {
  ++counters_.http2_attacks[static_cast<size_t>(attack)];
  http2_attack_log_.report(attack, listener, peer.toString(), detail);
  flushHttp2AttackLog();
}

void Worker::flushHttp2AttackLog() {
  const int64_t next = http2_attack_log_.flush();
  if (next >= 0) {
    http2_attack_log_flush_.armAfterMs(next);
  } else {
    http2_attack_log_flush_.disarm();
  }
}

void Worker::onConnectionClosed(proxy::ConnectionManager* connection) {
  if (connections_.erase(connection) == 0) return;
  scheduleHousekeeping();
  countClosed(connection->listener());
  loop_.deferredDelete(std::unique_ptr<event::Deletable>(connection));
  if (draining_) maybeFinishDrain();
}

bool Worker::parkIdleConnection(proxy::ConnectionManager& cm) {
  if (draining_ || connections_.erase(&cm) == 0) return false;
  const proxy::ListenerRuntime& listener = cm.listener();
  const net::Address peer = cm.connection().peerAddress();
  const uint32_t served = cm.requestsServed();
  const int64_t left = cm.keepaliveLeftMs();
  net::Connection::Released socket = cm.releaseForParking();
  PLOG_DEBUG("{}: parked idle keep-alive connection from {} after {} requests",
             listener.config.name, peer.toString(), served);
  parked_.park(listener, socket.fd, std::move(socket.transport), peer, served, left);
  loop_.deferredDelete(std::unique_ptr<event::Deletable>(&cm));
  scheduleHousekeeping();
  return true;
}

void Worker::onParkedResume(ResumedSocket socket, uint32_t events) {
  auto connection = std::make_unique<net::Connection>(loop_, socket.fd, std::move(socket.transport),
                                                      net::SocketStart::Resumed);
  connection->setPeerAddress(socket.peer);
  PLOG_DEBUG("{}: resumed parked connection from {}", socket.listener->config.name,
             socket.peer.toString());
  auto* cm = new proxy::ConnectionManager(*this, snapshot_, *socket.listener, std::move(connection),
                                          {true, socket.requests_served});
  connections_.insert(cm);
  // Hand over the readiness that woke the parked record: the registration is only re-pointed
  // (no EPOLL_CTL_MOD), so edge-triggered epoll will not report it again. Reading now, before
  // this turn's timers, also keeps a zero keepalive_release from parking it unread.
  cm->connection().onIoReady(events);
}

void Worker::onParkedClosed(const proxy::ListenerRuntime& listener) {
  countClosed(listener);
  if (draining_) maybeFinishDrain();
}

size_t Worker::connectionCount(const proxy::ListenerRuntime& listener) const {
  auto it = open_by_listener_.find(&listener);
  return it == open_by_listener_.end() ? 0 : it->second;
}

void Worker::countClosed(const proxy::ListenerRuntime& listener) {
  open_connections_.fetch_sub(1, std::memory_order_relaxed);
  --open_by_listener_[&listener];
}

void Worker::logAccess(const http::RequestHead* request, const filters::StreamInfo& info,
                       const net::Address& peer) {
  if (access_log_enabled_) access_log_.log(request, info, peer);
}

void Worker::setHosts(size_t cluster_index, upstream::HostSetPtr hosts) {
  loop_.post([this, cluster_index, hosts = std::move(hosts)]() mutable {
    if (upstream::ThreadLocalCluster* c = clusters_->get(static_cast<int>(cluster_index))) {
      c->setHosts(std::move(hosts));
    }
  });
}

void Worker::drain() {
  loop_.post([this] {
    draining_ = true;
    for (auto& a : acceptors_) a->close();
    // Copy: startDrain() may close idle connections, which erases them from the set.
    std::vector<proxy::ConnectionManager*> all(connections_.begin(), connections_.end());
    for (proxy::ConnectionManager* c : all) {
      if (connections_.count(c)) c->startDrain();
    }
    parked_.closeAll();
    clusters_->closeIdle();
    maybeFinishDrain();
  });
}

void Worker::maybeFinishDrain() {
  if (connections_.empty() && parked_.size() == 0) {
    clusters_->closeIdle();
    access_log_.flush();
    loop_.stop();
  }
}

void Worker::forceStop() {
  loop_.post([this] {
    std::vector<proxy::ConnectionManager*> all(connections_.begin(), connections_.end());
    for (proxy::ConnectionManager* c : all) {
      if (connections_.count(c)) c->closeNow();
    }
    parked_.closeAll();
    access_log_.flush();
    loop_.stop();
  });
}

}  // namespace portico::server
