#include "upstream/slow_start.h"

#include <algorithm>
#include <cmath>

namespace portico::upstream {

uint32_t slowStartScaled(const SlowStartConfig& config, int64_t time_in_set_ms) {
  if (time_in_set_ms < 0 || time_in_set_ms >= config.window_ms || config.window_ms <= 0) {
    return kWeightScale;
  }
  const double progress =
      static_cast<double>(time_in_set_ms) / static_cast<double>(config.window_ms);
  const double curve = std::pow(progress, 1.0 / std::max(config.aggression, 0.01));
  const double factor = std::max(config.min_weight_percent / 100.0, curve);
  const auto scaled = static_cast<uint32_t>(std::lround(factor * kWeightScale));
  return std::clamp<uint32_t>(scaled, 1, kWeightScale);
}

int64_t rampTickMs(const SlowStartConfig& config) {
  return std::clamp<int64_t>(config.window_ms / 10, 100, 1000);
}

}  // namespace portico::upstream
