#pragma once
// Scalar syntax shared by every configuration key: durations, byte sizes, booleans and
// integers. These only parse; the allowed range is a property of each key and is checked by
// the loader, so one bad value gets one message that names both the syntax and the bounds.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portico::yaml {

// "250ms", "10s", "2m", "1h", compounds with units in decreasing order ("1m30s"), or a bare
// integer meaning seconds ("30"). No sign, no fractions, no spaces. Values too large for
// int64 saturate, so the caller's range check reports them instead of a syntax error.
std::optional<int64_t> parseDurationMs(std::string_view text);

// Bytes: "4096", or an integer with a binary suffix: k|K|KiB (x1024), m|M|MiB, g|G|GiB.
// Saturates like parseDurationMs.
std::optional<uint64_t> parseSize(std::string_view text);

// Exactly "true" or "false": YAML 1.1 spellings (yes/no/on/off) are deliberately refused,
// because "off" is also a legal enum value in several keys and ambiguity there is a footgun.
std::optional<bool> parseBool(std::string_view text);

// Decimal digits with an optional leading '-'. Saturates at the int64 limits.
std::optional<int64_t> parseInteger(std::string_view text);

// The largest unit that represents the value exactly: 3600000 -> "1h", 90000 -> "90s".
std::string formatDuration(int64_t ms);
// 65536 -> "64KiB", 1048576 -> "1MiB", 1000 -> "1000".
std::string formatSize(uint64_t bytes);

}  // namespace portico::yaml
