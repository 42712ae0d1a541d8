#include "event/event_loop.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace portico::event {
namespace {

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

}  // namespace
}  // namespace portico::event
