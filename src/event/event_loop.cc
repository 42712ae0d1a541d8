#include "event/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/log.h"

namespace portico::event {

MonoTime monotonicNowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<MonoTime>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

namespace {
// The wake-up eventfd's handler: drains the counter; posted tasks run after every epoll_wait.
class WakeHandler final : public IoHandler {
 public:
  explicit WakeHandler(int fd) : fd_(fd) {}
  void onIoReady(uint32_t) override {
    uint64_t value;
    while (::read(fd_, &value, sizeof value) > 0) {
    }
  }

 private:
  int fd_;
};
}  // namespace

Timer::Timer(EventLoop& loop, std::function<void()> callback)
    : loop_(loop), callback_(std::move(callback)) {}

Timer::~Timer() {
  if (heap_index_ >= 0) loop_.heapRemove(this);
}

void Timer::armAfterMs(int64_t delay_ms) {
  MonoTime deadline = loop_.now() + (delay_ms > 0 ? delay_ms : 0);
  if (deadline == 0) deadline = 1;  // 0 means disarmed
  if (heap_index_ >= 0 && deadline >= loop_.heap_key_[static_cast<size_t>(heap_index_)]) {
    // Not earlier than the entry's place in the heap: fixed up lazily when it surfaces.
    deadline_ = deadline;
    return;
  }
  if (heap_index_ >= 0) loop_.heapRemove(this);
  deadline_ = deadline;
  loop_.heapPush(this);
}

void Timer::disarm() {
  // The heap entry stays until it surfaces (or the timer is re-armed or destroyed): a
  // disarm/re-arm per request, as keep-alive timers do, then costs no heap work.
  deadline_ = 0;
}

EventLoop::EventLoop() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    PLOG_ERROR("event loop: cannot create epoll/eventfd: {}", strerror(errno));
    std::abort();  // out of file descriptors at start-up: nothing sensible to do
  }
  auto* wake = new WakeHandler(wake_fd_);
  addFd(wake_fd_, EPOLLIN, wake);
  to_delete_.reserve(64);
  wake_handler_keepalive_.reset(wake);
  now_ = monotonicNowMs();
}

EventLoop::~EventLoop() {
  runDeferred();
  for (Timer* t : heap_) t->heap_index_ = -1;
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

EventLoop::FdSlot& EventLoop::slot(int fd) {
  const auto index = static_cast<size_t>(fd);
  if (index >= fds_.size()) fds_.resize(std::max(index + 1, fds_.size() * 2));
  return fds_[index];
}

namespace {
epoll_event registration(int fd, uint32_t generation, uint32_t events) {
  epoll_event ev{};
  ev.events = events | EPOLLET;
  ev.data.u64 = (static_cast<uint64_t>(generation) << 32) | static_cast<uint32_t>(fd);
  return ev;
}
}  // namespace

bool EventLoop::addFd(int fd, uint32_t events, IoHandler* handler) {
  FdSlot& s = slot(fd);
  ++s.generation;
  s.handler = handler;
  epoll_event ev = registration(fd, s.generation, events);
  return epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool EventLoop::modifyFd(int fd, uint32_t events, IoHandler* handler) {
  FdSlot& s = slot(fd);
  s.handler = handler;
  epoll_event ev = registration(fd, s.generation, events);
  return epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) == 0;
}

void EventLoop::removeFd(int fd) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  slot(fd).handler = nullptr;
}

void EventLoop::setHandler(int fd, IoHandler* handler) {
  slot(fd).handler = handler;
}

void EventLoop::closeFd(int fd) {
  slot(fd).handler = nullptr;
  ::close(fd);
}

void EventLoop::post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(post_mutex_);
    posted_.push_back(std::move(task));
  }
  if (!wake_pending_.exchange(true)) {
    uint64_t one = 1;
    ssize_t n = ::write(wake_fd_, &one, sizeof one);
    (void)n;  // EAGAIN means the counter is already non-zero: the loop wakes anyway
  }
}

void EventLoop::defer(std::function<void()> task) {
  deferred_.push_back(std::move(task));
}

void EventLoop::deferredDelete(std::unique_ptr<Deletable> object) {
  to_delete_.push_back(std::move(object));
}

void EventLoop::run() {
  running_ = true;
  constexpr int kMaxEvents = 256;
  struct epoll_event events[kMaxEvents];
  while (running_) {
    int timeout = workPending() ? 0 : nextTimeoutMs();
    int n = epoll_wait(epoll_fd_, events, kMaxEvents, timeout);
    now_ = monotonicNowMs();
    if (n < 0 && errno != EINTR) {
      PLOG_ERROR("event loop: epoll_wait: {}", strerror(errno));
      std::abort();
    }
    if (n > 0) dispatch(events, n);
    runPosted();
    runTimers();
    runDeferred();
  }
  runDeferred();
}

void EventLoop::dispatch(const epoll_event* events, int count) {
  // With a batch, every handler that wants it has its socket read in one submission first; the
  // reads finish (and are recorded by their handlers) before any handler runs.
  if (IoBatch* batch = ioBatch()) {
    for (int i = 0; i < count; ++i) {
      const uint64_t data = events[i].data.u64;
      const FdSlot& s = fds_[static_cast<uint32_t>(data)];
      if (s.generation != static_cast<uint32_t>(data >> 32) || s.handler == nullptr) continue;
      s.handler->addBatchedRecv(events[i].events, *batch);
    }
    batch->runRecvs();
  }
  // Handlers may close descriptors (and the numbers be reused) under later events of the batch:
  // the generation check drops those.
  for (int i = 0; i < count; ++i) {
    const uint64_t data = events[i].data.u64;
    const FdSlot& s = fds_[static_cast<uint32_t>(data)];
    if (s.generation != static_cast<uint32_t>(data >> 32) || s.handler == nullptr) continue;
    s.handler->onIoReady(events[i].events);
  }
}

void EventLoop::runPosted() {
  if (!wake_pending_.load(std::memory_order_acquire)) return;
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(post_mutex_);
    tasks.swap(posted_);
    wake_pending_.store(false);
  }
  for (auto& task : tasks) task();
}

void ScheduledTask::schedule() {
  if (queued_) return;
  queued_ = true;
  loop_.scheduled_.push_back(this);
}

void ScheduledTask::cancel() {
  if (!queued_) return;
  queued_ = false;
  for (auto& slot : loop_.scheduled_) {
    if (slot == this) slot = nullptr;
  }
}

void EventLoop::runDeferred() {
  // Tasks may schedule more work; bound the rounds so a task that re-schedules itself cannot
  // starve I/O (the rest runs next iteration with a zero epoll timeout).
  for (int round = 0; round < 8 && workPending(); ++round) {
    // Index loop: tasks may append to scheduled_ while it runs.
    for (size_t i = 0; i < scheduled_.size(); ++i) {
      ScheduledTask* t = scheduled_[i];
      if (t == nullptr) continue;
      scheduled_[i] = nullptr;
      t->queued_ = false;
      t->fn_(t->ctx_);
    }
    scheduled_.clear();
    if (!deferred_.empty()) {
      std::vector<std::function<void()>> tasks;
      tasks.swap(deferred_);
      for (auto& task : tasks) task();
    }
    // The flushes the tasks queued go to the kernel together; their completions may schedule
    // more work for the next round.
    if (io_batch_ && io_batch_->sendsQueued()) io_batch_->runSends();
  }
  // Destructors may deferredDelete() more objects: free in rounds, never while iterating.
  while (!to_delete_.empty()) {
    deleting_.swap(to_delete_);
    deleting_.clear();
  }
}

bool EventLoop::workPending() const {
  return !deferred_.empty() || !scheduled_.empty() || (io_batch_ && io_batch_->sendsQueued());
}

bool EventLoop::enableIoBatching(unsigned depth) {
  io_batch_ = IoBatch::create(depth);
  return io_batch_ != nullptr;
}

int EventLoop::nextTimeoutMs() const {
  if (heap_.empty()) return 1000;
  MonoTime wait = heap_key_[0] - now_;
  if (wait <= 0) return 0;
  return wait > 1000 ? 1000 : static_cast<int>(wait);
}

void EventLoop::runTimers() {
  while (!heap_.empty()) {
    Timer* t = heap_[0];
    // The heap is ordered by the deadline each entry had when pushed; a lazily extended
    // timer is re-pushed with its real deadline when it reaches the top.
    if (heap_key_[0] > now_) break;
    heapRemove(t);
    if (t->deadline_ == 0) continue;  // disarmed since it was pushed
    if (t->deadline_ > now_) {
      heapPush(t);
      continue;
    }
    t->deadline_ = 0;
    t->callback_();  // may destroy or re-arm t
  }
}

void EventLoop::heapPush(Timer* t) {
  t->heap_index_ = static_cast<int64_t>(heap_.size());
  heap_.push_back(t);
  heap_key_.push_back(t->deadline_);
  heapSiftUp(heap_.size() - 1);
}

void EventLoop::heapRemove(Timer* t) {
  size_t i = static_cast<size_t>(t->heap_index_);
  size_t last = heap_.size() - 1;
  if (i != last) {
    heap_[i] = heap_[last];
    heap_key_[i] = heap_key_[last];
    heap_[i]->heap_index_ = static_cast<int64_t>(i);
  }
  heap_.pop_back();
  heap_key_.pop_back();
  t->heap_index_ = -1;
  if (i < heap_.size()) {
    heapSiftUp(i);
    heapSiftDown(i);
  }
}

void EventLoop::heapSiftUp(size_t i) {
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (heap_key_[parent] <= heap_key_[i]) break;
    std::swap(heap_[parent], heap_[i]);
    std::swap(heap_key_[parent], heap_key_[i]);
    heap_[parent]->heap_index_ = static_cast<int64_t>(parent);
    heap_[i]->heap_index_ = static_cast<int64_t>(i);
    i = parent;
  }
}

void EventLoop::heapSiftDown(size_t i) {
  size_t n = heap_.size();
  for (;;) {
    size_t left = 2 * i + 1, right = left + 1, smallest = i;
    if (left < n && heap_key_[left] < heap_key_[smallest]) smallest = left;
    if (right < n && heap_key_[right] < heap_key_[smallest]) smallest = right;
    if (smallest == i) break;
    std::swap(heap_[smallest], heap_[i]);
    std::swap(heap_key_[smallest], heap_key_[i]);
    heap_[smallest]->heap_index_ = static_cast<int64_t>(smallest);
    heap_[i]->heap_index_ = static_cast<int64_t>(i);
    i = smallest;
  }
}

}  // namespace portico::event
