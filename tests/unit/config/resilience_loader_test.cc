// A cluster's `retry:` and `circuit_breakers:` sections, read on their own.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/sections.h"

namespace portico::config::internal {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

template <typename T>
struct Loaded {
  T value;
  std::vector<std::string> errors;
};

Loaded<upstream::RetryPolicy> retry(const std::string& yaml) {
  Loaded<upstream::RetryPolicy> out;
  Reader reader("test.yaml");
  YAML::Node node = YAML::Load(yaml);
  loadRetry(reader, Field{"clusters[0].retry", node, node.Mark()}, &out.value);
  for (const yaml::ConfigError& e : reader.takeErrors()) out.errors.push_back(e.toString());
  return out;
}

Loaded<upstream::CircuitBreakerLimits> breakers(const std::string& yaml) {
  Loaded<upstream::CircuitBreakerLimits> out;
  Reader reader("test.yaml");
  YAML::Node node = YAML::Load(yaml);
  loadCircuitBreakers(reader, Field{"clusters[0].circuit_breakers", node, node.Mark()}, &out.value);
  for (const yaml::ConfigError& e : reader.takeErrors()) out.errors.push_back(e.toString());
  return out;
}

TEST(ResilienceLoader, RetryConditionsStatusesAndTimings) {
  auto r = retry(
      "{on: [reset, timeout, 503, 504], non_idempotent: true, per_try_timeout: 2s,"
      " backoff: {base: 10ms, max: 1s}, budget: {percent: 30, min_concurrency: 4}}");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0];
  EXPECT_EQ(r.value.on, upstream::kRetryReset | upstream::kRetryTimeout | upstream::kRetryStatus);
  EXPECT_THAT(r.value.statuses, ElementsAre(503, 504));
  EXPECT_TRUE(r.value.non_idempotent);
  EXPECT_EQ(r.value.per_try_timeout_ms, 2000);
  EXPECT_EQ(r.value.backoff_base_ms, 10);
  EXPECT_EQ(r.value.backoff_max_ms, 1000);
  EXPECT_EQ(r.value.budget_percent, 30u);
  EXPECT_EQ(r.value.budget_min_concurrency, 4u);
}

TEST(ResilienceLoader, DefaultsRetryOnlyWhatCannotHaveHadAnEffect) {
  auto r = retry("{}");
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.value.on, upstream::kRetryConnectFailure | upstream::kRetryRefusedStream);
  EXPECT_FALSE(r.value.non_idempotent);
  EXPECT_EQ(r.value.per_try_timeout_ms, 0);
}

TEST(ResilienceLoader, RejectsUnknownConditionsAndStatusesOutside5xx) {
  auto bad = retry("{on: [reset, sometimes]}");
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_THAT(bad.errors[0], HasSubstr("expected one of: connect-failure, refused-stream, reset, "
                                       "timeout; got \"sometimes\""));
  auto status = retry("{on: [404]}");
  ASSERT_EQ(status.errors.size(), 1u);
  EXPECT_THAT(status.errors[0], HasSubstr("clusters[0].retry.on[0]"));
  auto backoff = retry("{backoff: {base: 1s, max: 10ms}}");
  ASSERT_EQ(backoff.errors.size(), 1u);
  EXPECT_THAT(backoff.errors[0], HasSubstr("backoff.max must not be below backoff.base"));
}

TEST(ResilienceLoader, CircuitBreakers) {
  auto b = breakers(
      "{max_connections: 100, max_pending_requests: 0, max_requests: 50,"
      " max_retries: 5}");
  ASSERT_TRUE(b.errors.empty()) << b.errors[0];
  EXPECT_EQ(b.value.max_connections, 100u);
  EXPECT_EQ(b.value.max_pending_requests, 0u);
  EXPECT_EQ(b.value.max_requests, 50u);
  EXPECT_EQ(b.value.max_retries, 5u);
  auto bad = breakers("{max_requests: -1, max_sessions: 2}");
  EXPECT_EQ(bad.errors.size(), 2u);
}

}  // namespace
}  // namespace portico::config::internal
