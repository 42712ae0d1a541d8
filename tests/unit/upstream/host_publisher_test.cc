#include "upstream/host_publisher.h"

#include <gtest/gtest.h>

#include <utility>

namespace portico::upstream {
namespace {

struct RecordingSink : HostSetSink {
  void deliverHostSet(size_t cluster_index, HostSetPtr set) override {
    delivered.emplace_back(cluster_index, set);
    last = std::move(set);
  }
  std::vector<std::pair<size_t, HostSetPtr>> delivered;
  HostSetPtr last;
};

std::unique_ptr<ClusterState> cluster(size_t endpoints, uint32_t panic_threshold,
                                      int64_t slow_start_window_ms = 0) {
  ClusterConfig c;
  c.name = "c";
  c.panic_threshold_percent = panic_threshold;
  if (slow_start_window_ms > 0) c.slow_start = SlowStartConfig{slow_start_window_ms, 1.0, 10};
  for (size_t i = 0; i < endpoints; ++i) {
    EndpointConfig e;
    e.address_text = "127.0.0.1:" + std::to_string(2000 + i);
    c.endpoints.push_back(e);
  }
  return std::make_unique<ClusterState>(c);
}

TEST(HostPublisherTest, DeliversASetBuiltFromCurrentHealth) {
  std::vector<std::unique_ptr<ClusterState>> clusters;
  clusters.push_back(cluster(2, 50));
  clusters.push_back(cluster(4, 50));
  RecordingSink sink;
  HostPublisher publisher(clusters, sink);
  clusters[1]->hosts[3]->setHealthFlag(HealthFlag::FailedActiveCheck, true);
  publisher.publish(1);
  ASSERT_EQ(sink.delivered.size(), 1u);
  EXPECT_EQ(sink.delivered[0].first, 1u);
  const HostSet& set = *sink.delivered[0].second;
  EXPECT_EQ(set.candidates().size(), 3u);
  for (const HostPtr& h : set.candidates()) EXPECT_NE(h->index(), 3u);
  // The initial set the workers started with is untouched (immutable).
  EXPECT_EQ(clusters[1]->initial_hosts->candidates().size(), 4u);
}

TEST(HostPublisherTest, PanicWhenTooFewAreHealthy) {
  std::vector<std::unique_ptr<ClusterState>> clusters;
  clusters.push_back(cluster(4, 50));
  RecordingSink sink;
  HostPublisher publisher(clusters, sink);
  for (int i = 0; i < 3; ++i)
    clusters[0]->hosts[i]->setHealthFlag(HealthFlag::OutlierEjected, true);
  EXPECT_TRUE(publisher.publish(0)->panic());
  clusters[0]->hosts[0]->setHealthFlag(HealthFlag::OutlierEjected, false);
  EXPECT_FALSE(publisher.publish(0)->panic());
  EXPECT_EQ(sink.delivered.back().second->candidates().size(), 2u);
}

// --- slow start: who joined, and the ramp advancing on a fake clock -----------------------

TEST(SlowStartPublisherTest, RecoveredHostRampsAndStartupHostsDoNot) {
  std::vector<std::unique_ptr<ClusterState>> clusters;
  clusters.push_back(cluster(3, 50, 10000));
  RecordingSink sink;
  int64_t now = 50000;
  HostPublisher publisher(clusters, sink, nullptr, [&] { return now; });
  // Hosts a process starts with are never ramped.
  EXPECT_FALSE(publisher.publish(0)->ramping());
  EXPECT_EQ(clusters[0]->hosts[0]->healthySinceMs(), Host::kHealthyFromStart);
  EXPECT_EQ(publisher.advanceRamps(), 0u);

  Host& h = *clusters[0]->hosts[2];
  h.setHealthFlag(HealthFlag::FailedActiveCheck, true);
  now += 3000;
  EXPECT_FALSE(publisher.publish(0)->ramping());
  h.setHealthFlag(HealthFlag::FailedActiveCheck, false);
  now += 1000;
  HostSetPtr set = publisher.publish(0);
  EXPECT_EQ(h.healthySinceMs(), now);
  EXPECT_TRUE(set->ramping());
  EXPECT_EQ(set->ramps()[2], 100u);
  EXPECT_EQ(set->ramps()[0], kWeightScale);
  // The ramp advances with the republished sets; the time it joined stays.
  now += 5000;
  EXPECT_EQ(publisher.advanceRamps(), 1u);
  EXPECT_EQ(sink.last->ramps()[2], 500u);
  now += 5000;
  EXPECT_EQ(publisher.advanceRamps(), 1u);  // the last one, at full weight
  EXPECT_FALSE(sink.last->ramping());
  EXPECT_EQ(publisher.advanceRamps(), 0u);
}

TEST(SlowStartPublisherTest, HostsAddedLaterRamp) {
  std::vector<std::unique_ptr<ClusterState>> clusters;
  clusters.push_back(cluster(2, 50, 10000));
  RecordingSink sink;
  int64_t now = 1000;
  HostPublisher publisher(clusters, sink, nullptr, [&] { return now; });
  // As DNS discovery does: a new host with a new index.
  EndpointConfig e;
  e.address_text = "127.0.0.1:3999";
  clusters[0]->hosts.push_back(std::make_shared<Host>(e, 2));
  HostSetPtr set = publisher.publish(0);
  EXPECT_TRUE(set->ramping());
  EXPECT_EQ(set->ramps()[2], 100u);
  EXPECT_EQ(set->ramps()[1], kWeightScale);
}

}  // namespace
}  // namespace portico::upstream
