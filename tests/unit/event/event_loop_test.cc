#include "event/event_loop.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace portico::event {
namespace {

class CountingHandler final : public IoHandler {
 public:
  explicit CountingHandler(std::function<void()> on_event = {}) : on_event_(std::move(on_event)) {}
  void onIoReady(uint32_t) override {
    ++events;
    if (on_event_) on_event_();
  }
  int events = 0;

 private:
  std::function<void()> on_event_;
};

TEST(EventLoopTest, SetHandlerRedirectsARegisteredDescriptor) {
  EventLoop loop;
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
  CountingHandler first;
  CountingHandler second;
  ASSERT_TRUE(loop.addFd(fds[0], EPOLLIN, &first));
  loop.setHandler(fds[0], &second);
  ASSERT_EQ(::write(fds[1], "x", 1), 1);
  Timer stop(loop, [&] { loop.stop(); });
  stop.armAfterMs(30);
  loop.run();
  EXPECT_EQ(first.events, 0);
  EXPECT_EQ(second.events, 1);
  loop.closeFd(fds[0]);
  ::close(fds[1]);
}

TEST(EventLoopTest, EventOfAClosedDescriptorNeverReachesTheOneReusingItsNumber) {
  EventLoop loop;
  int trigger[2];
  int victim[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, trigger), 0);
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, victim), 0);
  CountingHandler victim_handler;
  CountingHandler newcomer;
  int reused = -1;
  int reused_peer = -1;
  // Runs first in the batch: closes the victim, whose event is already fetched, and registers
  // a new socket that gets the victim's descriptor number.
  CountingHandler closer([&] {
    loop.closeFd(victim[0]);
    int fresh[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fresh), 0);
    reused = fresh[0];
    reused_peer = fresh[1];
    loop.addFd(reused, EPOLLIN | EPOLLOUT, &newcomer);
  });
  ASSERT_TRUE(loop.addFd(trigger[0], EPOLLIN, &closer));
  ASSERT_TRUE(loop.addFd(victim[0], EPOLLIN, &victim_handler));
  // Readiness in this order: epoll reports the trigger first.
  ASSERT_EQ(::write(trigger[1], "x", 1), 1);
  ASSERT_EQ(::write(victim[1], "x", 1), 1);
  Timer stop(loop, [&] { loop.stop(); });
  stop.armAfterMs(30);
  loop.run();
  ASSERT_EQ(reused, victim[0]) << "the kernel did not reuse the number; the test proves nothing";
  EXPECT_EQ(closer.events, 1);
  EXPECT_EQ(victim_handler.events, 0);
  // The newcomer is writable, so it gets its own event once; a second would be the victim's.
  EXPECT_EQ(newcomer.events, 1);
  loop.closeFd(reused);
  ::close(reused_peer);
  loop.closeFd(trigger[0]);
  ::close(trigger[1]);
  ::close(victim[1]);
}

TEST(EventLoopTest, TimersFireInDeadlineOrderAndRearmLater) {
  EventLoop loop;
  std::vector<int> order;
  Timer a(loop, [&] { order.push_back(1); });
  Timer b(loop, [&] { order.push_back(2); });
  Timer stop(loop, [&] { loop.stop(); });
  a.armAfterMs(30);
  b.armAfterMs(10);
  a.armAfterMs(40);  // extended lazily: must still fire once, after b
  stop.armAfterMs(80);
  loop.run();
  EXPECT_EQ(order, (std::vector<int>{2, 1}));
}

TEST(EventLoopTest, DisarmedAndDestroyedTimersDoNotFire) {
  EventLoop loop;
  int fired = 0;
  Timer a(loop, [&] { ++fired; });
  a.armAfterMs(5);
  a.disarm();
  {
    Timer gone(loop, [&] { ++fired; });
    gone.armAfterMs(5);
  }
  Timer stop(loop, [&] { loop.stop(); });
  stop.armAfterMs(30);
  loop.run();
  EXPECT_EQ(fired, 0);
}

TEST(EventLoopTest, TimerDisarmedThenRearmedFiresOnceAtItsNewDeadline) {
  // Disarm leaves the heap entry behind (keep-alive timers disarm and re-arm per request):
  // the stale entry must neither fire nor keep the re-armed timer from firing, whether the new
  // deadline is later or earlier than the old one.
  EventLoop loop;
  std::vector<std::pair<int, MonoTime>> fired;
  MonoTime start = loop.now();
  Timer later(loop, [&] { fired.push_back({1, loop.now() - start}); });
  Timer earlier(loop, [&] { fired.push_back({2, loop.now() - start}); });
  Timer stop(loop, [&] { loop.stop(); });
  later.armAfterMs(10);
  later.disarm();
  later.armAfterMs(40);
  earlier.armAfterMs(60);
  earlier.disarm();
  earlier.armAfterMs(20);
  EXPECT_TRUE(later.armed());
  stop.armAfterMs(100);
  loop.run();
  ASSERT_EQ(fired.size(), 2u);
  EXPECT_EQ(fired[0].first, 2);
  EXPECT_GE(fired[0].second, 20);
  EXPECT_EQ(fired[1].first, 1);
  EXPECT_GE(fired[1].second, 40);
  EXPECT_FALSE(later.armed());
}

TEST(EventLoopTest, PostFromAnotherThreadRunsOnLoop) {
  EventLoop loop;
  std::thread::id ran_on;
  std::thread poster([&] {
    loop.post([&] {
      ran_on = std::this_thread::get_id();
      loop.stop();
    });
  });
  loop.run();
  poster.join();
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(EventLoopTest, ScheduledTaskRunsOnceAndCancelWorks) {
  EventLoop loop;
  int runs = 0;
  ScheduledTask task(
      loop, [](void* c) { ++*static_cast<int*>(c); }, &runs);
  ScheduledTask cancelled(
      loop, [](void* c) { *static_cast<int*>(c) += 100; }, &runs);
  task.schedule();
  task.schedule();  // idempotent while queued
  cancelled.schedule();
  cancelled.cancel();
  Timer stop(loop, [&] { loop.stop(); });
  stop.armAfterMs(10);
  loop.run();
  EXPECT_EQ(runs, 1);
}

// Reads its socket through the loop's batch and records what the batch delivered by the time
// any handler of the same epoll batch runs.
class BatchReadingHandler final : public IoHandler, public BatchedReader {
 public:
  explicit BatchReadingHandler(int fd) : fd_(fd) {}
  bool addBatchedRecv(uint32_t, IoBatch& batch) override {
    return batch.addRecv(fd_, buffer, sizeof buffer, this);
  }
  void onBatchedRecvDone(int result) override { received = result; }
  void onIoReady(uint32_t) override {
    ++events;
    if (on_event) on_event();
  }
  char buffer[16] = {};
  int received = -1;
  int events = 0;
  std::function<void()> on_event;

 private:
  int fd_;
};

TEST(EventLoopTest, WithABatchEveryReadOfATurnIsDoneBeforeTheFirstHandlerRuns) {
  EventLoop loop;
  ASSERT_TRUE(loop.enableIoBatching(16)) << strerror(errno);
  int a[2];
  int b[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a), 0);
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b), 0);
  BatchReadingHandler first(a[0]);
  BatchReadingHandler second(b[0]);
  int seen_by_first_handler = -2;
  int seen_by_second_handler = -2;
  first.on_event = [&] { seen_by_first_handler = second.received; };
  second.on_event = [&] { seen_by_second_handler = first.received; };
  ASSERT_TRUE(loop.addFd(a[0], EPOLLIN, &first));
  ASSERT_TRUE(loop.addFd(b[0], EPOLLIN, &second));
  ASSERT_EQ(::write(a[1], "abc", 3), 3);
  ASSERT_EQ(::write(b[1], "de", 2), 2);
  Timer stop(loop, [&] { loop.stop(); });
  stop.armAfterMs(30);
  loop.run();
  EXPECT_EQ(first.events, 1);
  EXPECT_EQ(second.events, 1);
  EXPECT_EQ(first.received, 3);
  EXPECT_EQ(second.received, 2);
  EXPECT_EQ(std::string(first.buffer, 3), "abc");
  // Whichever handler ran first already saw the other's bytes.
  EXPECT_EQ(seen_by_first_handler, 2);
  EXPECT_EQ(seen_by_second_handler, 3);
  loop.closeFd(a[0]);
  loop.closeFd(b[0]);
  ::close(a[1]);
  ::close(b[1]);
}

}  // namespace
}  // namespace portico::event
