#include "server/http2_attack_log.h"

#include <fmt/format.h>

namespace portico::server {

Http2AttackLog::Http2AttackLog(log::RepeatLog::Clock clock, const log::RepeatLog::Writer& writer) {
  logs_.reserve(http::kHttp2AttackKinds);
  for (size_t i = 0; i < http::kHttp2AttackKinds; ++i)
    logs_.emplace_back(log::Level::Warn, kSummaryIntervalMs, clock, writer);
}

void Http2AttackLog::report(http::Http2Attack attack, std::string_view listener,
                            std::string_view peer, std::string_view detail) {
  log::RepeatLog& l = logs_[static_cast<size_t>(attack)];
  l.logAs(fmt::format("{}: closing HTTP/2 connections for limit {}", listener,
                      http::http2AttackName(attack)),
          fmt::format("{}: closing HTTP/2 connection from {}: {}", listener, peer, detail));
}

int64_t Http2AttackLog::flush() {
  int64_t next = -1;
  for (log::RepeatLog& l : logs_) {
    l.flush();
    const int64_t due = l.msUntilFlush();
    if (due >= 0 && (next < 0 || due < next)) next = due;
  }
  return next;
}

}  // namespace portico::server
