#include "net/transport.h"

#include <limits.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

namespace portico::net {

namespace {
PlainTransport shared_plain_transport;
}  // namespace

void TransportDeleter::operator()(TransportSocket* transport) const {
  if (transport != &shared_plain_transport) delete transport;
}

TransportSocketPtr plainTransport() {
  return TransportSocketPtr(&shared_plain_transport);
}

std::shared_ptr<const TransportSocketFactory> plainTransportFactory() {
  static const std::shared_ptr<const TransportSocketFactory> factory =
      std::make_shared<PlainTransportFactory>();
  return factory;
}

namespace {

// sendmsg/send rather than writev: they go straight to the socket layer (no VFS write path) and
// MSG_NOSIGNAL makes a peer's reset an EPIPE for this call alone, whatever SIGPIPE's disposition.
ssize_t sendVector(int fd, struct iovec* iov, int count) {
  if (count == 1) return ::send(fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
  struct msghdr msg {};
  msg.msg_iov = iov;
  msg.msg_iovlen = static_cast<size_t>(count);
  return ::sendmsg(fd, &msg, MSG_NOSIGNAL);
}

}  // namespace

IoResult PlainTransport::doRead(TransportCallbacks& callbacks, buffer::Buffer& buffer,
                                size_t max_bytes) {
  const int fd = callbacks.fd();
  IoResult r;
  while (r.bytes < max_bytes) {
    auto [dst, room] = buffer.reserve(kMinReadRoom);
    // recv, not read: a socket read through the VFS layer pays for file-position and iterator
    // work that sockets never need.
    ssize_t n = ::recv(fd, dst, room, 0);
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

IoResult PlainTransport::doWrite(TransportCallbacks& callbacks, buffer::Buffer& buffer) {
  const int fd = callbacks.fd();
  IoResult r;
  r.would_block = false;
  constexpr int kMaxIov = 64;
  struct iovec iov[kMaxIov];
  while (!buffer.empty()) {
    int count = buffer.iovecs(iov, kMaxIov);
    size_t offered = 0;
    for (int i = 0; i < count; ++i) offered += iov[i].iov_len;
    ssize_t n = sendVector(fd, iov, count);
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
