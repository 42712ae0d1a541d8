#include "net/connection.h"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
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
// One read batch: the most that can land beyond a paused owner's watermark.
constexpr size_t kReadBatch = 32 * 1024;
// A file at most this long queued behind another file is read into memory at once.
constexpr uint64_t kReadSmallFileBytes = 16 * 1024;
}  // namespace

Connection::Connection(event::EventLoop& loop, int fd, TransportSocketPtr transport,
                       SocketStart start)
    : loop_(loop),
      fd_(fd),
      transport_(std::move(transport)),
      state_(start == SocketStart::Connecting ? State::Connecting : State::Open),
      flush_task_(
          loop, [](void* self) { static_cast<Connection*>(self)->flush(); }, this),
      read_task_(
          loop, [](void* self) { static_cast<Connection*>(self)->doRead(); }, this),
      linger_timer_(loop, [this] { closeNow(ConnectionEvent::LocalClose); }) {
  write_watermark_.setCallbacks(&Connection::onHighWatermark, &Connection::onLowWatermark, this);
  constexpr uint32_t kEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
  if (start == SocketStart::Resumed) {
    // Still registered for kEvents; the owner hands over the readiness that woke the parked
    // record. Only established connections are parked, so the transport is connected.
    transport_connected_ = true;
    loop_.setHandler(fd_, this);
    return;
  }
  loop_.addFd(fd_, kEvents, this);
  if (start == SocketStart::Accepted) transport_->onConnected(*this);
}

Connection::~Connection() {
  cancelBatchedSend();
  if (fd_ >= 0) loop_.closeFd(fd_);
  closeQueuedFiles();
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
  auto conn = std::make_unique<Connection>(
      loop, fd, std::move(transport), rc < 0 ? SocketStart::Connecting : SocketStart::Accepted);
  conn->peer_ = address;
  return conn;
}

void Connection::setWriteBufferLimit(size_t bytes) {
  write_watermark_.setHigh(bytes);
}

size_t Connection::bufferedWriteBytes() const {
  size_t total = write_buffer_.length();
  for (const QueuedFile& f : files_) total += static_cast<size_t>(f.remaining) + f.after.length();
  return total;
}

void Connection::write(buffer::Buffer& data, bool end_of_stream) {
  if (state_ == State::Closed) {
    data.clear();
    return;
  }
  if (end_of_stream) shutdown_after_write_ = true;
  (files_.empty() ? write_buffer_ : files_.back().after).moveFrom(data);
  updateWriteWatermark();
  scheduleFlush();
}

void Connection::write(std::string_view data) {
  if (state_ == State::Closed) return;
  (files_.empty() ? write_buffer_ : files_.back().after).append(data);
  updateWriteWatermark();
  scheduleFlush();
}

void Connection::writeFile(int file_fd, uint64_t offset, uint64_t length) {
  if (state_ == State::Closed || length == 0) {
    ::close(file_fd);
    return;
  }
  if (!files_.empty() && length <= kReadSmallFileBytes) {
    buffer::Buffer bytes;
    if (bytes.appendFromFile(file_fd, offset, length) == length) {
      ::close(file_fd);
      files_.back().after.moveFrom(bytes);
      updateWriteWatermark();
      return;
    }
    // Shorter than promised: queue the range, so sending it reports the truncation.
  }
  files_.push_back(QueuedFile{file_fd, offset, length, {}});
  updateWriteWatermark();
  scheduleFlush();
}

void Connection::finishFile() {
  ::close(files_.front().fd);
  write_buffer_.moveFrom(files_.front().after);
  files_.erase(files_.begin());
}

void Connection::closeQueuedFiles() {
  for (QueuedFile& f : files_) ::close(f.fd);
  files_.clear();
}

bool Connection::writeQueuedFile() {
  // Bounded per call so one fast reader of a huge file cannot monopolise the worker.
  constexpr uint64_t kMaxPerCall = 4 * 1024 * 1024;
  uint64_t sent_this_call = 0;
  while (!files_.empty() && write_buffer_.empty()) {
    QueuedFile& file = files_.front();
    if (sent_this_call >= kMaxPerCall) {
      flush_task_.schedule();
      return true;
    }
    if (transport_->supportsSendfile()) {
      off_t off = static_cast<off_t>(file.offset);
      size_t want = file.remaining < (1u << 20) ? static_cast<size_t>(file.remaining) : (1u << 20);
      ssize_t n = ::sendfile(fd_, file.fd, &off, want);
      if (n > 0) {
        file.offset += static_cast<uint64_t>(n);
        file.remaining -= static_cast<uint64_t>(n);
        bytes_written_ += static_cast<uint64_t>(n);
        sent_this_call += static_cast<uint64_t>(n);
        if (file.remaining == 0) finishFile();
        updateWriteWatermark();
        if (state_ == State::Closed) return false;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        write_blocked_ = true;
        return true;
      }
      // n == 0: the file shrank under us; the response can no longer be completed.
      PLOG_WARN("sendfile to {}: {}", peer_.toString(),
                n == 0 ? "file truncated" : strerror(errno));
      closeNow(ConnectionEvent::LocalClose);
      return false;
    }
    // Transports that encrypt read the file in slices into the write buffer.
    auto [dst, room] = write_buffer_.reserve(buffer::kBlockSize);
    size_t want = room < file.remaining ? room : static_cast<size_t>(file.remaining);
    ssize_t n = ::pread(file.fd, dst, want, static_cast<off_t>(file.offset));
    if (n <= 0) {
      write_buffer_.commit(0);
      PLOG_WARN("reading file for {}: {}", peer_.toString(),
                n == 0 ? "file truncated" : strerror(errno));
      closeNow(ConnectionEvent::LocalClose);
      return false;
    }
    write_buffer_.commit(static_cast<size_t>(n));
    file.offset += static_cast<uint64_t>(n);
    file.remaining -= static_cast<uint64_t>(n);
    sent_this_call += static_cast<uint64_t>(n);
    if (file.remaining == 0) finishFile();
    return true;  // the caller writes the slice and comes back
  }
  return true;
}

void Connection::scheduleFlush() {
  if (state_ == State::Connecting || write_blocked_) return;  // EPOLLOUT will flush
  flush_task_.schedule();
}

void Connection::scheduleRead() {
  read_task_.schedule();
}

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
    transport_->onConnected(*this);
    if (state_ == State::Closed) return;
    doWrite();
    if (state_ == State::Closed) return;
  }
  if (events & EPOLLOUT) {
    write_blocked_ = false;
    if (bufferedWriteBytes() > 0 || shutdown_after_write_ || transport_wants_write_ ||
        state_ == State::Closing)
      doWrite();
    if (state_ == State::Closed) return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    readable_pending_ = true;
    if (events & (EPOLLRDHUP | EPOLLHUP)) peer_shutdown_seen_ = true;
    doRead();
  }
}

void Connection::doRead() {
  if (state_ == State::Lingering) {
    discardInput();
    return;
  }
  // Read in bounded batches and hand each to the owner before reading more: if the owner
  // pauses reading (its peer is slow), at most one batch beyond the watermark is in memory.
  size_t total = 0;
  while (state_ == State::Open && !read_disabled_ && readable_pending_ && !remote_closed_) {
    if (total >= kMaxReadPerEvent) {
      scheduleRead();  // more waits in the kernel; come back after others ran
      return;
    }
    transport_readable_ = false;
    IoResult r = batched_read_ready_ ? takeBatchedRead()
                                     : transport_->doRead(*this, read_buffer_, kReadBatch);
    // The transport may have raised Connected, and the owner closed in its callback.
    if (state_ == State::Closed) return;
    bytes_read_ += r.bytes;
    total += r.bytes;
    if (r.action == IoResult::Action::Close) {
      PLOG_DEBUG("read from {}: {}", peer_.toString(), strerror(r.error));
      remote_closed_ = true;
      closeNow(ConnectionEvent::RemoteClose);
      return;
    }
    if (r.end_of_stream) remote_closed_ = true;
    // A short read (the transport skips the read that would say EAGAIN) on a socket whose FIN
    // was already reported leaves the end of stream unread, and no new edge will come for it:
    // keep reading, the next read returns 0.
    if (r.would_block && r.bytes > 0 && peer_shutdown_seen_ && !r.end_of_stream)
      r.would_block = false;
    // The socket is drained, but the transport may have said it holds bytes of its own.
    if (r.would_block) readable_pending_ = r.end_of_stream || transport_readable_;
    if ((r.bytes > 0 || r.end_of_stream) && callbacks_) {
      callbacks_->onData(read_buffer_, r.end_of_stream);
    }
    if (r.would_block || r.end_of_stream) return;
  }
}

bool Connection::addBatchedRecv(uint32_t events, event::IoBatch& batch) {
  // Only the plain case: an error, a paused or finished reader, or TLS reads for itself.
  if (state_ != State::Open || read_disabled_ || remote_closed_ || batched_read_ready_ ||
      !(events & EPOLLIN) || (events & EPOLLERR) || !transport_->movesPlainBytes())
    return false;
  auto [dst, room] = read_buffer_.reserve(kMinReadRoom);
  if (!batch.addRecv(fd_, dst, room, this)) {
    read_buffer_.commit(0);
    return false;
  }
  batched_room_ = static_cast<uint32_t>(room);
  return true;
}

void Connection::onBatchedRecvDone(int result) {
  // Only the bookkeeping: the batch reports every read before any handler runs.
  read_buffer_.commit(result > 0 ? static_cast<size_t>(result) : 0);
  batched_read_result_ = result;
  batched_read_ready_ = true;
}

IoResult Connection::takeBatchedRead() {
  // The same answer PlainTransport::doRead gives after one read(2) of that result.
  batched_read_ready_ = false;
  IoResult r;
  const int n = batched_read_result_;
  if (n > 0) {
    r.bytes = static_cast<size_t>(n);
    // A full read says more may be waiting: doRead() goes on with the transport.
    r.would_block = static_cast<uint32_t>(n) < batched_room_;
  } else if (n == 0) {
    r.end_of_stream = true;
    r.would_block = false;
  } else if (n == -EINTR) {
    r.would_block = false;  // read again, for real
  } else if (n != -EAGAIN && n != -EWOULDBLOCK) {
    r.action = IoResult::Action::Close;
    r.error = -n;
  }
  return r;
}

void Connection::doWrite() {
  if (state_ == State::Closed || state_ == State::Connecting || state_ == State::Lingering) return;
  for (;;) {
    if (!write_buffer_.empty() || transport_wants_write_) {
      transport_wants_write_ = false;  // the transport asks again if it still has to
      IoResult r = transport_->doWrite(*this, write_buffer_);
      if (state_ == State::Closed) return;
      bytes_written_ += r.bytes;
      if (r.action == IoResult::Action::Close) {
        PLOG_DEBUG("write to {}: {}", peer_.toString(), strerror(r.error));
        closeNow(ConnectionEvent::RemoteClose);
        return;
      }
      write_blocked_ = r.would_block;
      updateWriteWatermark();
      if (state_ == State::Closed || write_blocked_) return;
      // Still handshaking: the owner's bytes wait until raiseConnected() flushes them.
      if (!transport_connected_) return;
    }
    if (files_.empty()) break;
    if (!writeQueuedFile()) return;
    if (write_blocked_ || (!files_.empty() && flush_task_.scheduled())) return;
    if (write_buffer_.empty() && files_.empty()) break;
  }
  if (write_buffer_.empty() && files_.empty()) {
    if (state_ == State::Closing) {
      finishClosing();
    } else if (shutdown_after_write_) {
      if (!shutDownTransport()) return;
      ::shutdown(fd_, SHUT_WR);
      shutdown_after_write_ = false;
    }
  }
}

bool Connection::shutDownTransport() {
  if (transport_shut_down_) return true;
  // A transport that never finished its handshake has nothing to end gracefully.
  if (!transport_connected_) {
    transport_shut_down_ = true;
    return true;
  }
  if (transport_->shutdown(*this) == ShutdownStatus::WantWrite) {
    write_blocked_ = true;  // EPOLLOUT calls doWrite(), which comes back here
    return false;
  }
  transport_shut_down_ = true;
  return true;
}

void Connection::raiseConnected() {
  if (transport_connected_) return;
  transport_connected_ = true;
  // Bytes the owner wrote during the handshake go out now.
  if (bufferedWriteBytes() > 0 || shutdown_after_write_) scheduleFlush();
  if (callbacks_) callbacks_->onEvent(ConnectionEvent::Connected);
}

void Connection::flushWanted() {
  transport_wants_write_ = true;
  scheduleFlush();
}

void Connection::setReadable() {
  readable_pending_ = true;
  transport_readable_ = true;
  if (state_ == State::Open || state_ == State::Lingering) scheduleRead();
}

void Connection::flush() {
  event::IoBatch* batch = loop_.ioBatch();
  if (batch != nullptr && transport_->movesPlainBytes() && state_ != State::Connecting &&
      state_ != State::Closed && !write_blocked_ && !write_buffer_.empty()) {
    if (!send_queued_) {
      send_queued_ = true;
      batch->enqueueSend(this);
    }
    return;
  }
  doWrite();
}

int Connection::prepareBatchedSend(struct iovec* iov, int max, int* fd) {
  // Something may have written (an EPOLLOUT flush) or closed since the flush was queued.
  if (state_ == State::Closed || write_blocked_ || write_buffer_.empty()) {
    send_queued_ = false;
    return 0;
  }
  const int count = write_buffer_.iovecs(iov, max);
  size_t offered = 0;
  for (int i = 0; i < count; ++i) offered += iov[i].iov_len;
  batched_offered_ = static_cast<uint32_t>(offered);
  *fd = fd_;
  return count;
}

void Connection::onBatchedSendDone(int result) {
  send_queued_ = false;
  if (state_ == State::Closed) return;
  if (result > 0) {
    write_buffer_.drain(static_cast<size_t>(result));
    bytes_written_ += static_cast<uint64_t>(result);
    // A short send means the socket buffer is full, as for the system call.
    write_blocked_ = static_cast<uint32_t>(result) < batched_offered_;
  } else if (result == -EAGAIN || result == -EWOULDBLOCK) {
    write_blocked_ = true;
  } else if (result != -EINTR) {
    PLOG_DEBUG("write to {}: {}", peer_.toString(), strerror(result < 0 ? -result : EPIPE));
    closeNow(ConnectionEvent::RemoteClose);
    return;
  }
  updateWriteWatermark();
  if (state_ == State::Closed || write_blocked_) return;
  // What one batched send could not cover (more blocks than its iovecs, a queued file), and
  // the close or shutdown that waits for an empty buffer.
  doWrite();
}

void Connection::cancelBatchedSend() {
  if (!send_queued_) return;
  send_queued_ = false;
  loop_.cancelBatchedSend(this);
}

void Connection::close(CloseType type) {
  if (state_ == State::Closed || state_ == State::Closing || state_ == State::Lingering) {
    if (type == CloseType::NoFlush && state_ != State::Closed)
      closeNow(ConnectionEvent::LocalClose);
    if (type == CloseType::Linger) linger_ = true;
    return;
  }
  if (type == CloseType::NoFlush || state_ != State::Open) {
    closeNow(ConnectionEvent::LocalClose);
    return;
  }
  linger_ = type == CloseType::Linger;
  state_ = State::Closing;
  read_disabled_ = true;
  if (bufferedWriteBytes() > 0) {
    if (!write_blocked_) flush_task_.schedule();
    return;
  }
  finishClosing();
}

void Connection::finishClosing() {
  if (!shutDownTransport()) return;
  const bool unread_input = !read_buffer_.empty() || readable_pending_;
  if (remote_closed_ || (!linger_ && !unread_input) || linger_ms_ <= 0) {
    closeNow(ConnectionEvent::LocalClose);
    return;
  }
  // Our FIN tells the peer the answer is complete; what it still sends is read and dropped
  // until its own FIN, so nothing it sends makes the kernel reset the connection first.
  ::shutdown(fd_, SHUT_WR);
  state_ = State::Lingering;
  read_buffer_.clear();
  linger_timer_.armAfterMs(linger_ms_);
  read_disabled_ = false;
  readable_pending_ = true;  // go and look: the edge for bytes already queued has passed
  scheduleRead();
}

void Connection::discardInput() {
  // Bounded per call like doRead(); the linger timeout bounds the whole.
  for (size_t total = 0; total < kMaxReadPerEvent;) {
    IoResult r = transport_->doRead(*this, read_buffer_, kReadBatch);
    total += r.bytes;
    read_buffer_.clear();
    if (r.action == IoResult::Action::Close || r.end_of_stream) {
      closeNow(ConnectionEvent::LocalClose);
      return;
    }
    if (r.would_block) return;
  }
  scheduleRead();
}

bool Connection::quiescent() const {
  return state_ == State::Open && read_buffer_.empty() && bufferedWriteBytes() == 0 &&
         !read_disabled_ && !readable_pending_ && !peer_shutdown_seen_ && !remote_closed_ &&
         !shutdown_after_write_ && !flush_task_.scheduled() && !read_task_.scheduled() &&
         !send_queued_ && !batched_read_ready_ && transport_connected_ && !transport_wants_write_;
}

Connection::Released Connection::release() {
  Released out{fd_, std::move(transport_)};
  fd_ = -1;
  state_ = State::Closed;
  cancelBatchedSend();
  flush_task_.cancel();
  read_task_.cancel();
  return out;
}

void Connection::closeNow(ConnectionEvent event) {
  if (state_ == State::Closed) return;
  state_ = State::Closed;
  cancelBatchedSend();
  flush_task_.cancel();
  read_task_.cancel();
  linger_timer_.disarm();
  if (fd_ >= 0) {
    loop_.closeFd(fd_);
    fd_ = -1;
  }
  write_buffer_.clear();
  closeQueuedFiles();
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
