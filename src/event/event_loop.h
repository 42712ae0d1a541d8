#pragma once
// EventLoop: one per worker thread (and one for the main thread). Edge-triggered epoll,
// a deadline heap for timers, an eventfd for cross-thread posts, and deferred deletion.
//
// Threading: everything here is owned by the loop's thread, except post(), which any thread
// may call. Callbacks run on the loop's thread and may re-enter the loop's API (add/remove
// fds, arm timers, deferredDelete) freely.
//
// Why edge-triggered: a connection registers once for EPOLLIN|EPOLLOUT|EPOLLRDHUP at accept
// and never calls epoll_ctl again (not even to close: close() leaves the set by itself); pausing
// reads (backpressure) is a flag in the connection, not a syscall. The price is that every handler
// must read/write until EAGAIN (or remember it stopped early and come back through a deferred
// task).

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "event/io_batch.h"

namespace portico::event {

using MonoTime = int64_t;  // milliseconds of CLOCK_MONOTONIC

MonoTime monotonicNowMs();

// Receives readiness for one file descriptor. Owned by its user, not by the loop.
class IoHandler {
 public:
  virtual ~IoHandler() = default;
  // `events` is the epoll event mask (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP).
  virtual void onIoReady(uint32_t events) = 0;
  // With an IoBatch, the loop offers each ready handler, before any is dispatched, to read its
  // socket as part of one submission: a handler that wants that adds its receive to `batch`
  // and returns true; onIoReady then finds the bytes already read.
  virtual bool addBatchedRecv(uint32_t events, IoBatch& batch) {
    (void)events;
    (void)batch;
    return false;
  }
};

class EventLoop;

// A one-shot timer owned by its user (usually a member of a connection or stream). Destroying
// it disarms it. Disarming, and re-arming to a deadline no earlier than the heap entry's, are
// O(1): the entry is fixed up (or dropped) lazily when it surfaces, which makes "reset the idle
// timer on every read" and "disarm at the request, re-arm at the response" cheap.
class Timer {
 public:
  Timer(EventLoop& loop, std::function<void()> callback);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void armAfterMs(int64_t delay_ms);
  void disarm();
  bool armed() const { return deadline_ != 0; }

 private:
  friend class EventLoop;
  EventLoop& loop_;
  std::function<void()> callback_;
  MonoTime deadline_ = 0;    // 0 = disarmed
  int64_t heap_index_ = -1;  // position in the loop's heap, -1 if not in it
};

// Something the loop frees after the current iteration: a connection that closed while its
// own callback is on the stack must not be destroyed under it.
class Deletable {
 public:
  virtual ~Deletable() = default;
};

// A callback that can be scheduled to run once at the end of the current loop turn, without
// allocating. Destroying it cancels it, so an object may die with its task still queued.
class ScheduledTask {
 public:
  using Fn = void (*)(void* ctx);
  ScheduledTask(EventLoop& loop, Fn fn, void* ctx) : loop_(loop), fn_(fn), ctx_(ctx) {}
  ~ScheduledTask() { cancel(); }
  ScheduledTask(const ScheduledTask&) = delete;
  ScheduledTask& operator=(const ScheduledTask&) = delete;

  void schedule();  // idempotent while queued
  void cancel();
  bool scheduled() const { return queued_; }

 private:
  friend class EventLoop;
  EventLoop& loop_;
  Fn fn_;
  void* ctx_;
  bool queued_ = false;
};

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Registers `fd` edge-triggered for `events` (EPOLLIN|EPOLLOUT|EPOLLRDHUP usually).
  bool addFd(int fd, uint32_t events, IoHandler* handler);
  bool modifyFd(int fd, uint32_t events, IoHandler* handler);
  void removeFd(int fd);
  // Hands a registered descriptor's events to another handler without a system call: the
  // registration names the descriptor, and the loop looks its handler up in a table.
  void setHandler(int fd, IoHandler* handler);
  // Closes a registered descriptor. close() alone takes it out of the epoll set (descriptors
  // are never duplicated here), so this saves the EPOLL_CTL_DEL.
  void closeFd(int fd);

  // Thread-safe. Runs `task` on this loop's thread, in order of posting.
  void post(std::function<void()> task);

  // Runs `task` on this loop's thread after the current event is handled (same iteration).
  void defer(std::function<void()> task);

  void deferredDelete(std::unique_ptr<Deletable> object);

  // Runs until stop(). stop() is loop-thread only; from other threads, post([&]{ stop(); }).
  void run();
  void stop() { running_ = false; }

  // Reads and writes sockets through io_uring, one submission per loop turn for each (IoBatch).
  // Call on the loop's thread. False (errno set) if the kernel refuses io_uring; the loop then
  // keeps plain system calls.
  bool enableIoBatching(unsigned depth);
  // The batch, or nullptr when sockets are read and written with plain system calls.
  IoBatch* ioBatch() { return io_batch_ && io_batch_->usable() ? io_batch_.get() : nullptr; }
  // Forgets `sender` wherever it is in the batch (even one that failed).
  void cancelBatchedSend(BatchedSender* sender) {
    if (io_batch_) io_batch_->cancelSend(sender);
  }

  // Cached at each wake-up: cheap enough to call per request.
  MonoTime now() const { return now_; }
  void updateNow() { now_ = monotonicNowMs(); }

 private:
  friend class Timer;
  friend class ScheduledTask;
  std::vector<ScheduledTask*> scheduled_;
  void heapPush(Timer* t);
  void heapRemove(Timer* t);
  void heapSiftUp(size_t i);
  void heapSiftDown(size_t i);
  int nextTimeoutMs() const;
  void runTimers();
  void runPosted();
  void runDeferred();
  bool workPending() const;
  void dispatch(const epoll_event* events, int count);

  // Indexed by descriptor. Each registration carries the slot's generation next to the
  // descriptor, so an event fetched for a socket that was closed, and whose number was reused
  // within the same batch, is recognised and dropped.
  struct FdSlot {
    IoHandler* handler = nullptr;
    uint32_t generation = 0;
  };
  std::vector<FdSlot> fds_;
  FdSlot& slot(int fd);

  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  bool running_ = false;
  MonoTime now_ = 0;
  std::vector<Timer*> heap_;
  std::vector<MonoTime> heap_key_;  // deadline each heap entry was pushed with
  std::unique_ptr<IoHandler> wake_handler_keepalive_;
  std::vector<std::function<void()>> deferred_;
  std::vector<std::unique_ptr<Deletable>> to_delete_;
  std::vector<std::unique_ptr<Deletable>> deleting_;
  std::unique_ptr<IoBatch> io_batch_;

  std::mutex post_mutex_;
  std::vector<std::function<void()>> posted_;
  std::atomic<bool> wake_pending_{false};
};

}  // namespace portico::event
