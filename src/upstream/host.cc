#include "upstream/host.h"

namespace portico::upstream {

bool Host::setHealthFlag(HealthFlag flag, bool on) {
  const uint32_t bit = static_cast<uint32_t>(flag);
  const uint32_t before = on ? health_.fetch_or(bit, std::memory_order_relaxed)
                             : health_.fetch_and(~bit, std::memory_order_relaxed);
  const uint32_t after = on ? (before | bit) : (before & ~bit);
  return (before == 0) != (after == 0);
}

}  // namespace portico::upstream
