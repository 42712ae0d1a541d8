// The status document's shape and the admin endpoints' routing, without sockets.
#include "admin/status_report.h"

#include <gtest/gtest.h>

#include "admin/admin_server.h"

namespace portico::admin {
namespace {

upstream::ClusterConfig twoEndpoints() {
  upstream::ClusterConfig c;
  c.name = "app";
  c.lb = upstream::LbPolicy::LeastRequest;
  for (int i = 0; i < 2; ++i) {
    upstream::EndpointConfig e;
    e.address_text = "127.0.0.1:" + std::to_string(2001 + i);
    EXPECT_TRUE(net::parseAddress(e.address_text, &e.address));
    e.weight = static_cast<uint32_t>(i + 1);
    c.endpoints.push_back(e);
  }
  return c;
}

class StatusReportTest : public ::testing::Test, public AdminSource {
 protected:
  StatusReportTest() {
    clusters_.push_back(std::make_unique<upstream::ClusterState>(twoEndpoints()));
    server_.version = "1.2.3";
    server_.workers = 2;
    server_.uptime_ms = 5500;
    server_.listeners.push_back({"main", "127.0.0.1:8080"});
  }
  ServerStatus serverStatus() const override { return server_; }
  const std::vector<std::unique_ptr<upstream::ClusterState>>& clusters() const override {
    return clusters_;
  }
  upstream::ClusterState& cluster() { return *clusters_[0]; }

  ServerStatus server_;
  std::vector<std::unique_ptr<upstream::ClusterState>> clusters_;
};

TEST_F(StatusReportTest, ShapeAndSums) {
  auto w1 = cluster().stats.addWorker();
  auto w2 = cluster().stats.addWorker();
  w1->endpoint(0).requests.add(2);
  w1->endpoint(0).responses[2].add(2);
  w1->endpoint(0).latency.record(3);
  w1->endpoint(0).latency.record(5);
  w2->endpoint(1).requests.add(1);
  w2->endpoint(1).errors[static_cast<size_t>(stats::UpstreamError::ConnectFailure)].add();
  w2->endpoint(1).streams.add(4);
  w2->endpoint(1).streams_reused.add(1);
  w2->endpoint(1).connections.set(3);
  w2->endpoint(1).idle_connections.set(1);
  w1->retries.add();
  w2->refusals[static_cast<size_t>(stats::Refusal::MaxRequests)].add();
  cluster().hosts[1]->setHealthFlag(upstream::HealthFlag::OutlierEjected, true);
  ++cluster().stats.health(1).ejections;

  const auto j = statusReport(server_, clusters_);
  EXPECT_EQ(j["server"]["version"], "1.2.3");
  EXPECT_EQ(j["server"]["uptime_seconds"], 5);
  EXPECT_EQ(j["server"]["workers"], 2);
  EXPECT_EQ(j["server"]["draining"], false);
  EXPECT_EQ(j["listeners"][0]["name"], "main");

  const auto& c = j["clusters"][0];
  EXPECT_EQ(c["name"], "app");
  EXPECT_EQ(c["lb"], "least_request");
  EXPECT_EQ(c["counters"]["requests"], 3);
  EXPECT_EQ(c["counters"]["responses"]["2xx"], 2);
  EXPECT_EQ(c["counters"]["retries"], 1);
  EXPECT_EQ(c["counters"]["ejections"], 1);
  EXPECT_EQ(c["errors"]["connect_failure"], 1);
  EXPECT_EQ(c["refusals"]["overflow_max_requests"], 1);
  EXPECT_EQ(c["latency_ms"]["count"], 2);
  EXPECT_EQ(c["latency_ms"]["max"], 5);
  EXPECT_EQ(c["gauges"]["connections_active"], 2);
  EXPECT_EQ(c["gauges"]["connections_idle"], 1);
  EXPECT_DOUBLE_EQ(c["gauges"]["pool_reuse_ratio"].get<double>(), 0.25);

  ASSERT_EQ(c["endpoints"].size(), 2u);
  const auto& e0 = c["endpoints"][0];
  EXPECT_EQ(e0["address"], "127.0.0.1:2001");
  EXPECT_EQ(e0["weight"], 1);
  EXPECT_EQ(e0["priority"], 0);
  EXPECT_EQ(e0["health"], "healthy");
  EXPECT_EQ(e0["active_requests"], 0);
  EXPECT_EQ(e0["counters"]["requests"], 2);
  EXPECT_DOUBLE_EQ(e0["latency_ms"]["mean"].get<double>(), 4.0);
  const auto& e1 = c["endpoints"][1];
  EXPECT_EQ(e1["health"], "ejected");
  EXPECT_EQ(e1["counters"]["ejections"], 1);
  EXPECT_EQ(e1["errors"]["connect_failure"], 1);
}

TEST_F(StatusReportTest, FailedActiveCheckOutranksEjection) {
  upstream::Host& h = *cluster().hosts[0];
  h.setHealthFlag(upstream::HealthFlag::OutlierEjected, true);
  h.setHealthFlag(upstream::HealthFlag::FailedActiveCheck, true);
  EXPECT_STREQ(healthName(h), "failed_active_check");
}

TEST_F(StatusReportTest, Routing) {
  AdminReply status = handleAdminRequest(http::Method::Get, "/status?pretty", *this);
  EXPECT_EQ(status.status, 200);
  EXPECT_EQ(status.content_type, "application/json");
  EXPECT_EQ(nlohmann::json::parse(status.body)["clusters"][0]["name"], "app");

  EXPECT_EQ(handleAdminRequest(http::Method::Get, "/ready", *this).status, 200);
  server_.draining = true;
  EXPECT_EQ(handleAdminRequest(http::Method::Get, "/ready", *this).status, 503);

  EXPECT_EQ(handleAdminRequest(http::Method::Get, "/", *this).status, 404);
  EXPECT_EQ(handleAdminRequest(http::Method::Get, "/status/x", *this).status, 404);
  AdminReply post = handleAdminRequest(http::Method::Post, "/status", *this);
  EXPECT_EQ(post.status, 405);
  EXPECT_STREQ(post.allow, "GET, HEAD");
}

}  // namespace
}  // namespace portico::admin
