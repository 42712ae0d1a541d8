#include "yaml/units.h"

#include <limits>

namespace portico::yaml {
namespace {

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();
constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

// Consumes leading decimal digits of *text into *value, saturating at kU64Max.
// Returns false when there is no digit at all.
bool takeDigits(std::string_view* text, uint64_t* value) {
  size_t i = 0;
  uint64_t v = 0;
  while (i < text->size() && isDigit((*text)[i])) {
    uint64_t digit = static_cast<uint64_t>((*text)[i] - '0');
    v = (v > (kU64Max - digit) / 10) ? kU64Max : v * 10 + digit;
    ++i;
  }
  if (i == 0) return false;
  *value = v;
  text->remove_prefix(i);
  return true;
}

uint64_t saturatingMul(uint64_t a, uint64_t b) {
  if (a != 0 && b > kU64Max / a) return kU64Max;
  return a * b;
}

uint64_t saturatingAdd(uint64_t a, uint64_t b) {
  return (a > kU64Max - b) ? kU64Max : a + b;
}

struct DurationUnit {
  std::string_view name;
  uint64_t ms;
};

// Longest names first so "ms" is not read as "m" followed by garbage.
constexpr DurationUnit kDurationUnits[] = {
    {"ms", 1}, {"d", 24 * 3600 * 1000}, {"h", 3600 * 1000}, {"m", 60 * 1000}, {"s", 1000}};

}  // namespace

std::optional<int64_t> parseDurationMs(std::string_view text) {
  uint64_t total = 0;
  if (text.empty()) return std::nullopt;
  // A bare integer is seconds: what most people mean by "timeout: 30".
  bool all_digits = true;
  for (char c : text) all_digits = all_digits && isDigit(c);
  if (all_digits) {
    uint64_t seconds = 0;
    takeDigits(&text, &seconds);
    total = saturatingMul(seconds, 1000);
  } else {
    uint64_t last_unit_ms = kU64Max;
    while (!text.empty()) {
      uint64_t count = 0;
      if (!takeDigits(&text, &count)) return std::nullopt;
      const DurationUnit* unit = nullptr;
      for (const auto& u : kDurationUnits) {
        if (text.substr(0, u.name.size()) == u.name) {
          unit = &u;
          break;
        }
      }
      // Units must strictly decrease ("1h30m", not "30m1h" or "1s1s"): anything else is
      // more likely a typo than an intent.
      if (unit == nullptr || unit->ms >= last_unit_ms) return std::nullopt;
      last_unit_ms = unit->ms;
      text.remove_prefix(unit->name.size());
      total = saturatingAdd(total, saturatingMul(count, unit->ms));
    }
  }
  return total > static_cast<uint64_t>(kI64Max) ? kI64Max : static_cast<int64_t>(total);
}

std::optional<uint64_t> parseSize(std::string_view text) {
  uint64_t count = 0;
  if (!takeDigits(&text, &count)) return std::nullopt;
  uint64_t multiplier = 1;
  if (text.empty()) {
    multiplier = 1;
  } else if (text == "k" || text == "K" || text == "KiB") {
    multiplier = uint64_t{1} << 10;
  } else if (text == "m" || text == "M" || text == "MiB") {
    multiplier = uint64_t{1} << 20;
  } else if (text == "g" || text == "G" || text == "GiB") {
    multiplier = uint64_t{1} << 30;
  } else {
    return std::nullopt;
  }
  return saturatingMul(count, multiplier);
}

std::optional<bool> parseBool(std::string_view text) {
  if (text == "true") return true;
  if (text == "false") return false;
  return std::nullopt;
}

std::optional<int64_t> parseInteger(std::string_view text) {
  bool negative = false;
  if (!text.empty() && text.front() == '-') {
    negative = true;
    text.remove_prefix(1);
  }
  uint64_t magnitude = 0;
  if (!takeDigits(&text, &magnitude) || !text.empty()) return std::nullopt;
  if (negative) {
    if (magnitude > static_cast<uint64_t>(kI64Max)) return std::numeric_limits<int64_t>::min();
    return -static_cast<int64_t>(magnitude);
  }
  return magnitude > static_cast<uint64_t>(kI64Max) ? kI64Max : static_cast<int64_t>(magnitude);
}

std::string formatDuration(int64_t ms) {
  if (ms <= 0) return std::to_string(ms) + "ms";
  if (ms % (3600 * 1000) == 0) return std::to_string(ms / (3600 * 1000)) + "h";
  if (ms % (60 * 1000) == 0) return std::to_string(ms / (60 * 1000)) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string formatSize(uint64_t bytes) {
  if (bytes == 0) return "0";
  if (bytes % (uint64_t{1} << 30) == 0) return std::to_string(bytes >> 30) + "GiB";
  if (bytes % (uint64_t{1} << 20) == 0) return std::to_string(bytes >> 20) + "MiB";
  if (bytes % (uint64_t{1} << 10) == 0) return std::to_string(bytes >> 10) + "KiB";
  return std::to_string(bytes);
}

}  // namespace portico::yaml
