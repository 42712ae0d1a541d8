#pragma once
// Follows the frames of one direction of a WebSocket connection (RFC 6455 5.2) as its bytes
// pass, without copying or changing the payload: only frame headers are read. It adds up the
// payload of each message (a data frame and its continuation frames) and says when a message
// would exceed the limit, and where the frame that crosses it begins, so the caller can stop
// forwarding exactly there and send a close frame instead.
//
// Sizes are what travels on the wire: with permessage-deflate (RSV1) that is the compressed
// size. Control frames (ping, pong, close) may arrive between the fragments of a message and
// do not count toward it; RFC 6455 5.5 limits them to 125 bytes of payload.
//
// Pure: no I/O, no allocation. Worker-local.

#include <cstdint>
#include <string>
#include <string_view>

namespace portico::filters::websocket {

// Close codes (RFC 6455 7.4.1) the proxy sends.
inline constexpr uint16_t kCloseGoingAway = 1001;
inline constexpr uint16_t kCloseProtocolError = 1002;
inline constexpr uint16_t kCloseMessageTooBig = 1009;

class FrameScanner {
 public:
  enum class Verdict : uint8_t {
    Ok,         // everything fed so far is well-formed and within the limit
    TooBig,     // a message exceeds the limit: see offendingFrameStart()
    Malformed,  // the bytes are not WebSocket framing (reserved opcode, bad control frame,
                // continuation without a message, new message inside a fragmented one)
  };

  // `max_message`: the largest message payload allowed; 0 = no limit (frames are still read).
  explicit FrameScanner(uint64_t max_message) : max_message_(max_message) {}

  // Reads the next bytes of the direction. Once the verdict is not Ok, later calls change
  // nothing. A frame header may be split across calls.
  Verdict feed(std::string_view bytes);
  Verdict verdict() const { return verdict_; }

  // Bytes fed so far.
  uint64_t position() const { return position_; }
  // Where (counted like position()) the frame whose header broke the rules begins.
  uint64_t offendingFrameStart() const { return frame_start_; }
  // Bytes of a frame header fed but not yet complete: the tail of what was fed.
  size_t pendingHeaderBytes() const { return header_len_; }
  // A close frame went by (the peer began the closing handshake, or answered ours).
  bool sawClose() const { return saw_close_; }

 private:
  // Parses header_ once it may be complete; false while more bytes are needed.
  bool headerComplete();
  void startFrame();

  const uint64_t max_message_;
  Verdict verdict_ = Verdict::Ok;
  uint64_t position_ = 0;
  uint64_t frame_start_ = 0;
  uint64_t payload_left_ = 0;  // of the current frame
  uint64_t message_size_ = 0;  // payload of the current message so far
  bool in_message_ = false;    // a fragmented message awaits its FIN continuation
  bool saw_close_ = false;
  unsigned char header_[14] = {};
  size_t header_len_ = 0;
};

// A close frame with `code` and `reason` (at most 123 bytes: control frames carry at most 125).
// Frames from a client must be masked (RFC 6455 5.3), so frames Portico sends to a backend are,
// with `mask_key`; frames to a client are not.
std::string closeFrame(uint16_t code, std::string_view reason, bool masked, uint32_t mask_key);

}  // namespace portico::filters::websocket
