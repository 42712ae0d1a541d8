// `health_check:` of a cluster, read on its own by loadHealthCheck().

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/sections.h"

namespace portico::config::internal {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct Loaded {
  upstream::ClusterConfig cluster;
  std::vector<std::string> errors;
};

Loaded load(const std::string& yaml,
            upstream::UpstreamProtocol protocol = upstream::UpstreamProtocol::Http1) {
  Loaded out;
  out.cluster.protocol = protocol;
  Reader reader("test.yaml");
  YAML::Node node = YAML::Load(yaml);
  Field field{"clusters[0].health_check", node, node.Mark()};
  loadHealthCheck(reader, field, &out.cluster);
  for (const yaml::ConfigError& e : reader.takeErrors()) out.errors.push_back(e.toString());
  return out;
}

TEST(HealthCheckLoader, AnEmptyMappingGivesTheDefaults) {
  Loaded l = load("{}");
  EXPECT_TRUE(l.errors.empty());
  ASSERT_TRUE(l.cluster.health_check);
  const upstream::HealthCheckConfig& c = *l.cluster.health_check;
  EXPECT_EQ(c.type, upstream::HealthCheckType::Http);
  EXPECT_EQ(c.interval_ms, 5000);
  EXPECT_EQ(c.jitterMs(), 500);  // 10% of the interval
  EXPECT_EQ(c.timeout_ms, 2000);
  EXPECT_EQ(c.healthy_threshold, 2u);
  EXPECT_EQ(c.unhealthy_threshold, 3u);
  EXPECT_EQ(c.path, "/");
  EXPECT_FALSE(c.head);
  EXPECT_TRUE(c.host.empty());
  EXPECT_TRUE(c.statusExpected(200));
  EXPECT_TRUE(c.statusExpected(399));
  EXPECT_FALSE(c.statusExpected(400));
  EXPECT_FALSE(c.statusExpected(199));
}

TEST(HealthCheckLoader, EveryHttpKey) {
  Loaded l = load(R"({type: http, interval: 200ms, jitter: 50ms, timeout: 1s,
      healthy_threshold: 1, unhealthy_threshold: 5, path: /healthz, method: HEAD,
      host: health.internal, expected_statuses: [200, "204", "300-302"],
      body_contains: ok})");
  EXPECT_TRUE(l.errors.empty()) << l.errors[0];
  const upstream::HealthCheckConfig& c = *l.cluster.health_check;
  EXPECT_EQ(c.interval_ms, 200);
  EXPECT_EQ(c.jitterMs(), 50);
  EXPECT_EQ(c.timeout_ms, 1000);
  EXPECT_EQ(c.healthy_threshold, 1u);
  EXPECT_EQ(c.unhealthy_threshold, 5u);
  EXPECT_EQ(c.path, "/healthz");
  EXPECT_TRUE(c.head);
  EXPECT_EQ(c.host, "health.internal");
  EXPECT_TRUE(c.statusExpected(204));
  EXPECT_TRUE(c.statusExpected(301));
  EXPECT_FALSE(c.statusExpected(201));
  EXPECT_FALSE(c.statusExpected(303));
  EXPECT_EQ(c.body_contains, "ok");
}

TEST(HealthCheckLoader, JitterAsAPercentage) {
  Loaded l = load("{interval: 2s, jitter: 25%}");
  EXPECT_TRUE(l.errors.empty());
  EXPECT_EQ(l.cluster.health_check->jitterMs(), 500);
}

TEST(HealthCheckLoader, TcpChecks) {
  Loaded l = load("{type: tcp, interval: 1s}");
  EXPECT_TRUE(l.errors.empty());
  EXPECT_EQ(l.cluster.health_check->type, upstream::HealthCheckType::Tcp);
  // HTTP/2 backends cannot answer the HTTP/1.1 check, but a TCP one is fine.
  EXPECT_TRUE(load("{type: tcp}", upstream::UpstreamProtocol::H2c).errors.empty());
}

TEST(HealthCheckLoader, BadValuesAreErrorsAtTheirKey) {
  EXPECT_THAT(load("{type: udp}").errors, ElementsAre(HasSubstr("health_check.type")));
  EXPECT_THAT(load("{interval: 0ms}").errors, ElementsAre(HasSubstr("health_check.interval")));
  EXPECT_THAT(load("{jitter: 150%}").errors,
              ElementsAre(HasSubstr("expected a percentage 0%..100%")));
  EXPECT_THAT(load("{healthy_threshold: 0}").errors,
              ElementsAre(HasSubstr("health_check.healthy_threshold")));
  EXPECT_THAT(load("{method: POST}").errors, ElementsAre(HasSubstr("health_check.method")));
  EXPECT_THAT(load("{path: healthz}").errors, ElementsAre(HasSubstr("starting with '/'")));
  EXPECT_THAT(load("{expected_statuses: [\"399-200\"]}").errors,
              ElementsAre(HasSubstr("range like \"200-399\"")));
  EXPECT_THAT(load("{expected_statuses: [600]}").errors, ElementsAre(HasSubstr("status 100..599")));
  EXPECT_THAT(load("{expected_statuses: []}").errors, ElementsAre(HasSubstr("expected_statuses")));
  EXPECT_THAT(load("{bogus: 1}").errors, ElementsAre(HasSubstr("bogus")));
}

TEST(HealthCheckLoader, HttpKeysOnATcpCheckAreErrors) {
  EXPECT_THAT(load("{type: tcp, path: /health}").errors,
              ElementsAre(HasSubstr("path applies to type http only")));
}

TEST(HealthCheckLoader, HttpCheckOnAnHttp2OnlyClusterIsAnError) {
  EXPECT_THAT(load("{path: /health}", upstream::UpstreamProtocol::H2).errors,
              ElementsAre(HasSubstr("use type: grpc or tcp")));
  EXPECT_THAT(load("{}", upstream::UpstreamProtocol::H2c).errors,
              ElementsAre(HasSubstr("use type: grpc or tcp")));
}

TEST(HealthCheckLoader, GrpcChecksNeedHttp2) {
  Loaded l = load("{type: grpc, service: api.v1.Users}", upstream::UpstreamProtocol::H2c);
  EXPECT_TRUE(l.errors.empty());
  EXPECT_EQ(l.cluster.health_check->type, upstream::HealthCheckType::Grpc);
  EXPECT_EQ(l.cluster.health_check->service, "api.v1.Users");
  EXPECT_TRUE(load("{type: grpc}", upstream::UpstreamProtocol::H2).errors.empty());
  EXPECT_THAT(load("{type: grpc}").errors, ElementsAre(HasSubstr("protocol: h2 or h2c")));
  EXPECT_THAT(load("{type: grpc, path: /x}", upstream::UpstreamProtocol::H2c).errors,
              ElementsAre(HasSubstr("path applies to type http only")));
  EXPECT_THAT(load("{service: x}").errors,
              ElementsAre(HasSubstr("service applies to type grpc only")));
}

}  // namespace
}  // namespace portico::config::internal
