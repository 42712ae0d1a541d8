#include "upstream/host_publisher.h"

#include "core/log.h"

namespace portico::upstream {

HostSetPtr HostPublisher::publish(size_t cluster_index) {
  ClusterState& cluster = *clusters_.at(cluster_index);
  HostSetPtr set = HostSet::build(cluster.hosts, cluster.config.panic_threshold_percent);
  if (panic_.size() <= cluster_index) panic_.resize(cluster_index + 1, false);
  const std::string& name = cluster.config.name;
  if (set->panic() && !panic_[cluster_index]) {
    PLOG_WARN(
        "cluster {}: only {} of {} endpoints healthy, below panic_threshold {}%: "
        "balancing over all of them",
        name, set->healthyCount(), set->all().size(), cluster.config.panic_threshold_percent);
  } else if (!set->panic() && panic_[cluster_index]) {
    PLOG_INFO("cluster {}: out of panic, {} of {} endpoints healthy", name, set->healthyCount(),
              set->all().size());
  } else if (set->all().empty()) {
    PLOG_WARN("cluster {}: no endpoints (none of its DNS names resolved yet): requests get 503",
              name);
  } else if (set->candidates().empty()) {
    PLOG_WARN("cluster {}: no healthy endpoint (panic_threshold 0): requests get 503", name);
  } else {
    PLOG_INFO("cluster {}: {} of {} endpoints healthy, {} taking traffic", name,
              set->healthyCount(), set->all().size(), set->candidates().size());
  }
  panic_[cluster_index] = set->panic();
  sink_.deliverHostSet(cluster_index, set);
  return set;
}

}  // namespace portico::upstream
