// ThreadLocalCluster: capacity before balancing, exclusions, host set swaps and the
// in-flight accounting around attempts. No connection is opened: a pool exists for each
// host chosen, but nothing here asks it for a stream.
#include "upstream/cluster_manager.h"

#include <gtest/gtest.h>

#include <set>

namespace portico::upstream {
namespace {

ClusterConfig threeEndpoints() {
  ClusterConfig c;
  c.name = "c";
  for (int i = 0; i < 3; ++i) {
    EndpointConfig e;
    e.address_text = "127.0.0.1:" + std::to_string(1001 + i);
    EXPECT_TRUE(net::parseAddress(e.address_text, &e.address));
    c.endpoints.push_back(e);
  }
  return c;
}

class ClusterManagerTest : public ::testing::Test {
 protected:
  ClusterManagerTest() : state_(threeEndpoints()), cluster_(loop_, state_, 0) { tried_.reset(3); }
  Host* choose() { return cluster_.chooseHost(std::nullopt, tried_).host; }

  event::EventLoop loop_;
  ClusterState state_;
  ThreadLocalCluster cluster_;
  HostExclusions tried_;
};

TEST_F(ClusterManagerTest, SkipsTriedHostsThenStartsOver) {
  std::set<uint32_t> seen;
  for (int i = 0; i < 3; ++i) {
    Host* h = choose();
    ASSERT_NE(h, nullptr);
    tried_.add(*h);
    seen.insert(h->index());
  }
  EXPECT_EQ(seen.size(), 3u);  // never a tried host while another is left
  // Every host tried: one is offered again (a fresh connection may still work).
  EXPECT_NE(choose(), nullptr);
}

TEST_F(ClusterManagerTest, FollowsPublishedHostSets) {
  state_.hosts[0]->setHealthFlag(HealthFlag::FailedActiveCheck, true);
  cluster_.setHosts(HostSet::build(state_.hosts, 0));
  for (int i = 0; i < 10; ++i) EXPECT_NE(choose()->index(), 0u);
  for (const HostPtr& h : state_.hosts) h->setHealthFlag(HealthFlag::FailedActiveCheck, true);
  cluster_.setHosts(HostSet::build(state_.hosts, 0));  // no panic: nobody to send to
  const HostChoice none = cluster_.chooseHost(std::nullopt, tried_);
  EXPECT_EQ(none.host, nullptr);
  EXPECT_EQ(none.refusal, HostChoice::Refusal::NoHealthyHost);
}

TEST_F(ClusterManagerTest, CountsRequestsInFlight) {
  Host* h = choose();
  cluster_.attemptStarted(*h);
  cluster_.attemptStarted(*h);
  EXPECT_EQ(h->activeRequests(), 2u);
  AttemptOutcome ok;
  ok.status = 200;
  cluster_.attemptOutcome(*h, ok);
  cluster_.attemptFinished(*h);
  cluster_.attemptFinished(*h);
  EXPECT_EQ(h->activeRequests(), 0u);
}

TEST_F(ClusterManagerTest, CountsAttemptsAndOutcomesForTheStatusEndpoint) {
  Host* h = choose();
  auto attempt = [&](AttemptOutcome::Kind kind, uint16_t status, bool connecting) {
    cluster_.attemptStarted(*h);
    AttemptOutcome o;
    o.kind = kind;
    o.status = status;
    o.during_connect = connecting;
    o.latency_ms = 20;
    cluster_.attemptOutcome(*h, o);
    cluster_.attemptFinished(*h);
  };
  attempt(AttemptOutcome::Kind::Response, 200, false);
  attempt(AttemptOutcome::Kind::Response, 503, false);
  attempt(AttemptOutcome::Kind::ConnectFailure, 0, true);
  attempt(AttemptOutcome::Kind::Timeout, 0, true);
  attempt(AttemptOutcome::Kind::Timeout, 0, false);
  attempt(AttemptOutcome::Kind::Reset, 0, false);
  attempt(AttemptOutcome::Kind::Cancelled, 0, false);
  cluster_.countRetry();
  cluster_.countRefusal(stats::Refusal::AtConnectionLimit);

  const stats::EndpointTotals t = state_.stats.endpoint(h->index());
  using E = stats::UpstreamError;
  EXPECT_EQ(t.requests, 7u);
  EXPECT_EQ(t.responses[2], 1u);
  EXPECT_EQ(t.responses[5], 1u);
  EXPECT_EQ(t.errors[static_cast<size_t>(E::ConnectFailure)], 1u);
  EXPECT_EQ(t.errors[static_cast<size_t>(E::ConnectTimeout)], 1u);
  EXPECT_EQ(t.errors[static_cast<size_t>(E::ResponseTimeout)], 1u);
  EXPECT_EQ(t.errors[static_cast<size_t>(E::Reset)], 1u);
  EXPECT_EQ(t.latency.count, 2u);  // responses only
  EXPECT_EQ(state_.stats.cluster().retries, 1u);
  EXPECT_EQ(state_.stats.cluster().refusals[static_cast<size_t>(stats::Refusal::AtConnectionLimit)],
            1u);
}

TEST(ClusterCapacityTest, HostsAtTheirConnectionLimitAreNotChosen) {
  ClusterConfig config = threeEndpoints();
  config.max_connections_per_endpoint = 1;
  ClusterState state(config);
  event::EventLoop loop;
  ThreadLocalCluster cluster(loop, state, 0);
  HostExclusions tried;
  tried.reset(3);
  // With room everywhere, every host can be chosen.
  std::set<uint32_t> seen;
  for (int i = 0; i < 3; ++i) seen.insert(cluster.chooseHost(std::nullopt, tried).host->index());
  EXPECT_EQ(seen.size(), 3u);
}

}  // namespace
}  // namespace portico::upstream
