// random, least_request and peak_ewma: distributions, avoidance, weights, and the peak EWMA
// arithmetic on an injected clock.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "upstream/lb_test_support.h"
#include "upstream/least_request.h"
#include "upstream/load_balancer.h"
#include "upstream/peak_ewma.h"
#include "upstream/random_balancer.h"
#include "upstream/random_pick.h"

namespace portico::upstream {
namespace {

using testing::hostsWithWeights;
using testing::withPolicy;

// Made from a host list (the set is built here, panic threshold 50).
struct Picker : testing::Picker {
  Picker(std::unique_ptr<LoadBalancer> b, const std::vector<HostPtr>& hosts)
      : testing::Picker(std::move(b), HostSet::build(hosts, 50)) {}
};

// Pearson's chi-square of observed counts against expected shares (a share of 0 is skipped:
// test those counts separately).
double chiSquare(const std::map<int, int>& counts, const std::vector<double>& shares, int n) {
  double x2 = 0;
  for (size_t i = 0; i < shares.size(); ++i) {
    if (shares[i] == 0) continue;
    const auto it = counts.find(static_cast<int>(i));
    const double observed = it == counts.end() ? 0 : it->second;
    const double expected = shares[i] * n;
    x2 += (observed - expected) * (observed - expected) / expected;
  }
  return x2;
}

// --- sampleAllowed ------------------------------------------------------------------------

TEST(SampleAllowedTest, DistinctAllowedAndUniformWhenMostAreAvoided) {
  // 10 hosts, 7 avoided: the draws mostly miss, so the one-pass fallback decides. Each of the
  // 3 allowed pairs must come up about equally often, and never an avoided host or a repeat.
  auto hosts = hostsWithWeights(std::vector<uint32_t>(10, 1));
  HostExclusions avoid;
  for (int i : {0, 1, 2, 4, 5, 7, 8}) avoid.add(*hosts[static_cast<size_t>(i)]);
  LbRandom random(3);
  std::vector<Host*> scratch;
  std::map<int, int> pairs;  // by the index sum, distinct for {3,6}, {3,9}, {6,9}
  const int n = 30000;
  for (int i = 0; i < n; ++i) {
    Host* out[2];
    ASSERT_EQ(sampleAllowed(hosts, avoid, random, 2, out, scratch), 2u);
    ASSERT_NE(out[0], out[1]);
    ASSERT_FALSE(avoid.has(*out[0]) || avoid.has(*out[1]));
    ++pairs[static_cast<int>(out[0]->index() + out[1]->index())];
  }
  std::map<int, int> by_pair{{0, pairs[9]}, {1, pairs[12]}, {2, pairs[15]}};
  EXPECT_LT(chiSquare(by_pair, {1 / 3.0, 1 / 3.0, 1 / 3.0}, n), 13.8);  // 2 dof, p = 0.001
}

TEST(SampleAllowedTest, FewerAllowedThanAsked) {
  auto hosts = hostsWithWeights({1, 1, 1});
  HostExclusions avoid;
  avoid.add(*hosts[0]);
  avoid.add(*hosts[2]);
  LbRandom random(1);
  std::vector<Host*> scratch;
  Host* out[5];
  ASSERT_EQ(sampleAllowed(hosts, avoid, random, 5, out, scratch), 1u);
  EXPECT_EQ(out[0], hosts[1].get());
  avoid.add(*hosts[1]);
  EXPECT_EQ(sampleAllowed(hosts, avoid, random, 5, out, scratch), 0u);
}

// --- random -------------------------------------------------------------------------------

TEST(RandomBalancerTest, FollowsTheWeights) {
  auto hosts = hostsWithWeights({1, 2, 5});
  Picker p(makeLoadBalancer(withPolicy(LbPolicy::Random), 7), hosts);
  const int n = 80000;
  // 2 degrees of freedom: 13.8 is the p = 0.001 critical value. The seed is fixed, so this is
  // deterministic; the bound says the sequence it draws is plausible for the weights.
  EXPECT_LT(chiSquare(p.counts(n), {1 / 8.0, 2 / 8.0, 5 / 8.0}, n), 13.8);
}

TEST(RandomBalancerTest, EqualWeightsAreUniform) {
  auto hosts = hostsWithWeights({3, 3, 3, 3});
  Picker p(makeLoadBalancer(withPolicy(LbPolicy::Random), 1), hosts);
  const int n = 40000;
  EXPECT_LT(chiSquare(p.counts(n), {0.25, 0.25, 0.25, 0.25}, n), 16.3);  // 3 dof, p = 0.001
}

TEST(RandomBalancerTest, AvoidedHostsAreNeverPickedAndTheRestKeepTheirWeights) {
  auto hosts = hostsWithWeights({100, 1, 3});
  Picker p(makeLoadBalancer(withPolicy(LbPolicy::Random), 3), hosts);
  p.avoid.add(*hosts[0]);  // nearly all the weight: the one-pass fallback does the work
  const int n = 40000;
  auto counts = p.counts(n);
  EXPECT_EQ(counts[0], 0);
  EXPECT_LT(chiSquare(counts, {0, 0.25, 0.75}, n), 10.8);  // 1 dof, p = 0.001
  p.avoid.add(*hosts[1]);
  p.avoid.add(*hosts[2]);
  EXPECT_EQ(p.pick(), -1);
}

TEST(RandomBalancerTest, WorkersDrawDifferentSequences) {
  auto hosts = hostsWithWeights({1, 1, 1, 1, 1, 1, 1, 1});
  Picker a(makeLoadBalancer(withPolicy(LbPolicy::Random), 0), hosts);
  Picker b(makeLoadBalancer(withPolicy(LbPolicy::Random), 1), hosts);
  std::string sa, sb;
  for (int i = 0; i < 32; ++i) {
    sa += static_cast<char>('a' + a.pick());
    sb += static_cast<char>('a' + b.pick());
  }
  EXPECT_NE(sa, sb);
}

TEST(RandomBalancerTest, NoCandidatesNoPick) {
  auto hosts = hostsWithWeights({1});
  hosts[0]->setHealthFlag(HealthFlag::FailedActiveCheck, true);
  RandomBalancer lb(0);
  lb.setHosts(HostSet::build(hosts, 0));  // panic off: no candidate
  HostExclusions none;
  LoadBalancerContext context;
  context.avoid = &none;
  EXPECT_EQ(lb.pick(context), nullptr);
}

// --- least_request ------------------------------------------------------------------------

TEST(LeastRequestTest, PrefersTheLessLoadedOfTwo) {
  auto hosts = hostsWithWeights({1, 1});
  Picker p(std::make_unique<LeastRequestBalancer>(2, 5), hosts);
  for (int i = 0; i < 3; ++i) hosts[0]->requestStarted();
  // With two hosts both are always drawn: the idle one wins every time.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(p.pick(), 1);
  for (int i = 0; i < 5; ++i) hosts[1]->requestStarted();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(p.pick(), 0);
}

TEST(LeastRequestTest, LoadIsRelativeToWeight) {
  auto hosts = hostsWithWeights({4, 1});
  Picker p(std::make_unique<LeastRequestBalancer>(2, 5), hosts);
  // (2 + 1) / 4 < (0 + 1) / 1: the big host with two in flight still counts as less loaded.
  hosts[0]->requestStarted();
  hosts[0]->requestStarted();
  EXPECT_EQ(p.pick(), 0);
  // (5 + 1) / 4 > (0 + 1) / 1
  for (int i = 0; i < 3; ++i) hosts[0]->requestStarted();
  EXPECT_EQ(p.pick(), 1);
}

TEST(LeastRequestTest, IdleEqualHostsShareEvenly) {
  auto hosts = hostsWithWeights({1, 1, 1, 1, 1});
  Picker p(makeLoadBalancer(withPolicy(LbPolicy::LeastRequest), 11), hosts);
  const int n = 50000;
  EXPECT_LT(chiSquare(p.counts(n), {0.2, 0.2, 0.2, 0.2, 0.2}, n), 18.5);  // 4 dof, p = 0.001
}

TEST(LeastRequestTest, TwoChoicesAvoidTheBusiestHost) {
  // Power of two choices: the most loaded of n hosts loses every comparison, so it is never
  // picked, although it is drawn often.
  auto hosts = hostsWithWeights({1, 1, 1, 1});
  Picker p(makeLoadBalancer(withPolicy(LbPolicy::LeastRequest), 2), hosts);
  for (int i = 0; i < 10; ++i) hosts[2]->requestStarted();
  auto counts = p.counts(4000);
  EXPECT_EQ(counts[2], 0);
  EXPECT_GT(counts[0], 1000);
}

TEST(LeastRequestTest, AvoidedHostsAreSkippedEvenWhenIdle) {
  auto hosts = hostsWithWeights({1, 1, 1});
  Picker p(makeLoadBalancer(withPolicy(LbPolicy::LeastRequest), 2), hosts);
  for (int i = 0; i < 9; ++i) hosts[1]->requestStarted();
  for (int i = 0; i < 9; ++i) hosts[2]->requestStarted();
  p.avoid.add(*hosts[0]);  // the idle one
  std::set<int> seen;
  for (int i = 0; i < 200; ++i) seen.insert(p.pick());
  EXPECT_EQ(seen, (std::set<int>{1, 2}));
  p.avoid.add(*hosts[1]);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(p.pick(), 2);  // one allowed: it, however loaded
  p.avoid.add(*hosts[2]);
  EXPECT_EQ(p.pick(), -1);
}

TEST(LeastRequestTest, MoreChoicesFindTheIdleHost) {
  // 10 hosts, one idle: with choices = 10 every host is compared, so the idle one always wins.
  auto hosts = hostsWithWeights(std::vector<uint32_t>(10, 1));
  for (size_t i = 0; i < hosts.size(); ++i) {
    if (i != 6) hosts[i]->requestStarted();
  }
  ClusterConfig config = withPolicy(LbPolicy::LeastRequest);
  config.least_request_choices = 10;
  Picker p(makeLoadBalancer(config, 4), hosts);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(p.pick(), 6);
}

// --- peak_ewma ----------------------------------------------------------------------------

struct PeakEwmaTest : ::testing::Test {
  int64_t now = 1000000;
  PeakEwmaConfig config{/*decay_ms=*/10000, /*failure_penalty_ms=*/1000};
  std::vector<HostPtr> hosts = hostsWithWeights({1, 1, 1});
  PeakEwmaBalancer lb{config, 9, [this] { return now; }};
  HostExclusions avoid;
  LoadBalancerContext context;
  void SetUp() override {
    lb.setHosts(HostSet::build(hosts, 50));
    context.avoid = &avoid;
  }
  void answer(int host, int64_t latency_ms) {
    AttemptOutcome o;
    o.kind = AttemptOutcome::Kind::Response;
    o.status = 200;
    o.latency_ms = latency_ms;
    lb.onAttemptOutcome(*hosts[static_cast<size_t>(host)], o);
  }
  double estimate(int host) const { return lb.estimateMs(static_cast<uint32_t>(host), now); }
};

TEST_F(PeakEwmaTest, FirstObservationIsTheEstimate) {
  answer(0, 40);
  EXPECT_DOUBLE_EQ(estimate(0), 40);
}

TEST_F(PeakEwmaTest, JumpsUpAtOnceAndDecaysDownWithTheTimeConstant) {
  answer(0, 10);
  now += 1000;
  answer(0, 100);  // higher: taken in full, whatever the time since
  EXPECT_DOUBLE_EQ(estimate(0), 100);
  now += 10000;  // one time constant later a 10 ms answer pulls it 1 - 1/e of the way down
  answer(0, 10);
  const double w = std::exp(-1.0);
  EXPECT_NEAR(estimate(0), 100 * w + 10 * (1 - w), 1e-9);
  // Two answers at the same moment: the second has no weight yet (no time passed).
  answer(0, 1);
  EXPECT_NEAR(estimate(0), 100 * w + 10 * (1 - w), 1e-9);
}

TEST_F(PeakEwmaTest, AnUnusedEstimateFadesTowardsZeroWhenRead) {
  answer(0, 200);
  now += 20000;  // two time constants
  EXPECT_NEAR(estimate(0), 200 * std::exp(-2.0), 1e-9);
}

TEST_F(PeakEwmaTest, UnobservedHostsGetTheMeanOfTheObserved) {
  EXPECT_DOUBLE_EQ(estimate(2), 0);  // nothing observed yet: all equal
  answer(0, 10);
  answer(1, 30);
  EXPECT_DOUBLE_EQ(estimate(2), 20);
  answer(1, 50);
  EXPECT_DOUBLE_EQ(estimate(2), 30);
}

TEST_F(PeakEwmaTest, FailuresCountAsThePenalty) {
  AttemptOutcome o;
  o.kind = AttemptOutcome::Kind::ConnectFailure;
  o.latency_ms = 2;
  answer(0, 10);
  lb.onAttemptOutcome(*hosts[0], o);
  EXPECT_DOUBLE_EQ(estimate(0), 1000);
  o.kind = AttemptOutcome::Kind::Timeout;  // a timeout longer than the penalty counts in full
  o.latency_ms = 5000;
  lb.onAttemptOutcome(*hosts[1], o);
  EXPECT_DOUBLE_EQ(estimate(1), 5000);
  o.kind = AttemptOutcome::Kind::Cancelled;  // says nothing about the host
  lb.onAttemptOutcome(*hosts[2], o);
  EXPECT_DOUBLE_EQ(estimate(2), 3000);  // still unobserved: the mean of the other two
}

TEST_F(PeakEwmaTest, CostIsEstimateTimesLoad) {
  answer(0, 9);
  hosts[0]->requestStarted();
  hosts[0]->requestStarted();
  EXPECT_DOUBLE_EQ(lb.cost(*hosts[0], now), (9 + 1) * 3.0);
}

TEST_F(PeakEwmaTest, PicksTheCheaperOfTwo) {
  answer(0, 100);
  answer(1, 10);
  answer(2, 10);
  std::map<int, int> counts;
  for (int i = 0; i < 300; ++i) ++counts[static_cast<int>(lb.pick(context)->index())];
  EXPECT_EQ(counts[0], 0);  // the slow host loses every comparison
  // Load changes the balance: 10 ms with 10 in flight costs more than 100 ms idle.
  for (int i = 0; i < 10; ++i) hosts[1]->requestStarted();
  for (int i = 0; i < 10; ++i) hosts[2]->requestStarted();
  // Host 0 now wins whenever it is drawn, which is in 2 of the 3 possible pairs.
  counts.clear();
  for (int i = 0; i < 300; ++i) ++counts[static_cast<int>(lb.pick(context)->index())];
  EXPECT_GT(counts[0], 150);
}

TEST_F(PeakEwmaTest, SkipsAvoidedHosts) {
  answer(0, 1);
  answer(1, 100);
  answer(2, 100);
  avoid.add(*hosts[0]);
  for (int i = 0; i < 30; ++i) EXPECT_NE(lb.pick(context)->index(), 0u);
  avoid.add(*hosts[1]);
  avoid.add(*hosts[2]);
  EXPECT_EQ(lb.pick(context), nullptr);
}

TEST_F(PeakEwmaTest, EstimatesSurviveNewHostSets) {
  answer(1, 70);
  hosts[0]->setHealthFlag(HealthFlag::FailedActiveCheck, true);
  lb.setHosts(HostSet::build(hosts, 0));
  EXPECT_DOUBLE_EQ(estimate(1), 70);
  // A host added later gets a new index and starts neutral.
  EndpointConfig e;
  hosts.push_back(std::make_shared<Host>(e, 3));
  lb.setHosts(HostSet::build(hosts, 0));
  EXPECT_DOUBLE_EQ(estimate(3), 70);
  EXPECT_DOUBLE_EQ(estimate(1), 70);
}

}  // namespace
}  // namespace portico::upstream
