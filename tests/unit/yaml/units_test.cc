#include "yaml/units.h"

#include <gtest/gtest.h>

#include <limits>

namespace portico::yaml {
namespace {

TEST(ConfigUnitsTest, DurationsWithUnits) {
  EXPECT_EQ(parseDurationMs("250ms"), 250);
  EXPECT_EQ(parseDurationMs("10s"), 10000);
  EXPECT_EQ(parseDurationMs("2m"), 120000);
  EXPECT_EQ(parseDurationMs("1h"), 3600000);
  EXPECT_EQ(parseDurationMs("365d"), 365LL * 24 * 3600 * 1000);
  EXPECT_EQ(parseDurationMs("0s"), 0);
  EXPECT_EQ(parseDurationMs("1m30s"), 90000);
  EXPECT_EQ(parseDurationMs("1h2m3s4ms"), 3723004);
}

TEST(ConfigUnitsTest, BareIntegerDurationIsSeconds) {
  EXPECT_EQ(parseDurationMs("30"), 30000);
  EXPECT_EQ(parseDurationMs("0"), 0);
}

TEST(ConfigUnitsTest, DurationRejectsMalformedText) {
  for (const char* bad : {"", "abc", "s", "10 s", "-5s", "+5s", "1.5s", "10sec", "5w", "1s1s",
                          "30m1h", "10S", "ms", "1h "}) {
    EXPECT_FALSE(parseDurationMs(bad).has_value()) << bad;
  }
}

TEST(ConfigUnitsTest, DurationSaturatesInsteadOfOverflowing) {
  EXPECT_EQ(parseDurationMs("99999999999999999999h"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(parseDurationMs("9223372036854775807"), std::numeric_limits<int64_t>::max());
}

TEST(ConfigUnitsTest, Sizes) {
  EXPECT_EQ(parseSize("0"), 0u);
  EXPECT_EQ(parseSize("4096"), 4096u);
  EXPECT_EQ(parseSize("8k"), 8192u);
  EXPECT_EQ(parseSize("8K"), 8192u);
  EXPECT_EQ(parseSize("8KiB"), 8192u);
  EXPECT_EQ(parseSize("1m"), 1048576u);
  EXPECT_EQ(parseSize("1M"), 1048576u);
  EXPECT_EQ(parseSize("1MiB"), 1048576u);
  EXPECT_EQ(parseSize("2g"), 2147483648u);
  EXPECT_EQ(parseSize("2G"), 2147483648u);
  EXPECT_EQ(parseSize("2GiB"), 2147483648u);
}

TEST(ConfigUnitsTest, SizeRejectsMalformedText) {
  for (const char* bad :
       {"", "k", "8kb", "8KB", "8 KiB", "8Ki", "-1", "1.5M", "8XB", "0x10", "8T"}) {
    EXPECT_FALSE(parseSize(bad).has_value()) << bad;
  }
}

TEST(ConfigUnitsTest, SizeSaturates) {
  EXPECT_EQ(parseSize("99999999999999999999G"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(parseSize("17179869184G"), std::numeric_limits<uint64_t>::max());
}

TEST(ConfigUnitsTest, BoolsAreOnlyTrueAndFalse) {
  EXPECT_EQ(parseBool("true"), true);
  EXPECT_EQ(parseBool("false"), false);
  for (const char* bad : {"yes", "no", "on", "off", "True", "FALSE", "1", "0", ""}) {
    EXPECT_FALSE(parseBool(bad).has_value()) << bad;
  }
}

TEST(ConfigUnitsTest, Integers) {
  EXPECT_EQ(parseInteger("0"), 0);
  EXPECT_EQ(parseInteger("42"), 42);
  EXPECT_EQ(parseInteger("-7"), -7);
  EXPECT_EQ(parseInteger("007"), 7);
  EXPECT_EQ(parseInteger("99999999999999999999"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(parseInteger("-99999999999999999999"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(parseInteger("-9223372036854775808"), std::numeric_limits<int64_t>::min());
  for (const char* bad : {"", "-", "+1", "1.0", "1e3", "0x10", " 1", "1 ", "1_000", "--1"}) {
    EXPECT_FALSE(parseInteger(bad).has_value()) << bad;
  }
}

TEST(ConfigUnitsTest, FormatPicksLargestExactUnit) {
  EXPECT_EQ(formatDuration(3600000), "1h");
  EXPECT_EQ(formatDuration(90000), "90s");
  EXPECT_EQ(formatDuration(120000), "2m");
  EXPECT_EQ(formatDuration(1), "1ms");
  EXPECT_EQ(formatDuration(0), "0ms");
  EXPECT_EQ(formatSize(65536), "64KiB");
  EXPECT_EQ(formatSize(1048576), "1MiB");
  EXPECT_EQ(formatSize(uint64_t{1} << 40), "1024GiB");
  EXPECT_EQ(formatSize(1000), "1000");
  EXPECT_EQ(formatSize(0), "0");
}

TEST(ConfigUnitsTest, FormattedValuesParseBack) {
  for (int64_t ms : {1, 250, 1000, 90000, 3600000, 86400000}) {
    EXPECT_EQ(parseDurationMs(formatDuration(ms)), ms);
  }
  for (uint64_t bytes :
       {uint64_t{1}, uint64_t{256}, uint64_t{4096}, uint64_t{1} << 20, uint64_t{3} << 30}) {
    EXPECT_EQ(parseSize(formatSize(bytes)), bytes);
  }
}

}  // namespace
}  // namespace portico::yaml
