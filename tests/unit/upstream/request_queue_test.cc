// RequestQueue: first come first served, a waiter whose turn found no room keeps its place,
// and a waiter that leaves (client gone, timeout) unlinks from anywhere.
#include "upstream/request_queue.h"

#include <gtest/gtest.h>

#include <vector>

namespace portico::upstream {
namespace {

struct Waiter final : QueueWaiter {
  explicit Waiter(int i) : id(i) {}
  void onQueueTurn() override {}
  int id;
};

std::vector<int> drain(RequestQueue& q) {
  std::vector<int> order;
  while (QueueWaiter* w = q.popFront()) {
    EXPECT_FALSE(w->queued());
    order.push_back(static_cast<Waiter*>(w)->id);
  }
  return order;
}

TEST(RequestQueueTest, FirstComeFirstServed) {
  Waiter a(1), b(2), c(3);
  RequestQueue q;
  q.pushBack(a);
  q.pushBack(b);
  q.pushBack(c);
  q.pushBack(b);  // already queued: no second place
  EXPECT_EQ(q.size(), 3u);
  EXPECT_TRUE(b.queued());
  EXPECT_EQ(drain(q), (std::vector<int>{1, 2, 3}));
  EXPECT_TRUE(q.empty());
}

TEST(RequestQueueTest, NoRoomAfterAllKeepsTheFrontPlace) {
  Waiter a(1), b(2), c(3);
  RequestQueue q;
  q.pushBack(a);
  q.pushBack(b);
  QueueWaiter* head = q.popFront();
  q.pushBack(c);
  q.pushFront(*head);
  EXPECT_EQ(drain(q), (std::vector<int>{1, 2, 3}));
}

TEST(RequestQueueTest, LeavingFromAnywhere) {
  Waiter a(1), b(2), c(3), d(4), outsider(5);
  RequestQueue q;
  for (Waiter* w : {&a, &b, &c, &d}) q.pushBack(*w);
  q.remove(b);         // middle
  q.remove(d);         // tail
  q.remove(outsider);  // not queued: nothing happens
  EXPECT_FALSE(b.queued());
  EXPECT_EQ(q.size(), 2u);
  q.pushBack(d);  // the tail is right after removing it
  q.remove(a);    // head
  EXPECT_EQ(drain(q), (std::vector<int>{3, 4}));
}

TEST(RequestQueueTest, AQueueThatGoesAwayReleasesItsWaiters) {
  Waiter a(1);
  {
    RequestQueue q;
    q.pushBack(a);
  }
  EXPECT_FALSE(a.queued());
}

}  // namespace
}  // namespace portico::upstream
