#pragma once
// RequestQueue: requests of one worker waiting for a connection to one cluster, first come
// first served (`max_connections_per_endpoint` with `queue_timeout`, docs/load-balancing.md).
//
// When every candidate host of a cluster is at its connection limit, the router puts the
// request here instead of answering 503. ThreadLocalCluster hears from its pools whenever a
// stream is released or a connection closes, and at the end of that loop turn gives the head
// of the queue its turn (QueueWaiter::onQueueTurn) while some candidate has room. The waiter
// chooses a host again; if it still finds none it goes back to the front.
//
// What bounds it is the requester's business: the router counts each queued request in the
// cluster's pending-requests breaker (circuit_breakers.max_pending_requests) and arms its own
// queue timeout. The queue only keeps the order. Intrusive, so waiting allocates nothing and a
// waiter that goes away (client gone, timeout) unlinks itself in O(1).
//
// Worker-local, like the pools it waits for. Capacity freed by another worker (the cluster-wide
// circuit_breakers.max_connections) is noticed at this worker's next release, or not at all
// before the queue timeout.

#include <cstddef>

namespace portico::upstream {

class RequestQueue;

class QueueWaiter {
 public:
  // Out of the queue already: choose a host again (and call RequestQueue::pushFront if there
  // is still none).
  virtual void onQueueTurn() = 0;
  bool queued() const { return queue_ != nullptr; }

 protected:
  virtual ~QueueWaiter() = default;

 private:
  friend class RequestQueue;
  RequestQueue* queue_ = nullptr;
  QueueWaiter* prev_ = nullptr;
  QueueWaiter* next_ = nullptr;
};

class RequestQueue {
 public:
  RequestQueue() = default;
  RequestQueue(const RequestQueue&) = delete;
  RequestQueue& operator=(const RequestQueue&) = delete;
  ~RequestQueue();

  void pushBack(QueueWaiter& waiter);
  // For a waiter whose turn came but found no room after all: it keeps its place.
  void pushFront(QueueWaiter& waiter);
  // No-op when `waiter` is not in this queue.
  void remove(QueueWaiter& waiter);
  // The head, unlinked; null when empty.
  QueueWaiter* popFront();
  bool empty() const { return head_ == nullptr; }
  size_t size() const { return size_; }

 private:
  QueueWaiter* head_ = nullptr;
  QueueWaiter* tail_ = nullptr;
  size_t size_ = 0;
};

}  // namespace portico::upstream
