// DnsResolver against a fake DNS server on a loopback UDP socket, both on one event loop:
// answers with TTLs, SRV with additional records, NXDOMAIN, a server that never answers, and
// destruction with a query in flight.
#include "upstream/dns_resolver.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <optional>

#include "support/run_until.h"
#include "upstream/dns_test_message.h"

namespace portico::upstream {
namespace {

using dnstest::Message;

// Answers each query with what `answer` builds from (id, question bytes, qname, qtype), or
// not at all when it returns nothing.
class FakeDnsServer final : public event::IoHandler {
 public:
  using Answer = std::function<std::optional<Message>(uint16_t id, const Message& question,
                                                      const std::string& name, uint16_t type)>;
  FakeDnsServer(event::EventLoop& loop, Answer answer) : loop_(loop), answer_(std::move(answer)) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
    socklen_t len = sizeof sin;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sin), &len);
    port_ = ntohs(sin.sin_port);
    loop_.addFd(fd_, EPOLLIN, this);
  }
  ~FakeDnsServer() override {
    loop_.removeFd(fd_);
    ::close(fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int queries = 0;

  void onIoReady(uint32_t) override {
    unsigned char buf[1500];
    sockaddr_in from{};
    socklen_t len = sizeof from;
    ssize_t n;
    while ((n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len)) >
           12) {
      ++queries;
      // The question: labels up to the root, then type and class.
      size_t pos = 12;
      std::string name;
      while (pos < static_cast<size_t>(n) && buf[pos] != 0) {
        if (!name.empty()) name += '.';
        name.append(reinterpret_cast<char*>(buf + pos + 1), buf[pos]);
        pos += buf[pos] + 1u;
      }
      const uint16_t type = static_cast<uint16_t>((buf[pos + 1] << 8) | buf[pos + 2]);
      Message question;
      question.raw(buf + 12, pos + 5 - 12);
      const uint16_t id = static_cast<uint16_t>((buf[0] << 8) | buf[1]);
      if (std::optional<Message> reply = answer_(id, question, name, type)) {
        ::sendto(fd_, reply->bytes.data(), reply->bytes.size(), 0,
                 reinterpret_cast<sockaddr*>(&from), len);
      }
    }
  }

 private:
  event::EventLoop& loop_;
  Answer answer_;
  int fd_ = -1;
  uint16_t port_ = 0;
};

Message reply(uint16_t id, const Message& question, uint16_t answers, uint16_t additional,
              uint16_t rcode = 0) {
  Message m;
  m.header(answers, additional, id, rcode);
  m.raw(question.bytes.data(), question.bytes.size());
  return m;
}

std::optional<Message> neverAnswer(uint16_t, const Message&, const std::string&, uint16_t) {
  return std::nullopt;
}

DnsConfig configFor(const FakeDnsServer& server) {
  DnsConfig config;
  config.resolvers = {server.address()};
  config.timeout_ms = 100;
  config.tries = 2;
  return config;
}

TEST(DnsResolverTest, AddressRecordsWithTheirTtls) {
  event::EventLoop loop;
  FakeDnsServer server(loop,
                       [](uint16_t id, const Message& q, const std::string& name,
                          uint16_t type) -> std::optional<Message> {
                         if (name != "backend.test") return std::nullopt;
                         if (type != 1) return reply(id, q, 0, 0);  // AAAA: no data
                         Message m = reply(id, q, 2, 0);
                         m.a("backend.test", 42, {10, 0, 0, 1});
                         m.a("backend.test", 7, {10, 0, 0, 2});
                         return m;
                       });
  std::string error = "none";
  auto resolver = DnsResolver::create(loop, configFor(server), &error);
  ASSERT_TRUE(resolver) << error;
  std::optional<std::vector<ResolvedAddress>> got;
  resolver->resolveAddresses("backend.test", DnsFamily::Any,
                             [&](const std::string& e, std::vector<ResolvedAddress> addresses) {
                               error = e;
                               got = std::move(addresses);
                             });
  ASSERT_TRUE(testing::runUntil(loop, [&] { return got.has_value(); }));
  EXPECT_EQ(error, "");
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].address.hostString(), "10.0.0.1");
  EXPECT_EQ((*got)[0].ttl_s, 42u);
  EXPECT_EQ((*got)[1].ttl_s, 7u);
}

TEST(DnsResolverTest, SrvWithAdditionalRecords) {
  event::EventLoop loop;
  FakeDnsServer server(loop,
                       [](uint16_t id, const Message& q, const std::string& name,
                          uint16_t type) -> std::optional<Message> {
                         if (name != "_http._tcp.svc.test" || type != 33)
                           return reply(id, q, 0, 0, 3);
                         Message m = reply(id, q, 1, 1);
                         m.srv(30, 1, 5, 8080, "t1.svc.test");
                         m.a("t1.svc.test", 12, {127, 0, 0, 2});
                         return m;
                       });
  std::string error;
  auto resolver = DnsResolver::create(loop, configFor(server), &error);
  ASSERT_TRUE(resolver) << error;
  std::optional<SrvAnswer> got;
  resolver->resolveSrv("_http._tcp.svc.test", [&](const std::string& e, SrvAnswer answer) {
    error = e;
    got = std::move(answer);
  });
  ASSERT_TRUE(testing::runUntil(loop, [&] { return got.has_value(); }));
  EXPECT_EQ(error, "");
  ASSERT_EQ(got->records.size(), 1u);
  EXPECT_EQ(got->records[0].target, "t1.svc.test");
  EXPECT_EQ(got->records[0].port, 8080);
  EXPECT_EQ(got->addresses["t1.svc.test"].at(0).address.hostString(), "127.0.0.2");
}

TEST(DnsResolverTest, NxdomainIsAnError) {
  event::EventLoop loop;
  FakeDnsServer server(loop, [](uint16_t id, const Message& q, const std::string&, uint16_t) {
    return std::optional<Message>(reply(id, q, 0, 0, 3));
  });
  std::string error;
  auto resolver = DnsResolver::create(loop, configFor(server), &error);
  ASSERT_TRUE(resolver) << error;
  bool done = false;
  resolver->resolveAddresses("gone.test", DnsFamily::V4,
                             [&](const std::string& e, std::vector<ResolvedAddress> addresses) {
                               error = e;
                               EXPECT_TRUE(addresses.empty());
                               done = true;
                             });
  ASSERT_TRUE(testing::runUntil(loop, [&] { return done; }));
  EXPECT_EQ(error, "no such name (NXDOMAIN)");
}

TEST(DnsResolverTest, SilentServerTimesOutAfterItsTries) {
  event::EventLoop loop;
  FakeDnsServer server(loop, neverAnswer);
  std::string error;
  auto resolver = DnsResolver::create(loop, configFor(server), &error);
  ASSERT_TRUE(resolver) << error;
  bool done = false;
  const event::MonoTime start = event::monotonicNowMs();
  resolver->resolveAddresses("slow.test", DnsFamily::V4,
                             [&](const std::string& e, std::vector<ResolvedAddress>) {
                               error = e;
                               done = true;
                             });
  ASSERT_TRUE(testing::runUntil(
      loop, [&] { return done; }, 5000));
  EXPECT_EQ(error, "timed out");
  EXPECT_EQ(server.queries, 2);  // tries: 2, each 100 ms (c-ares may lengthen later tries)
  EXPECT_GE(event::monotonicNowMs() - start, 200);
}

TEST(DnsResolverTest, DestroyedWithAQueryInFlightCallsNothing) {
  event::EventLoop loop;
  FakeDnsServer server(loop, neverAnswer);
  std::string error;
  auto resolver = DnsResolver::create(loop, configFor(server), &error);
  ASSERT_TRUE(resolver) << error;
  bool called = false;
  resolver->resolveAddresses(
      "slow.test", DnsFamily::V4,
      [&](const std::string&, std::vector<ResolvedAddress>) { called = true; });
  ASSERT_TRUE(testing::runUntil(loop, [&] { return server.queries == 1; }));
  resolver.reset();
  EXPECT_FALSE(testing::runUntil(
      loop, [&] { return called; }, 300));
}

}  // namespace
}  // namespace portico::upstream
