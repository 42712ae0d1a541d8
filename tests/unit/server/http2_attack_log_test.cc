#include "server/http2_attack_log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace portico::server {
namespace {

using http::Http2Attack;

struct Harness {
  int64_t now = 1000;
  std::vector<std::string> lines;
  Http2AttackLog log{[this] { return now; },
                     [this](log::Level, std::string_view line) { lines.emplace_back(line); }};
};

TEST(Http2AttackLog, OneLinePerConnectionWithPeerLimitAndCounts) {
  Harness h;
  h.log.report(Http2Attack::Ping, "main", "10.0.0.1:5000", "PING flood (limit: 200 at once, 50/s)");
  ASSERT_EQ(h.lines.size(), 1u);
  EXPECT_EQ(h.lines[0],
            "main: closing HTTP/2 connection from 10.0.0.1:5000: PING flood (limit: 200 at once, "
            "50/s)");
  EXPECT_EQ(h.log.flush(), -1);  // nothing held back
}

TEST(Http2AttackLog, AFloodOfConnectionsIsSummarisedPerKind) {
  Harness h;
  for (int i = 0; i < 50; ++i) {
    h.log.report(Http2Attack::RapidReset, "main", "10.0.0." + std::to_string(i) + ":1", "x");
    h.now += 100;
  }
  // Another kind meanwhile is written in full, and does not end the first one's window.
  h.log.report(Http2Attack::Settings, "main", "10.9.9.9:1", "y");
  EXPECT_EQ(h.lines.size(), 2u);
  EXPECT_EQ(h.lines[1], "main: closing HTTP/2 connection from 10.9.9.9:1: y");
  const int64_t due = h.log.flush();
  EXPECT_EQ(due, 5000);
  h.now += due;
  EXPECT_EQ(h.log.flush(), -1);
  ASSERT_EQ(h.lines.size(), 3u);
  EXPECT_EQ(h.lines[2],
            "main: closing HTTP/2 connections for limit rapid_reset (repeated 49 times in the "
            "last 10s)");
}

}  // namespace
}  // namespace portico::server
