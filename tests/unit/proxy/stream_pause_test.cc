// Drives a real ConnectionManager + ActiveStream over a socketpair: a filter pauses the request
// on a timer and resumes it, and the response must only appear after the resume.

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

#include "net/connection.h"
#include "proxy/connection_manager.h"
#include "proxy/snapshot.h"
#include "proxy/worker_services.h"

namespace portico::proxy {
namespace {

class FakeWorker final : public WorkerServices {
 public:
  FakeWorker() : clusters_(loop_, no_clusters_) {}
  event::EventLoop& loop() override { return loop_; }
  upstream::ClusterManager& clusters() override { return clusters_; }
  WorkerCounters& counters() override { return counters_; }
  bool draining() const override { return false; }
  void logAccess(const http::RequestHead* request, const StreamInfo& info,
                 const net::Address&) override {
    logged_status = info.status;
    logged_path = request ? request->path : "";
  }
  void onConnectionClosed(ConnectionManager* c) override {
    loop_.deferredDelete(std::unique_ptr<event::Deletable>(c));
  }

  uint16_t logged_status = 0;
  std::string logged_path;

 private:
  event::EventLoop loop_;
  std::vector<std::unique_ptr<upstream::ClusterState>> no_clusters_;
  upstream::ClusterManager clusters_;
  WorkerCounters counters_;
};

// Pauses every request for 50 ms, then adds a header and resumes.
class TimerPauseFilter final : public Filter {
 public:
  TimerPauseFilter(event::EventLoop& loop, int* paused, int* resumed)
      : timer_(loop, [this] { resume(); }), paused_(paused), resumed_(resumed) {}
  FilterStatus onRequestHeaders(http::RequestHead& head, bool) override {
    head_ = &head;
    ++*paused_;
    timer_.armAfterMs(50);
    return FilterStatus::Pause;
  }
  FilterStatus onResponseHeaders(http::ResponseHead& head, bool) override {
    head.headers.add("X-Resumed", head_->headers.has("X-Paused") ? "yes" : "no");
    return FilterStatus::Continue;
  }
  void onDestroy() override { timer_.disarm(); }

 private:
  void resume() {
    ++*resumed_;
    head_->headers.add("X-Paused", "1");
    callbacks_->continueRequest();
  }
  event::Timer timer_;
  http::RequestHead* head_ = nullptr;
  int* paused_;
  int* resumed_;
};

class TimerPauseFactory final : public FilterFactory {
 public:
  TimerPauseFactory(event::EventLoop& loop, int* paused, int* resumed)
      : loop_(loop), paused_(paused), resumed_(resumed) {}
  Filter* create(std::pmr::memory_resource& arena) const override {
    return arenaNew<TimerPauseFilter>(arena, loop_, paused_, resumed_);
  }

 private:
  event::EventLoop& loop_;
  int* paused_;
  int* resumed_;
};

TEST(StreamPauseTest, FilterPausesOnTimerAndResumes) {
  FakeWorker worker;
  ListenerConfig listener;
  listener.name = "test";
  VirtualHostConfig vh;
  vh.name = "all";
  vh.domains = {"*"};
  RouteConfig route;
  route.action = RouteConfig::ActionKind::Direct;
  route.direct.status = 200;
  route.direct.body = "done";
  vh.routes.push_back(route);
  listener.virtual_hosts.push_back(vh);
  auto snapshot = buildSnapshot({listener}, {});
  int paused = 0, resumed = 0;
  TimerPauseFactory factory(worker.loop(), &paused, &resumed);
  snapshot->listeners[0]->routes->appendListenerFilter(&factory);

  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  auto connection = std::make_unique<net::Connection>(worker.loop(), fds[0], net::plainTransport(),
                                                      net::SocketStart::Accepted);
  auto* cm =
      new ConnectionManager(worker, snapshot, *snapshot->listeners[0], std::move(connection));
  const char request[] = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";
  ASSERT_EQ(::write(fds[1], request, sizeof request - 1), static_cast<ssize_t>(sizeof request - 1));

  std::string received_while_paused;
  std::string response;
  event::Timer probe(worker.loop(), [&] {
    // 20 ms in: the filter holds the request, so nothing may have been answered yet.
    char buf[4096];
    ssize_t n = ::read(fds[1], buf, sizeof buf);
    if (n > 0) received_while_paused.assign(buf, static_cast<size_t>(n));
  });
  event::Timer finish(worker.loop(), [&] {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fds[1], buf, sizeof buf)) > 0) response.append(buf, static_cast<size_t>(n));
    cm->closeNow();
    worker.loop().stop();
  });
  probe.armAfterMs(20);
  finish.armAfterMs(300);
  worker.loop().run();
  ::close(fds[1]);

  EXPECT_EQ(paused, 1);
  EXPECT_EQ(resumed, 1);
  EXPECT_EQ(received_while_paused, "");
  EXPECT_NE(response.find("HTTP/1.1 200 OK"), std::string::npos) << response;
  EXPECT_NE(response.find("X-Resumed: yes"), std::string::npos) << response;
  EXPECT_NE(response.find("\r\n\r\ndone"), std::string::npos) << response;
  EXPECT_EQ(worker.logged_status, 200);
  EXPECT_EQ(worker.logged_path, "/x");
}

}  // namespace
}  // namespace portico::proxy
