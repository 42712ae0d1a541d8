// Slow start: the ramp curve, the effective weights a host set carries, and each weighted
// balancer's shares during a ramp (the publisher's part is in host_publisher_test.cc).
#include "upstream/slow_start.h"

#include <gtest/gtest.h>

#include <cmath>

#include "upstream/host_set.h"
#include "upstream/lb_test_support.h"
#include "upstream/peak_ewma.h"

namespace portico::upstream {
namespace {

using testing::hostsWithWeights;
using testing::withPolicy;

SlowStartConfig window(int64_t ms, double aggression = 1.0, uint32_t min_percent = 10) {
  SlowStartConfig c;
  c.window_ms = ms;
  c.aggression = aggression;
  c.min_weight_percent = min_percent;
  return c;
}

TEST(SlowStartTest, FactorFollowsEnvoysCurve) {
  const SlowStartConfig linear = window(10000);
  EXPECT_EQ(slowStartScaled(linear, 0), 100u);  // min_weight_percent 10
  EXPECT_EQ(slowStartScaled(linear, 500), 100u);
  EXPECT_EQ(slowStartScaled(linear, 2500), 250u);
  EXPECT_EQ(slowStartScaled(linear, 5000), 500u);
  EXPECT_EQ(slowStartScaled(linear, 9999), 1000u);  // rounds to full just before the end
  EXPECT_EQ(slowStartScaled(linear, 10000), kWeightScale);
  EXPECT_EQ(slowStartScaled(linear, 1000000), kWeightScale);
  EXPECT_EQ(slowStartScaled(linear, -1), kWeightScale);  // not ramping
  // Aggression 2: (t/w)^(1/2), ahead of linear early on; 0.5: behind it.
  EXPECT_EQ(slowStartScaled(window(10000, 2.0), 2500), 500u);
  EXPECT_EQ(slowStartScaled(window(10000, 0.5), 5000), 250u);
  // min_weight_percent 0 still leaves the host a sliver: weight 0 would never be picked.
  EXPECT_EQ(slowStartScaled(window(10000, 1.0, 0), 0), 1u);
  EXPECT_EQ(slowStartScaled(window(10000, 1.0, 50), 1000), 500u);
}

TEST(SlowStartTest, RepublishTickIsATenthOfTheWindowWithinBounds) {
  EXPECT_EQ(rampTickMs(window(30000)), 1000);
  EXPECT_EQ(rampTickMs(window(5000)), 500);
  EXPECT_EQ(rampTickMs(window(500)), 100);
}

TEST(SlowStartTest, HostSetCarriesRampedWeights) {
  auto hosts = hostsWithWeights({2, 2, 3});
  const SlowStartConfig slow = window(10000);
  hosts[1]->setHealthySinceMs(1000);                        // joined at t=1s
  HostSetPtr set = HostSet::build(hosts, 50, &slow, 6000);  // 5 s in: half
  EXPECT_TRUE(set->ramping());
  EXPECT_EQ(set->weights()[0], 2 * kWeightScale);
  EXPECT_EQ(set->weights()[1], 2 * 500u);
  EXPECT_EQ(set->weights()[2], 3 * kWeightScale);
  EXPECT_EQ(set->ramps()[1], 500u);
  EXPECT_EQ(set->ramps()[2], kWeightScale);
  // After the window, or without slow start: full weights, nothing ramping.
  EXPECT_FALSE(HostSet::build(hosts, 50, &slow, 11000)->ramping());
  EXPECT_FALSE(HostSet::build(hosts, 50)->ramping());
  EXPECT_EQ(HostSet::build(hosts, 50)->weights()[1], 2 * kWeightScale);
  // An unhealthy host is not a candidate: it does not make the set ramp.
  hosts[1]->setHealthFlag(HealthFlag::FailedActiveCheck, true);
  EXPECT_FALSE(HostSet::build(hosts, 50, &slow, 6000)->ramping());
}

// --- shares during a ramp ------------------------------------------------------------------

// Two equal hosts, the second at a quarter of its ramp (factor 0.25): it should get
// 0.25 / 1.25 = 20% of the picks.
HostSetPtr quarterRamp(const std::vector<HostPtr>& hosts) {
  static const SlowStartConfig slow = window(10000);
  hosts[1]->setHealthySinceMs(0);
  return HostSet::build(hosts, 50, &slow, 2500);
}

double shareOfSecond(LbPolicy policy, int n) {
  auto hosts = hostsWithWeights({1, 1});
  testing::Picker p(makeLoadBalancer(withPolicy(policy), 5), quarterRamp(hosts));
  std::map<int, int> counts = p.counts(n);
  return static_cast<double>(counts[1]) / n;
}

TEST(SlowStartSharesTest, RoundRobinFamiliesFollowTheRampExactly) {
  // Smooth round robin is deterministic: 1 in 5 over every 5 picks.
  EXPECT_DOUBLE_EQ(shareOfSecond(LbPolicy::WeightedRoundRobin, 1000), 0.2);
  EXPECT_DOUBLE_EQ(shareOfSecond(LbPolicy::RoundRobin, 1000), 0.2);
}

TEST(SlowStartSharesTest, RandomFollowsTheRamp) {
  EXPECT_NEAR(shareOfSecond(LbPolicy::Random, 40000), 0.2, 0.015);
}

TEST(SlowStartSharesTest, LeastRequestPrefersTheFullHostWhileLoaded) {
  // With requests in flight on both, (active + 1) / weight favours the full-weight host until
  // the ramping one has a quarter of its load.
  auto hosts = hostsWithWeights({1, 1});
  testing::Picker p(makeLoadBalancer(withPolicy(LbPolicy::LeastRequest), 5), quarterRamp(hosts));
  for (int i = 0; i < 3; ++i) hosts[0]->requestStarted();  // (3 + 1) / 1 = 4
  hosts[1]->requestStarted();                              // (1 + 1) / 0.25 = 8
  for (int i = 0; i < 50; ++i) EXPECT_EQ(p.pick(), 0);
  for (int i = 0; i < 8; ++i) hosts[0]->requestStarted();  // (11 + 1) / 1 = 12 > 8
  for (int i = 0; i < 50; ++i) EXPECT_EQ(p.pick(), 1);
}

TEST(SlowStartSharesTest, PeakEwmaCostsTheRampingHostMore) {
  auto hosts = hostsWithWeights({1, 1});
  int64_t now = 0;
  PeakEwmaBalancer lb(PeakEwmaConfig{}, 5, [&] { return now; });
  lb.setHosts(quarterRamp(hosts));
  // Same latency and load: the ramping one costs four times as much, so it loses every
  // two-way comparison.
  EXPECT_DOUBLE_EQ(lb.cost(*hosts[1], now), 4 * lb.cost(*hosts[0], now));
  HostExclusions none;
  LoadBalancerContext context;
  context.avoid = &none;
  for (int i = 0; i < 50; ++i) EXPECT_EQ(lb.pick(context), hosts[0].get());
}

}  // namespace
}  // namespace portico::upstream
