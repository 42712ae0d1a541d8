#include "upstream/request_queue.h"

namespace portico::upstream {

RequestQueue::~RequestQueue() {
  // Waiters outlive nothing here, but must not point at a queue that is gone.
  while (popFront() != nullptr) {
  }
}

void RequestQueue::pushBack(QueueWaiter& waiter) {
  if (waiter.queue_ != nullptr) return;
  waiter.queue_ = this;
  waiter.prev_ = tail_;
  waiter.next_ = nullptr;
  if (tail_ != nullptr) {
    tail_->next_ = &waiter;
  } else {
    head_ = &waiter;
  }
  tail_ = &waiter;
  ++size_;
}

void RequestQueue::pushFront(QueueWaiter& waiter) {
  if (waiter.queue_ != nullptr) return;
  waiter.queue_ = this;
  waiter.prev_ = nullptr;
  waiter.next_ = head_;
  if (head_ != nullptr) {
    head_->prev_ = &waiter;
  } else {
    tail_ = &waiter;
  }
  head_ = &waiter;
  ++size_;
}

void RequestQueue::remove(QueueWaiter& waiter) {
  if (waiter.queue_ != this) return;
  if (waiter.prev_ != nullptr) {
    waiter.prev_->next_ = waiter.next_;
  } else {
    head_ = waiter.next_;
  }
  if (waiter.next_ != nullptr) {
    waiter.next_->prev_ = waiter.prev_;
  } else {
    tail_ = waiter.prev_;
  }
  waiter.queue_ = nullptr;
  waiter.prev_ = waiter.next_ = nullptr;
  --size_;
}

QueueWaiter* RequestQueue::popFront() {
  QueueWaiter* w = head_;
  if (w != nullptr) remove(*w);
  return w;
}

}  // namespace portico::upstream
