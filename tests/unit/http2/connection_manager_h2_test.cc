// The real ConnectionManager with the real HTTP/2 codec over a socketpair, driven by an
// nghttp2 client: many interleaved streams finishing out of order, a stream reset by the
// client, a stream that times out on its own and one whose body is paused, while the other
// streams of the connection carry on.

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "../proxy/answer_terminal.h"
#include "../support/fake_worker.h"
#include "../support/run_until.h"
#include "h2_test_client.h"
#include "http2/server_codec_factory.h"
#include "net/connection.h"
#include "proxy/connection_manager.h"
#include "proxy/snapshot.h"

namespace portico::proxy {
namespace {

using testing::AnswerTerminal;
using testing::Board;
using testing::FakeWorker;
using testing::H2TestClient;
using testing::LambdaFactory;

class ConnectionManagerH2Test : public ::testing::Test {
 protected:
  void start(int64_t body_idle_ms = 60000) {
    ListenerConfig listener = testing::catchAllListener("h2");
    listener.timeouts.body_idle_ms = body_idle_ms;
    codecs_.add(*h2_);
    snapshot_ = buildSnapshot({listener}, {}, codecs_);
    ListenerRuntime& runtime = *snapshot_->listeners[0];
    runtime.default_codec = h2_.get();  // prior knowledge: no ALPN on a socketpair
    runtime.routes->replaceTerminal(&terminal_);
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    client_fd_ = fds[1];
    auto connection = std::make_unique<net::Connection>(
        worker_.loop(), fds[0], net::plainTransport(), net::SocketStart::Accepted);
    cm_ = new ConnectionManager(worker_, snapshot_, runtime, std::move(connection));
    client_ = std::make_unique<H2TestClient>(client_fd_);
  }
  void TearDown() override {
    client_.reset();
    if (cm_ != nullptr) cm_->closeNow();
    testing::runUntil(worker_.loop(), [] { return true; });
    if (client_fd_ >= 0) ::close(client_fd_);
  }
  bool waitUntil(const std::function<bool()>& done, int64_t ms = 3000) {
    return testing::runUntil(
        worker_.loop(),
        [&] {
          client_->receive();
          return done();
        },
        ms);
  }
  const FakeWorker::Logged* loggedFor(const std::string& path) {
    for (const auto& l : worker_.logged)
      if (l.path == path) return &l;
    return nullptr;
  }

  FakeWorker worker_;
  Board board_;
  std::unique_ptr<http::ServerCodecFactory> h2_ = http2::makeServerCodecFactory();
  http::ServerCodecRegistry codecs_;
  std::shared_ptr<ProxySnapshot> snapshot_;
  std::function<filters::Filter*(std::pmr::memory_resource&)> make_ =
      [this](std::pmr::memory_resource& arena) -> filters::Filter* {
    return filters::arenaNew<AnswerTerminal>(arena, board_);
  };
  LambdaFactory<decltype(make_)> terminal_{make_};
  ConnectionManager* cm_ = nullptr;
  int client_fd_ = -1;
  std::unique_ptr<H2TestClient> client_;
};

TEST_F(ConnectionManagerH2Test, InterleavedStreamsFinishOutOfOrder) {
  start();
  constexpr int kStreams = 20;
  std::vector<int32_t> ids;
  for (int i = 0; i < kStreams; ++i) ids.push_back(client_->open("/s" + std::to_string(i)));
  for (int piece = 0; piece < 3; ++piece)
    for (int i = kStreams - 1; i >= 0; --i)
      client_->data(ids[i], "p" + std::to_string(piece) + "-" + std::to_string(i), piece == 2);
  ASSERT_TRUE(waitUntil([&] { return board_.ready.size() == kStreams; }));
  EXPECT_EQ(cm_->streamCount(), static_cast<size_t>(kStreams));
  for (int i = kStreams - 1; i >= 0; --i) board_.ready.at("/s" + std::to_string(i))->answer();
  ASSERT_TRUE(waitUntil([&] {
    for (int32_t id : ids)
      if (!client_->streams[id].done()) return false;
    return true;
  }));
  for (int i = 0; i < kStreams; ++i) {
    const H2TestClient::Stream& s = client_->streams[ids[i]];
    const std::string n = std::to_string(i);
    EXPECT_EQ(s.status, 200);
    EXPECT_TRUE(s.ended);
    EXPECT_EQ(s.body, "echo:p0-" + n + "p1-" + n + "p2-" + n);
  }
  ASSERT_TRUE(waitUntil([&] { return cm_->streamCount() == 0; }));
  EXPECT_EQ(board_.destroyed, kStreams);
  EXPECT_EQ(worker_.logged.size(), static_cast<size_t>(kStreams));
  // The connection takes more streams afterwards.
  const int32_t again = client_->open("/again");
  client_->data(again, "x", true);
  ASSERT_TRUE(waitUntil([&] { return board_.ready.count("/again") == 1; }));
  board_.ready.at("/again")->answer();
  ASSERT_TRUE(waitUntil([&] { return client_->streams[again].ended; }));
  EXPECT_EQ(client_->streams[again].body, "echo:x");
}

TEST_F(ConnectionManagerH2Test, ClientResetEndsOnlyThatStream) {
  start();
  const int32_t a = client_->open("/a");
  const int32_t b = client_->open("/b");
  const int32_t c = client_->open("/c");
  client_->data(b, "half", false);
  ASSERT_TRUE(waitUntil([&] { return cm_->streamCount() == 3; }));
  client_->reset(b);
  client_->data(a, "one", true);
  client_->data(c, "three", true);
  ASSERT_TRUE(waitUntil([&] { return board_.ready.size() == 2 && board_.destroyed == 1; }));
  const FakeWorker::Logged* reset = loggedFor("/b");
  ASSERT_NE(reset, nullptr);
  EXPECT_EQ(reset->failure, "stream reset");
  board_.ready.at("/c")->answer();
  board_.ready.at("/a")->answer();
  ASSERT_TRUE(waitUntil([&] { return client_->streams[a].ended && client_->streams[c].ended; }));
  EXPECT_EQ(client_->streams[a].body, "echo:one");
  EXPECT_EQ(client_->streams[c].body, "echo:three");
  EXPECT_EQ(client_->streams[b].status, 0);  // nothing was sent for the reset stream
}

TEST_F(ConnectionManagerH2Test, BodyIdleTimeoutFailsOnlyTheIdleStream) {
  start(/*body_idle_ms=*/150);
  const int32_t idle = client_->open("/idle");
  client_->data(idle, "some", false);
  const int32_t busy = client_->open("/busy");
  event::Timer* self = nullptr;
  event::Timer feeder(worker_.loop(), [&] {
    client_->data(busy, "tick", false);
    self->armAfterMs(40);
  });
  self = &feeder;
  feeder.armAfterMs(40);
  ASSERT_TRUE(waitUntil([&] { return client_->streams[idle].done(); }));
  EXPECT_EQ(client_->streams[idle].status, 408);
  // The busy stream outlives several timeouts' worth while it keeps sending.
  EXPECT_FALSE(waitUntil([&] { return client_->streams[busy].done(); }, 400));
  feeder.disarm();
  const FakeWorker::Logged* logged = nullptr;
  ASSERT_TRUE(waitUntil([&] { return (logged = loggedFor("/idle")) != nullptr; }));
  EXPECT_EQ(logged->failure, "request body idle timeout");
  client_->data(busy, "end", true);
  ASSERT_TRUE(waitUntil([&] { return board_.ready.count("/busy") == 1; }));
  board_.ready.at("/busy")->answer();
  ASSERT_TRUE(waitUntil([&] { return client_->streams[busy].ended; }));
  EXPECT_EQ(client_->streams[busy].status, 200);
}

TEST_F(ConnectionManagerH2Test, PausedStreamHoldsItsBodyWhileOthersFlow) {
  start();
  const int32_t paused = client_->open("/paused");
  client_->data(paused, "held", true);
  const int32_t free = client_->open("/free");
  client_->data(free, "flows", true);
  ASSERT_TRUE(waitUntil([&] { return board_.ready.count("/free") == 1; }));
  EXPECT_EQ(board_.ready.count("/paused"), 0u);  // its body waits in the codec
  ASSERT_EQ(board_.paused.count("/paused"), 1u);
  board_.ready.at("/free")->answer();
  ASSERT_TRUE(waitUntil([&] { return client_->streams[free].ended; }));
  board_.paused.at("/paused")->resume();
  ASSERT_TRUE(waitUntil([&] { return board_.ready.count("/paused") == 1; }));
  board_.ready.at("/paused")->answer();
  ASSERT_TRUE(waitUntil([&] { return client_->streams[paused].ended; }));
  EXPECT_EQ(client_->streams[paused].body, "echo:held");
}

// A frame as on the wire (RFC 9113 4.1).
std::string rawFrame(uint8_t type, uint8_t flags, int32_t id, const std::string& payload) {
  std::string frame;
  frame += static_cast<char>(payload.size() >> 16);
  frame += static_cast<char>(payload.size() >> 8);
  frame += static_cast<char>(payload.size());
  frame += static_cast<char>(type);
  frame += static_cast<char>(flags);
  for (int shift = 24; shift >= 0; shift -= 8) frame += static_cast<char>(id >> shift);
  return frame + payload;
}

// The HEADERS frame of a POST on client stream `id` (its body follows), its fields as HPACK
// literals that touch no table, so it can be written beside the nghttp2 client's preface, in
// any stream id order (which the nghttp2 client would not do).
std::string rawPostHeaders(int32_t id, const std::string& path) {
  std::string block;
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {":method", "POST"}, {":scheme", "http"}, {":path", path}, {":authority", "a"}}) {
    block += '\0';  // literal field without indexing, new name (RFC 7541 6.2.2)
    block += static_cast<char>(name.size());
    block += name;
    block += static_cast<char>(value.size());
    block += value;
  }
  return rawFrame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, id, block);
}

struct RawFrame {
  uint8_t type;
  int32_t stream_id;
  std::string payload;
};

// Splits what arrived so far into frames (the server sends no preface: frames from byte 0).
std::vector<RawFrame> rawFrames(const std::string& bytes) {
  std::vector<RawFrame> frames;
  size_t at = 0;
  while (at + 9 <= bytes.size()) {
    const auto* b = reinterpret_cast<const uint8_t*>(bytes.data() + at);
    const size_t length = (size_t{b[0]} << 16) | (size_t{b[1]} << 8) | b[2];
    if (at + 9 + length > bytes.size()) break;
    const int32_t id =
        static_cast<int32_t>(((b[5] & 0x7fu) << 24) | (b[6] << 16) | (b[7] << 8) | b[8]);
    frames.push_back({b[3], id, bytes.substr(at + 9, length)});
    at += 9 + length;
  }
  return frames;
}

// Regression: a threaded httpx client sent HEADERS for stream 17 after stream 19; nghttp2
// dropped the request silently and the client timed out. It is refused now, and the stream
// opened in order is answered as usual.
TEST_F(ConnectionManagerH2Test, RequestOutOfStreamIdOrderIsRefusedNotLost) {
  start();
  client_->send();  // the client preface and SETTINGS only
  const std::string frames = rawPostHeaders(5, "/five") + rawPostHeaders(3, "/three") +
                             rawFrame(NGHTTP2_DATA, NGHTTP2_FLAG_END_STREAM, 5, "x");
  ASSERT_EQ(::write(client_fd_, frames.data(), frames.size()), static_cast<ssize_t>(frames.size()));
  std::string got;
  auto refused = [&] {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(client_fd_, buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
    for (const RawFrame& f : rawFrames(got))
      if (f.type == NGHTTP2_RST_STREAM && f.stream_id == 3) return true;
    return false;
  };
  ASSERT_TRUE(testing::runUntil(worker_.loop(), refused, 3000));
  for (const RawFrame& f : rawFrames(got)) {
    if (f.type != NGHTTP2_RST_STREAM) continue;
    EXPECT_EQ(f.stream_id, 3);
    ASSERT_EQ(f.payload.size(), 4u);
    EXPECT_EQ(static_cast<uint8_t>(f.payload[3]), NGHTTP2_REFUSED_STREAM);
  }
  ASSERT_TRUE(testing::runUntil(worker_.loop(), [&] { return board_.ready.count("/five") == 1; }));
  EXPECT_EQ(cm_->streamCount(), 1u);  // stream 3 never became a request
  board_.ready.at("/five")->answer();
  std::string body;
  auto answered = [&] {
    refused();
    body.clear();
    for (const RawFrame& f : rawFrames(got))
      if (f.type == NGHTTP2_DATA && f.stream_id == 5) body += f.payload;
    return body == "echo:x";
  };
  ASSERT_TRUE(testing::runUntil(worker_.loop(), answered, 3000));
}

TEST_F(ConnectionManagerH2Test, IsNeverParked) {
  start();
  const int32_t id = client_->open("/x");
  client_->data(id, "x", true);
  ASSERT_TRUE(waitUntil([&] { return board_.ready.count("/x") == 1; }));
  board_.ready.at("/x")->answer();
  ASSERT_TRUE(waitUntil([&] { return client_->streams[id].ended && cm_->streamCount() == 0; }));
  EXPECT_FALSE(cm_->parkable());  // HPACK state and stream ids live with the codec
}

}  // namespace
}  // namespace portico::proxy
