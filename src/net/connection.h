#pragma once
// Connection: one TCP socket, its transport (plain or TLS), a read buffer and a write buffer
// with watermarks. Worker-local: created, used and destroyed on one event loop.
//
// Reads: the socket is registered once, edge-triggered. On readiness the connection reads
// until EAGAIN (or a per-event cap, so one busy peer cannot starve the loop; the loop's IoBatch
// may have done the first read already) and hands the read buffer to its callbacks.
// readDisable(true) stops delivering data: the bytes stay in the kernel, so TCP flow control
// slows the peer down (backpressure without buffering).
//
// Writes: write() appends to the write buffer and schedules one flush for the end of the
// current loop turn, so several writes in one turn become one send (and, with the loop's
// IoBatch, the flushes of all connections of the turn share one system call). writeFile()
// queues a file range that is sent from the file (sendfile, or block by block), never read
// whole into memory. When what the connection still owes its peer (buffered bytes plus queued
// file ranges) passes the high watermark, onAboveWriteBufferHighWatermark() tells the owner to
// stop producing; onBelowWriteBufferLowWatermark() tells it to resume.
//
// Closing: close(FlushWrite) stops reading, sends what is buffered, ends the transport
// gracefully (TLS close_notify), then closes (lingering first if input waits unread);
// close(Linger) lingers in any case; close(NoFlush) is abortive: it closes at once, without
// the transport's goodbye.
//
// The transport (net/transport.h) decides when the connection is established: the owner hears
// ConnectionEvent::Connected after a TLS handshake, and gets no data before it. The owner hears
// onEvent(LocalClose/RemoteClose) exactly once, and frees the connection through the loop's
// deferredDelete, never directly inside a callback.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "buffer/buffer.h"
#include "event/event_loop.h"
#include "net/address.h"
#include "net/transport.h"

namespace portico::net {

enum class ConnectionEvent { Connected, RemoteClose, LocalClose };
// FlushWrite: send what is buffered, then close; if the peer's bytes wait unread, linger as
// below (closing with unread input makes the kernel reset the connection, and a reset can
// destroy the last response before the peer reads it). Linger: send what is buffered, shut
// down writing, and read and discard until the peer's FIN or the linger timeout, then close.
// NoFlush: close at once.
enum class CloseType { FlushWrite, Linger, NoFlush };

// How a socket reaches a Connection: just accepted, still connecting (wait for EPOLLOUT
// before reading), or already registered with the loop and open (an idle connection that
// was parked in a smaller record and is resuming).
enum class SocketStart { Accepted, Connecting, Resumed };

class ConnectionCallbacks {
 public:
  virtual ~ConnectionCallbacks() = default;
  // New bytes are in `data` (the connection's read buffer; consume what you can, leave the
  // rest). `end_of_stream`: the peer will send nothing more.
  virtual void onData(buffer::Buffer& data, bool end_of_stream) = 0;
  virtual void onEvent(ConnectionEvent event) = 0;
  virtual void onAboveWriteBufferHighWatermark() {}
  virtual void onBelowWriteBufferLowWatermark() {}
};

class Connection final : public event::IoHandler,
                         public event::Deletable,
                         public event::BatchedSender,
                         public event::BatchedReader,
                         private TransportCallbacks {
 public:
  Connection(event::EventLoop& loop, int fd, TransportSocketPtr transport, SocketStart start);
  ~Connection() override;

  // Non-blocking connect to `address`. Returns nullptr (errno set) if the socket could not be
  // created or the connect failed at once (e.g. ECONNREFUSED on loopback).
  static std::unique_ptr<Connection> connectTo(event::EventLoop& loop, const Address& address,
                                               TransportSocketPtr transport);

  void setCallbacks(ConnectionCallbacks* callbacks) { callbacks_ = callbacks; }
  void setWriteBufferLimit(size_t bytes);
  // How long a lingering close waits for the peer's FIN (see CloseType::Linger).
  void setLingerTimeout(int64_t ms) { linger_ms_ = ms; }

  // Moves all of `data` into the write buffer. `end_of_stream`: shut down writing after it.
  void write(buffer::Buffer& data, bool end_of_stream = false);
  void write(std::string_view data);
  // Queues `length` bytes of file `file_fd` from `offset`, after everything written so far;
  // takes ownership of the descriptor. Plain TCP sends it with sendfile(2) (no copy through
  // user space); other transports read it in slices as the socket drains. Bytes written
  // while a file is queued go after it. A small file queued behind another is read at once
  // (one descriptor per pipelined tiny file would cost more than its bytes).
  void writeFile(int file_fd, uint64_t offset, uint64_t length);

  void readDisable(bool disable);
  bool readDisabled() const { return read_disabled_; }

  void close(CloseType type);

  // Nothing in flight in either direction and nothing pending: the socket can be handed to a
  // smaller owner while it waits for its peer (see release()).
  bool quiescent() const;
  // Gives up the socket without closing it: the descriptor stays registered with the loop
  // (the new owner re-points it) and keeps its transport. The connection ends Closed without
  // an event. Only when quiescent().
  struct Released {
    int fd;
    TransportSocketPtr transport;
  };
  Released release();
  bool closed() const { return state_ == State::Closed; }
  bool lingering() const { return state_ == State::Lingering; }
  bool connecting() const { return state_ == State::Connecting; }
  // The transport carries the owner's bytes (after TLS's handshake); ConnectionEvent::Connected
  // was raised, or, for a connection built around an accepted socket, happened before the
  // owner set its callbacks.
  bool transportConnected() const { return transport_connected_; }
  const TransportSocket& transport() const { return *transport_; }

  // Bytes still owed to the peer: buffered, and in queued file ranges.
  size_t bufferedWriteBytes() const;
  bool aboveWriteHighWatermark() const { return write_watermark_.aboveHigh(); }
  buffer::Buffer& readBuffer() { return read_buffer_; }
  event::EventLoop& loop() { return loop_; }
  const Address& peerAddress() const { return peer_; }
  void setPeerAddress(const Address& a) { peer_ = a; }
  uint64_t bytesRead() const { return bytes_read_; }
  uint64_t bytesWritten() const { return bytes_written_; }
  // The peer sent FIN (or the socket failed): nothing more will be read.
  bool remoteClosed() const { return remote_closed_; }

  int fd() const override { return fd_; }
  void onIoReady(uint32_t events) override;
  bool addBatchedRecv(uint32_t events, event::IoBatch& batch) override;
  void onBatchedRecvDone(int result) override;
  int prepareBatchedSend(struct iovec* iov, int max, int* fd) override;
  void onBatchedSendDone(int result) override;

 private:
  enum class State { Connecting, Open, Closing, Lingering, Closed };
  void doRead();
  void doWrite();
  void flush();  // the end-of-turn flush: through the loop's IoBatch when it can
  IoResult takeBatchedRead();
  void cancelBatchedSend();
  bool writeQueuedFile();  // false if the connection was closed
  void finishFile();
  void closeQueuedFiles();
  void updateWriteWatermark() { write_watermark_.update(bufferedWriteBytes()); }
  void scheduleFlush();
  void scheduleRead();
  void closeNow(ConnectionEvent event);
  // The write side is done: close, or linger first if asked to or input waits unread.
  void finishClosing();
  void discardInput();
  // TransportCallbacks
  void raiseConnected() override;
  void flushWanted() override;
  void setReadable() override;
  // The transport's graceful end (close_notify) before our FIN; false while it waits for room.
  bool shutDownTransport();
  static void onHighWatermark(void* self);
  static void onLowWatermark(void* self);

  event::EventLoop& loop_;
  int fd_;
  TransportSocketPtr transport_;
  ConnectionCallbacks* callbacks_ = nullptr;
  buffer::Buffer read_buffer_;
  buffer::Buffer write_buffer_;
  buffer::Watermark write_watermark_;
  Address peer_;
  State state_;
  bool read_disabled_ = false;
  bool readable_pending_ = false;  // edge seen while reads were disabled or capped
  // The peer's FIN (EPOLLRDHUP/EPOLLHUP) was reported. Its edge is not repeated, so a short
  // read that drained the data must not end reading: the end of stream still waits behind it.
  bool peer_shutdown_seen_ = false;
  bool write_blocked_ = false;       // waiting for EPOLLOUT
  bool send_queued_ = false;         // in the loop's IoBatch
  bool batched_read_ready_ = false;  // the batch read the socket; doRead() reports it
  uint32_t batched_offered_ = 0;     // bytes the batched send was given
  uint32_t batched_room_ = 0;        // room the batched receive was given
  int batched_read_result_ = 0;      // bytes received or -errno
  bool shutdown_after_write_ = false;
  bool transport_connected_ = false;
  bool transport_wants_write_ = false;  // flushWanted(): call doWrite() even with nothing queued
  bool transport_shut_down_ = false;    // shutdown() reported Done
  bool transport_readable_ = false;     // setReadable() during the current doRead()
  bool linger_ = false;                 // close(Linger) was asked for
  bool remote_closed_ = false;
  uint64_t bytes_read_ = 0;
  uint64_t bytes_written_ = 0;
  // A file range queued behind the write buffer, and the bytes written after it (before the
  // next queued file). Pipelined responses may queue several; the owner stops producing
  // above the high watermark, which counts them, so the queue stays short.
  struct QueuedFile {
    int fd;  // owned
    uint64_t offset;
    uint64_t remaining;
    buffer::Buffer after;
  };
  std::vector<QueuedFile> files_;  // the first is being sent
  event::ScheduledTask flush_task_;
  event::ScheduledTask read_task_;
  int64_t linger_ms_ = 2000;
  event::Timer linger_timer_;
};

using ConnectionPtr = std::unique_ptr<Connection>;

}  // namespace portico::net
