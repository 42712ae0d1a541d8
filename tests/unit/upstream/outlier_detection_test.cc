#include "upstream/outlier_detection.h"

#include <gtest/gtest.h>

#include "support/run_until.h"
#include "upstream/cluster_manager.h"
#include "upstream/host_list.h"
#include "upstream/host_publisher.h"

namespace portico::upstream {
namespace {

AttemptOutcome response(uint16_t status) {
  AttemptOutcome o;
  o.kind = AttemptOutcome::Kind::Response;
  o.status = status;
  return o;
}

AttemptOutcome failure(AttemptOutcome::Kind kind) {
  AttemptOutcome o;
  o.kind = kind;
  return o;
}

TEST(OutlierCountingTest, StreaksEndOnSuccessAndFireOnceAtTheThreshold) {
  Host host(EndpointConfig{}, 0);
  OutlierDetectionConfig config;
  config.consecutive_5xx = 3;
  EXPECT_FALSE(countOutcome(host, response(500), config));
  EXPECT_FALSE(countOutcome(host, response(503), config));
  EXPECT_FALSE(countOutcome(host, response(200), config));  // the streak ends
  EXPECT_FALSE(countOutcome(host, response(500), config));
  EXPECT_FALSE(countOutcome(host, response(500), config));
  EXPECT_EQ(countOutcome(host, response(502), config), EjectReason::Consecutive5xx);
  EXPECT_FALSE(countOutcome(host, response(500), config));  // counting starts again
}

TEST(OutlierCountingTest, ConnectFailuresAndGatewayErrors) {
  Host host(EndpointConfig{}, 0);
  OutlierDetectionConfig config;
  config.consecutive_5xx = 0;
  config.consecutive_connect_failures = 2;
  config.consecutive_gateway_errors = 3;
  EXPECT_FALSE(countOutcome(host, failure(AttemptOutcome::Kind::ConnectFailure), config));
  EXPECT_EQ(countOutcome(host, failure(AttemptOutcome::Kind::Timeout), config),
            EjectReason::ConsecutiveConnectFailures);
  // The same failures were gateway errors too; a 503 makes the third.
  EXPECT_EQ(countOutcome(host, response(503), config), EjectReason::ConsecutiveGatewayErrors);
  // A client that went away says nothing about the host.
  EXPECT_FALSE(countOutcome(host, failure(AttemptOutcome::Kind::Cancelled), config));
  EXPECT_EQ(host.streaks().consecutive_connect.load(), 0u);
}

struct RecordingSink : HostSetSink {
  void deliverHostSet(size_t, HostSetPtr set) override { last = std::move(set); }
  HostSetPtr last;
};

class OutlierDetectorTest : public ::testing::Test {
 protected:
  OutlierDetectorTest() {
    ClusterConfig c;
    c.name = "c";
    c.outlier_detection.enabled = true;
    c.outlier_detection.base_ejection_ms = 20;
    c.outlier_detection.max_ejection_ms = 1000;
    c.outlier_detection.max_ejection_percent = 50;
    for (int i = 0; i < 4; ++i) {
      EndpointConfig e;
      e.address_text = "127.0.0.1:" + std::to_string(3000 + i);
      EXPECT_TRUE(net::parseAddress(e.address_text, &e.address));
      c.endpoints.push_back(e);
    }
    clusters_.push_back(std::make_unique<ClusterState>(c));
  }
  std::vector<std::unique_ptr<ClusterState>> clusters_;
  RecordingSink sink_;
  HostPublisher publisher_{clusters_, sink_};
  event::EventLoop loop_;
  OutlierDetector detector_{loop_, clusters_, publisher_};
};

TEST_F(OutlierDetectorTest, EjectsThenRestoresAfterTheEjectionTime) {
  detector_.eject(0, 2, EjectReason::Consecutive5xx);
  ASSERT_TRUE(sink_.last);
  EXPECT_EQ(sink_.last->candidates().size(), 3u);
  EXPECT_TRUE(clusters_[0]->hosts[2]->hasHealthFlag(HealthFlag::OutlierEjected));
  EXPECT_TRUE(testing::runUntil(loop_, [&] { return clusters_[0]->hosts[2]->healthy(); }));
  EXPECT_EQ(sink_.last->candidates().size(), 4u);
}

TEST_F(OutlierDetectorTest, NeverMoreThanMaxEjectionPercent) {
  detector_.eject(0, 0, EjectReason::Consecutive5xx);
  detector_.eject(0, 1, EjectReason::Consecutive5xx);
  detector_.eject(0, 2, EjectReason::Consecutive5xx);  // 50% of 4 are out already
  EXPECT_TRUE(clusters_[0]->hosts[2]->healthy());
  EXPECT_EQ(sink_.last->candidates().size(), 2u);
  // The status endpoint counts ejections made, not ones refused.
  EXPECT_EQ(clusters_[0]->stats.healthOf(1).ejections, 1u);
  EXPECT_EQ(clusters_[0]->stats.healthOf(2).ejections, 0u);
}

TEST_F(OutlierDetectorTest, RepeatedEjectionsLastLonger) {
  detector_.eject(0, 1, EjectReason::ConsecutiveConnectFailures);
  ASSERT_TRUE(testing::runUntil(loop_, [&] { return clusters_[0]->hosts[1]->healthy(); }));
  // The ejection's timer counts from the loop's cached time, which may be a little behind the
  // clock: measure from the same time, or a busy machine makes the wait look short.
  const event::MonoTime start = loop_.now();
  detector_.eject(0, 1, EjectReason::ConsecutiveConnectFailures);  // second time: 2 x 20 ms
  ASSERT_TRUE(testing::runUntil(loop_, [&] { return clusters_[0]->hosts[1]->healthy(); }));
  EXPECT_GE(event::monotonicNowMs() - start, 40);
  EXPECT_EQ(clusters_[0]->stats.healthOf(1).ejections, 2u);
}

TEST_F(OutlierDetectorTest, HostsThatLeftAreForgottenAndLookedUpByIndex) {
  ClusterState& cluster = *clusters_[0];
  detector_.eject(0, 1, EjectReason::Consecutive5xx);
  ASSERT_FALSE(cluster.hosts[1]->healthy());
  // DNS: host 1 leaves, a new host (index 4) arrives; positions no longer match indices.
  std::vector<EndpointConfig> desired;
  for (const HostPtr& h : cluster.hosts) {
    if (h->index() != 1) desired.push_back(h->config());
  }
  EndpointConfig fresh;
  EXPECT_TRUE(net::parseAddress("127.0.0.1:4000", &fresh.address));
  fresh.address_text = "127.0.0.1:4000";
  desired.push_back(fresh);
  HostListChange change = updateHostList(cluster.hosts, desired, &cluster.next_host_index);
  ASSERT_EQ(change.added.size(), 1u);
  ASSERT_EQ(change.removed.size(), 1u);
  cluster.hosts = change.hosts;
  detector_.hostsChanged(0, change.added, change.removed);
  ASSERT_EQ(cluster.findHost(4), change.added.at(0));
  // Reports about the removed host are ignored; the new one is ejected by its index.
  detector_.eject(0, 1, EjectReason::Consecutive5xx);
  detector_.eject(0, 4, EjectReason::Consecutive5xx);
  EXPECT_FALSE(cluster.findHost(4)->healthy());
  EXPECT_EQ(sink_.last->all().size(), 4u);
  EXPECT_EQ(sink_.last->candidates().size(), 3u);
  EXPECT_TRUE(testing::runUntil(loop_, [&] { return cluster.findHost(4)->healthy(); }));
}

}  // namespace
}  // namespace portico::upstream
