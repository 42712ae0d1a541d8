// The server codec with its flood guard (http2/flood_observer.h), driven sans-I/O: an attack
// limit that trips ends the connection with GOAWAY ENHANCE_YOUR_CALM, the owner is told which
// attack, and the rest of the attacker's bytes are not parsed (no answers queued for them).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http2/flood_observer.h"
#include "http2/server_codec.h"

namespace portico::http2 {
namespace {

using ::testing::HasSubstr;

int64_t g_now = 0;
int64_t testClock() {
  return g_now;
}

class Output final : public http::CodecOutput {
 public:
  void writeToPeer(buffer::Buffer& bytes) override {
    sent += bytes.toString();
    bytes.drain(bytes.length());
  }
  void writeFileToPeer(int, uint64_t, uint64_t) override {}
  void closeAfterFlush() override { closed = true; }
  // The close after GOAWAY ENHANCE_YOUR_CALM lingers: the attacker is likely still sending.
  void closeAfterErrorReply() override { closed = lingered = true; }
  void shutdownWriteAfterFlush() override {}
  std::string sent;
  bool closed = false;
  bool lingered = false;
};

class NullDecoder final : public http::RequestDecoder {
 public:
  void decodeHeaders(http::RequestHead&, bool) override {}
  void decodeData(buffer::Buffer&, bool) override {}
  void decodeTrailers(http::HeaderMap&) override {}
  void onStreamReset(http::StreamResetReason) override {}
};

class Callbacks final : public http::ServerConnectionCallbacks {
 public:
  http::RequestDecoder& newStream(http::ResponseEncoder&) override { return decoder; }
  void onStreamComplete(http::RequestDecoder&) override {}
  void onRequestRejected(http::RequestDecoder*, uint16_t, std::string_view) override {}
  void onTunnelStarted() override {}
  void pauseReading(bool) override {}
  void onHttp2Attack(http::Http2Attack attack, std::string_view detail) override {
    attacks.emplace_back(attack, std::string(detail));
  }
  NullDecoder decoder;
  std::vector<std::pair<http::Http2Attack, std::string>> attacks;
};

std::string frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload = {}) {
  std::string f;
  const size_t n = payload.size();
  f += static_cast<char>(n >> 16);
  f += static_cast<char>(n >> 8);
  f += static_cast<char>(n);
  f += static_cast<char>(type);
  f += static_cast<char>(flags);
  for (int shift = 24; shift >= 0; shift -= 8) f += static_cast<char>(stream >> shift);
  f += payload;
  return f;
}

struct Frame {
  uint8_t type;
  uint8_t flags;
  std::string payload;
};

std::vector<Frame> parse(const std::string& bytes) {
  std::vector<Frame> frames;
  size_t pos = 0;
  while (bytes.size() - pos >= 9) {
    const size_t n = (static_cast<uint8_t>(bytes[pos]) << 16) |
                     (static_cast<uint8_t>(bytes[pos + 1]) << 8) |
                     static_cast<uint8_t>(bytes[pos + 2]);
    if (bytes.size() - pos - 9 < n) break;
    frames.push_back({static_cast<uint8_t>(bytes[pos + 3]), static_cast<uint8_t>(bytes[pos + 4]),
                      bytes.substr(pos + 9, n)});
    pos += 9 + n;
  }
  return frames;
}

struct Harness {
  Harness() {
    settings.http2.attack_limits.ping = {10, 20};
    std::vector<std::unique_ptr<FrameObserver>> observers;
    observers.push_back(factory.create(settings));
    codec = std::make_unique<ServerCodecImpl>(output, callbacks, settings, 0,
                                              std::move(observers));
  }
  bool feed(const std::string& bytes) {
    buffer::Buffer b;
    b.append(bytes);
    return codec->dispatch(b);
  }
  size_t count(uint8_t type, uint8_t flags) const {
    size_t n = 0;
    for (const Frame& f : parse(output.sent))
      if (f.type == type && f.flags == flags) ++n;
    return n;
  }

  http::ServerCodecSettings settings;
  FloodObserverFactory factory{&testClock};
  Output output;
  Callbacks callbacks;
  std::unique_ptr<ServerCodecImpl> codec;
};

const std::string kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

TEST(ServerCodecFlood, APingFloodEndsWithGoawayEnhanceYourCalmAndNothingMoreIsParsed) {
  Harness h;
  std::string pings;
  for (int i = 0; i < 1000; ++i) pings += frame(0x6, 0, 0, "12345678");
  EXPECT_FALSE(h.feed(kPreface + frame(0x4, 0, 0) + pings));
  // None of the 979 PINGs behind the one that tripped is answered (nghttp2 drops the ACKs
  // still queued for the 20 before it, too: the GOAWAY goes first and ends the session).
  const size_t acks = h.count(0x6, 0x1);
  EXPECT_LE(acks, 20u);
  const std::vector<Frame> frames = parse(h.output.sent);
  ASSERT_FALSE(frames.empty());
  const Frame& last = frames.back();
  ASSERT_EQ(last.type, 0x7);  // GOAWAY
  ASSERT_EQ(last.payload.size(), 8u);
  EXPECT_EQ(static_cast<uint8_t>(last.payload[7]), 0xb);  // ENHANCE_YOUR_CALM
  EXPECT_TRUE(h.output.lingered);
  ASSERT_EQ(h.callbacks.attacks.size(), 1u);
  EXPECT_EQ(h.callbacks.attacks[0].first, http::Http2Attack::Ping);
  EXPECT_THAT(h.callbacks.attacks[0].second, HasSubstr("PING flood (limit: 20 at once, 10/s)"));
  EXPECT_THAT(h.callbacks.attacks[0].second, HasSubstr("ping 21"));
  // Whatever comes later is not read.
  EXPECT_FALSE(h.feed(pings));
  EXPECT_EQ(h.count(0x6, 0x1), acks);
  EXPECT_EQ(h.callbacks.attacks.size(), 1u);
}

TEST(ServerCodecFlood, PingsAtTheRateAreAnswered) {
  Harness h;
  EXPECT_TRUE(h.feed(kPreface + frame(0x4, 0, 0)));
  for (int i = 0; i < 100; ++i) {
    g_now += 100;  // 10 a second
    EXPECT_TRUE(h.feed(frame(0x6, 0, 0, "12345678")));
  }
  EXPECT_EQ(h.count(0x6, 0x1), 100u);
  EXPECT_TRUE(h.callbacks.attacks.empty());
  EXPECT_FALSE(h.output.closed);
}

TEST(ServerCodecFlood, AContinuationFloodTripsOurLimitBeforeNghttp2s) {
  Harness h;
  // HEADERS without END_HEADERS, then empty CONTINUATION frames.
  std::string bytes = kPreface + frame(0x4, 0, 0) + frame(0x1, 0x1, 1, "\x82\x86\x84");
  for (int i = 0; i < 100; ++i) bytes += frame(0x9, 0, 1);
  EXPECT_FALSE(h.feed(bytes));
  ASSERT_EQ(h.callbacks.attacks.size(), 1u);
  EXPECT_EQ(h.callbacks.attacks[0].first, http::Http2Attack::Continuation);
  const std::vector<Frame> frames = parse(h.output.sent);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.back().type, 0x7);
  EXPECT_EQ(static_cast<uint8_t>(frames.back().payload[7]), 0xb);
}

TEST(ServerCodecFlood, RapidResetEndsWithGoawayEnhanceYourCalm) {
  Harness h;
  std::string bytes = kPreface + frame(0x4, 0, 0);
  const std::string block("\x82\x86\x84\x41\x09localhost", 14);
  for (uint32_t id = 1; id < 1000; id += 2)
    bytes += frame(0x1, 0x5, id, block) + frame(0x3, 0, id, std::string("\0\0\0\x08", 4));
  EXPECT_FALSE(h.feed(bytes));
  ASSERT_EQ(h.callbacks.attacks.size(), 1u);
  EXPECT_EQ(h.callbacks.attacks[0].first, http::Http2Attack::RapidReset);
  const std::vector<Frame> frames = parse(h.output.sent);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.back().type, 0x7);
  EXPECT_EQ(static_cast<uint8_t>(frames.back().payload[7]), 0xb);
  EXPECT_TRUE(h.output.lingered);
}

}  // namespace
}  // namespace portico::http2
