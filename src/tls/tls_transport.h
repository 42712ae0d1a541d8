#pragma once
// TlsTransport: TLS over one TCP socket with OpenSSL, as a net::TransportSocket.
//
// OpenSSL reads and writes the socket itself (a socket BIO: no extra copy through a memory
// BIO); this class turns its WANT_READ / WANT_WRITE answers into the transport contract:
//   - the handshake runs inside doRead()/doWrite(); Connected is raised when it completes, and
//     the connection is asked to read again then (a client's first request often arrives with
//     its Finished message, and no new readiness edge will announce it);
//   - SSL_read() that needs to write (a TLS 1.3 key update) asks for a flush, and the next
//     write asks for a read again; SSL_write() that needs to read waits for the next read;
//   - shutdown() sends close_notify once everything is written; a close without it is the
//     abortive one;
//   - reads stop at the connection's batch size even when OpenSSL holds more decrypted
//     bytes: the IoResult then says "not would_block", so the connection comes back for them.
//
// The SSL object is kept while a keep-alive connection is parked; the contexts set
// SSL_MODE_RELEASE_BUFFERS, so an idle session holds no record buffers.

#include <openssl/ssl.h>

#include <string>

#include "net/transport.h"

namespace portico::tls {

class TlsTransport final : public net::TransportSocket {
 public:
  // Takes ownership of `ssl`, already set to server or client mode by its context.
  explicit TlsTransport(SSL* ssl) : ssl_(ssl) {}
  ~TlsTransport() override;
  TlsTransport(const TlsTransport&) = delete;
  TlsTransport& operator=(const TlsTransport&) = delete;

  const char* protocolName() const override { return "tls"; }
  void onConnected(net::TransportCallbacks& callbacks) override;
  net::IoResult doRead(net::TransportCallbacks& callbacks, buffer::Buffer& buffer,
                       size_t max_bytes) override;
  net::IoResult doWrite(net::TransportCallbacks& callbacks, buffer::Buffer& buffer) override;
  net::ShutdownStatus shutdown(net::TransportCallbacks& callbacks) override;

  bool secure() const override { return true; }
  std::string_view negotiatedProtocol() const override;
  std::string_view serverName() const override;
  std::string_view tlsVersion() const override;
  std::string_view cipher() const override;
  bool sessionResumed() const override;
  std::optional<net::PeerCertificate> peerCertificate() const override;

 private:
  enum class Step { Done, WantRead, WantWrite, Failed };
  // Advances the handshake; raises Connected when it completes.
  Step handshake(net::TransportCallbacks& callbacks);
  // Logs why OpenSSL gave up on this connection (at debug: clients fail handshakes all day).
  void logFailure(net::TransportCallbacks& callbacks, const char* during, int ssl_error);
  // The IoResult that closes the connection after OpenSSL failed.
  net::IoResult failed(net::TransportCallbacks& callbacks, const char* during, int ssl_error);

  SSL* ssl_;
  bool handshake_done_ = false;
  bool failed_ = false;  // OpenSSL reported a fatal error: the session must not be resumed
  bool read_wants_write_ = false;  // SSL_read() stopped to write: the next doWrite() re-reads
  bool write_wants_read_ = false;  // SSL_write() stopped to read: the next doRead() re-writes
};

}  // namespace portico::tls
