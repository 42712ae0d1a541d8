// `health_check:` of a cluster: how the main thread probes each endpoint (see
// upstream/health_checker.h for what the keys do at run time).

#include <charconv>

#include "config/sections.h"
#include "config/text_checks.h"

namespace portico::config::internal {
namespace {

using upstream::HealthCheckConfig;
using upstream::StatusRange;

constexpr int64_t kMaxIntervalMs = 3600 * 1000;

std::optional<uint16_t> parseStatus(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 100 || value > 599) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(value);
}

// 204, "204", or "200-399".
std::optional<StatusRange> readStatusRange(Reader& reader, const Field& field) {
  std::optional<std::string> text = readString(reader, field);
  if (!text) return std::nullopt;
  size_t dash = text->find('-');
  std::optional<uint16_t> low = parseStatus(std::string_view(*text).substr(0, dash));
  std::optional<uint16_t> high =
      dash == std::string::npos ? low : parseStatus(std::string_view(*text).substr(dash + 1));
  if (!low || !high || *high < *low) {
    reader.error(field.mark, field.path,
                 "expected a status 100..599 or a range like \"200-399\", got " + quote(*text));
    return std::nullopt;
  }
  return StatusRange{*low, *high};
}

// "10%" (of the interval) or a duration.
void readJitter(Reader& reader, const Field& field, HealthCheckConfig* check) {
  std::optional<std::string> text = readString(reader, field);
  if (!text) return;
  if (!text->empty() && text->back() == '%') {
    unsigned percent = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size() - 1, percent);
    if (ec != std::errc() || end != text->data() + text->size() - 1 || percent > 100) {
      reader.error(
          field.mark, field.path,
          "expected a percentage 0%..100% of the interval or a duration, got " + quote(*text));
      return;
    }
    check->jitter_percent = percent;
    check->jitter_ms = -1;
    return;
  }
  assignIf(&check->jitter_ms, readDurationMs(reader, field, 0, kMaxIntervalMs));
}

void loadHttpKeys(Reader& reader, const MapReader& map, HealthCheckConfig* check) {
  if (const Field* f = map.find("path")) assignIf(&check->path, readPath(reader, *f));
  if (const Field* f = map.find("method")) {
    assignIf(&check->head, readEnum<bool>(reader, *f, {{"GET", false}, {"HEAD", true}}));
  }
  if (const Field* f = map.find("host")) {
    std::optional<std::string> host = readHeaderValue(reader, *f);
    if (host && host->empty()) {
      reader.error(f->mark, f->path, "expected a host name, got an empty string");
    } else {
      assignIf(&check->host, host);
    }
  }
  if (const Field* f = map.find("expected_statuses")) {
    std::vector<StatusRange> ranges;
    for (const Field& item : itemsOf(reader, *f, /*non_empty=*/true)) {
      if (auto range = readStatusRange(reader, item)) ranges.push_back(*range);
    }
    if (!ranges.empty()) check->expected_statuses = std::move(ranges);
  }
  if (const Field* f = map.find("body_contains")) {
    std::optional<std::string> text = readNonEmptyString(reader, *f);
    if (text && text->size() > 1024) {
      reader.error(f->mark, f->path, "at most 1024 bytes, got " + std::to_string(text->size()));
    } else {
      assignIf(&check->body_contains, text);
    }
  }
}

}  // namespace

void loadHealthCheck(Reader& reader, const Field& field, upstream::ClusterConfig* cluster) {
  MapReader map(
      reader, field,
      {"type", "interval", "jitter", "timeout", "healthy_threshold", "unhealthy_threshold", "path",
       "method", "host", "expected_statuses", "body_contains", "service"});
  if (!map.valid()) return;
  HealthCheckConfig check;
  const Field* type = map.find("type");
  if (type != nullptr) {
    assignIf(&check.type,
             readEnum<upstream::HealthCheckType>(reader, *type,
                                                 {{"http", upstream::HealthCheckType::Http},
                                                  {"tcp", upstream::HealthCheckType::Tcp},
                                                  {"grpc", upstream::HealthCheckType::Grpc}}));
  }
  if (const Field* f = map.find("interval")) {
    assignIf(&check.interval_ms, readDurationMs(reader, *f, 10, kMaxIntervalMs));
  }
  if (const Field* f = map.find("jitter")) readJitter(reader, *f, &check);
  if (const Field* f = map.find("timeout")) {
    assignIf(&check.timeout_ms, readDurationMs(reader, *f, 10, kMaxIntervalMs));
  }
  if (const Field* f = map.find("healthy_threshold")) {
    assignIf(&check.healthy_threshold, readInt(reader, *f, 1, 100));
  }
  if (const Field* f = map.find("unhealthy_threshold")) {
    assignIf(&check.unhealthy_threshold, readInt(reader, *f, 1, 100));
  }
  using upstream::HealthCheckType;
  if (check.type == HealthCheckType::Http) loadHttpKeys(reader, map, &check);
  if (check.type == HealthCheckType::Grpc) {
    if (const Field* f = map.find("service")) assignIf(&check.service, readString(reader, *f));
  }
  // Keys of the other types are mistakes, not options to ignore.
  for (std::string_view key : {"path", "method", "host", "expected_statuses", "body_contains"}) {
    if (check.type != HealthCheckType::Http && map.find(key) != nullptr) {
      reader.error(map.keyMark(key), joinPath(field.path, key),
                   std::string(key) + " applies to type http only");
    }
  }
  if (check.type != HealthCheckType::Grpc && map.find("service") != nullptr) {
    reader.error(map.keyMark("service"), joinPath(field.path, "service"),
                 "service applies to type grpc only");
  }
  // The http check speaks HTTP/1.1, which backends that speak only HTTP/2 would not
  // understand; the grpc check needs HTTP/2.
  using upstream::UpstreamProtocol;
  bool http2_only =
      cluster->protocol == UpstreamProtocol::H2 || cluster->protocol == UpstreamProtocol::H2c;
  const YAML::Mark& type_mark = type != nullptr ? type->mark : field.mark;
  if (check.type == HealthCheckType::Http && http2_only) {
    reader.error(type_mark, joinPath(field.path, "type"),
                 "type http checks with HTTP/1.1 and this cluster's backends speak HTTP/2 only; "
                 "use type: grpc or tcp");
  } else if (check.type == HealthCheckType::Grpc && !http2_only) {
    reader.error(type_mark, joinPath(field.path, "type"),
                 "type grpc needs an HTTP/2 cluster (protocol: h2 or h2c)");
  }
  cluster->health_check = std::move(check);
}

}  // namespace portico::config::internal
