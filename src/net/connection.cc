#include "net/connection.h"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/log.h"

namespace portico::net {

namespace {
// Per readiness event: after this many bytes the connection yields to others and comes back
// through a scheduled read, so one fast peer cannot monopolise the worker.
constexpr size_t kMaxReadPerEvent = 256 * 1024;
}  // namespace

Connection::Connection(event::EventLoop& loop, int fd, TransportSocketPtr transport,
                       bool connecting)
    : loop_(loop),
      fd_(fd),
      transport_(std::move(transport)),
      state_(connecting ? State::Connecting : State::Open),
      flush_task_(loop, [](void* self) { static_cast<Connection*>(self)->doWrite(); }, this),
      read_task_(loop, [](void* self) { static_cast<Connection*>(self)->doRead(); }, this) {
  write_buffer_.setCallbacks(&Connection::onHighWatermark, &Connection::onLowWatermark, this);
  loop_.addFd(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP, this);
  if (!connecting) transport_->onConnected(fd_);
}

Connection::~Connection() {
  if (fd_ >= 0) {
    loop_.removeFd(fd_);
    ::close(fd_);
  }
}

std::unique_ptr<Connection> Connection::connectTo(event::EventLoop& loop, const Address& address,
                                                  TransportSocketPtr transport) {
  int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return nullptr;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int rc = ::connect(fd, address.sa(), address.length);
  if (rc < 0 && errno != EINPROGRESS) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    return nullptr;
  }
  auto conn = std::make_unique<Connection>(loop, fd, std::move(transport), rc < 0);
  conn->peer_ = address;
  return conn;
}

void Connection::setWriteBufferLimit(size_t bytes) { write_buffer_.setWatermarks(bytes); }

void Connection::write(buffer::Buffer& data, bool end_of_stream) {
  if (state_ == State::Closed) {
    data.clear();
    return;
  }
  write_buffer_.moveFrom(data);
  if (end_of_stream) shutdown_after_write_ = true;
  write_buffer_.checkWatermarks();
  scheduleFlush();
}

void Connection::write(std::string_view data) {
  if (state_ == State::Closed) return;
  write_buffer_.append(data);
  write_buffer_.checkWatermarks();
  scheduleFlush();
}

void Connection::scheduleFlush() {
  if (state_ == State::Connecting || write_blocked_) return;  // EPOLLOUT will flush
  flush_task_.schedule();
}

void Connection::scheduleRead() { read_task_.schedule(); }

void Connection::readDisable(bool disable) {
  if (read_disabled_ == disable) return;
  read_disabled_ = disable;
  // Edge-triggered: an edge that arrived while disabled is not repeated, so go and look.
  if (!disable && state_ == State::Open) scheduleRead();
}

void Connection::onIoReady(uint32_t events) {
  if (state_ == State::Closed) return;
  if (state_ == State::Connecting) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0 || (events & EPOLLERR)) {
      PLOG_DEBUG("connect to {} failed: {}", peer_.toString(), strerror(err ? err : ECONNREFUSED));
      closeNow(ConnectionEvent::RemoteClose);
      return;
    }
    state_ = State::Open;
    transport_->onConnected(fd_);
    if (callbacks_) callbacks_->onEvent(ConnectionEvent::Connected);
    if (state_ == State::Closed) return;
    doWrite();
    if (state_ == State::Closed) return;
  }
  if (events & EPOLLOUT) {
    write_blocked_ = false;
    if (!write_buffer_.empty() || shutdown_after_write_) doWrite();
    if (state_ == State::Closed) return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    readable_pending_ = true;
    doRead();
  }
}

void Connection::doRead() {
  if (state_ != State::Open || read_disabled_ || !readable_pending_ || remote_closed_) return;
  IoResult r = transport_->doRead(fd_, read_buffer_, kMaxReadPerEvent);
  bytes_read_ += r.bytes;
  if (r.action == IoResult::Action::Close) {
    PLOG_DEBUG("read from {}: {}", peer_.toString(), strerror(r.error));
    remote_closed_ = true;
    closeNow(ConnectionEvent::RemoteClose);
    return;
  }
  if (r.end_of_stream) remote_closed_ = true;
  if (r.would_block) readable_pending_ = r.end_of_stream;
  if ((r.bytes > 0 || r.end_of_stream) && callbacks_) {
    callbacks_->onData(read_buffer_, r.end_of_stream);
  }
  // Stopped on the per-event cap: more data waits in the kernel; come back after others ran.
  if (state_ == State::Open && !r.would_block && !r.end_of_stream) scheduleRead();
}

void Connection::doWrite() {
  if (state_ == State::Closed || state_ == State::Connecting) return;
  if (!write_buffer_.empty()) {
    IoResult r = transport_->doWrite(fd_, write_buffer_);
    bytes_written_ += r.bytes;
    if (r.action == IoResult::Action::Close) {
      PLOG_DEBUG("write to {}: {}", peer_.toString(), strerror(r.error));
      closeNow(ConnectionEvent::RemoteClose);
      return;
    }
    write_blocked_ = r.would_block;
    write_buffer_.checkWatermarks();
    if (state_ == State::Closed) return;
  }
  if (write_buffer_.empty()) {
    if (state_ == State::Closing) {
      closeNow(ConnectionEvent::LocalClose);
    } else if (shutdown_after_write_) {
      ::shutdown(fd_, SHUT_WR);
      shutdown_after_write_ = false;
    }
  }
}

void Connection::close(CloseType type) {
  if (state_ == State::Closed || state_ == State::Closing) {
    if (type == CloseType::NoFlush && state_ == State::Closing)
      closeNow(ConnectionEvent::LocalClose);
    return;
  }
  if (type == CloseType::FlushWrite && !write_buffer_.empty() && state_ == State::Open) {
    state_ = State::Closing;
    read_disabled_ = true;
    if (!write_blocked_) flush_task_.schedule();
    return;
  }
  closeNow(ConnectionEvent::LocalClose);
}

void Connection::closeNow(ConnectionEvent event) {
  if (state_ == State::Closed) return;
  state_ = State::Closed;
  flush_task_.cancel();
  read_task_.cancel();
  if (fd_ >= 0) {
    loop_.removeFd(fd_);
    ::close(fd_);
    fd_ = -1;
  }
  write_buffer_.clear();
  read_buffer_.clear();
  if (callbacks_) callbacks_->onEvent(event);
}

void Connection::onHighWatermark(void* self) {
  auto* c = static_cast<Connection*>(self);
  if (c->callbacks_) c->callbacks_->onAboveWriteBufferHighWatermark();
}

void Connection::onLowWatermark(void* self) {
  auto* c = static_cast<Connection*>(self);
  if (c->callbacks_) c->callbacks_->onBelowWriteBufferLowWatermark();
}

}  // namespace portico::net
