// `http2.attack_limits` of a listener, read on its own: the listener's `http2:` block hands its
// `attack_limits` field to loadHttp2AttackLimits().

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/sections.h"

namespace portico::config::internal {
namespace {

using ::testing::HasSubstr;

struct Loaded {
  http::Http2AttackLimits limits;
  std::vector<std::string> errors;
};

Loaded load(const std::string& yaml) {
  Loaded out;
  Reader reader("test.yaml");
  YAML::Node node = YAML::Load(yaml);
  Field field{"listeners[0].http2.attack_limits", node, node.Mark()};
  loadHttp2AttackLimits(reader, field, &out.limits);
  for (const yaml::ConfigError& e : reader.takeErrors()) out.errors.push_back(e.toString());
  return out;
}

TEST(Http2AttackLimitsLoader, AnEmptyMappingKeepsTheDefaults) {
  Loaded l = load("{}");
  EXPECT_TRUE(l.errors.empty());
  const http::Http2AttackLimits defaults;
  EXPECT_EQ(l.limits.rapid_reset.rate, defaults.rapid_reset.rate);
  EXPECT_EQ(l.limits.rapid_reset.burst, defaults.rapid_reset.burst);
  EXPECT_EQ(l.limits.ping.burst, defaults.ping.burst);
  EXPECT_EQ(l.limits.max_continuation_frames, defaults.max_continuation_frames);
  EXPECT_EQ(l.limits.header_list_factor, defaults.header_list_factor);
}

TEST(Http2AttackLimitsLoader, EveryKeyIsRead) {
  Loaded l = load(
      "rapid_reset: { rate: 1, burst: 2 }\n"
      "ping: { rate: 3, burst: 4 }\n"
      "settings: { rate: 5, burst: 6 }\n"
      "empty_data: { rate: 7, burst: 8 }\n"
      "window_update: { rate: 9, burst: 10 }\n"
      "priority: { rate: 0, burst: 12 }\n"
      "max_continuation_frames: 13\n"
      "header_list_factor: 14\n");
  ASSERT_TRUE(l.errors.empty()) << l.errors[0];
  EXPECT_EQ(l.limits.rapid_reset.rate, 1u);
  EXPECT_EQ(l.limits.rapid_reset.burst, 2u);
  EXPECT_EQ(l.limits.ping.rate, 3u);
  EXPECT_EQ(l.limits.ping.burst, 4u);
  EXPECT_EQ(l.limits.settings.rate, 5u);
  EXPECT_EQ(l.limits.settings.burst, 6u);
  EXPECT_EQ(l.limits.empty_data.rate, 7u);
  EXPECT_EQ(l.limits.empty_data.burst, 8u);
  EXPECT_EQ(l.limits.window_update.rate, 9u);
  EXPECT_EQ(l.limits.window_update.burst, 10u);
  EXPECT_EQ(l.limits.priority.rate, 0u);
  EXPECT_EQ(l.limits.priority.burst, 12u);
  EXPECT_EQ(l.limits.max_continuation_frames, 13u);
  EXPECT_EQ(l.limits.header_list_factor, 14u);
}

TEST(Http2AttackLimitsLoader, OneKeyOfARateLimitKeepsTheOtherDefault) {
  Loaded l = load("ping: { burst: 10 }\n");
  ASSERT_TRUE(l.errors.empty());
  EXPECT_EQ(l.limits.ping.burst, 10u);
  EXPECT_EQ(l.limits.ping.rate, http::Http2AttackLimits{}.ping.rate);
}

TEST(Http2AttackLimitsLoader, BadValuesNameTheirKey) {
  Loaded l = load(
      "ping: { rate: -1, burst: 0 }\n"
      "settings: 5\n"
      "max_continuation_frames: 0\n"
      "header_list_factor: 1\n"
      "rapid_rest: { rate: 1 }\n"
      "priority: { rate: 1, brust: 2 }\n");
  ASSERT_EQ(l.errors.size(), 7u);
  const std::string all = ::testing::PrintToString(l.errors);
  EXPECT_THAT(all, HasSubstr("attack_limits.ping.rate"));
  EXPECT_THAT(all, HasSubstr("attack_limits.ping.burst"));
  EXPECT_THAT(all, HasSubstr("attack_limits.settings: expected a mapping"));
  EXPECT_THAT(all, HasSubstr("attack_limits.max_continuation_frames"));
  EXPECT_THAT(all, HasSubstr("attack_limits.header_list_factor"));
  EXPECT_THAT(all, HasSubstr("rapid_rest"));
  EXPECT_THAT(all, HasSubstr("brust"));
}

}  // namespace
}  // namespace portico::config::internal
