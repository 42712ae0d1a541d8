// Drives a real ConnectionManager, ActiveStream and FilterManager over a socketpair: filters
// that pause on timers at random phases of both directions, a request body written in random
// pieces, and a response streamed back in pieces. Every filter and the client must see
// every byte exactly once, in order.

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>

#include "../support/fake_worker.h"
#include "../support/run_until.h"
#include "net/connection.h"
#include "proxy/connection_manager.h"
#include "proxy/snapshot.h"
#include "proxy/worker_services.h"
#include "server/server_codecs.h"

namespace portico::proxy {
namespace {

using filters::FilterStatus;
using testing::FakeWorker;
using testing::LambdaFactory;

struct Seen {
  std::string request_body;
  std::string response_body;
  int pauses = 0;
};

// Pauses at random phases and resumes from a timer; upper-cases the response body.
class TimerPauseFilter final : public filters::Filter {
 public:
  TimerPauseFilter(event::EventLoop& loop, std::mt19937& rng, Seen& seen, bool upper)
      : timer_(loop, [this] { resume(); }), rng_(rng), seen_(seen), upper_(upper) {}
  FilterStatus onRequestHeaders(http::RequestHead&, bool) override { return maybePause(true); }
  FilterStatus onRequestBody(buffer::Buffer& data, bool) override {
    seen_.request_body += data.toString();
    return maybePause(true);
  }
  FilterStatus onResponseHeaders(http::ResponseHead& head, bool) override {
    head.headers.add("X-Filtered", "1");
    return maybePause(false);
  }
  FilterStatus onResponseBody(buffer::Buffer& data, bool) override {
    std::string text = data.toString();
    seen_.response_body += text;
    if (upper_) {
      for (char& c : text) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
      data.clear();
      data.append(text);
    }
    return maybePause(false);
  }
  void onDestroy() override { timer_.disarm(); }

 private:
  FilterStatus maybePause(bool request) {
    if (std::uniform_int_distribution<int>(0, 2)(rng_) != 0) return FilterStatus::Continue;
    ++seen_.pauses;
    request_ = request;
    timer_.armAfterMs(std::uniform_int_distribution<int>(0, 2)(rng_));
    return FilterStatus::Pause;
  }
  void resume() {
    if (request_) {
      callbacks_->continueRequest();
    } else {
      callbacks_->continueResponse();
    }
  }
  event::Timer timer_;
  std::mt19937& rng_;
  Seen& seen_;
  bool upper_;
  bool request_ = false;
};

// The terminal: collects the request body and, once it ended, answers with it in pieces
// sent from a timer, the way the router streams a backend's response.
class EchoTerminal final : public filters::Filter {
 public:
  EchoTerminal(event::EventLoop& loop, std::mt19937& rng)
      : timer_(loop, [this] { sendMore(); }), rng_(rng) {}
  FilterStatus onRequestBody(buffer::Buffer& data, bool end_stream) override {
    body_ += data.toString();
    data.clear();
    if (!end_stream) return FilterStatus::Continue;
    http::ResponseHead head;
    head.status = 200;
    head.headers.add("Content-Length", std::to_string(body_.size()));
    callbacks_->encodeHeaders(std::move(head), body_.empty());
    if (!body_.empty()) timer_.armAfterMs(0);
    return FilterStatus::Continue;
  }
  void onDestroy() override { timer_.disarm(); }

 private:
  void sendMore() {
    size_t n =
        std::min(body_.size() - sent_, std::uniform_int_distribution<size_t>(1, 30000)(rng_));
    buffer::Buffer data;
    data.append(std::string_view(body_).substr(sent_, n));
    sent_ += n;
    callbacks_->encodeData(data, sent_ == body_.size());
    if (sent_ < body_.size()) timer_.armAfterMs(1);
  }
  event::Timer timer_;
  std::mt19937& rng_;
  std::string body_;
  size_t sent_ = 0;
};

TEST(FilterChainSocketTest, PausesAtEveryPhaseKeepEveryByteInOrder) {
  for (uint32_t seed = 1; seed <= 12; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    FakeWorker worker;
    ListenerConfig listener = testing::catchAllListener("test");
    listener.limits.buffer = 16 * 1024;
    auto snapshot = buildSnapshot({listener}, {}, server::builtinServerCodecs());
    Seen outer, inner;
    auto make_outer = [&](std::pmr::memory_resource& arena) -> filters::Filter* {
      return filters::arenaNew<TimerPauseFilter>(arena, worker.loop(), rng, outer, true);
    };
    auto make_inner = [&](std::pmr::memory_resource& arena) -> filters::Filter* {
      return filters::arenaNew<TimerPauseFilter>(arena, worker.loop(), rng, inner, false);
    };
    auto make_echo = [&](std::pmr::memory_resource& arena) -> filters::Filter* {
      return filters::arenaNew<EchoTerminal>(arena, worker.loop(), rng);
    };
    LambdaFactory<decltype(make_outer)> outer_factory(make_outer);
    LambdaFactory<decltype(make_inner)> inner_factory(make_inner);
    LambdaFactory<decltype(make_echo)> echo_factory(make_echo);
    RouteTable& routes = *snapshot->listeners[0]->routes;
    routes.appendListenerFilter(&outer_factory);
    routes.appendListenerFilter(&inner_factory);
    routes.replaceTerminal(&echo_factory);

    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    auto connection = std::make_unique<net::Connection>(
        worker.loop(), fds[0], net::plainTransport(), net::SocketStart::Accepted);
    auto* cm =
        new ConnectionManager(worker, snapshot, *snapshot->listeners[0], std::move(connection));

    std::string body(std::uniform_int_distribution<size_t>(0, 300000)(rng), 'x');
    for (char& c : body)
      c = static_cast<char>('a' + std::uniform_int_distribution<int>(0, 25)(rng));
    std::string request =
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n\r\n" + body;
    size_t written = 0;
    std::function<void()> write_some;
    event::Timer writer(worker.loop(), [&] { write_some(); });
    write_some = [&] {
      size_t n =
          std::min(request.size() - written, std::uniform_int_distribution<size_t>(1, 20000)(rng));
      ssize_t w = ::write(fds[1], request.data() + written, n);
      if (w > 0) written += static_cast<size_t>(w);
      if (written < request.size()) writer.armAfterMs(1);
    };
    writer.armAfterMs(0);

    std::string response;
    auto complete = [&] {
      char buf[65536];
      ssize_t n;
      while ((n = ::read(fds[1], buf, sizeof buf)) > 0)
        response.append(buf, static_cast<size_t>(n));
      size_t head_end = response.find("\r\n\r\n");
      return head_end != std::string::npos && response.size() - head_end - 4 >= body.size();
    };
    ASSERT_TRUE(testing::runUntil(worker.loop(), complete, 20000)) << response.substr(0, 300);
    cm->closeNow();
    testing::runUntil(worker.loop(), [] { return true; });
    ::close(fds[1]);

    std::string upper = body;
    for (char& c : upper) c = static_cast<char>(c - 32);
    size_t head_end = response.find("\r\n\r\n");
    EXPECT_NE(response.find("HTTP/1.1 200 OK"), std::string::npos);
    EXPECT_NE(response.find("X-Filtered: 1"), std::string::npos);
    EXPECT_EQ(outer.request_body, body);
    EXPECT_EQ(inner.request_body, body);
    EXPECT_EQ(inner.response_body, body);             // the echo, as the inner filter got it
    EXPECT_EQ(outer.response_body, body);             // the inner filter passed it on unchanged
    EXPECT_EQ(response.substr(head_end + 4), upper);  // the outer one upper-cased it
    EXPECT_EQ(worker.logged_status, 200);
    EXPECT_EQ(worker.logged_path, "/echo");
  }
}

}  // namespace
}  // namespace portico::proxy
