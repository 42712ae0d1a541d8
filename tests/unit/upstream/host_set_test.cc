#include "upstream/host_set.h"

#include <gtest/gtest.h>

#include <set>

namespace portico::upstream {
namespace {

// Hosts "p<i>" at priority 0 and "b<i>" at priority 1, `down` of each level unhealthy.
std::vector<HostPtr> levels(size_t primaries, size_t primaries_down, size_t backups = 0,
                            size_t backups_down = 0) {
  std::vector<HostPtr> hosts;
  auto add = [&](uint32_t priority, bool down) {
    EndpointConfig e;
    e.priority = priority;
    e.address_text = (priority == 0 ? "p" : "b") + std::to_string(hosts.size());
    auto h = std::make_shared<Host>(e, static_cast<uint32_t>(hosts.size()));
    h->setHealthFlag(HealthFlag::FailedActiveCheck, down);
    hosts.push_back(h);
  };
  for (size_t i = 0; i < primaries; ++i) add(0, i < primaries_down);
  for (size_t i = 0; i < backups; ++i) add(1, i < backups_down);
  return hosts;
}

std::set<std::string> names(const std::vector<HostPtr>& hosts) {
  std::set<std::string> out;
  for (const HostPtr& h : hosts) out.insert(h->addressText());
  return out;
}

TEST(HostSetTest, HealthyPrimariesOnly) {
  HostSetPtr set = HostSet::build(levels(3, 1, 2, 0), 50);
  EXPECT_EQ(names(set->candidates()), (std::set<std::string>{"p1", "p2"}));
  EXPECT_FALSE(set->panic());
  EXPECT_EQ(set->all().size(), 5u);
  EXPECT_EQ(set->healthyCount(), 4u);
  EXPECT_EQ(set->indexLimit(), 5u);
}

TEST(HostSetTest, BackupsTakeOverWhenEveryPrimaryIsDown) {
  HostSetPtr set = HostSet::build(levels(2, 2, 2, 0), 50);
  EXPECT_EQ(names(set->candidates()), (std::set<std::string>{"b2", "b3"}));
  EXPECT_FALSE(set->panic());
}

TEST(HostSetTest, TooFewPrimariesShareWithBackups) {
  // 1 of 4 primaries (25% < 50%) cannot carry the load alone: backups join it.
  HostSetPtr set = HostSet::build(levels(4, 3, 2, 0), 50);
  EXPECT_EQ(names(set->candidates()), (std::set<std::string>{"p3", "b4", "b5"}));
  EXPECT_FALSE(set->panic());
}

TEST(HostSetTest, PanicBalancesOverEveryHost) {
  HostSetPtr set = HostSet::build(levels(4, 3), 50);
  EXPECT_TRUE(set->panic());
  EXPECT_EQ(set->candidates().size(), 4u);
  HostSetPtr all_down = HostSet::build(levels(2, 2, 1, 1), 50);
  EXPECT_TRUE(all_down->panic());
  EXPECT_EQ(all_down->candidates().size(), 3u);
}

TEST(HostSetTest, PanicThresholdZeroMeansNoPanic) {
  HostSetPtr set = HostSet::build(levels(4, 3), 0);
  EXPECT_FALSE(set->panic());
  EXPECT_EQ(names(set->candidates()), (std::set<std::string>{"p3"}));
  HostSetPtr none = HostSet::build(levels(2, 2), 0);
  EXPECT_TRUE(none->candidates().empty());
}

TEST(HostSetTest, HealthFlagsCombine) {
  auto hosts = levels(1, 0);
  Host& h = *hosts[0];
  EXPECT_TRUE(h.setHealthFlag(HealthFlag::OutlierEjected, true));
  EXPECT_FALSE(h.setHealthFlag(HealthFlag::FailedActiveCheck, true));  // still unhealthy
  EXPECT_FALSE(h.setHealthFlag(HealthFlag::OutlierEjected, false));    // still failing its check
  EXPECT_TRUE(h.setHealthFlag(HealthFlag::FailedActiveCheck, false));
  EXPECT_TRUE(h.healthy());
}

}  // namespace
}  // namespace portico::upstream
