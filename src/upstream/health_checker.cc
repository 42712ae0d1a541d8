#include "upstream/health_checker.h"

#include "core/log.h"

namespace portico::upstream {
namespace {

const char* typeName(HealthCheckType type) {
  switch (type) {
    case HealthCheckType::Http:
      return "http";
    case HealthCheckType::Tcp:
      return "tcp";
    case HealthCheckType::Grpc:
      return "grpc";
  }
  return "?";
}

}  // namespace

HealthChecker::EndpointCheck::EndpointCheck(HealthChecker& owner_, size_t index,
                                            ClusterState& cluster_, HostPtr host_)
    : owner(owner_),
      cluster_index(index),
      cluster(cluster_),
      host_ref(std::move(host_)),
      host(*host_ref),
      state(cluster_.config.health_check->healthy_threshold,
            cluster_.config.health_check->unhealthy_threshold),
      timer(owner_.loop_, [this] { owner.probe(*this); }) {}

HealthChecker::HealthChecker(event::EventLoop& loop,
                             const std::vector<std::unique_ptr<ClusterState>>& clusters,
                             HostPublisher& publisher)
    : loop_(loop), clusters_(clusters), publisher_(publisher), random_(std::random_device{}()) {
  for (size_t c = 0; c < clusters.size(); ++c) {
    ClusterState& cluster = *clusters[c];
    if (!cluster.config.health_check) continue;
    for (const HostPtr& host : cluster.hosts) {
      checks_.push_back(std::make_unique<EndpointCheck>(*this, c, cluster, host));
    }
  }
}

HealthChecker::~HealthChecker() {
  stop();
}

void HealthChecker::start() {
  started_ = true;
  const ClusterState* last = nullptr;
  for (auto& check : checks_) {
    if (&check->cluster != last) {
      const HealthCheckConfig& config = *check->cluster.config.health_check;
      PLOG_INFO("cluster {}: {} health checks of {} endpoint(s) every {} ms",
                check->cluster.config.name, typeName(config.type), check->cluster.hosts.size(),
                config.interval_ms);
      last = &check->cluster;
    }
    armNext(*check, 0);
  }
}

void HealthChecker::hostsChanged(size_t cluster_index, const std::vector<HostPtr>& added,
                                 const std::vector<HostPtr>& removed) {
  ClusterState& cluster = *clusters_.at(cluster_index);
  if (!cluster.config.health_check) return;
  // A removed host's check goes with its timer and probe (this never runs from a probe's
  // callback: DNS answers arrive on their own).
  std::erase_if(checks_, [&](const std::unique_ptr<EndpointCheck>& check) {
    if (check->cluster_index != cluster_index) return false;
    for (const HostPtr& h : removed) {
      if (h.get() == &check->host) return true;
    }
    return false;
  });
  for (const HostPtr& h : added) {
    checks_.push_back(std::make_unique<EndpointCheck>(*this, cluster_index, cluster, h));
    if (started_ && !stopped_) armNext(*checks_.back(), 0);
  }
}

void HealthChecker::stop() {
  stopped_ = true;
  for (auto& check : checks_) {
    check->timer.disarm();
    check->probe.reset();
  }
}

void HealthChecker::armNext(EndpointCheck& check, int64_t base_ms) {
  int64_t jitter = check.cluster.config.health_check->jitterMs();
  int64_t extra = 0;
  if (jitter > 0) extra = std::uniform_int_distribution<int64_t>(0, jitter)(random_);
  check.timer.armAfterMs(base_ms + extra);
}

void HealthChecker::probe(EndpointCheck& check) {
  if (stopped_) return;
  check.probe = std::make_unique<HealthProbe>(
      loop_, check.cluster, check.host,
      [this, &check](bool healthy, const std::string& why) { onResult(check, healthy, why); });
  check.probe->start();
}

void HealthChecker::onResult(EndpointCheck& check, bool healthy, const std::string& why) {
  // The probe is on the stack (this runs from its callback): free it after this turn.
  if (check.probe) loop_.deferredDelete(std::move(check.probe));
  const HealthCheckConfig& config = *check.cluster.config.health_check;
  const std::string& cluster = check.cluster.config.name;
  const std::string& endpoint = check.host.addressText();
  if (!healthy) ++check.cluster.stats.health(check.host.index()).active_check_failures;
  switch (check.state.record(healthy)) {
    case HealthState::Change::None:
      PLOG_DEBUG("cluster {}: health check of {}: {}", cluster, endpoint, healthy ? "ok" : why);
      break;
    case HealthState::Change::BecameUnhealthy:
      PLOG_WARN("cluster {}: endpoint {} is unhealthy after {} failed health checks (last: {})",
                cluster, endpoint, config.unhealthy_threshold, why);
      if (check.host.setHealthFlag(HealthFlag::FailedActiveCheck, true)) {
        publisher_.publish(check.cluster_index);
      }
      break;
    case HealthState::Change::BecameHealthy:
      PLOG_INFO("cluster {}: endpoint {} is healthy again after {} passed health checks", cluster,
                endpoint, config.healthy_threshold);
      if (check.host.setHealthFlag(HealthFlag::FailedActiveCheck, false)) {
        publisher_.publish(check.cluster_index);
      }
      break;
  }
  if (!stopped_) armNext(check, config.interval_ms);
}

}  // namespace portico::upstream
