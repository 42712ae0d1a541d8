#include "upstream/host_publisher.h"

#include <algorithm>

#include "core/log.h"

namespace portico::upstream {

HostPublisher::HostPublisher(const std::vector<std::unique_ptr<ClusterState>>& clusters,
                             HostSetSink& sink, event::EventLoop* loop, Clock now_ms)
    : clusters_(clusters), sink_(sink), now_ms_(std::move(now_ms)) {
  // The hosts a process starts with are healthy from the start: never ramped.
  records_.resize(clusters_.size());
  for (size_t i = 0; i < clusters_.size(); ++i) {
    ClusterRecord& r = records_[i];
    for (const HostPtr& h : clusters_[i]->hosts) {
      if (r.healthy.size() <= h->index()) r.healthy.resize(h->index() + 1, false);
      r.healthy[h->index()] = h->healthy();
    }
  }
  if (loop != nullptr) {
    ramp_timer_ = std::make_unique<event::Timer>(*loop, [this] {
      advanceRamps();
      armRampTimer();
    });
  }
}

HostPublisher::~HostPublisher() = default;

HostSetPtr HostPublisher::build(size_t cluster_index) {
  ClusterState& cluster = *clusters_.at(cluster_index);
  if (records_.size() <= cluster_index) records_.resize(cluster_index + 1);
  ClusterRecord& record = records_[cluster_index];
  const std::optional<SlowStartConfig>& slow = cluster.config.slow_start;
  const int64_t now = now_ms_();
  // A host joins when it turns healthy, or when it was not in the last set at all (DNS: new
  // hosts get new indices). Stamped even without slow start: cheap, and true.
  std::vector<bool> healthy_now(record.healthy.size(), false);
  for (const HostPtr& h : cluster.hosts) {
    const uint32_t i = h->index();
    if (healthy_now.size() <= i) healthy_now.resize(i + 1, false);
    const bool known = i < record.healthy.size();
    const bool was_healthy = known && record.healthy[i];
    healthy_now[i] = h->healthy();
    if (healthy_now[i] && !was_healthy) h->setHealthySinceMs(now);
  }
  record.healthy = std::move(healthy_now);
  HostSetPtr set = HostSet::build(cluster.hosts, cluster.config.panic_threshold_percent,
                                  slow ? &*slow : nullptr, now);
  record.ramping = set->ramping();
  if (record.ramping) armRampTimer();
  return set;
}

HostSetPtr HostPublisher::publish(size_t cluster_index) {
  const bool was_panic = cluster_index < records_.size() && records_[cluster_index].panic;
  HostSetPtr set = build(cluster_index);
  ClusterState& cluster = *clusters_[cluster_index];
  const std::string& name = cluster.config.name;
  if (set->panic() && !was_panic) {
    PLOG_WARN(
        "cluster {}: only {} of {} endpoints healthy, below panic_threshold {}%: "
        "balancing over all of them",
        name, set->healthyCount(), set->all().size(), cluster.config.panic_threshold_percent);
  } else if (!set->panic() && was_panic) {
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
  if (set->ramping()) {
    PLOG_INFO("cluster {}: slow start: {} ramping up over {} ms", name,
              std::count_if(set->ramps().begin(), set->ramps().end(),
                            [](uint32_t r) { return r < kWeightScale; }),
              cluster.config.slow_start->window_ms);
  }
  records_[cluster_index].panic = set->panic();
  sink_.deliverHostSet(cluster_index, set);
  return set;
}

size_t HostPublisher::advanceRamps() {
  size_t republished = 0;
  for (size_t i = 0; i < records_.size(); ++i) {
    if (!records_[i].ramping) continue;
    HostSetPtr set = build(i);
    if (!set->ramping()) {
      PLOG_INFO("cluster {}: slow start over: every endpoint at its full weight",
                clusters_[i]->config.name);
    }
    records_[i].panic = set->panic();
    sink_.deliverHostSet(i, std::move(set));
    ++republished;
  }
  return republished;
}

void HostPublisher::armRampTimer() {
  if (ramp_timer_ == nullptr || ramp_timer_->armed()) return;
  int64_t tick = 0;
  for (size_t i = 0; i < records_.size(); ++i) {
    if (!records_[i].ramping) continue;
    const int64_t t = rampTickMs(*clusters_[i]->config.slow_start);
    tick = tick == 0 ? t : std::min(tick, t);
  }
  if (tick > 0) ramp_timer_->armAfterMs(tick);
}

}  // namespace portico::upstream
