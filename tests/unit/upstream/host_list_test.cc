// Keeping Host objects across DNS changes: identity, new indices, removal.
#include "upstream/host_list.h"

#include <gtest/gtest.h>

namespace portico::upstream {
namespace {

EndpointConfig endpoint(const char* text, uint32_t weight = 1, uint32_t priority = 0) {
  EndpointConfig e;
  EXPECT_TRUE(net::parseAddress(text, &e.address)) << text;
  e.address_text = text;
  e.weight = weight;
  e.priority = priority;
  return e;
}

std::vector<uint32_t> indices(const std::vector<HostPtr>& hosts) {
  std::vector<uint32_t> out;
  for (const HostPtr& h : hosts) out.push_back(h->index());
  return out;
}

TEST(HostListTest, FirstListGetsIndicesFromTheCounter) {
  uint32_t next = 2;  // two static hosts already took 0 and 1
  HostListChange c = updateHostList({}, {endpoint("10.0.0.1:80"), endpoint("10.0.0.2:80")}, &next);
  EXPECT_TRUE(c.changed());
  EXPECT_EQ(indices(c.hosts), (std::vector<uint32_t>{2, 3}));
  EXPECT_EQ(c.added.size(), 2u);
  EXPECT_TRUE(c.removed.empty());
  EXPECT_EQ(next, 4u);
}

TEST(HostListTest, StayingHostsKeepTheirObjectAndStateNewOnesNeverReuseAnIndex) {
  uint32_t next = 0;
  HostListChange first =
      updateHostList({}, {endpoint("10.0.0.1:80"), endpoint("10.0.0.2:80")}, &next);
  first.hosts[0]->setHealthFlag(HealthFlag::FailedActiveCheck, true);
  first.hosts[0]->requestStarted();
  // 10.0.0.2 leaves, 10.0.0.3 arrives; the order of the answer changed too.
  HostListChange second =
      updateHostList(first.hosts, {endpoint("10.0.0.3:80"), endpoint("10.0.0.1:80")}, &next);
  ASSERT_EQ(second.hosts.size(), 2u);
  EXPECT_EQ(second.hosts[1], first.hosts[0]);  // the same object
  EXPECT_FALSE(second.hosts[1]->healthy());
  EXPECT_EQ(second.hosts[1]->activeRequests(), 1u);
  EXPECT_EQ(second.hosts[0]->index(), 2u);  // not 1, which 10.0.0.2's pools may still hold
  ASSERT_EQ(second.removed.size(), 1u);
  EXPECT_EQ(second.removed[0], first.hosts[1]);
  ASSERT_EQ(second.added.size(), 1u);
  // 10.0.0.2 coming back is a new host with a new index.
  HostListChange third = updateHostList(
      second.hosts, {endpoint("10.0.0.3:80"), endpoint("10.0.0.1:80"), endpoint("10.0.0.2:80")},
      &next);
  EXPECT_EQ(indices(third.hosts), (std::vector<uint32_t>{2, 0, 3}));
}

TEST(HostListTest, SameSetInAnotherOrderIsNoChange) {
  uint32_t next = 0;
  HostListChange first =
      updateHostList({}, {endpoint("10.0.0.1:80"), endpoint("10.0.0.2:80")}, &next);
  HostListChange again =
      updateHostList(first.hosts, {endpoint("10.0.0.2:80"), endpoint("10.0.0.1:80")}, &next);
  EXPECT_FALSE(again.changed());
  EXPECT_EQ(next, 2u);
}

TEST(HostListTest, WeightOrPriorityChangeMakesANewHost) {
  uint32_t next = 0;
  HostListChange first = updateHostList({}, {endpoint("10.0.0.1:80", 1, 0)}, &next);
  HostListChange weighted = updateHostList(first.hosts, {endpoint("10.0.0.1:80", 5, 0)}, &next);
  EXPECT_TRUE(weighted.changed());
  EXPECT_EQ(weighted.hosts[0]->weight(), 5u);
  EXPECT_EQ(weighted.hosts[0]->index(), 1u);
  HostListChange backup = updateHostList(weighted.hosts, {endpoint("10.0.0.1:80", 5, 1)}, &next);
  EXPECT_EQ(backup.hosts[0]->priority(), 1u);
  EXPECT_EQ(backup.hosts[0]->index(), 2u);
}

TEST(HostListTest, ANewNameForAnAddressMakesANewHost) {
  uint32_t next = 0;
  EndpointConfig e = endpoint("10.0.0.1:80");
  e.hostname = "a.test";
  HostListChange first = updateHostList({}, {e}, &next);
  e.hostname = "b.test";  // an SRV target renamed: TLS name and Host change
  HostListChange renamed = updateHostList(first.hosts, {e}, &next);
  EXPECT_TRUE(renamed.changed());
  EXPECT_EQ(renamed.hosts[0]->config().hostname, "b.test");
}

TEST(HostListTest, RepeatedAddressIsOneHostFirstEntryWins) {
  uint32_t next = 0;
  HostListChange c = updateHostList(
      {}, {endpoint("10.0.0.1:80", 2), endpoint("10.0.0.1:80", 7), endpoint("10.0.0.1:81")}, &next);
  ASSERT_EQ(c.hosts.size(), 2u);
  EXPECT_EQ(c.hosts[0]->weight(), 2u);
}

TEST(HostListTest, EverythingRemoved) {
  uint32_t next = 0;
  HostListChange first = updateHostList({}, {endpoint("10.0.0.1:80")}, &next);
  HostListChange none = updateHostList(first.hosts, {}, &next);
  EXPECT_TRUE(none.changed());
  EXPECT_TRUE(none.hosts.empty());
  EXPECT_EQ(none.removed.size(), 1u);
}

}  // namespace
}  // namespace portico::upstream
