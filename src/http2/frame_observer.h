#pragma once
// FrameObserver: the seam for per-connection HTTP/2 abuse guards (floods of RST_STREAM,
// PING, SETTINGS, empty DATA, CONTINUATION, ...). The server codec calls every observer of
// its connection for each frame header it receives (before the payload is processed), each
// RST_STREAM a client sends, each whole DATA frame, each decoded header field, and each frame
// it sends. An observer that answers false ends the connection: the codec sends GOAWAY
// ENHANCE_YOUR_CALM, stops reading, and closes once it is flushed; the connection's owner is
// told which attack (ServerConnectionCallbacks::onHttp2Attack) for its counters and log.
// Other connections are untouched. Observers only count and judge; they never touch the
// session. http2/flood_observer.h is the one Portico installs.
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
  // A whole DATA frame arrived: `data_length` is its payload without padding, which the frame
  // header alone cannot tell (a padding-only frame carries nothing).
  virtual bool onDataFrame(int32_t stream_id, size_t data_length, bool end_stream) {
    (void)stream_id;
    (void)data_length;
    (void)end_stream;
    return true;
  }
  // A field of the header block being decoded, every one (also after the stream refused the
  // block as too large): what it decodes to is what an HPACK bomb inflates.
  virtual bool onHeaderField(size_t name_length, size_t value_length) {
    (void)name_length;
    (void)value_length;
    return true;
  }
  // We sent a frame; `error_code` is an RST_STREAM's. DATA earns the client window updates,
  // and our resets of streams the client broke count like its own.
  virtual bool onFrameSent(uint8_t type, int32_t stream_id, uint32_t error_code) {
    (void)type;
    (void)stream_id;
    (void)error_code;
    return true;
  }
  // Which attack the last false was about, for the owner's counters.
  virtual http::Http2Attack attack() const { return http::Http2Attack::None; }
  // Why the last false was said, for the owner's log line ("PING flood (limit: ...)").
  virtual std::string reason() const { return "frame flood"; }
};

class FrameObserverFactory {
 public:
  virtual ~FrameObserverFactory() = default;
  // One observer for a new connection with these settings.
  virtual std::unique_ptr<FrameObserver> create(
      const http::ServerCodecSettings& settings) const = 0;
};

}  // namespace portico::http2
