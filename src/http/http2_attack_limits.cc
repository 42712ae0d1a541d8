#include "http/http2_attack_limits.h"

namespace portico::http {

std::string_view http2AttackName(Http2Attack attack) {
  switch (attack) {
    case Http2Attack::None:
      return "none";
    case Http2Attack::RapidReset:
      return "rapid_reset";
    case Http2Attack::Ping:
      return "ping";
    case Http2Attack::Settings:
      return "settings";
    case Http2Attack::EmptyData:
      return "empty_data";
    case Http2Attack::WindowUpdate:
      return "window_update";
    case Http2Attack::Priority:
      return "priority";
    case Http2Attack::Continuation:
      return "continuation";
    case Http2Attack::HpackBomb:
      return "hpack_bomb";
    case Http2Attack::UnreadControl:
      return "unread_control";
  }
  return "none";
}

}  // namespace portico::http
