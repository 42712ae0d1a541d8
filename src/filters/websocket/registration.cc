// The WebSocket filter's registration: the route key `websocket`.
#include "filters/registry.h"
#include "filters/websocket/websocket_filter.h"
#include "yaml/reader.h"

namespace portico::filters::websocket {
namespace {

constexpr std::string_view kKeys[] = {"websocket"};
constexpr uint64_t kMaxMessageLimit = uint64_t{1} << 40;  // 1 TiB: anything larger is a typo
constexpr int64_t kMaxIdleMs = 7 * 24 * 3'600'000LL;      // a week

std::shared_ptr<const FilterFactory> parse(yaml::Reader& reader,
                                           std::span<const yaml::Field* const> fields) {
  const yaml::Field& field = *fields[0];
  yaml::MapReader map(reader, field, {"max_message", "idle_timeout"});
  if (!map.valid()) return nullptr;
  WebSocketConfig config;
  const size_t errors = reader.errorCount();
  if (const yaml::Field* f = map.find("max_message")) {
    yaml::assignIf(&config.max_message, yaml::readSize(reader, *f, 1, kMaxMessageLimit));
  }
  if (const yaml::Field* f = map.find("idle_timeout")) {
    yaml::assignIf(&config.idle_timeout_ms, yaml::readDurationMs(reader, *f, 1, kMaxIdleMs));
  }
  if (reader.errorCount() != errors) return nullptr;
  if (config.max_message == 0 && config.idle_timeout_ms == 0) {
    reader.error(field.mark, field.path,
                 "expected max_message or idle_timeout (a websocket block that limits nothing "
                 "is a mistake)");
    return nullptr;
  }
  return std::make_shared<const WebSocketFilterFactory>(config);
}

}  // namespace

const FilterRegistration& registration() {
  static const FilterRegistration kRegistration{"websocket", kKeys, &parse};
  return kRegistration;
}

}  // namespace portico::filters::websocket
