#include "upstream/host_set.h"

#include <algorithm>
#include <map>

namespace portico::upstream {

namespace {

// Weights and ramp factors of every host, read once like the health flags.
void computeWeights(HostSet& set, std::vector<uint32_t>& weights, std::vector<uint32_t>& ramps,
                    bool& ramping, const SlowStartConfig* slow_start, int64_t now_ms) {
  weights.assign(set.indexLimit(), kWeightScale);
  ramps.assign(set.indexLimit(), kWeightScale);
  for (const HostPtr& h : set.all()) {
    uint32_t ramp = kWeightScale;
    const int64_t since = h->healthySinceMs();
    if (slow_start != nullptr && since != Host::kHealthyFromStart && h->healthy()) {
      ramp = slowStartScaled(*slow_start, now_ms - since);
    }
    ramps[h->index()] = ramp;
    // weight <= 1000: at most 1000 x kWeightScale, far inside 32 bits.
    weights[h->index()] = std::max<uint32_t>(1, h->weight() * ramp);
  }
  for (const HostPtr& h : set.candidates()) ramping = ramping || ramps[h->index()] < kWeightScale;
}

}  // namespace

HostSetPtr HostSet::build(std::vector<HostPtr> hosts, uint32_t panic_threshold_percent,
                          const SlowStartConfig* slow_start, int64_t now_ms) {
  auto set = buildMembers(std::move(hosts), panic_threshold_percent);
  computeWeights(*set, set->weights_, set->ramps_, set->ramping_, slow_start, now_ms);
  return set;
}

std::shared_ptr<HostSet> HostSet::buildMembers(std::vector<HostPtr> hosts,
                                               uint32_t panic_threshold_percent) {
  auto set = std::make_shared<HostSet>();
  set->all_ = std::move(hosts);
  // Each host's flags are read once, so the levels and the candidates agree.
  std::map<uint32_t, std::vector<std::pair<HostPtr, bool>>> levels;
  for (const HostPtr& h : set->all_) {
    set->index_limit_ = std::max(set->index_limit_, h->index() + 1);
    const bool healthy = h->healthy();
    if (healthy) ++set->healthy_count_;
    levels[h->priority()].emplace_back(h, healthy);
  }
  for (const auto& [priority, members] : levels) {
    size_t healthy = 0;
    for (const auto& [host, ok] : members) {
      if (!ok) continue;
      set->candidates_.push_back(host);
      ++healthy;
    }
    const bool enough =
        healthy > 0 && healthy * 100 >= members.size() * uint64_t{panic_threshold_percent};
    if (enough) return set;
  }
  if (panic_threshold_percent == 0) return set;  // no level with a healthy host: none
  set->panic_ = !set->all_.empty();
  set->candidates_ = set->all_;
  return set;
}

}  // namespace portico::upstream
