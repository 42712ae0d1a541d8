#pragma once
// Http2AttackLog: the error-log lines of a worker's downstream HTTP/2 connections closed for
// tripping an attack limit. Each closed connection gets one line, with the peer address, the
// limit and what the client sent:
//   main: closing HTTP/2 connection from 10.0.0.7:51234: PING flood (limit: 200 at once, 50/s);
//   the client sent streams 0, rst_stream 0, ..., ping 201, ...
// An attack usually comes from many connections at once (a botnet, or one client reconnecting
// as fast as it is closed), and a line per connection would cost a write(2) each and bury the
// rest of the log; so per kind of attack, the first line is written at once and the ones that
// follow within 10 s are counted and summarised (core/repeat_log.h):
//   main: closing HTTP/2 connections for limit ping (repeated 37 times in the last 10s)
// Worker-local; the clock and the writer are injected, so tests drive time by hand.

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/repeat_log.h"
#include "http/http2_attack_limits.h"

namespace portico::server {

class Http2AttackLog {
 public:
  static constexpr int64_t kSummaryIntervalMs = 10000;

  explicit Http2AttackLog(log::RepeatLog::Clock clock,
                          const log::RepeatLog::Writer& writer = &log::write);

  void report(http::Http2Attack attack, std::string_view listener, std::string_view peer,
              std::string_view detail);
  // Writes the summaries that are due; returns the ms until the next one (-1: none pending),
  // for the owner's timer.
  int64_t flush();

 private:
  std::vector<log::RepeatLog> logs_;  // one per kind of attack
};

}  // namespace portico::server
