#include "upstream/http_check_response.h"

#include <gtest/gtest.h>

#include <string>

namespace portico::upstream {
namespace {

using Verdict = HttpCheckResponse::Verdict;

// Feeds `bytes` in pieces of `step` (the verdict must not depend on where reads split).
Verdict feedSplit(HttpCheckResponse& r, const std::string& bytes, size_t step) {
  Verdict v = Verdict::Pending;
  for (size_t i = 0; i < bytes.size() && v == Verdict::Pending; i += step) {
    v = r.feed(bytes.data() + i, std::min(step, bytes.size() - i));
  }
  return v;
}

TEST(HttpCheckResponseTest, ExpectedStatusIsHealthyAtTheHead) {
  HealthCheckConfig config;
  for (size_t step : {1u, 7u, 1000u}) {
    HttpCheckResponse r(config, false);
    // The verdict comes with the head: the body never has to arrive.
    EXPECT_EQ(feedSplit(r, "HTTP/1.1 204 No Content\r\n\r\n", step), Verdict::Healthy) << step;
  }
}

TEST(HttpCheckResponseTest, UnexpectedStatusSaysWhich) {
  HealthCheckConfig config;
  HttpCheckResponse r(config, false);
  EXPECT_EQ(feedSplit(r, "HTTP/1.1 503 Unavailable\r\nContent-Length: 4\r\n\r\ndown", 5),
            Verdict::Unhealthy);
  EXPECT_EQ(r.reason(), "status 503");
}

TEST(HttpCheckResponseTest, RangesAndSingleCodes) {
  HealthCheckConfig config;
  config.expected_statuses = {{200, 200}, {418, 418}};
  HttpCheckResponse teapot(config, false);
  EXPECT_EQ(feedSplit(teapot, "HTTP/1.1 418 Teapot\r\nContent-Length: 0\r\n\r\n", 3),
            Verdict::Healthy);
  HttpCheckResponse redirect(config, false);
  EXPECT_EQ(feedSplit(redirect, "HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n", 3),
            Verdict::Unhealthy);
}

TEST(HttpCheckResponseTest, InterimResponseIsSkipped) {
  HealthCheckConfig config;
  HttpCheckResponse r(config, false);
  EXPECT_EQ(feedSplit(r,
                      "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\n"
                      "Content-Length: 0\r\n\r\n",
                      4),
            Verdict::Healthy);
}

TEST(HttpCheckResponseTest, BodyContainsAcrossChunksAndReads) {
  HealthCheckConfig config;
  config.body_contains = "status: ready";
  const std::string response =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "9\r\nstatus: r\r\n4\r\neady\r\n0\r\n\r\n";
  for (size_t step : {1u, 3u, 1000u}) {
    HttpCheckResponse r(config, false);
    EXPECT_EQ(feedSplit(r, response, step), Verdict::Healthy) << step;
  }
}

TEST(HttpCheckResponseTest, BodyMismatchAtTheEndOfTheBody) {
  HealthCheckConfig config;
  config.body_contains = "ready";
  HttpCheckResponse r(config, false);
  EXPECT_EQ(feedSplit(r, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nstarting", 4),
            Verdict::Unhealthy);
  EXPECT_EQ(r.reason(), "body mismatch");
}

TEST(HttpCheckResponseTest, BodyDelimitedByCloseIsJudgedAtEof) {
  HealthCheckConfig config;
  config.body_contains = "ready";
  HttpCheckResponse ok(config, false);
  EXPECT_EQ(feedSplit(ok, "HTTP/1.1 200 OK\r\n\r\nnot yet", 4), Verdict::Pending);
  EXPECT_EQ(ok.onEof(), Verdict::Unhealthy);
  EXPECT_EQ(ok.reason(), "body mismatch");
}

TEST(HttpCheckResponseTest, BodyReadIsBounded) {
  HealthCheckConfig config;
  config.body_contains = "needle";
  HttpCheckResponse r(config, false);
  std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n";
  response += std::string(kHealthCheckBodyLimit, 'x');
  // Judged at the limit, without waiting for (or storing) the rest of the body.
  EXPECT_EQ(feedSplit(r, response, 4096), Verdict::Unhealthy);
  EXPECT_NE(r.reason().find("body mismatch"), std::string::npos);
}

TEST(HttpCheckResponseTest, HeadResponseHasNoBody) {
  HealthCheckConfig config;
  config.head = true;
  HttpCheckResponse r(config, true);
  EXPECT_EQ(feedSplit(r, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", 5), Verdict::Healthy);
}

TEST(HttpCheckResponseTest, InvalidResponsesAndEarlyClose) {
  HealthCheckConfig config;
  HttpCheckResponse garbage(config, false);
  EXPECT_EQ(feedSplit(garbage, "this is not HTTP\r\n\r\n", 100), Verdict::Unhealthy);
  EXPECT_EQ(garbage.reason().rfind("invalid response: ", 0), 0u) << garbage.reason();

  HttpCheckResponse cut(config, false);
  EXPECT_EQ(feedSplit(cut, "HTTP/1.1 200 O", 100), Verdict::Pending);
  EXPECT_EQ(cut.onEof(), Verdict::Unhealthy);
  EXPECT_EQ(cut.reason(), "connection closed before a complete response");

  HttpCheckResponse silent(config, false);
  EXPECT_EQ(silent.onEof(), Verdict::Unhealthy);
}

}  // namespace
}  // namespace portico::upstream
