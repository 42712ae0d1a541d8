#pragma once
// Per-route WebSocket limits on an upgraded tunnel: the largest message and an idle timeout.
//
// The filter is inert unless the request asks for a WebSocket upgrade and the backend accepts
// it (101). From then on the tunnel's bytes pass through it in both directions and it follows
// the frame headers (frame_scanner.h), never copying or changing payload.
//  - max_message: a message (a data frame plus its continuations) larger than the limit is cut
//    at the frame that crosses it. The peer that sent it gets a close frame 1009 (message too
//    big), the other side gets the same close frame in place of the rest of that message, and
//    the tunnel is closed on both sides on the next loop turn, once those frames are written.
//  - Framing that is not WebSocket (a reserved opcode, a bad control frame) is closed the same
//    way with 1002 (protocol error): past it the limit could no longer be counted.
//  - idle_timeout: no byte either way for that long closes the tunnel with 1001 (going away)
//    to both sides. The cluster's idle_timeout still bounds the backend's silence as before.
// A partial frame header at the end of a chunk is held back (at most 13 bytes) until its
// frame is known, so a cut always falls on a frame boundary.
//
// Route key: websocket (docs/configuration.md).

#include <cstdint>
#include <optional>

#include "buffer/buffer.h"
#include "event/event_loop.h"
#include "filters/filter.h"
#include "filters/websocket/frame_scanner.h"

namespace portico::filters::websocket {

struct WebSocketConfig {
  uint64_t max_message = 0;     // bytes of payload; 0 = no limit
  int64_t idle_timeout_ms = 0;  // 0 = none (the cluster's idle_timeout still applies)
};

// The request asks to become a WebSocket (Upgrade: websocket with Connection: upgrade; the
// stream removed Connection already, so Upgrade alone is what is left to read).
bool asksForWebSocket(const http::RequestHead& head);

class WebSocketFilter final : public Filter {
 public:
  explicit WebSocketFilter(const WebSocketConfig& config)
      : config_(config), client_(config.max_message), backend_(config.max_message) {}

  FilterStatus onRequestHeaders(http::RequestHead& head, bool end_stream) override;
  FilterStatus onRequestBody(buffer::Buffer& data, bool end_stream) override;
  FilterStatus onResponseHeaders(http::ResponseHead& head, bool end_stream) override;
  FilterStatus onResponseBody(buffer::Buffer& data, bool end_stream) override;
  bool transformsResponseBody() const override { return tunnel_; }
  void onDestroy() override;

 private:
  // One direction's framing: what it has read and the partial header it holds back.
  struct Direction {
    explicit Direction(uint64_t max_message) : scanner(max_message) {}
    FrameScanner scanner;
    buffer::Buffer held;
  };
  // Reads `data` (bytes from the client when `from_client`), leaves in it what may pass on.
  FilterStatus scan(Direction& dir, bool from_client, buffer::Buffer& data, bool end_stream);
  // Ends the tunnel: a close frame `code` each way, appended to the bytes a hook is passing
  // on in that direction (`backend_way`, `client_way`) or else injected; the stream is reset
  // on the next turn.
  void closeTunnel(uint16_t code, std::string_view reason, buffer::Buffer* backend_way,
                   buffer::Buffer* client_way);
  void onTimer();

  const WebSocketConfig& config_;
  Direction client_;      // client -> backend (masked frames)
  Direction backend_;     // backend -> client
  bool upgrade_ = false;  // the request asked for a WebSocket
  bool tunnel_ = false;   // the backend accepted: bytes are frames
  bool closing_ = false;  // close frames sent; the reset follows
  event::MonoTime last_activity_ = 0;
  std::optional<event::Timer> timer_;
};

class WebSocketFilterFactory final : public FilterFactory {
 public:
  explicit WebSocketFilterFactory(WebSocketConfig config) : config_(config) {}
  Filter* create(std::pmr::memory_resource& arena) const override {
    return arenaNew<WebSocketFilter>(arena, config_);
  }
  const WebSocketConfig& config() const { return config_; }

 private:
  WebSocketConfig config_;
};

}  // namespace portico::filters::websocket
