#pragma once
// What a cluster's active health check is configured to do (`health_check:` of a cluster):
// plain data, validated by config/health_check_loader.cc, run by upstream/health_checker.h.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace portico::upstream {

// Http: an HTTP/1.1 request. Tcp: connecting is the check. Grpc: grpc.health.v1.Health/Check
// over the cluster's HTTP/2 (h2 or h2c clusters).
enum class HealthCheckType { Http, Tcp, Grpc };

// An inclusive range of response statuses that count as healthy ("200-399", or "204" alone).
struct StatusRange {
  uint16_t low = 200;
  uint16_t high = 399;
};

struct HealthCheckConfig {
  HealthCheckType type = HealthCheckType::Http;
  int64_t interval_ms = 5000;
  // Random extra delay added to each interval, so checks of many endpoints (and of several
  // Portico processes) do not fall on the same instant. Either a fixed duration or, when
  // jitter_ms is negative, jitter_percent of the interval.
  int64_t jitter_ms = -1;
  uint32_t jitter_percent = 10;
  int64_t timeout_ms = 2000;         // connect (+ TLS handshake) + request + response
  uint32_t healthy_threshold = 2;    // consecutive successes that make an unhealthy host healthy
  uint32_t unhealthy_threshold = 3;  // consecutive failures that make a healthy host unhealthy
  // type http only.
  std::string path = "/";
  bool head = false;  // HEAD instead of GET
  std::string host;   // Host header; empty = the endpoint's address as written
  std::vector<StatusRange> expected_statuses = {StatusRange{}};
  std::string body_contains;  // empty = the body is not looked at
  // type grpc only: the service named in HealthCheckRequest; empty = the server as a whole.
  std::string service;

  int64_t jitterMs() const {
    return jitter_ms >= 0 ? jitter_ms : interval_ms * static_cast<int64_t>(jitter_percent) / 100;
  }
  bool statusExpected(uint16_t status) const {
    for (const StatusRange& r : expected_statuses) {
      if (status >= r.low && status <= r.high) return true;
    }
    return false;
  }
};

// How much of a response body a check reads looking for body_contains; a match must start
// within it. Bounds the memory a check holds whatever the backend sends.
inline constexpr size_t kHealthCheckBodyLimit = 64 * 1024;

}  // namespace portico::upstream
