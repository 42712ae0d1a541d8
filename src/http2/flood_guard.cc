#include "http2/flood_guard.h"

#include <fmt/format.h>

#include <algorithm>

namespace portico::http2 {

void TokenBucket::configure(const http::Http2RateLimit& limit, int64_t now_ms) {
  rate_ = limit.rate;
  capacity_ = static_cast<int64_t>(limit.burst) * kUnit;
  tokens_ = capacity_;
  last_ms_ = now_ms;
}

bool TokenBucket::take(int64_t now_ms) {
  if (now_ms > last_ms_) {
    // The elapsed time is capped where the bucket would be full anyway: no overflow after a
    // long quiet spell.
    const int64_t full_after = rate_ > 0 ? capacity_ / rate_ + 1 : 0;
    const int64_t elapsed = std::min(now_ms - last_ms_, full_after);
    tokens_ = std::min(capacity_, tokens_ + elapsed * rate_);
    last_ms_ = now_ms;
  }
  if (tokens_ < kUnit) return false;
  tokens_ -= kUnit;
  return true;
}

void TokenBucket::credit(uint32_t events) {
  tokens_ = std::min(capacity_, tokens_ + static_cast<int64_t>(events) * kUnit);
}

FloodGuard::FloodGuard(const http::Http2AttackLimits& limits, uint64_t max_header_list_size,
                       int64_t now_ms)
    : limits_(limits), max_block_bytes_(limits.header_list_factor * max_header_list_size) {
  rapid_reset_.configure(limits.rapid_reset, now_ms);
  ping_.configure(limits.ping, now_ms);
  settings_.configure(limits.settings, now_ms);
  empty_data_.configure(limits.empty_data, now_ms);
  window_update_.configure(limits.window_update, now_ms);
  priority_.configure(limits.priority, now_ms);
}

Http2Attack FloodGuard::trip(Http2Attack attack) {
  if (verdict_ == Http2Attack::None) verdict_ = attack;
  return verdict_;
}

Http2Attack FloodGuard::takeOrTrip(TokenBucket& bucket, Http2Attack attack, int64_t now_ms) {
  if (!bucket.take(now_ms)) return trip(attack);
  return verdict_;
}

Http2Attack FloodGuard::onFrameHeader(const FrameHeader& header, int64_t now_ms) {
  using namespace frame;
  if (in_block_ && header.type != kContinuation) {
    // Anything else inside a header block is a connection error the codec reports; the block
    // is over either way.
    in_block_ = false;
  }
  switch (header.type) {
    case kHeaders:
      // A higher stream id opens a stream; a lower one carries trailers (or is an error the
      // codec reports).
      if (header.stream_id > last_stream_id_) {
        last_stream_id_ = header.stream_id;
        ++counts_.streams;
        window_update_.credit(kWindowUpdatesPerStream);
        priority_.credit(kPrioritiesPerStream);
      }
      in_block_ = (header.flags & kEndHeaders) == 0;
      block_continuations_ = 0;
      block_bytes_ = 0;
      decoded_bytes_ = 0;
      return onHeaderBlockBytes(header.length);
    case kContinuation:
      ++counts_.continuation;
      if (!in_block_) return verdict_;  // out of place: the codec's protocol error
      if (++block_continuations_ > limits_.max_continuation_frames)
        return trip(Http2Attack::Continuation);
      if ((header.flags & kEndHeaders) != 0) in_block_ = false;
      return onHeaderBlockBytes(header.length);
    case kRstStream:
      ++counts_.rst_stream;
      return takeOrTrip(rapid_reset_, Http2Attack::RapidReset, now_ms);
    case kPing:
      ++counts_.ping;
      return takeOrTrip(ping_, Http2Attack::Ping, now_ms);
    case kSettings:
      ++counts_.settings;
      return takeOrTrip(settings_, Http2Attack::Settings, now_ms);
    case kWindowUpdate:
      ++counts_.window_update;
      return takeOrTrip(window_update_, Http2Attack::WindowUpdate, now_ms);
    case kPriority:
    case kPriorityUpdate:
      ++counts_.priority;
      return takeOrTrip(priority_, Http2Attack::Priority, now_ms);
    default:
      return verdict_;
  }
}

Http2Attack FloodGuard::onHeaderBlockBytes(uint32_t bytes) {
  block_bytes_ += bytes;
  if (block_bytes_ > max_block_bytes_) return trip(Http2Attack::Continuation);
  return verdict_;
}

Http2Attack FloodGuard::onDataFrame(uint32_t data_bytes, bool end_stream, int64_t now_ms) {
  if (data_bytes > 0 || end_stream) return verdict_;
  ++counts_.empty_data;
  return takeOrTrip(empty_data_, Http2Attack::EmptyData, now_ms);
}

Http2Attack FloodGuard::onHeaderField(size_t name_bytes, size_t value_bytes) {
  // RFC 9113 6.5.2: a field's size is its name and value plus 32 bytes of overhead.
  decoded_bytes_ += name_bytes + value_bytes + 32;
  if (decoded_bytes_ > max_block_bytes_) return trip(Http2Attack::HpackBomb);
  return verdict_;
}

Http2Attack FloodGuard::onStreamError(int64_t now_ms) {
  ++counts_.stream_errors;
  return takeOrTrip(rapid_reset_, Http2Attack::RapidReset, now_ms);
}

void FloodGuard::onDataFrameSent() {
  window_update_.credit(kWindowUpdatesPerDataFrameSent);
}

std::string FloodGuard::describeLimit() const {
  auto rate = [](std::string_view what, const http::Http2RateLimit& l) {
    return fmt::format("{} (limit: {} at once, {}/s)", what, l.burst, l.rate);
  };
  switch (verdict_) {
    case Http2Attack::None:
      return "no limit tripped";
    case Http2Attack::RapidReset:
      return rate("rapid reset: streams reset", limits_.rapid_reset);
    case Http2Attack::Ping:
      return rate("PING flood", limits_.ping);
    case Http2Attack::Settings:
      return rate("SETTINGS flood", limits_.settings);
    case Http2Attack::EmptyData:
      return rate("empty DATA frame flood", limits_.empty_data);
    case Http2Attack::WindowUpdate:
      return rate("WINDOW_UPDATE flood", limits_.window_update);
    case Http2Attack::Priority:
      return rate("PRIORITY flood", limits_.priority);
    case Http2Attack::Continuation:
      return fmt::format(
          "CONTINUATION flood: header block of {} CONTINUATION frames, {} bytes so far "
          "(limit: {} frames, {} bytes)",
          block_continuations_, block_bytes_, limits_.max_continuation_frames, max_block_bytes_);
    case Http2Attack::HpackBomb:
      return fmt::format(
          "HPACK bomb: header block of {} compressed bytes decoded to {} bytes and more "
          "(limit: {})",
          block_bytes_, decoded_bytes_, max_block_bytes_);
    case Http2Attack::UnreadControl:  // nghttp2's queue limit: the codec reports it itself
      return "unread acknowledgements";
  }
  return "";
}

std::string FloodGuard::describeCounts() const {
  const FloodCounts& c = counts_;
  return fmt::format(
      "streams {}, rst_stream {}, stream_errors {}, ping {}, settings {}, empty_data {}, "
      "window_update {}, priority {}, continuation {}",
      c.streams, c.rst_stream, c.stream_errors, c.ping, c.settings, c.empty_data, c.window_update,
      c.priority, c.continuation);
}

}  // namespace portico::http2
