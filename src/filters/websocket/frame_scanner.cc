#include "filters/websocket/frame_scanner.h"

#include <algorithm>

namespace portico::filters::websocket {

namespace {
constexpr unsigned char kFin = 0x80;
constexpr unsigned char kOpcodeMask = 0x0F;
constexpr unsigned char kMasked = 0x80;
constexpr unsigned kOpContinuation = 0x0;
constexpr unsigned kOpText = 0x1;
constexpr unsigned kOpBinary = 0x2;
constexpr unsigned kOpClose = 0x8;
constexpr unsigned kOpPing = 0x9;
constexpr unsigned kOpPong = 0xA;
constexpr size_t kMaxControlPayload = 125;
}  // namespace

FrameScanner::Verdict FrameScanner::feed(std::string_view bytes) {
  size_t i = 0;
  while (verdict_ == Verdict::Ok && i < bytes.size()) {
    if (payload_left_ > 0) {
      const uint64_t skip = std::min<uint64_t>(payload_left_, bytes.size() - i);
      payload_left_ -= skip;
      i += static_cast<size_t>(skip);
      position_ += skip;
      continue;
    }
    if (header_len_ == 0) frame_start_ = position_;
    header_[header_len_++] = static_cast<unsigned char>(bytes[i]);
    ++i;
    ++position_;
    if (headerComplete()) startFrame();
  }
  return verdict_;
}

bool FrameScanner::headerComplete() {
  if (header_len_ < 2) return false;
  const unsigned len7 = header_[1] & 0x7F;
  const size_t mask_bytes = (header_[1] & kMasked) != 0 ? 4 : 0;
  const size_t ext_bytes = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  return header_len_ == 2 + ext_bytes + mask_bytes;
}

void FrameScanner::startFrame() {
  const bool fin = (header_[0] & kFin) != 0;
  const unsigned opcode = header_[0] & kOpcodeMask;
  const unsigned len7 = header_[1] & 0x7F;
  uint64_t length = len7;
  if (len7 == 126) {
    length = (uint64_t{header_[2]} << 8) | header_[3];
  } else if (len7 == 127) {
    length = 0;
    for (size_t k = 2; k < 10; ++k) length = (length << 8) | header_[k];
  }
  header_len_ = 0;
  payload_left_ = length;
  // RFC 6455 5.2: the most significant bit of a 64-bit length must be 0.
  if (len7 == 127 && (length >> 63) != 0) {
    verdict_ = Verdict::Malformed;
    return;
  }
  switch (opcode) {
    case kOpClose:
    case kOpPing:
    case kOpPong:
      // Control frames are never fragmented and stay small (RFC 6455 5.5).
      if (!fin || length > kMaxControlPayload) verdict_ = Verdict::Malformed;
      if (opcode == kOpClose) saw_close_ = true;
      return;
    case kOpText:
    case kOpBinary:
      if (in_message_) {  // a new message before the last one's final fragment
        verdict_ = Verdict::Malformed;
        return;
      }
      message_size_ = 0;
      break;
    case kOpContinuation:
      if (!in_message_) {
        verdict_ = Verdict::Malformed;
        return;
      }
      break;
    default:  // reserved opcodes 3-7 and 0xB-0xF
      verdict_ = Verdict::Malformed;
      return;
  }
  message_size_ += length;
  in_message_ = !fin;
  if (max_message_ != 0 && message_size_ > max_message_) verdict_ = Verdict::TooBig;
}

std::string closeFrame(uint16_t code, std::string_view reason, bool masked, uint32_t mask_key) {
  reason = reason.substr(0, std::min<size_t>(reason.size(), kMaxControlPayload - 2));
  std::string payload;
  payload += static_cast<char>(code >> 8);
  payload += static_cast<char>(code & 0xFF);
  payload += reason;
  std::string frame;
  frame += static_cast<char>(kFin | kOpClose);
  frame += static_cast<char>((masked ? kMasked : 0) | payload.size());
  if (masked) {
    const unsigned char key[4] = {
        static_cast<unsigned char>(mask_key >> 24), static_cast<unsigned char>(mask_key >> 16),
        static_cast<unsigned char>(mask_key >> 8), static_cast<unsigned char>(mask_key)};
    frame.append(reinterpret_cast<const char*>(key), 4);
    for (size_t k = 0; k < payload.size(); ++k)
      payload[k] = static_cast<char>(payload[k] ^ key[k % 4]);
  }
  frame += payload;
  return frame;
}

}  // namespace portico::filters::websocket
