// The health checker against real loopback sockets on a real event loop: probes, thresholds,
// flags and published host sets together.

#include "upstream/health_checker.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace portico::upstream {
namespace {

// A listening socket on 127.0.0.1. With serve(), a thread answers every connection with the
// current `response` and closes it; without, connections complete in the kernel's backlog
// and are never answered.
class CheckedBackend {
 public:
  CheckedBackend() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), len), 0);
    EXPECT_EQ(::listen(fd_, 64), 0);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len), 0);
    address_ = net::addressFromSockaddr(reinterpret_cast<sockaddr*>(&a), len);
  }
  ~CheckedBackend() {
    ::shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  void serve() {
    thread_ = std::thread([this] {
      while (true) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        std::string request;
        char buf[1024];
        while (request.find("\r\n\r\n") == std::string::npos) {
          ssize_t n = ::recv(c, buf, sizeof buf, 0);
          if (n <= 0) break;
          request.append(buf, static_cast<size_t>(n));
        }
        last_request_ = request;
        std::string response = status_.load() == 200
                                   ? "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nready"
                                   : "HTTP/1.1 503 Down\r\nContent-Length: 4\r\n\r\ndown";
        (void)::send(c, response.data(), response.size(), MSG_NOSIGNAL);
        ::close(c);
      }
    });
  }
  const net::Address& address() const { return address_; }
  std::atomic<int> status_{200};
  std::string last_request_;  // read after the loop stopped (the thread has answered it)

 private:
  int fd_ = -1;
  net::Address address_;
  std::thread thread_;
};

// Records delivered sets, and stops the loop once `until` holds.
struct StoppingSink : HostSetSink {
  explicit StoppingSink(event::EventLoop& l) : loop(l) {}
  void deliverHostSet(size_t, HostSetPtr set) override {
    sets.push_back(std::move(set));
    if (until && until()) loop.stop();
  }
  event::EventLoop& loop;
  std::function<bool()> until;
  std::vector<HostSetPtr> sets;
};

std::vector<std::unique_ptr<ClusterState>> oneCluster(const net::Address& address,
                                                      HealthCheckConfig check) {
  ClusterConfig c;
  c.name = "app";
  c.panic_threshold_percent = 0;
  EndpointConfig e;
  e.address = address;
  e.address_text = address.toString();
  c.endpoints.push_back(e);
  c.health_check = std::move(check);
  std::vector<std::unique_ptr<ClusterState>> clusters;
  clusters.push_back(std::make_unique<ClusterState>(c));
  return clusters;
}

HealthCheckConfig fastCheck(HealthCheckType type) {
  HealthCheckConfig check;
  check.type = type;
  check.interval_ms = 20;
  check.jitter_ms = 0;
  check.timeout_ms = 300;
  check.healthy_threshold = 2;
  check.unhealthy_threshold = 2;
  return check;
}

// Runs the loop until the sink's condition or `limit_ms`; false on the limit.
bool runUntil(event::EventLoop& loop, StoppingSink& sink, std::function<bool()> until,
              int64_t limit_ms = 5000) {
  sink.until = std::move(until);
  bool timed_out = false;
  event::Timer watchdog(loop, [&] {
    timed_out = true;
    loop.stop();
  });
  watchdog.armAfterMs(limit_ms);
  loop.run();
  return !timed_out;
}

TEST(HealthCheckerTest, HttpCheckTakesAHostOutAndBack) {
  CheckedBackend backend;
  backend.status_ = 503;
  backend.serve();
  auto clusters = oneCluster(backend.address(), fastCheck(HealthCheckType::Http));
  Host& host = *clusters[0]->hosts[0];
  event::EventLoop loop;
  StoppingSink sink(loop);
  HostPublisher publisher(clusters, sink);
  HealthChecker checker(loop, clusters, publisher);
  EXPECT_EQ(checker.endpointCount(), 1u);
  checker.start();
  EXPECT_TRUE(host.healthy());  // hosts start healthy
  ASSERT_TRUE(runUntil(loop, sink, [&] { return !host.healthy(); }));
  EXPECT_TRUE(host.hasHealthFlag(HealthFlag::FailedActiveCheck));
  // Every failed probe is counted for the status endpoint, at least the threshold's worth.
  EXPECT_GE(clusters[0]->stats.healthOf(0).active_check_failures,
            clusters[0]->config.health_check->unhealthy_threshold);
  ASSERT_EQ(sink.sets.size(), 1u);
  EXPECT_TRUE(sink.sets.back()->candidates().empty());  // panic_threshold 0: nothing to pick
  EXPECT_NE(backend.last_request_.find("GET / HTTP/1.1\r\n"), std::string::npos);
  EXPECT_NE(backend.last_request_.find("Connection: close\r\n"), std::string::npos);
  EXPECT_NE(backend.last_request_.find("Host: " + backend.address().toString() + "\r\n"),
            std::string::npos);

  backend.status_ = 200;
  ASSERT_TRUE(runUntil(loop, sink, [&] { return host.healthy(); }));
  ASSERT_EQ(sink.sets.size(), 2u);
  EXPECT_EQ(sink.sets.back()->candidates().size(), 1u);
}

TEST(HealthCheckerTest, TcpCheckNoticesARefusedPort) {
  net::Address address;
  {
    CheckedBackend gone;  // a port that was just free: nothing listens there any more
    address = gone.address();
  }
  auto clusters = oneCluster(address, fastCheck(HealthCheckType::Tcp));
  event::EventLoop loop;
  StoppingSink sink(loop);
  HostPublisher publisher(clusters, sink);
  HealthChecker checker(loop, clusters, publisher);
  checker.start();
  ASSERT_TRUE(runUntil(loop, sink, [&] { return !clusters[0]->hosts[0]->healthy(); }));
}

TEST(HealthCheckerTest, TcpCheckKeepsAListeningHostHealthy) {
  CheckedBackend backend;  // never accepts: the kernel completes the handshake anyway
  auto clusters = oneCluster(backend.address(), fastCheck(HealthCheckType::Tcp));
  event::EventLoop loop;
  StoppingSink sink(loop);
  HostPublisher publisher(clusters, sink);
  HealthChecker checker(loop, clusters, publisher);
  checker.start();
  // Several intervals pass and no failure is counted: nothing is published.
  bool published = runUntil(
      loop, sink, [] { return true; }, 300);
  EXPECT_FALSE(published);
}

TEST(HealthCheckerTest, AnUnansweredRequestTimesOut) {
  CheckedBackend backend;  // accepted by the kernel, never answered
  HealthCheckConfig check = fastCheck(HealthCheckType::Http);
  check.timeout_ms = 50;
  check.unhealthy_threshold = 1;
  auto clusters = oneCluster(backend.address(), check);
  event::EventLoop loop;
  StoppingSink sink(loop);
  HostPublisher publisher(clusters, sink);
  HealthChecker checker(loop, clusters, publisher);
  checker.start();
  int64_t started = event::monotonicNowMs();
  ASSERT_TRUE(runUntil(loop, sink, [&] { return !clusters[0]->hosts[0]->healthy(); }));
  EXPECT_GE(event::monotonicNowMs() - started, 50);
}

TEST(HealthCheckerTest, ClustersWithoutHealthCheckAreNotProbed) {
  CheckedBackend backend;
  auto clusters = oneCluster(backend.address(), fastCheck(HealthCheckType::Tcp));
  clusters[0]->config.health_check.reset();
  event::EventLoop loop;
  StoppingSink sink(loop);
  HostPublisher publisher(clusters, sink);
  HealthChecker checker(loop, clusters, publisher);
  EXPECT_EQ(checker.endpointCount(), 0u);
}

}  // namespace
}  // namespace portico::upstream
