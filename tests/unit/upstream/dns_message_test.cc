// Reading raw SRV responses: records with TTLs, additional addresses, compression, bad input.
#include "upstream/dns_message.h"

#include <gtest/gtest.h>

#include "upstream/dns_test_message.h"

namespace portico::upstream {
namespace {

using dnstest::Message;

TEST(DnsMessageTest, SrvRecordsWithTtlsAndAdditionalAddresses) {
  Message m;
  m.header(2, 2);
  m.question("_http._tcp.svc.test");
  m.srv(30, 10, 5, 8080, "One.svc.test");
  m.srv(7, 20, 0, 9090, "two.svc.test");
  m.a("one.svc.test", 12, {127, 0, 0, 2});
  std::vector<unsigned char> v6(16, 0);
  v6[15] = 1;
  m.a("one.svc.test", 40, v6);
  SrvAnswer answer;
  ASSERT_TRUE(parseSrvResponse(m.bytes.data(), static_cast<int>(m.bytes.size()), &answer));
  ASSERT_EQ(answer.records.size(), 2u);
  EXPECT_EQ(answer.records[0].target, "one.svc.test");  // lower-cased
  EXPECT_EQ(answer.records[0].port, 8080);
  EXPECT_EQ(answer.records[0].priority, 10);
  EXPECT_EQ(answer.records[0].weight, 5);
  EXPECT_EQ(answer.records[0].ttl_s, 30u);
  EXPECT_EQ(answer.records[1].target, "two.svc.test");
  EXPECT_EQ(answer.records[1].ttl_s, 7u);
  ASSERT_EQ(answer.addresses.count("one.svc.test"), 1u);
  const auto& addresses = answer.addresses["one.svc.test"];
  ASSERT_EQ(addresses.size(), 2u);
  EXPECT_EQ(addresses[0].address.hostString(), "127.0.0.2");
  EXPECT_EQ(addresses[0].ttl_s, 12u);
  EXPECT_EQ(addresses[1].address.hostString(), "::1");
  EXPECT_EQ(answer.addresses.count("two.svc.test"), 0u);
}

TEST(DnsMessageTest, TtlWithTopBitIsZero) {
  Message m;
  m.header(1, 0);
  m.question("_x._tcp.test");
  m.srv(0x80000001u, 1, 1, 80, "a.test");
  SrvAnswer answer;
  ASSERT_TRUE(parseSrvResponse(m.bytes.data(), static_cast<int>(m.bytes.size()), &answer));
  EXPECT_EQ(answer.records.at(0).ttl_s, 0u);
}

TEST(DnsMessageTest, TruncatedOrBrokenMessagesAreRefused) {
  Message m;
  m.header(1, 1);
  m.question("_x._tcp.test");
  m.srv(30, 1, 1, 80, "a.test");
  m.a("a.test", 30, {10, 0, 0, 1});
  SrvAnswer answer;
  ASSERT_TRUE(parseSrvResponse(m.bytes.data(), static_cast<int>(m.bytes.size()), &answer));
  for (size_t cut = 0; cut < m.bytes.size(); ++cut) {
    SrvAnswer partial;
    EXPECT_FALSE(parseSrvResponse(m.bytes.data(), static_cast<int>(cut), &partial)) << cut;
  }
  // An A record of 3 bytes.
  Message bad;
  bad.header(0, 1);
  bad.question("_x._tcp.test");
  bad.a("a.test", 30, {10, 0, 0});
  EXPECT_FALSE(parseSrvResponse(bad.bytes.data(), static_cast<int>(bad.bytes.size()), &answer));
  // A compression pointer to itself.
  Message loop;
  loop.header(1, 0);
  loop.question("_x._tcp.test");
  loop.pointer(static_cast<uint16_t>(loop.bytes.size()));
  loop.u16(33);
  EXPECT_FALSE(parseSrvResponse(loop.bytes.data(), static_cast<int>(loop.bytes.size()), &answer));
}

TEST(DnsMessageTest, CanonicalNames) {
  EXPECT_EQ(canonicalDnsName("Backend.Example."), "backend.example");
  EXPECT_EQ(canonicalDnsName("x"), "x");
  EXPECT_EQ(canonicalDnsName(""), "");
}

}  // namespace
}  // namespace portico::upstream
