// The `lb` values random, least_request and peak_ewma and their settings sections; the
// cluster keys `slow_start:` and `queue_timeout:` (max_connections_per_endpoint's queue).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"

namespace portico::config {
namespace {

using ::testing::ElementsAre;

// Lines 1-11: a listener and a cluster "app" whose keys start on line 12 (4-space indent).
const std::string kHead = R"(listeners:
  - name: public
    address: 127.0.0.1:8080
    virtual_hosts:
      - name: default
        domains: ["*"]
        routes:
          - proxy: {cluster: app}
clusters:
  - name: app
    endpoints: [{address: 127.0.0.1:8081}, {address: 127.0.0.1:8082}])";

LoadResult load(const std::string& cluster_keys) {
  return loadConfigString(kHead + "\n" + cluster_keys, "test.yaml");
}

std::vector<std::string> errorLines(const LoadResult& r) {
  std::vector<std::string> out;
  for (const ConfigError& e : r.errors) out.push_back(e.toString());
  return out;
}

const upstream::ClusterConfig& app(const LoadResult& r) {
  return r.config->clusters.at(0);
}

TEST(LbAlgorithmsLoaderTest, PoliciesAndDefaults) {
  LoadResult r = load("    lb: random");
  ASSERT_TRUE(r.config) << errorLines(r).size();
  EXPECT_EQ(app(r).lb, upstream::LbPolicy::Random);
  r = load("    lb: least_request");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(app(r).lb, upstream::LbPolicy::LeastRequest);
  EXPECT_EQ(app(r).least_request_choices, 2u);
  r = load("    lb: peak_ewma");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(app(r).lb, upstream::LbPolicy::PeakEwma);
  EXPECT_EQ(app(r).peak_ewma.decay_ms, 10000);
  EXPECT_EQ(app(r).peak_ewma.failure_penalty_ms, 1000);
}

TEST(LbAlgorithmsLoaderTest, Settings) {
  LoadResult r = load("    lb: least_request\n    least_request: {choices: 3}");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(app(r).least_request_choices, 3u);
  r = load("    lb: peak_ewma\n    peak_ewma: {decay: 30s, failure_penalty: 2s}");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(app(r).peak_ewma.decay_ms, 30000);
  EXPECT_EQ(app(r).peak_ewma.failure_penalty_ms, 2000);
}

TEST(LbAlgorithmsLoaderTest, UnknownPolicyListsTheChoices) {
  EXPECT_THAT(errorLines(load("    lb: fastest")),
              ElementsAre("test.yaml:12:9: clusters[0].lb: expected one of: round_robin, "
                          "weighted_round_robin, random, least_request, peak_ewma, ring_hash, "
                          "maglev; got "
                          "\"fastest\""));
}

TEST(LbAlgorithmsLoaderTest, SettingsOutOfRange) {
  EXPECT_THAT(errorLines(load("    lb: least_request\n    least_request: {choices: 1}")),
              ElementsAre("test.yaml:13:30: clusters[0].least_request.choices: must be "
                          "between 2 and 10, got 1"));
  EXPECT_THAT(errorLines(load("    lb: peak_ewma\n    peak_ewma: {decay: 10ms}")),
              ElementsAre("test.yaml:13:24: clusters[0].peak_ewma.decay: must be between "
                          "100ms and 1h, got 10ms"));
  EXPECT_THAT(errorLines(load("    lb: peak_ewma\n    peak_ewma: {decai: 1s}")),
              ElementsAre("test.yaml:13:17: clusters[0].peak_ewma.decai: unknown key; expected "
                          "one of: decay, failure_penalty"));
}

TEST(LbAlgorithmsLoaderTest, SettingsForAnotherPolicyAreAnError) {
  // They would silently do nothing.
  EXPECT_THAT(errorLines(load("    peak_ewma: {decay: 5s}")),
              ElementsAre("test.yaml:12:16: clusters[0].peak_ewma: peak_ewma settings apply "
                          "only with lb: peak_ewma"));
  EXPECT_THAT(errorLines(load("    lb: random\n    least_request: {choices: 2}")),
              ElementsAre("test.yaml:13:20: clusters[0].least_request: least_request settings "
                          "apply only with lb: least_request"));
}

// --- slow_start and queue_timeout -----------------------------------------------------------

TEST(SlowStartLoaderTest, OffUnlessConfiguredAndDefaults) {
  LoadResult r = load("    lb: random");
  ASSERT_TRUE(r.config);
  EXPECT_FALSE(r.config->clusters[0].slow_start);
  r = load("    slow_start: {window: 30s}");
  ASSERT_TRUE(r.config) << errorLines(r).size();
  const upstream::SlowStartConfig& s = *r.config->clusters[0].slow_start;
  EXPECT_EQ(s.window_ms, 30000);
  EXPECT_DOUBLE_EQ(s.aggression, 1.0);
  EXPECT_EQ(s.min_weight_percent, 10u);
  r = load("    slow_start: {window: 1m, aggression: 1.5, min_weight_percent: 25}");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->clusters[0].slow_start->window_ms, 60000);
  EXPECT_DOUBLE_EQ(r.config->clusters[0].slow_start->aggression, 1.5);
  EXPECT_EQ(r.config->clusters[0].slow_start->min_weight_percent, 25u);
}

TEST(SlowStartLoaderTest, BadValues) {
  EXPECT_THAT(errorLines(load("    slow_start: {aggression: 2}")),
              ElementsAre("test.yaml:12:17: clusters[0].slow_start.window: missing required "
                          "key"));
  EXPECT_THAT(errorLines(load("    slow_start: {window: 10s, aggression: fast}")),
              ElementsAre("test.yaml:12:43: clusters[0].slow_start.aggression: expected a "
                          "number like 1.5, got \"fast\""));
  EXPECT_THAT(errorLines(load("    slow_start: {window: 10s, aggression: 0.01}")),
              ElementsAre("test.yaml:12:43: clusters[0].slow_start.aggression: must be "
                          "between 0.1 and 10, got 0.01"));
  EXPECT_THAT(errorLines(load("    slow_start: {window: 10ms}")),
              ElementsAre("test.yaml:12:26: clusters[0].slow_start.window: must be between "
                          "1s and 1h, got 10ms"));
}

TEST(SlowStartLoaderTest, NotWithConsistentHashing) {
  EXPECT_THAT(errorLines(load("    lb: maglev\n    slow_start: {window: 10s}")),
              ElementsAre("test.yaml:13:17: clusters[0].slow_start: slow_start does not apply "
                          "to consistent hashing (lb ring_hash or maglev): a host takes its "
                          "keys at once; use another lb or remove slow_start"));
}

TEST(QueueTimeoutLoaderTest, DefaultsToTheConnectTimeout) {
  LoadResult r = load("    lb: random");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->clusters[0].queue_timeout_ms, 5000);
  r = load("    timeouts: {connect: 2s}");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->clusters[0].queue_timeout_ms, 2000);
  r = load("    timeouts: {connect: 2s}\n    queue_timeout: 250ms");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->clusters[0].queue_timeout_ms, 250);
  r = load("    queue_timeout: 0s");  // no queue: 503 at once
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->clusters[0].queue_timeout_ms, 0);
  EXPECT_THAT(errorLines(load("    queue_timeout: 2h")),
              ElementsAre("test.yaml:12:20: clusters[0].queue_timeout: must be at most 1h, "
                          "got 2h"));
}

}  // namespace
}  // namespace portico::config
