#pragma once
// FloodObserver: the FrameObserver (http2/frame_observer.h) that holds a connection's
// FloodGuard, so the attack limits of listener `http2.attack_limits` apply to every HTTP/2
// connection. It turns the codec's frame events into the guard's and says why it gave up.
// FloodObserverFactory makes one per connection from the connection's codec settings.

#include <cstdint>
#include <memory>
#include <string>

#include "http2/flood_guard.h"
#include "http2/frame_observer.h"

namespace portico::http2 {

class FloodObserver final : public FrameObserver {
 public:
  using Clock = int64_t (*)();  // monotonic milliseconds

  FloodObserver(const http::Http2AttackLimits& limits, uint64_t max_header_list_size, Clock clock);

  bool onFrameHeader(uint8_t type, uint8_t flags, int32_t stream_id, size_t length) override;
  bool onDataFrame(int32_t stream_id, size_t data_length, bool end_stream) override;
  bool onHeaderField(size_t name_length, size_t value_length) override;
  bool onFrameSent(uint8_t type, int32_t stream_id, uint32_t error_code) override;
  http::Http2Attack attack() const override { return guard_.verdict(); }
  std::string reason() const override;

  const FloodGuard& guard() const { return guard_; }

 private:
  Clock clock_;
  FloodGuard guard_;
};

class FloodObserverFactory final : public FrameObserverFactory {
 public:
  // `clock`: the event loop's monotonic clock by default; tests pass their own.
  explicit FloodObserverFactory(FloodObserver::Clock clock = nullptr);
  std::unique_ptr<FrameObserver> create(const http::ServerCodecSettings& settings) const override;

 private:
  FloodObserver::Clock clock_;
};

}  // namespace portico::http2
