#include "server/parked_connections.h"

#include <sys/epoll.h>

#include "core/log.h"

namespace portico::server {

void ParkedConnection::onIoReady(uint32_t events) {
  // Writability alone means nothing here (the peer acknowledged the last response). Anything
  // else (a request, a hang-up, an error) is for a live connection to handle. Last statement:
  // resume() frees this record.
  if ((events & ~static_cast<uint32_t>(EPOLLOUT)) != 0) owner_.resume(this, events);
}

ParkedConnections::ParkedConnections(event::EventLoop& loop, Callbacks& callbacks)
    : loop_(loop), callbacks_(callbacks), sweep_timer_(loop, [this] { sweep(); }) {}

ParkedConnections::~ParkedConnections() {
  for (Queue& q : queues_) {
    while (q.oldest != nullptr) {
      ParkedConnection* p = q.oldest;
      unlink(p);
      loop_.closeFd(p->fd_);
      delete p;
    }
  }
}

void ParkedConnections::park(const proxy::ListenerRuntime& listener, int fd,
                             net::TransportSocketPtr transport, const net::Address& peer,
                             uint32_t requests_served, int64_t keepalive_left_ms) {
  uint32_t queue = 0;
  while (queue < queues_.size() && queues_[queue].listener != &listener) ++queue;
  if (queue == queues_.size()) queues_.push_back(Queue{&listener});
  const event::MonoTime deadline = loop_.now() + (keepalive_left_ms > 0 ? keepalive_left_ms : 0);
  auto* parked =
      new ParkedConnection(*this, queue, fd, std::move(transport), peer, requests_served, deadline);
  Queue& q = queues_[queue];
  parked->prev_ = q.newest;
  if (q.newest != nullptr) q.newest->next_ = parked;
  q.newest = parked;
  if (q.oldest == nullptr) q.oldest = parked;
  ++count_;
  loop_.setHandler(fd, parked);
  armSweep();  // usually a no-op: the timer already waits for an older deadline
}

void ParkedConnections::unlink(ParkedConnection* parked) {
  Queue& q = queues_[parked->queue_];
  if (parked->prev_ != nullptr) parked->prev_->next_ = parked->next_;
  if (parked->next_ != nullptr) parked->next_->prev_ = parked->prev_;
  if (q.oldest == parked) q.oldest = parked->next_;
  if (q.newest == parked) q.newest = parked->prev_;
  --count_;
}

void ParkedConnections::resume(ParkedConnection* parked, uint32_t events) {
  unlink(parked);
  ResumedSocket socket{queues_[parked->queue_].listener, parked->fd_, std::move(parked->transport_),
                       parked->peer_.unpack(), parked->requests_served_};
  delete parked;  // the loop does not touch a handler after its onIoReady returns
  callbacks_.onParkedResume(std::move(socket), events);
}

void ParkedConnections::expire(ParkedConnection* parked) {
  unlink(parked);
  const proxy::ListenerRuntime& listener = *queues_[parked->queue_].listener;
  loop_.closeFd(parked->fd_);
  delete parked;
  callbacks_.onParkedClosed(listener);
}

void ParkedConnections::sweep() {
  const event::MonoTime now = loop_.now();
  for (Queue& q : queues_) {
    while (q.oldest != nullptr && q.oldest->deadline_ <= now) {
      PLOG_DEBUG("{}: closing idle keep-alive connection from {}", q.listener->config.name,
                 q.oldest->peer_.unpack().toString());
      expire(q.oldest);
    }
  }
  armSweep();
}

void ParkedConnections::armSweep() {
  event::MonoTime next = 0;
  for (const Queue& q : queues_) {
    if (q.oldest != nullptr && (next == 0 || q.oldest->deadline_ < next))
      next = q.oldest->deadline_;
  }
  if (next == 0) {
    sweep_timer_.disarm();
    return;
  }
  sweep_timer_.armAfterMs(next - loop_.now());
}

void ParkedConnections::closeAll() {
  for (Queue& q : queues_) {
    while (q.oldest != nullptr) expire(q.oldest);
  }
  sweep_timer_.disarm();
}

}  // namespace portico::server
