#pragma once
// TransportSocket: how a Connection moves bytes (plain TCP, or TLS in tls/), and the contract
// between the two. The connection owns the socket, the buffers, the epoll registration and
// the timers; the transport owns what happens to bytes on their way, and decides three things
// the connection cannot know:
//   - when the connection is established: plain TCP at once, TLS after its handshake
//     (TransportCallbacks::raiseConnected). Nothing reaches the owner before that.
//   - when it must write although nothing is queued (a handshake message, a key update, a
//     close_notify the socket had no room for): flushWanted().
//   - when it holds readable bytes the socket will not signal again (OpenSSL decrypts whole
//     records, and a read capped at max_bytes leaves the rest inside it): setReadable().
// Closing has two ways: shutdown() is the graceful end of our sending side (TLS sends
// close_notify) once every byte is written; a close that skips it is abortive (NoFlush).
//
// A transport never registers with the loop, arms a timer or closes the socket: one place
// (Connection) does that for every transport, so the edge-triggered readiness rules stay in
// one file. Calls get the callbacks as an argument rather than storing them, so the shared
// plain transport needs no per-connection state at all.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "buffer/buffer.h"

namespace portico::net {

struct Address;

// Reads ask the buffer for at least this much room (they get the rest of a block if it is more).
inline constexpr size_t kMinReadRoom = 4096;

struct IoResult {
  enum class Action { KeepOpen, Close };
  Action action = Action::KeepOpen;
  size_t bytes = 0;
  bool end_of_stream = false;  // the peer ended its sending side (FIN, or TLS close_notify)
  bool would_block = true;     // stopped because the socket had no more data / room
  int error = 0;               // errno when action == Close because of an error
};

// What a transport may ask of the connection it serves.
class TransportCallbacks {
 public:
  virtual ~TransportCallbacks() = default;
  virtual int fd() const = 0;
  // The transport can carry the owner's bytes now (TCP connected, TLS handshake done).
  virtual void raiseConnected() = 0;
  // Call doWrite() again, with or without queued bytes: at the end of this loop turn, or once
  // the socket is writable if that doWrite() reports would_block.
  virtual void flushWanted() = 0;
  // Bytes are buffered inside the transport: call doRead() again although the socket may
  // never report them.
  virtual void setReadable() = 0;
};

enum class ShutdownStatus {
  Done,       // our end is sent (or there is nothing to send): close or half-close the socket
  WantWrite,  // no room in the socket: call shutdown() again once it is writable
};

// What the peer proved with its certificate (TLS with client or server verification).
struct PeerCertificate {
  bool verified = false;           // chain and (client side) name checked against the trusted CAs
  std::string subject;             // RFC 2253 form
  std::vector<std::string> sans;   // "DNS:a.example", "IP:10.0.0.1", "URI:...", "email:..."
  std::string sha256_fingerprint;  // lower-case hex, no separators
};

class TransportSocket {
 public:
  virtual ~TransportSocket() = default;
  virtual const char* protocolName() const = 0;  // "tcp", "tls"

  // The TCP connection is established (connected or accepted). The transport raises
  // Connected now, or later when its own handshake is done.
  virtual void onConnected(TransportCallbacks& callbacks) = 0;
  // Reads into `buffer` until the socket would block, the peer ended, or `max_bytes` were
  // read. Before the transport is connected, it may only advance its handshake (bytes == 0).
  virtual IoResult doRead(TransportCallbacks& callbacks, buffer::Buffer& buffer,
                          size_t max_bytes) = 0;
  // Writes from `buffer` (draining what was written) until empty or the socket would block.
  // Called with an empty buffer when the transport asked for it (flushWanted()).
  virtual IoResult doWrite(TransportCallbacks& callbacks, buffer::Buffer& buffer) = 0;
  // The graceful end of our sending side, after every byte was written.
  virtual ShutdownStatus shutdown(TransportCallbacks& callbacks) {
    (void)callbacks;
    return ShutdownStatus::Done;
  }

  // True if bytes may go straight from a file to the socket (sendfile): plain TCP only.
  virtual bool supportsSendfile() const { return false; }
  // True if doRead()/doWrite() move bytes between buffer and socket unchanged, so the
  // connection may have the loop's IoBatch move them instead (event/io_batch.h): plain TCP only.
  virtual bool movesPlainBytes() const { return false; }

  // What was negotiated. Empty / false / nullopt for plain TCP and before the handshake.
  virtual bool secure() const { return false; }
  virtual std::string_view negotiatedProtocol() const { return {}; }  // ALPN
  virtual std::string_view serverName() const { return {}; }          // SNI
  virtual std::string_view tlsVersion() const { return {}; }          // "TLSv1.3"
  virtual std::string_view cipher() const { return {}; }
  virtual bool sessionResumed() const { return false; }
  virtual std::optional<PeerCertificate> peerCertificate() const { return std::nullopt; }
};

// Deletes a transport unless it is the shared plain one (plainTransport()).
struct TransportDeleter {
  void operator()(TransportSocket* transport) const;
};
using TransportSocketPtr = std::unique_ptr<TransportSocket, TransportDeleter>;

// Plain TCP keeps no per-connection state, so every plain connection points at one shared,
// immutable instance instead of allocating its own (a malloc per connection, and 32 bytes of
// every parked idle connection). Safe from any thread: it has no data.
TransportSocketPtr plainTransport();

class PlainTransport final : public TransportSocket {
 public:
  const char* protocolName() const override { return "tcp"; }
  void onConnected(TransportCallbacks& callbacks) override { callbacks.raiseConnected(); }
  IoResult doRead(TransportCallbacks& callbacks, buffer::Buffer& buffer, size_t max_bytes) override;
  IoResult doWrite(TransportCallbacks& callbacks, buffer::Buffer& buffer) override;
  bool supportsSendfile() const override { return true; }
  bool movesPlainBytes() const override { return true; }
};

// Makes the transport of each new connection: one factory per listener (server side) and
// per cluster (client side), built with the configuration snapshot and shared by every
// worker, so create() must be safe from any thread.
class TransportSocketFactory {
 public:
  virtual ~TransportSocketFactory() = default;
  // `peer`: the address connected to (client side) or accepted from (server side).
  // `server_name`: client side, the request's host when the cluster names its TLS peer after
  // it (empty otherwise, and on the server side). `endpoint_name`: client side, the DNS name
  // the endpoint was discovered under (empty for a configured address): the TLS name when the
  // cluster configures none.
  virtual TransportSocketPtr create(const Address& peer, std::string_view server_name,
                                    std::string_view endpoint_name) const = 0;
  virtual bool secure() const = 0;
};

class PlainTransportFactory final : public TransportSocketFactory {
 public:
  TransportSocketPtr create(const Address&, std::string_view, std::string_view) const override {
    return plainTransport();
  }
  bool secure() const override { return false; }
};

// The one plain factory every plain listener and cluster shares.
std::shared_ptr<const TransportSocketFactory> plainTransportFactory();

}  // namespace portico::net
