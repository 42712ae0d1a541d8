// The pure parts of DNS discovery: TTL bounds, retry backoff, SRV -> endpoints.
#include "upstream/dns_records.h"

#include <gtest/gtest.h>

namespace portico::upstream {
namespace {

ResolvedAddress ip(const char* text, uint32_t ttl = 30) {
  ResolvedAddress a;
  EXPECT_TRUE(net::parseIp(text, &a.address)) << text;
  a.ttl_s = ttl;
  return a;
}

SrvRecord srv(const char* target, uint16_t port, uint16_t priority, uint16_t weight) {
  return SrvRecord{target, port, priority, weight, 30};
}

std::vector<std::string> texts(const std::vector<EndpointConfig>& endpoints) {
  std::vector<std::string> out;
  for (const EndpointConfig& e : endpoints) {
    out.push_back(e.address_text + " w" + std::to_string(e.weight) + " p" +
                  std::to_string(e.priority));
  }
  return out;
}

TEST(DnsRecordsTest, TtlIsBoundedBothWays) {
  DnsConfig config;  // 1 s .. 300 s
  EXPECT_EQ(boundTtlMs(0, config), 1000);
  EXPECT_EQ(boundTtlMs(1, config), 1000);
  EXPECT_EQ(boundTtlMs(60, config), 60000);
  EXPECT_EQ(boundTtlMs(86400, config), 300000);
  EXPECT_EQ(boundTtlMs(UINT32_MAX, config), 300000);
  config.min_ttl_ms = 5000;
  config.max_ttl_ms = 10000;
  EXPECT_EQ(boundTtlMs(2, config), 5000);
  EXPECT_EQ(boundTtlMs(7, config), 7000);
  EXPECT_EQ(boundTtlMs(11, config), 10000);
}

TEST(DnsRecordsTest, FailureRetryDoublesUpToItsCap) {
  DnsConfig config;  // min 1 s, max 300 s: the cap is kMaxFailureRetryMs
  EXPECT_EQ(failureRetryMs(1, config), 1000);
  EXPECT_EQ(failureRetryMs(2, config), 2000);
  EXPECT_EQ(failureRetryMs(3, config), 4000);
  EXPECT_EQ(failureRetryMs(5, config), 16000);
  EXPECT_EQ(failureRetryMs(6, config), kMaxFailureRetryMs);
  EXPECT_EQ(failureRetryMs(1000, config), kMaxFailureRetryMs);
  config.max_ttl_ms = 3000;  // a lower max_ttl caps it
  EXPECT_EQ(failureRetryMs(10, config), 3000);
  config.min_ttl_ms = 60000;  // a min_ttl above the cap wins: never sooner than min_ttl
  config.max_ttl_ms = 120000;
  EXPECT_EQ(failureRetryMs(1, config), 60000);
  EXPECT_EQ(failureRetryMs(4, config), 60000);
}

TEST(DnsRecordsTest, AddressesGetTheEntrysPortWeightAndPriority) {
  DnsEndpointConfig entry;
  entry.name = "backend.test";
  entry.port = 8080;
  entry.weight = 3;
  entry.priority = 1;
  auto endpoints = endpointsFromAddresses(entry, {ip("10.0.0.1"), ip("::1"), ip("10.0.0.1")});
  EXPECT_EQ(texts(endpoints),
            (std::vector<std::string>{"10.0.0.1:8080 w3 p1", "[::1]:8080 w3 p1"}));
  EXPECT_EQ(endpoints[0].address.port(), 8080);
  EXPECT_EQ(endpoints[0].hostname, "backend.test");
  EXPECT_EQ(endpoints[0].authority(), "backend.test:8080");
}

TEST(DnsRecordsTest, SrvWeightsAreClamped) {
  EXPECT_EQ(srvWeight(0), 1u);
  EXPECT_EQ(srvWeight(1), 1u);
  EXPECT_EQ(srvWeight(500), 500u);
  EXPECT_EQ(srvWeight(1000), 1000u);
  EXPECT_EQ(srvWeight(65535), 1000u);
}

TEST(DnsRecordsTest, SrvRecordsBecomeEndpoints) {
  std::vector<SrvRecord> records = {srv("a.test", 8001, 10, 5), srv("b.test", 8002, 10, 0),
                                    srv("c.test", 9000, 20, 70000 % 65536)};
  std::map<std::string, std::vector<ResolvedAddress>> targets = {
      {"a.test", {ip("127.0.0.2"), ip("127.0.0.3")}},
      {"b.test", {ip("127.0.0.4")}},
      {"c.test", {ip("::1")}}};
  auto endpoints = endpointsFromSrv(records, targets);
  EXPECT_EQ(texts(endpoints),
            (std::vector<std::string>{"127.0.0.2:8001 w5 p0", "127.0.0.3:8001 w5 p0",
                                      "127.0.0.4:8002 w1 p0", "[::1]:9000 w1000 p1"}));
  EXPECT_EQ(endpoints[2].hostname, "b.test");  // the target: TLS name and Host
  EXPECT_EQ(endpoints[3].authority(), "c.test:9000");
}

TEST(DnsRecordsTest, SrvPrioritiesAreRankedAndCappedAt15) {
  std::vector<SrvRecord> records;
  std::map<std::string, std::vector<ResolvedAddress>> targets;
  for (uint16_t i = 0; i < 20; ++i) {
    const std::string name = "t" + std::to_string(i) + ".test";
    // Priorities 100, 200, ... listed backwards: ranks follow the value, not the order.
    records.push_back(srv(name.c_str(), 80, static_cast<uint16_t>(100 * (20 - i)), 1));
    targets[name] = {ip(("10.0.0." + std::to_string(i + 1)).c_str())};
  }
  auto endpoints = endpointsFromSrv(records, targets);
  ASSERT_EQ(endpoints.size(), 20u);
  for (const EndpointConfig& e : endpoints) {
    const int i = std::stoi(e.address_text.substr(7, e.address_text.find(':') - 7)) - 1;
    const uint32_t rank = static_cast<uint32_t>(19 - i);
    EXPECT_EQ(e.priority, std::min(rank, 15u)) << e.address_text;
  }
}

TEST(DnsRecordsTest, SrvSkipsUnresolvedTargetsDotTargetsAndDuplicates) {
  std::vector<SrvRecord> records = {srv("a.test", 80, 2, 10), srv("", 80, 1, 10),
                                    srv("gone.test", 80, 1, 10), srv("a.test", 80, 1, 20)};
  std::map<std::string, std::vector<ResolvedAddress>> targets = {{"a.test", {ip("10.0.0.1")}}};
  // The duplicate address keeps the better priority's record (priority 1 ranks 0: the
  // "." and unresolved records still count as priorities).
  EXPECT_EQ(texts(endpointsFromSrv(records, targets)),
            (std::vector<std::string>{"10.0.0.1:80 w20 p0"}));
}

}  // namespace
}  // namespace portico::upstream
