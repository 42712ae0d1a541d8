#pragma once
// FrameObserver: the seam for per-connection HTTP/2 abuse guards (floods of RST_STREAM,
// PING, SETTINGS, empty DATA, CONTINUATION, ...). The server codec calls every observer of
// its connection for each frame header it receives (before the payload is processed) and for
// each RST_STREAM a client sends. An observer that answers false ends the connection: the
// codec sends GOAWAY ENHANCE_YOUR_CALM, stops reading, and closes once it is flushed. Other
// connections are untouched. Observers only count and judge; they never touch the session.
//
// Observers are made per connection by a FrameObserverFactory given to
// makeServerCodecFactory() (http2/server_codec_factory.h). Worker-local, single-threaded.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "http/codec.h"

namespace portico::http2 {

class FrameObserver {
 public:
  virtual ~FrameObserver() = default;
  // A frame header arrived: `type` and `flags` as on the wire (RFC 9113 6), `length` the
  // payload length. false: the connection is ended (GOAWAY ENHANCE_YOUR_CALM).
  virtual bool onFrameHeader(uint8_t type, uint8_t flags, int32_t stream_id, size_t length) = 0;
  // The client reset `stream_id` with `error_code` (a received RST_STREAM). false: as above.
  virtual bool onPeerReset(int32_t stream_id, uint32_t error_code) {
    (void)stream_id;
    (void)error_code;
    return true;
  }
  // Why the last false was said, for the log line the codec writes ("rapid reset", ...).
  virtual std::string reason() const { return "frame flood"; }
};

class FrameObserverFactory {
 public:
  virtual ~FrameObserverFactory() = default;
  // One observer for a new connection with these settings.
  virtual std::unique_ptr<FrameObserver> create(const http::ServerCodecSettings& settings) const = 0;
};

}  // namespace portico::http2
