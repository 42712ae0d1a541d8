// `http2.attack_limits` of a listener: the per-connection flood limits of downstream HTTP/2
// (http/http2_attack_limits.h has the defaults and why they are what they are).

#include "config/sections.h"

namespace portico::config::internal {
namespace {

// A rate limit is a mapping `{ rate: N, burst: N }`; either key may be left at its default.
void loadRateLimit(Reader& reader, const Field& field, http::Http2RateLimit* out) {
  MapReader map(reader, field, {"rate", "burst"});
  if (!map.valid()) return;
  // rate 0 is allowed: `burst` events per connection, never refilled. A burst of 0 would
  // refuse the first frame of its kind, which every client sends (SETTINGS, for one).
  if (const Field* f = map.find("rate")) assignIf(&out->rate, readInt(reader, *f, 0, 1000000));
  if (const Field* f = map.find("burst")) assignIf(&out->burst, readInt(reader, *f, 1, 1000000));
}

}  // namespace

void loadHttp2AttackLimits(Reader& reader, const Field& field, http::Http2AttackLimits* out) {
  MapReader map(reader, field,
                {"rapid_reset", "ping", "settings", "empty_data", "window_update", "priority",
                 "max_continuation_frames", "header_list_factor"});
  if (!map.valid()) return;
  const std::pair<std::string_view, http::Http2RateLimit*> rates[] = {
      {"rapid_reset", &out->rapid_reset},     {"ping", &out->ping},
      {"settings", &out->settings},           {"empty_data", &out->empty_data},
      {"window_update", &out->window_update}, {"priority", &out->priority}};
  for (const auto& [key, limit] : rates) {
    if (const Field* f = map.find(key)) loadRateLimit(reader, *f, limit);
  }
  // A header list above the 16 KiB frame size needs CONTINUATION frames: at least one must
  // be allowed.
  if (const Field* f = map.find("max_continuation_frames")) {
    assignIf(&out->max_continuation_frames, readInt(reader, *f, 1, 1000));
  }
  // 1 would close a connection for a header list merely over the limit, which deserves only
  // a stream error.
  if (const Field* f = map.find("header_list_factor")) {
    assignIf(&out->header_list_factor, readInt(reader, *f, 2, 64));
  }
}

}  // namespace portico::config::internal
