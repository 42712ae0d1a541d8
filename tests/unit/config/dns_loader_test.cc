// `dns:` / `srv:` endpoint entries and the cluster's `dns:` section.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"

namespace portico::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Lines 1-10: a listener and a cluster "app" whose `endpoints:` list starts on line 11.
const std::string kHead = R"(listeners:
  - name: public
    address: 127.0.0.1:8080
    virtual_hosts:
      - name: default
        domains: ["*"]
        routes:
          - proxy: {cluster: app}
clusters:
  - name: app
    endpoints:
)";

LoadResult load(const std::string& rest) {
  return loadConfigString(kHead + rest, "test.yaml");
}

std::vector<std::string> errorLines(const LoadResult& r) {
  std::vector<std::string> out;
  for (const ConfigError& e : r.errors) out.push_back(e.toString());
  return out;
}

TEST(DnsLoaderTest, DnsAndSrvEntriesWithDefaults) {
  LoadResult r = load(R"(      - address: 127.0.0.1:9000
      - { dns: Backend.Example., port: 8080, weight: 2, priority: 1, family: v4 }
      - { srv: _http._tcp.example }
)");
  ASSERT_TRUE(r.config) << testing::PrintToString(errorLines(r));
  const upstream::ClusterConfig& c = r.config->clusters.at(0);
  ASSERT_EQ(c.endpoints.size(), 1u);
  ASSERT_EQ(c.dns_endpoints.size(), 2u);
  const upstream::DnsEndpointConfig& a = c.dns_endpoints[0];
  EXPECT_EQ(a.kind, upstream::DnsEndpointConfig::Kind::Address);
  EXPECT_EQ(a.name, "Backend.Example");  // the trailing dot dropped
  EXPECT_EQ(a.port, 8080);
  EXPECT_EQ(a.weight, 2u);
  EXPECT_EQ(a.priority, 1u);
  EXPECT_EQ(a.family, upstream::DnsFamily::V4);
  const upstream::DnsEndpointConfig& s = c.dns_endpoints[1];
  EXPECT_EQ(s.kind, upstream::DnsEndpointConfig::Kind::Srv);
  EXPECT_EQ(s.name, "_http._tcp.example");
  EXPECT_EQ(s.family, upstream::DnsFamily::Any);
  EXPECT_TRUE(c.dns.resolvers.empty());
  EXPECT_EQ(c.dns.min_ttl_ms, 1000);
  EXPECT_EQ(c.dns.max_ttl_ms, 300000);
  EXPECT_EQ(c.dns.timeout_ms, 5000);
  EXPECT_EQ(c.dns.tries, 2u);
}

TEST(DnsLoaderTest, DnsSection) {
  LoadResult r = load(R"(      - { dns: backend.test, port: 80 }
    dns:
      resolvers: [127.0.0.1:5353, "::1", 10.0.0.53]
      min_ttl: 2s
      max_ttl: 1m
      timeout: 500ms
      tries: 3
)");
  ASSERT_TRUE(r.config) << testing::PrintToString(errorLines(r));
  const upstream::DnsConfig& dns = r.config->clusters.at(0).dns;
  EXPECT_THAT(dns.resolvers, ElementsAre("127.0.0.1:5353", "[::1]:53", "10.0.0.53:53"));
  EXPECT_EQ(dns.min_ttl_ms, 2000);
  EXPECT_EQ(dns.max_ttl_ms, 60000);
  EXPECT_EQ(dns.timeout_ms, 500);
  EXPECT_EQ(dns.tries, 3u);
}

TEST(DnsLoaderTest, ErrorsHaveLines) {
  LoadResult r = load(R"(      - { address: 127.0.0.1:80, dns: backend.test }
      - { dns: backend.test }
      - { dns: "bad name!", port: 80 }
      - { dns: 10.0.0.1, port: 80 }
      - { srv: _http._tcp.test, port: 80 }
      - { dns: -x.test, port: 80 }
      - { weight: 2 }
      - { dns: backend.test, port: 80 }
      - { dns: backend.test, port: 80 }
      - { address: 127.0.0.1:81, family: v4 }
      - { srv: _a._tcp.test, family: v5 }
    dns:
      resolvers: [dns.google]
      min_ttl: 10s
      max_ttl: 5s
)");
  ASSERT_FALSE(r.config);
  EXPECT_THAT(
      errorLines(r),
      ElementsAre(
          "test.yaml:12:9: clusters[0].endpoints[0]: an endpoint has one of address, dns and "
          "srv, not both address and dns",
          "test.yaml:13:9: clusters[0].endpoints[1].port: missing required key",
          HasSubstr("test.yaml:14:16: clusters[0].endpoints[2].dns: a DNS name has letters"),
          "test.yaml:15:16: clusters[0].endpoints[3].dns: this is an IP address, not a DNS "
          "name: use address: IP:PORT, got \"10.0.0.1\"",
          "test.yaml:16:39: clusters[0].endpoints[4].port: port comes from the SRV records; "
          "remove it from an srv entry",
          HasSubstr("test.yaml:17:16: clusters[0].endpoints[5].dns: "),
          "test.yaml:18:9: clusters[0].endpoints[6]: an endpoint needs address, dns or srv",
          HasSubstr("test.yaml:20:16: clusters[0].endpoints[8].dns: "),
          "test.yaml:21:42: clusters[0].endpoints[9].family: family belongs to dns: and srv: "
          "entries",
          HasSubstr("test.yaml:22:38: clusters[0].endpoints[10].family: "),
          HasSubstr("test.yaml:24:19: clusters[0].dns.resolvers[0]: expected a DNS server"),
          "test.yaml:26:16: clusters[0].dns.max_ttl: max_ttl 5000 ms is below min_ttl 10000 ms"));
}

TEST(DnsLoaderTest, DnsSectionWithoutDnsEndpoints) {
  LoadResult r = load(R"(      - address: 127.0.0.1:80
    dns: {min_ttl: 5s}
)");
  ASSERT_FALSE(r.config);
  EXPECT_THAT(errorLines(r),
              ElementsAre("test.yaml:13:10: clusters[0].dns: dns settings apply only to a "
                          "cluster with dns: or srv: endpoints"));
}

}  // namespace
}  // namespace portico::config
