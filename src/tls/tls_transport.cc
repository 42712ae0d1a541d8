#include "tls/tls_transport.h"

#include <openssl/err.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/log.h"
#include "tls/peer_certificate.h"

namespace portico::tls {

namespace {

// The most one TLS record carries: gathering small slices up to it makes one record (and one
// encryption) of a response head and its body instead of one per slice.
constexpr size_t kMaxRecordPayload = 16 * 1024;

// True when the peer closed TCP without close_notify. Most clients do that; the framing of
// HTTP (Content-Length, chunked) says whether anything was cut, so this is an end of stream.
net::IoResult closed(int error) {
  net::IoResult r;
  r.action = net::IoResult::Action::Close;
  r.would_block = false;
  r.error = error;
  return r;
}

bool uncleanEof(int ssl_error) {
  if (ssl_error == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0) return true;
  return ssl_error == SSL_ERROR_SSL &&
         ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
}

}  // namespace

TlsTransport::~TlsTransport() {
  // OpenSSL forgets the session of a connection freed without close_notify (a guard against
  // truncation), and in TLS 1.3 that is the very session the last ticket created: an upstream
  // pool would never resume, a TLS 1.2 client never hit the cache. HTTP framing, not TLS,
  // says whether a message was cut, so an end without a TLS failure keeps its session.
  if (handshake_done_ && !failed_)
    SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_free(ssl_);
}

void TlsTransport::onConnected(net::TransportCallbacks& callbacks) {
  SSL_set_fd(ssl_, callbacks.fd());
  // A client speaks first: start now, so the ClientHello leaves without waiting for a read.
  // A server waits for the ClientHello's readiness edge.
  if (!SSL_is_server(ssl_)) {
    if (handshake(callbacks) == Step::WantWrite) callbacks.flushWanted();
  }
}

TlsTransport::Step TlsTransport::handshake(net::TransportCallbacks& callbacks) {
  ERR_clear_error();
  errno = 0;
  const int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    handshake_done_ = true;
    callbacks.raiseConnected();
    // Application data may have come with the last handshake flight, already read from the
    // socket into OpenSSL or still in the socket, and no new edge will announce it.
    callbacks.setReadable();
    return Step::Done;
  }
  const int err = SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_WANT_READ) return Step::WantRead;
  if (err == SSL_ERROR_WANT_WRITE) return Step::WantWrite;
  failed_ = true;
  logFailure(callbacks, "handshake", err);
  return Step::Failed;
}

net::IoResult TlsTransport::doRead(net::TransportCallbacks& callbacks, buffer::Buffer& buffer,
                                   size_t max_bytes) {
  net::IoResult r;
  if (!handshake_done_) {
    const Step step = handshake(callbacks);
    if (step == Step::Failed) return closed(EPROTO);
    if (step == Step::WantWrite) callbacks.flushWanted();
    if (step != Step::Done) return r;  // would_block: wait for the peer's next flight
  }
  if (write_wants_read_) {
    write_wants_read_ = false;
    callbacks.flushWanted();
  }
  while (r.bytes < max_bytes) {
    auto [dst, room] = buffer.reserve(net::kMinReadRoom);
    ERR_clear_error();
    errno = 0;
    const int n = SSL_read(ssl_, dst, static_cast<int>(room));
    if (n > 0) {
      buffer.commit(static_cast<size_t>(n));
      r.bytes += static_cast<size_t>(n);
      continue;
    }
    buffer.commit(0);
    const int err = SSL_get_error(ssl_, n);
    switch (err) {
      case SSL_ERROR_WANT_READ:
        r.would_block = true;
        return r;
      case SSL_ERROR_WANT_WRITE:
        read_wants_write_ = true;
        callbacks.flushWanted();
        r.would_block = true;
        return r;
      case SSL_ERROR_ZERO_RETURN:  // close_notify
        r.end_of_stream = true;
        r.would_block = false;
        return r;
      default:
        if (uncleanEof(err)) {
          r.end_of_stream = true;
          r.would_block = false;
          return r;
        }
        return failed(callbacks, "read", err);
    }
  }
  r.would_block = false;  // stopped on the limit: OpenSSL or the socket may hold more
  return r;
}

net::IoResult TlsTransport::doWrite(net::TransportCallbacks& callbacks, buffer::Buffer& buffer) {
  net::IoResult r;
  r.would_block = false;
  if (!handshake_done_) {
    const Step step = handshake(callbacks);
    if (step == Step::Failed) return closed(EPROTO);
    // Waiting for the socket to drain, or for the peer: reads drive the handshake then.
    r.would_block = step == Step::WantWrite;
    if (step != Step::Done) return r;
  }
  if (read_wants_write_) {
    read_wants_write_ = false;
    callbacks.setReadable();
  }
  thread_local char scratch[kMaxRecordPayload];
  while (!buffer.empty()) {
    // Gather up to one record. A retry after WANT_WRITE offers the same leading bytes again
    // (the buffer only grows at its end), which is what SSL_write() requires;
    // SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER lets them come from another address.
    const char* data;
    size_t length;
    std::string_view first = buffer.firstSlice();
    if (first.size() >= kMaxRecordPayload || first.size() == buffer.length()) {
      data = first.data();
      length = first.size();
    } else {
      constexpr int kMaxIov = 16;
      struct iovec iov[kMaxIov];
      const int count = buffer.iovecs(iov, kMaxIov);
      length = 0;
      for (int i = 0; i < count && length < kMaxRecordPayload; ++i) {
        const size_t take = std::min(iov[i].iov_len, kMaxRecordPayload - length);
        std::memcpy(scratch + length, iov[i].iov_base, take);
        length += take;
      }
      data = scratch;
    }
    ERR_clear_error();
    errno = 0;
    size_t written = 0;
    if (SSL_write_ex(ssl_, data, length, &written) == 1) {
      buffer.drain(written);
      r.bytes += written;
      continue;
    }
    const int err = SSL_get_error(ssl_, 0);
    if (err == SSL_ERROR_WANT_WRITE) {
      r.would_block = true;
      return r;
    }
    if (err == SSL_ERROR_WANT_READ) {
      write_wants_read_ = true;
      r.would_block = true;
      return r;
    }
    return failed(callbacks, "write", err);
  }
  return r;
}

net::ShutdownStatus TlsTransport::shutdown(net::TransportCallbacks& callbacks) {
  if (!handshake_done_) return net::ShutdownStatus::Done;
  ERR_clear_error();
  errno = 0;
  // Sends our close_notify; the peer's is not waited for (the connection closes or lingers
  // next, and HTTP framing already told the peer where the data ended).
  const int rc = SSL_shutdown(ssl_);
  if (rc >= 0) return net::ShutdownStatus::Done;
  const int err = SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_WANT_WRITE) return net::ShutdownStatus::WantWrite;
  if (err != SSL_ERROR_SYSCALL) logFailure(callbacks, "shutdown", err);
  return net::ShutdownStatus::Done;  // nothing more can be sent: close anyway
}

net::IoResult TlsTransport::failed(net::TransportCallbacks& callbacks, const char* during,
                                   int ssl_error) {
  const int saved_errno = errno;
  failed_ = true;
  logFailure(callbacks, during, ssl_error);
  return closed(ssl_error == SSL_ERROR_SYSCALL && saved_errno != 0 ? saved_errno : EPROTO);
}

void TlsTransport::logFailure(net::TransportCallbacks& callbacks, const char* during,
                              int ssl_error) {
  if (!log::enabled(log::Level::Debug)) return;
  unsigned long code = ERR_peek_error();
  char reason[256] = "";
  if (code != 0) {
    ERR_error_string_n(code, reason, sizeof reason);
  } else if (ssl_error == SSL_ERROR_SYSCALL) {
    std::snprintf(reason, sizeof reason, "%s", errno != 0 ? strerror(errno) : "connection closed");
  }
  PLOG_DEBUG("tls {} failed on fd {}: {}", during, callbacks.fd(), reason);
}

std::string_view TlsTransport::negotiatedProtocol() const {
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_, &data, &length);
  return data == nullptr ? std::string_view()
                         : std::string_view(reinterpret_cast<const char*>(data), length);
}

std::string_view TlsTransport::serverName() const {
  const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  return name == nullptr ? std::string_view() : std::string_view(name);
}

std::string_view TlsTransport::tlsVersion() const {
  return handshake_done_ ? std::string_view(SSL_get_version(ssl_)) : std::string_view();
}

std::string_view TlsTransport::cipher() const {
  const char* name = handshake_done_ ? SSL_get_cipher_name(ssl_) : nullptr;
  return name == nullptr ? std::string_view() : std::string_view(name);
}

bool TlsTransport::sessionResumed() const {
  return handshake_done_ && SSL_session_reused(ssl_) == 1;
}

std::optional<net::PeerCertificate> TlsTransport::peerCertificate() const {
  X509* cert = SSL_get0_peer_certificate(ssl_);
  if (cert == nullptr) return std::nullopt;
  net::PeerCertificate facts = describeCertificate(cert);
  facts.verified = SSL_get_verify_result(ssl_) == X509_V_OK;
  return facts;
}

}  // namespace portico::tls
