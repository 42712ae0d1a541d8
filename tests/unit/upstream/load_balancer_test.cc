#include "upstream/load_balancer.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace portico::upstream {
namespace {

ClusterConfig cluster(std::vector<uint32_t> weights, LbPolicy policy) {
  ClusterConfig c;
  c.lb = policy;
  for (uint32_t w : weights) {
    EndpointConfig e;
    e.weight = w;
    c.endpoints.push_back(e);
  }
  return c;
}

TEST(LoadBalancerTest, RoundRobinAlternatesAndSkipsExcluded) {
  std::atomic<uint64_t> position{0};
  auto lb = makeLoadBalancer(cluster({1, 1, 1}, LbPolicy::RoundRobin), &position);
  std::vector<bool> none(3, false);
  EXPECT_EQ(lb->pick(none), 0);
  EXPECT_EQ(lb->pick(none), 1);
  EXPECT_EQ(lb->pick(none), 2);
  EXPECT_EQ(lb->pick(none), 0);
  std::vector<bool> skip1 = {false, true, false};
  EXPECT_NE(lb->pick(skip1), 1);
  std::vector<bool> all = {true, true, true};
  EXPECT_EQ(lb->pick(all), -1);
}

TEST(LoadBalancerTest, RoundRobinSharesPositionAcrossWorkers) {
  std::atomic<uint64_t> position{0};
  auto c = cluster({1, 1}, LbPolicy::RoundRobin);
  auto worker_a = makeLoadBalancer(c, &position);
  auto worker_b = makeLoadBalancer(c, &position);
  std::vector<bool> none(2, false);
  EXPECT_EQ(worker_a->pick(none), 0);
  EXPECT_EQ(worker_b->pick(none), 1);
  EXPECT_EQ(worker_a->pick(none), 0);
}

TEST(LoadBalancerTest, WeightedIsProportionalAndSmooth) {
  std::atomic<uint64_t> position{0};
  auto lb = makeLoadBalancer(cluster({5, 1, 1}, LbPolicy::WeightedRoundRobin), &position);
  std::vector<bool> none(3, false);
  std::string seq;
  for (int i = 0; i < 7; ++i) seq += static_cast<char>('a' + lb->pick(none));
  EXPECT_EQ(seq, "aabacaa");  // interleaved, not "aaaaabc"
  std::map<int, int> counts;
  for (int i = 0; i < 700; ++i) ++counts[lb->pick(none)];
  EXPECT_EQ(counts[0], 500);
  EXPECT_EQ(counts[1], 100);
  EXPECT_EQ(counts[2], 100);
}

TEST(LoadBalancerTest, WeightedSkipsExcluded) {
  std::atomic<uint64_t> position{0};
  auto lb = makeLoadBalancer(cluster({10, 1}, LbPolicy::WeightedRoundRobin), &position);
  std::vector<bool> skip0 = {true, false};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(lb->pick(skip0), 1);
}

}  // namespace
}  // namespace portico::upstream
