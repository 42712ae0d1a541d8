#include "http2/flood_observer.h"

#include <nghttp2/nghttp2.h>

#include "event/event_loop.h"

namespace portico::http2 {

FloodObserver::FloodObserver(const http::Http2AttackLimits& limits, uint64_t max_header_list_size,
                             Clock clock)
    : clock_(clock), guard_(limits, max_header_list_size, clock()) {}

bool FloodObserver::onFrameHeader(uint8_t type, uint8_t flags, int32_t stream_id, size_t length) {
  FrameHeader h;
  h.type = type;
  h.flags = flags;
  h.stream_id = static_cast<uint32_t>(stream_id);
  h.length = static_cast<uint32_t>(length);
  return guard_.onFrameHeader(h, clock_()) == Http2Attack::None;
}

bool FloodObserver::onDataFrame(int32_t, size_t data_length, bool end_stream) {
  return guard_.onDataFrame(static_cast<uint32_t>(data_length), end_stream, clock_()) ==
         Http2Attack::None;
}

bool FloodObserver::onHeaderField(size_t name_length, size_t value_length) {
  return guard_.onHeaderField(name_length, value_length) == Http2Attack::None;
}

bool FloodObserver::onFrameSent(uint8_t type, int32_t, uint32_t error_code) {
  if (type == NGHTTP2_DATA) {
    guard_.onDataFrameSent();
    return !guard_.tripped();
  }
  if (type != NGHTTP2_RST_STREAM) return !guard_.tripped();
  // Our resets that the client's own frames caused. INTERNAL_ERROR and CANCEL are ours
  // (a backend failed, a timeout), not the client's doing.
  switch (error_code) {
    case NGHTTP2_PROTOCOL_ERROR:
    case NGHTTP2_FLOW_CONTROL_ERROR:
    case NGHTTP2_STREAM_CLOSED:
    case NGHTTP2_FRAME_SIZE_ERROR:
    case NGHTTP2_REFUSED_STREAM:
      return guard_.onStreamError(clock_()) == Http2Attack::None;
    default:
      return !guard_.tripped();
  }
}

std::string FloodObserver::reason() const {
  return guard_.describeLimit() + "; the client sent " + guard_.describeCounts();
}

FloodObserverFactory::FloodObserverFactory(FloodObserver::Clock clock)
    : clock_(clock != nullptr ? clock : &event::monotonicNowMs) {}

std::unique_ptr<FrameObserver> FloodObserverFactory::create(
    const http::ServerCodecSettings& settings) const {
  const uint64_t list_size = settings.http2.max_header_list_size != 0
                                 ? settings.http2.max_header_list_size
                                 : settings.max_header_bytes;
  return std::make_unique<FloodObserver>(settings.http2.attack_limits, list_size, clock_);
}

}  // namespace portico::http2
