#pragma once
// TransportSocket: how a Connection moves bytes. Plain TCP today; TLS (OpenSSL) implements the
// same interface, so connections, codecs and the proxy never know whether bytes are encrypted.

#include <cstddef>
#include <memory>

#include "buffer/buffer.h"

namespace portico::net {

// Reads ask the buffer for at least this much room (they get the rest of a block if it is more).
inline constexpr size_t kMinReadRoom = 4096;

struct IoResult {
  enum class Action { KeepOpen, Close };
  Action action = Action::KeepOpen;
  size_t bytes = 0;
  bool end_of_stream = false;  // the peer shut down its sending side (read returned 0)
  bool would_block = true;     // stopped because the socket had no more data / room
  int error = 0;               // errno when action == Close because of an error
};

class TransportSocket {
 public:
  virtual ~TransportSocket() = default;
  // Reads into `buffer` until the socket would block, the peer closed, or `max_bytes` were read.
  virtual IoResult doRead(int fd, buffer::Buffer& buffer, size_t max_bytes) = 0;
  // Writes from `buffer` (draining what was written) until empty or the socket would block.
  virtual IoResult doWrite(int fd, buffer::Buffer& buffer) = 0;
  // Called once the TCP connection is established (client side) or accepted (server side).
  virtual void onConnected(int fd) { (void)fd; }
  virtual const char* protocolName() const = 0;  // "tcp", "tls"
  // True if bytes may go straight from a file to the socket (sendfile): plain TCP only.
  virtual bool supportsSendfile() const { return false; }
  // True if doRead()/doWrite() move bytes between buffer and socket unchanged, so the
  // connection may have the loop's IoBatch move them instead (event/io_batch.h): plain TCP only.
  virtual bool movesPlainBytes() const { return false; }
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
  IoResult doRead(int fd, buffer::Buffer& buffer, size_t max_bytes) override;
  IoResult doWrite(int fd, buffer::Buffer& buffer) override;
  const char* protocolName() const override { return "tcp"; }
  bool supportsSendfile() const override { return true; }
  bool movesPlainBytes() const override { return true; }
};

}  // namespace portico::net
