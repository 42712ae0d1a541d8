// Drives a real ConnectionManager, its streams and their filter chains with many concurrent
// streams on one connection, over a socketpair, through a toy multiplexing codec
// (line_mux_codec.h): streams interleave, finish out of order, are reset by the client, time
// out on their own and pause their own request bodies, and the others on the connection carry
// on. This is the seam HTTP/2 plugs into.

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../support/fake_worker.h"
#include "../support/run_until.h"
#include "answer_terminal.h"
#include "line_mux_codec.h"
#include "net/connection.h"
#include "proxy/connection_manager.h"
#include "proxy/snapshot.h"

namespace portico::proxy {
namespace {

using testing::AnswerTerminal;
using testing::Board;
using testing::FakeWorker;
using testing::LambdaFactory;

class MultiplexedStreamsTest : public ::testing::Test {
 protected:
  void start(int64_t body_idle_ms = 60000) {
    ListenerConfig listener = testing::catchAllListener("mux");
    listener.timeouts.body_idle_ms = body_idle_ms;
    codecs_.add(mux_);
    snapshot_ = buildSnapshot({listener}, {}, codecs_);
    ListenerRuntime& runtime = *snapshot_->listeners[0];
    runtime.default_codec = &mux_;  // "prior knowledge": no ALPN on a socketpair
    runtime.routes->replaceTerminal(&terminal_);

    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    client_ = fds[1];
    auto connection = std::make_unique<net::Connection>(
        worker_.loop(), fds[0], net::plainTransport(), net::SocketStart::Accepted);
    cm_ = new ConnectionManager(worker_, snapshot_, runtime, std::move(connection));
  }
  void TearDown() override {
    if (cm_ != nullptr) cm_->closeNow();
    testing::runUntil(worker_.loop(), [] { return true; });
    if (client_ >= 0) ::close(client_);
  }

  void send(const std::string& text) {
    ASSERT_EQ(::write(client_, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }
  // Reads what arrived; true once `line` is among the lines received.
  bool received(const std::string& line) {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(client_, buf, sizeof buf)) > 0) partial_.append(buf, static_cast<size_t>(n));
    size_t eol;
    while ((eol = partial_.find('\n')) != std::string::npos) {
      lines_.push_back(partial_.substr(0, eol));
      partial_.erase(0, eol + 1);
    }
    return std::find(lines_.begin(), lines_.end(), line) != lines_.end();
  }
  bool waitFor(const std::string& line, int64_t limit_ms = 3000) {
    return testing::runUntil(
        worker_.loop(), [&] { return received(line); }, limit_ms);
  }
  bool waitUntil(const std::function<bool()>& done) {
    return testing::runUntil(worker_.loop(), done, 3000);
  }
  // The lines about stream `id`, in order.
  std::vector<std::string> linesOf(int id) {
    std::vector<std::string> out;
    const std::string tag = " " + std::to_string(id);
    for (const std::string& l : lines_) {
      size_t sp = l.find(' ');
      std::string rest = l.substr(sp);
      if (rest == tag || rest.rfind(tag + " ", 0) == 0) out.push_back(l);
    }
    return out;
  }
  size_t positionOf(const std::string& line) {
    return static_cast<size_t>(std::find(lines_.begin(), lines_.end(), line) - lines_.begin());
  }
  const FakeWorker::Logged* loggedFor(const std::string& path) {
    for (const auto& l : worker_.logged)
      if (l.path == path) return &l;
    return nullptr;
  }

  FakeWorker worker_;
  Board board_;
  testing::LineMuxFactory mux_;
  http::ServerCodecRegistry codecs_;
  std::shared_ptr<ProxySnapshot> snapshot_;
  std::function<filters::Filter*(std::pmr::memory_resource&)> make_ =
      [this](std::pmr::memory_resource& arena) -> filters::Filter* {
    return filters::arenaNew<AnswerTerminal>(arena, board_);
  };
  LambdaFactory<decltype(make_)> terminal_{make_};
  ConnectionManager* cm_ = nullptr;
  int client_ = -1;
  std::string partial_;
  std::vector<std::string> lines_;
};

TEST_F(MultiplexedStreamsTest, InterleavedStreamsFinishOutOfOrder) {
  start();
  constexpr int kStreams = 12;
  std::string opens, data, ends;
  for (int i = 1; i <= kStreams; ++i)
    opens += "open " + std::to_string(i) + " /s" + std::to_string(i) + "\n";
  // Body pieces interleaved across streams, in one write and several.
  for (int piece = 0; piece < 3; ++piece)
    for (int i = kStreams; i >= 1; --i)
      data += "data " + std::to_string(i) + " p" + std::to_string(piece) + "-" + std::to_string(i) +
              "\n";
  for (int i = 1; i <= kStreams; ++i) ends += "end " + std::to_string(i) + "\n";
  send(opens + data.substr(0, data.size() / 2));
  send(data.substr(data.size() / 2) + ends);
  ASSERT_TRUE(waitUntil([&] { return board_.ready.size() == kStreams; }));
  EXPECT_EQ(cm_->streamCount(), static_cast<size_t>(kStreams));

  // Answered last-opened first: each response is complete on its own, whatever the order.
  for (int i = kStreams; i >= 1; --i) board_.ready.at("/s" + std::to_string(i))->answer();
  ASSERT_TRUE(waitFor("end 1"));
  for (int i = 1; i <= kStreams; ++i) {
    const std::string id = std::to_string(i);
    const std::string body = "p0-" + id + "p1-" + id + "p2-" + id;
    EXPECT_EQ(linesOf(i), (std::vector<std::string>{
                              "headers " + id + " 200",
                              "data " + id + " echo:", "data " + id + " " + body, "end " + id}));
    if (i > 1) {
      EXPECT_LT(positionOf("end " + id), positionOf("end " + std::to_string(i - 1)));
    }
  }
  // Every stream was reaped once, logged once, and the connection stays open for more.
  ASSERT_TRUE(waitUntil([&] { return cm_->streamCount() == 0; }));
  EXPECT_EQ(board_.destroyed, kStreams);
  EXPECT_EQ(worker_.logged.size(), static_cast<size_t>(kStreams));
  EXPECT_EQ(worker_.counters().downstream_requests, static_cast<uint64_t>(kStreams));
  send("open 50 /again\ndata 50 x\nend 50\n");
  ASSERT_TRUE(waitUntil([&] { return board_.ready.count("/again") == 1; }));
  board_.ready.at("/again")->answer();
  EXPECT_TRUE(waitFor("end 50"));
}

TEST_F(MultiplexedStreamsTest, ResetStreamEndsOnlyThatStream) {
  start();
  send("open 1 /a\nopen 2 /b\nopen 3 /c\ndata 2 half\ndata 1 one\n");
  ASSERT_TRUE(waitUntil([&] { return cm_->streamCount() == 3; }));
  send("reset 2\nend 1\nend 3\n");
  ASSERT_TRUE(waitUntil([&] { return board_.ready.size() == 2 && board_.destroyed == 1; }));
  const FakeWorker::Logged* reset = loggedFor("/b");
  ASSERT_NE(reset, nullptr);
  EXPECT_EQ(reset->failure, "stream reset");
  board_.ready.at("/c")->answer();
  board_.ready.at("/a")->answer();
  ASSERT_TRUE(waitFor("end 1"));
  EXPECT_TRUE(received("end 3"));
  EXPECT_TRUE(linesOf(2).empty());  // nothing was sent for the reset stream
  EXPECT_EQ(linesOf(1).back(), "end 1");
  ASSERT_TRUE(waitUntil([&] { return cm_->streamCount() == 0; }));
  EXPECT_EQ(board_.destroyed, 3);
}

TEST_F(MultiplexedStreamsTest, BodyIdleTimeoutFailsOnlyTheIdleStream) {
  start(/*body_idle_ms=*/150);
  send("open 1 /idle\ndata 1 some\nopen 2 /busy\n");
  // Stream 2 keeps sending, more often than the timeout; stream 1 says nothing more.
  event::Timer* self = nullptr;
  event::Timer feeder(worker_.loop(), [&] {
    send("data 2 tick\n");
    self->armAfterMs(40);
  });
  self = &feeder;
  feeder.armAfterMs(40);
  ASSERT_TRUE(waitFor("end 1"));
  // Stream 2 outlives several of its timeouts' worth while it keeps sending.
  EXPECT_FALSE(testing::runUntil(
      worker_.loop(), [&] { return received("headers 2 408"); }, 400));
  feeder.disarm();
  EXPECT_EQ(linesOf(1), (std::vector<std::string>{"headers 1 408", "end 1"}));
  const FakeWorker::Logged* idle = nullptr;
  ASSERT_TRUE(waitUntil([&] { return (idle = loggedFor("/idle")) != nullptr; }));
  EXPECT_EQ(idle->failure, "request body idle timeout");
  EXPECT_TRUE(linesOf(2).empty());  // the busy stream went on
  send("end 2\n");
  ASSERT_TRUE(waitUntil([&] { return board_.ready.count("/busy") == 1; }));
  board_.ready.at("/busy")->answer();
  EXPECT_TRUE(waitFor("end 2"));
  EXPECT_EQ(worker_.counters().timeouts, 1u);
}

TEST_F(MultiplexedStreamsTest, PausedStreamHoldsItsBodyWhileOthersFlow) {
  start();
  send("open 1 /paused\ndata 1 held\nend 1\nopen 2 /free\ndata 2 flows\nend 2\n");
  ASSERT_TRUE(waitUntil([&] { return board_.ready.count("/free") == 1; }));
  EXPECT_EQ(board_.ready.count("/paused"), 0u);  // its body waits in the codec
  ASSERT_EQ(board_.paused.count("/paused"), 1u);
  board_.ready.at("/free")->answer();
  ASSERT_TRUE(waitFor("end 2"));
  board_.paused.at("/paused")->resume();
  ASSERT_TRUE(waitUntil([&] { return board_.ready.count("/paused") == 1; }));
  board_.ready.at("/paused")->answer();
  ASSERT_TRUE(waitFor("end 1"));
  EXPECT_EQ(linesOf(1)[2], "data 1 held");
}

}  // namespace
}  // namespace portico::proxy
