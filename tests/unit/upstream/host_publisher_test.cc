#include "upstream/host_publisher.h"

#include <gtest/gtest.h>

#include <utility>

namespace portico::upstream {
namespace {

struct RecordingSink : HostSetSink {
  void deliverHostSet(size_t cluster_index, HostSetPtr set) override {
    delivered.emplace_back(cluster_index, std::move(set));
  }
  std::vector<std::pair<size_t, HostSetPtr>> delivered;
};

std::unique_ptr<ClusterState> cluster(size_t endpoints, uint32_t panic_threshold) {
  ClusterConfig c;
  c.name = "c";
  c.panic_threshold_percent = panic_threshold;
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

}  // namespace
}  // namespace portico::upstream
