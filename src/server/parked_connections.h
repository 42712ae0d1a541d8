#pragma once
// Parked connections: idle keep-alive client connections reduced to a small record.
//
// A connection waiting for its next request needs almost nothing: the socket, its transport,
// the peer's address, how many requests it served and when it must be closed. Its connection
// manager, codec, stream and buffers (about 2 KiB, plus header strings kept for reuse) are
// only needed once bytes arrive. After `keepalive_release` of idleness the worker moves the
// socket into a ParkedConnection (under 100 bytes) and frees the rest; the next readiness
// event builds a fresh manager around the same socket. This is what nginx does by freeing a
// request's pool on keep-alive, done here with whole objects.
//
// Neither parking nor resuming makes a system call: the socket stays registered with the
// worker's epoll set, and the loop's handler table is re-pointed (EventLoop::setHandler).
//
// Keep-alive deadlines: one queue per listener, in parking order. Every connection of a
// listener parks the same time after its last response and has the same keep-alive timeout,
// so parking order is deadline order, and one timer per worker serves them all.
//
// Worker-local, like everything a worker owns.

#include <cstdint>
#include <memory>
#include <vector>

#include "event/event_loop.h"
#include "net/address.h"
#include "net/transport.h"
#include "proxy/snapshot.h"

namespace portico::server {

class ParkedConnections;

class ParkedConnection final : public event::IoHandler {
 public:
  void onIoReady(uint32_t events) override;

 private:
  friend class ParkedConnections;
  ParkedConnection(ParkedConnections& owner, uint32_t queue, int fd,
                   net::TransportSocketPtr transport, const net::Address& peer,
                   uint32_t requests_served, event::MonoTime deadline)
      : owner_(owner),
        transport_(std::move(transport)),
        deadline_(deadline),
        fd_(fd),
        requests_served_(requests_served),
        queue_(queue),
        peer_(peer) {}

  ParkedConnections& owner_;
  ParkedConnection* prev_ = nullptr;  // towards older
  ParkedConnection* next_ = nullptr;  // towards newer
  net::TransportSocketPtr transport_;
  event::MonoTime deadline_;
  int fd_;
  uint32_t requests_served_;
  uint32_t queue_;
  net::PackedAddress peer_;
};

// What a resumed connection needs to start again.
struct ResumedSocket {
  const proxy::ListenerRuntime* listener;
  int fd;
  net::TransportSocketPtr transport;
  net::Address peer;
  uint32_t requests_served;
};

class ParkedConnections {
 public:
  class Callbacks {
   public:
    virtual ~Callbacks() = default;
    // Bytes (or a hang-up) arrived: build a live connection around the socket and hand it
    // `events`, the readiness that woke the parked record.
    virtual void onParkedResume(ResumedSocket socket, uint32_t events) = 0;
    // A parked connection of `listener` was closed (keep-alive deadline, closeAll).
    virtual void onParkedClosed(const proxy::ListenerRuntime& listener) = 0;
  };
  ParkedConnections(event::EventLoop& loop, Callbacks& callbacks);
  ~ParkedConnections();
  ParkedConnections(const ParkedConnections&) = delete;
  ParkedConnections& operator=(const ParkedConnections&) = delete;

  // Takes over `fd` (registered with the loop for EPOLLIN|EPOLLOUT|EPOLLRDHUP) until its next
  // readiness event or until `keepalive_left_ms` pass, whichever comes first.
  void park(const proxy::ListenerRuntime& listener, int fd, net::TransportSocketPtr transport,
            const net::Address& peer, uint32_t requests_served, int64_t keepalive_left_ms);
  // Closes every parked connection (drain, shutdown): they are idle by definition.
  void closeAll();
  size_t size() const { return count_; }

 private:
  friend class ParkedConnection;
  struct Queue {
    const proxy::ListenerRuntime* listener;
    ParkedConnection* oldest = nullptr;
    ParkedConnection* newest = nullptr;
  };
  void resume(ParkedConnection* parked, uint32_t events);
  void expire(ParkedConnection* parked);
  void unlink(ParkedConnection* parked);
  void sweep();
  void armSweep();

  event::EventLoop& loop_;
  Callbacks& callbacks_;
  std::vector<Queue> queues_;  // one per listener seen, few
  event::Timer sweep_timer_;
  size_t count_ = 0;
};

}  // namespace portico::server
