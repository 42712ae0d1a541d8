#pragma once
// FloodGuard: the attack limits of one downstream HTTP/2 connection (http/http2_attack_limits.h)
// applied to what its client sends. The server codec reports each frame header as it is read,
// each decoded header field, each DATA frame we send and each stream it resets because of the
// client; the guard answers with a verdict. Once a limit trips the verdict sticks: the codec
// sends GOAWAY (ENHANCE_YOUR_CALM), stops reading and closes.
//
// Sans-I/O and clockless: the caller passes the event loop's monotonic time (ms), so tests
// drive time by hand. Costs a few integer operations per frame and no allocation.

#include <cstdint>
#include <string>

#include "http/http2_attack_limits.h"

namespace portico::http2 {

using http::Http2Attack;

// RFC 9113 frame types and flags the guard looks at.
namespace frame {
inline constexpr uint8_t kData = 0x0;
inline constexpr uint8_t kHeaders = 0x1;
inline constexpr uint8_t kPriority = 0x2;
inline constexpr uint8_t kRstStream = 0x3;
inline constexpr uint8_t kSettings = 0x4;
inline constexpr uint8_t kPing = 0x6;
inline constexpr uint8_t kWindowUpdate = 0x8;
inline constexpr uint8_t kContinuation = 0x9;
inline constexpr uint8_t kPriorityUpdate = 0x10;  // RFC 9218
inline constexpr uint8_t kEndStream = 0x1;
inline constexpr uint8_t kEndHeaders = 0x4;
}  // namespace frame

// A token bucket in thousandths of an event, so a rate of r per second refills r units per
// millisecond with integer arithmetic.
class TokenBucket {
 public:
  void configure(const http::Http2RateLimit& limit, int64_t now_ms);
  // Takes one event's token; false when the bucket is empty.
  bool take(int64_t now_ms);
  // Adds `events` tokens (earned by useful work), up to the bucket's size.
  void credit(uint32_t events);

 private:
  static constexpr int64_t kUnit = 1000;
  int64_t rate_ = 0;      // units per ms (= events per second)
  int64_t capacity_ = 0;  // units
  int64_t tokens_ = 0;    // units
  int64_t last_ms_ = 0;
};

// What the client sent over the connection's life, for the log line of a closed connection.
struct FloodCounts {
  uint64_t streams = 0;        // HEADERS that opened a stream
  uint64_t rst_stream = 0;     // RST_STREAM from the client
  uint64_t stream_errors = 0;  // streams we reset because the client broke the protocol
  uint64_t ping = 0;
  uint64_t settings = 0;
  uint64_t empty_data = 0;
  uint64_t window_update = 0;
  uint64_t priority = 0;  // PRIORITY and PRIORITY_UPDATE
  uint64_t continuation = 0;
};

struct FrameHeader {
  uint32_t length = 0;  // payload bytes, padding included
  uint8_t type = 0;
  uint8_t flags = 0;
  uint32_t stream_id = 0;
};

class FloodGuard {
 public:
  // Credits earned by useful work (see the window_update and priority limits): a client may
  // answer each DATA frame we send with a stream and a connection WINDOW_UPDATE, and may send
  // a window update and a couple of priority signals for each stream it opens.
  static constexpr uint32_t kWindowUpdatesPerDataFrameSent = 2;
  static constexpr uint32_t kWindowUpdatesPerStream = 1;
  static constexpr uint32_t kPrioritiesPerStream = 2;

  // `max_header_list_size`: what the codec accepts (and advertises) per header list.
  FloodGuard(const http::Http2AttackLimits& limits, uint64_t max_header_list_size, int64_t now_ms);

  // A frame header from the client, before its payload. Counts PING, SETTINGS, WINDOW_UPDATE,
  // PRIORITY(_UPDATE), RST_STREAM and CONTINUATION frames, and bounds each header block.
  Http2Attack onFrameHeader(const FrameHeader& header, int64_t now_ms);
  // A whole DATA frame from the client: `data_bytes` without padding. A frame header alone
  // cannot tell a padding-only frame from one with data.
  Http2Attack onDataFrame(uint32_t data_bytes, bool end_stream, int64_t now_ms);
  // A decoded field of the current header block (before the codec's own checks, which may
  // stop looking at the block's fields).
  Http2Attack onHeaderField(size_t name_bytes, size_t value_bytes);
  // We reset a stream because of what the client sent on it (malformed headers, a refused
  // stream, a flow-control error): a client can provoke these as fast as it can reset.
  Http2Attack onStreamError(int64_t now_ms);
  // We sent a DATA frame: the client may answer it with window updates.
  void onDataFrameSent();

  // The first limit that tripped, None while within limits.
  Http2Attack verdict() const { return verdict_; }
  bool tripped() const { return verdict_ != Http2Attack::None; }
  const FloodCounts& counts() const { return counts_; }
  // "PING flood (limit: 200 at once, 50/s)", for the log line about the tripped limit.
  std::string describeLimit() const;
  // "streams 3, rst_stream 0, ..., continuation 0": what the client sent.
  std::string describeCounts() const;

 private:
  Http2Attack trip(Http2Attack attack);
  Http2Attack takeOrTrip(TokenBucket& bucket, Http2Attack attack, int64_t now_ms);
  Http2Attack onHeaderBlockBytes(uint32_t bytes);

  http::Http2AttackLimits limits_;
  uint64_t max_block_bytes_;  // header_list_factor x max_header_list_size
  TokenBucket rapid_reset_;
  TokenBucket ping_;
  TokenBucket settings_;
  TokenBucket empty_data_;
  TokenBucket window_update_;
  TokenBucket priority_;
  FloodCounts counts_;
  uint32_t last_stream_id_ = 0;  // highest stream the client opened
  // The header block being read (HEADERS, then CONTINUATION until END_HEADERS).
  bool in_block_ = false;
  uint32_t block_continuations_ = 0;
  uint64_t block_bytes_ = 0;    // compressed
  uint64_t decoded_bytes_ = 0;  // RFC 9113 header list size of what was decoded so far
  Http2Attack verdict_ = Http2Attack::None;
};

}  // namespace portico::http2
