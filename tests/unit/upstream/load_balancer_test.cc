#include "upstream/load_balancer.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "upstream/lb_test_support.h"
#include "upstream/round_robin.h"

namespace portico::upstream {
namespace {

using testing::hostsWithWeights;
using testing::Picker;
using testing::withPolicy;

TEST(LoadBalancerTest, RoundRobinRotatesAndSkipsAvoidedHosts) {
  auto hosts = hostsWithWeights({1, 1, 1});
  Picker p(makeLoadBalancer(withPolicy(LbPolicy::RoundRobin), 0), HostSet::build(hosts, 50));
  EXPECT_EQ(p.pick(), 0);
  EXPECT_EQ(p.pick(), 1);
  EXPECT_EQ(p.pick(), 2);
  EXPECT_EQ(p.pick(), 0);
  p.avoid.add(*hosts[1]);
  for (int i = 0; i < 6; ++i) EXPECT_NE(p.pick(), 1);
  p.avoid.add(*hosts[0]);
  p.avoid.add(*hosts[2]);
  EXPECT_EQ(p.pick(), -1);
}

TEST(LoadBalancerTest, RoundRobinIgnoresWeights) {
  auto hosts = hostsWithWeights({5, 1});
  Picker p(makeLoadBalancer(withPolicy(LbPolicy::RoundRobin), 0), HostSet::build(hosts, 50));
  std::map<int, int> counts;
  for (int i = 0; i < 100; ++i) ++counts[p.pick()];
  EXPECT_EQ(counts[0], 50);
  EXPECT_EQ(counts[1], 50);
}

TEST(LoadBalancerTest, WorkersStartTheirRotationsApart) {
  // Each worker keeps its own position (no shared counter); the seed staggers the starts so
  // that workers together still spread the first requests.
  auto set = HostSet::build(hostsWithWeights({1, 1, 1}), 50);
  Picker worker0(makeLoadBalancer(withPolicy(LbPolicy::RoundRobin), 0), set);
  Picker worker1(makeLoadBalancer(withPolicy(LbPolicy::RoundRobin), 1), set);
  Picker worker2(makeLoadBalancer(withPolicy(LbPolicy::RoundRobin), 2), set);
  EXPECT_EQ(worker0.pick(), 0);
  EXPECT_EQ(worker1.pick(), 1);
  EXPECT_EQ(worker2.pick(), 2);
}

TEST(LoadBalancerTest, WeightedIsProportionalAndSmooth) {
  auto set = HostSet::build(hostsWithWeights({5, 1, 1}), 50);
  Picker p(makeLoadBalancer(withPolicy(LbPolicy::WeightedRoundRobin), 0), set);
  std::string seq;
  for (int i = 0; i < 7; ++i) seq += static_cast<char>('a' + p.pick());
  EXPECT_EQ(seq, "aabacaa");  // interleaved, not "aaaaabc"
  std::map<int, int> counts;
  for (int i = 0; i < 700; ++i) ++counts[p.pick()];
  EXPECT_EQ(counts[0], 500);
  EXPECT_EQ(counts[1], 100);
  EXPECT_EQ(counts[2], 100);
}

TEST(LoadBalancerTest, WeightedSkipsAvoidedHosts) {
  auto hosts = hostsWithWeights({10, 1});
  Picker p(makeLoadBalancer(withPolicy(LbPolicy::WeightedRoundRobin), 0),
           HostSet::build(hosts, 50));
  p.avoid.add(*hosts[0]);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(p.pick(), 1);
}

TEST(LoadBalancerTest, PicksOnlyFromTheNewSetAfterSetHosts) {
  auto hosts = hostsWithWeights({1, 1, 1});
  Picker p(makeLoadBalancer(withPolicy(LbPolicy::RoundRobin), 0), HostSet::build(hosts, 50));
  hosts[1]->setHealthFlag(HealthFlag::FailedActiveCheck, true);
  // The flag alone changes nothing: picking follows the published set.
  std::map<int, int> before;
  for (int i = 0; i < 30; ++i) ++before[p.pick()];
  EXPECT_EQ(before[1], 10);
  p.lb->setHosts(HostSet::build(hosts, 50));
  for (int i = 0; i < 30; ++i) EXPECT_NE(p.pick(), 1);
}

}  // namespace
}  // namespace portico::upstream
