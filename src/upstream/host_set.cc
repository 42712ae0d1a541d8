#include "upstream/host_set.h"

#include <algorithm>
#include <map>

namespace portico::upstream {

HostSetPtr HostSet::build(std::vector<HostPtr> hosts, uint32_t panic_threshold_percent) {
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
