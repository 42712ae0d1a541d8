#include "net/transport.h"

#include <limits.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

namespace portico::net {

IoResult PlainTransport::doRead(int fd, buffer::Buffer& buffer, size_t max_bytes) {
  IoResult r;
  while (r.bytes < max_bytes) {
    auto [dst, room] = buffer.reserve(4096);
    ssize_t n = ::read(fd, dst, room);
    if (n > 0) {
      buffer.commit(static_cast<size_t>(n));
      r.bytes += static_cast<size_t>(n);
      // A short read means the socket is drained: skip the read that would return EAGAIN.
      if (static_cast<size_t>(n) < room) {
        r.would_block = true;
        return r;
      }
      continue;
    }
    buffer.commit(0);
    if (n == 0) {
      r.end_of_stream = true;
      r.would_block = false;
      return r;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      r.would_block = true;
      return r;
    }
    r.action = IoResult::Action::Close;
    r.error = errno;
    return r;
  }
  r.would_block = false;  // stopped on the limit: more may be waiting
  return r;
}

IoResult PlainTransport::doWrite(int fd, buffer::Buffer& buffer) {
  IoResult r;
  r.would_block = false;
  constexpr int kMaxIov = 64;
  struct iovec iov[kMaxIov];
  while (!buffer.empty()) {
    int count = buffer.iovecs(iov, kMaxIov);
    size_t offered = 0;
    for (int i = 0; i < count; ++i) offered += iov[i].iov_len;
    ssize_t n = ::writev(fd, iov, count);
    if (n > 0) {
      buffer.drain(static_cast<size_t>(n));
      r.bytes += static_cast<size_t>(n);
      // A short write means the socket buffer is full: skip the writev that would say EAGAIN.
      if (static_cast<size_t>(n) < offered) {
        r.would_block = true;
        return r;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      r.would_block = true;
      return r;
    }
    r.action = IoResult::Action::Close;
    r.error = n < 0 ? errno : EPIPE;
    return r;
  }
  return r;
}

}  // namespace portico::net
