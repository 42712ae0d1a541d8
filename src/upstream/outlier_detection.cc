#include "upstream/outlier_detection.h"

#include <algorithm>

#include "core/log.h"
#include "upstream/cluster_manager.h"
#include "upstream/host_publisher.h"

namespace portico::upstream {

const char* ejectReasonName(EjectReason reason) {
  switch (reason) {
    case EjectReason::Consecutive5xx:
      return "consecutive_5xx";
    case EjectReason::ConsecutiveGatewayErrors:
      return "consecutive_gateway_errors";
    case EjectReason::ConsecutiveConnectFailures:
      break;
  }
  return "consecutive_connect_failures";
}

namespace {

// Adds one to a streak; true when that reached `threshold` (0 = this streak is off).
bool extend(std::atomic<uint32_t>& streak, uint32_t threshold) {
  if (threshold == 0) return false;
  if (streak.fetch_add(1, std::memory_order_relaxed) + 1 != threshold) return false;
  streak.store(0, std::memory_order_relaxed);
  return true;
}

}  // namespace

std::optional<EjectReason> countOutcome(Host& host, const AttemptOutcome& outcome,
                                        const OutlierDetectionConfig& config) {
  Host::FailureStreaks& s = host.streaks();
  const bool response = outcome.kind == AttemptOutcome::Kind::Response;
  const bool local_failure = !response && outcome.kind != AttemptOutcome::Kind::Cancelled;
  const bool is5xx = response && outcome.status >= 500;
  // Gateway errors: the backend's 502/503/504, and failures to reach it at all.
  const bool gateway =
      local_failure || (response && outcome.status >= 502 && outcome.status <= 504);
  std::optional<EjectReason> reason;
  if (!is5xx) {
    s.consecutive_5xx.store(0, std::memory_order_relaxed);
  } else if (extend(s.consecutive_5xx, config.consecutive_5xx)) {
    reason = EjectReason::Consecutive5xx;
  }
  if (!gateway) {
    s.consecutive_gateway.store(0, std::memory_order_relaxed);
  } else if (extend(s.consecutive_gateway, config.consecutive_gateway_errors) && !reason) {
    reason = EjectReason::ConsecutiveGatewayErrors;
  }
  if (!local_failure) {
    if (response) s.consecutive_connect.store(0, std::memory_order_relaxed);
  } else if (extend(s.consecutive_connect, config.consecutive_connect_failures) && !reason) {
    reason = EjectReason::ConsecutiveConnectFailures;
  }
  return reason;
}

OutlierDetector::OutlierDetector(event::EventLoop& main_loop,
                                 const std::vector<std::unique_ptr<ClusterState>>& clusters,
                                 HostPublisher& publisher)
    : loop_(main_loop), clusters_(clusters), publisher_(publisher) {}

OutlierDetector::~OutlierDetector() = default;

size_t OutlierDetector::ejectedCount(size_t cluster_index) const {
  size_t n = 0;
  for (const auto& [key, e] : ejections_) {
    if (key.first == cluster_index && e.ejected) ++n;
  }
  return n;
}

void OutlierDetector::eject(size_t cluster_index, uint32_t host_index, EjectReason reason) {
  if (cluster_index >= clusters_.size()) return;
  ClusterState& cluster = *clusters_[cluster_index];
  const HostPtr found = cluster.findHost(host_index);
  if (!found) return;  // left the cluster (DNS) since the worker reported it
  const OutlierDetectionConfig& config = cluster.config.outlier_detection;
  Host& host = *found;
  Ejection& e = ejections_[{cluster_index, host_index}];
  if (e.ejected) return;  // reports from other workers that raced the first one
  // At least one host may always be ejected: a small cluster would otherwise never eject.
  const size_t allowed =
      std::max<size_t>(1, cluster.hosts.size() * config.max_ejection_percent / 100);
  if (ejectedCount(cluster_index) >= allowed) {
    PLOG_WARN(
        "cluster {}: endpoint {} reached {} but is not ejected: max_ejection_percent {}% "
        "({} of {} endpoints) already out",
        cluster.config.name, host.addressText(), ejectReasonName(reason),
        config.max_ejection_percent, allowed, cluster.hosts.size());
    return;
  }
  ++e.times;
  e.ejected = true;
  ++cluster.stats.health(host_index).ejections;
  const int64_t duration =
      std::min(config.base_ejection_ms * static_cast<int64_t>(e.times), config.max_ejection_ms);
  PLOG_WARN("cluster {}: endpoint {} ejected for {} ms ({}, ejection {})", cluster.config.name,
            host.addressText(), duration, ejectReasonName(reason), e.times);
  if (!e.timer) {
    e.timer = std::make_unique<event::Timer>(
        loop_, [this, cluster_index, host_index] { restore(cluster_index, host_index); });
  }
  e.timer->armAfterMs(duration);
  if (host.setHealthFlag(HealthFlag::OutlierEjected, true)) publisher_.publish(cluster_index);
}

void OutlierDetector::restore(size_t cluster_index, uint32_t host_index) {
  ClusterState& cluster = *clusters_[cluster_index];
  const HostPtr found = cluster.findHost(host_index);
  if (!found) return;
  Host& host = *found;
  Ejection& e = ejections_[{cluster_index, host_index}];
  e.ejected = false;
  host.streaks().reset();
  PLOG_INFO("cluster {}: endpoint {} back from ejection", cluster.config.name, host.addressText());
  if (host.setHealthFlag(HealthFlag::OutlierEjected, false)) publisher_.publish(cluster_index);
}

void OutlierDetector::hostsChanged(size_t cluster_index, const std::vector<HostPtr>& /*added*/,
                                   const std::vector<HostPtr>& removed) {
  // A host that left takes its ejection (and timer) with it; a new host starts with none,
  // even at an address that was ejected before (it is a new Host with a new index).
  for (const HostPtr& h : removed) ejections_.erase({cluster_index, h->index()});
}

}  // namespace portico::upstream
