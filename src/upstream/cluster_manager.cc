#include "upstream/cluster_manager.h"

#include <algorithm>

#include "upstream/sticky.h"

namespace portico::upstream {

ClusterState::ClusterState(ClusterConfig c) : config(std::move(c)) {
  for (size_t i = 0; i < config.endpoints.size(); ++i) {
    hosts.push_back(std::make_shared<Host>(config.endpoints[i], next_host_index++));
  }
  initial_hosts = HostSet::build(hosts, config.panic_threshold_percent);
}

ThreadLocalCluster::ThreadLocalCluster(event::EventLoop& loop, ClusterState& state, uint64_t seed)
    : loop_(loop),
      state_(state),
      lb_(makeLoadBalancer(state.config, seed)),
      serve_queue_(
          loop, [](void* self) { static_cast<ThreadLocalCluster*>(self)->serveQueue(); }, this),
      stats_(state.stats.addWorker()) {
  setHosts(state.initial_hosts);
}

ThreadLocalCluster::~ThreadLocalCluster() {
  pools_.clear();  // their last calls to onCapacityFreed() find the queue and task alive
}

void ThreadLocalCluster::onCapacityFreed() {
  if (!queue_.empty()) serve_queue_.schedule();
}

bool ThreadLocalCluster::anyCandidateHasRoom() {
  for (const HostPtr& h : hosts_->candidates()) {
    if (pool(*h).hasCapacity()) return true;
  }
  return false;
}

void ThreadLocalCluster::serveQueue() {
  // Each waiter at most once per turn: one that finds no room after all goes back to the
  // front and stays there until the next release.
  for (size_t turns = queue_.size(); turns > 0 && !queue_.empty(); --turns) {
    if (!anyCandidateHasRoom()) return;
    queue_.popFront()->onQueueTurn();
  }
}

HostPtr ClusterState::findHost(uint32_t host_index) const {
  for (const HostPtr& h : hosts) {
    if (h->index() == host_index) return h;
  }
  return nullptr;
}

void ThreadLocalCluster::setHosts(HostSetPtr hosts) {
  if (hosts_ && hosts_->all() != hosts->all()) {
    std::vector<bool> stays(hosts->indexLimit(), false);
    for (const HostPtr& h : hosts->all()) stays[h->index()] = true;
    for (const HostPtr& h : hosts_->all()) {
      const uint32_t i = h->index();
      if ((i >= stays.size() || !stays[i]) && i < pools_.size() && pools_[i]) {
        pools_[i]->closeIdle();
      }
    }
  }
  hosts_ = std::move(hosts);
  lb_->setHosts(hosts_);
  sticky_candidates_.clear();
  if (state_.config.sticky) {
    for (const HostPtr& h : hosts_->candidates()) sticky_candidates_[stickyHostId(*h)] = h.get();
  }
  // A host back in the set may have room that no release will announce.
  onCapacityFreed();
}

ConnPool& ThreadLocalCluster::pool(Host& host) {
  const size_t i = host.index();
  if (i >= pools_.size()) {
    pools_.resize(i + 1);
    pool_hosts_.resize(i + 1);
  }
  if (!pools_[i]) {
    for (const HostPtr& h : hosts_->all()) {
      if (h.get() == &host) pool_hosts_[i] = h;
    }
    pools_[i] = std::make_unique<ConnPool>(loop_, state_.config, host.config(), *state_.transport,
                                           kUpstreamBufferLimit, &state_.load,
                                           &stats_->endpoint(host.index()));
    pools_[i]->setCapacityListener([this] { onCapacityFreed(); });
  }
  return *pools_[i];
}

HostChoice ThreadLocalCluster::chooseHost(const std::optional<uint64_t>& hash_key,
                                          HostExclusions& tried,
                                          const std::optional<uint64_t>& sticky_id) {
  HostChoice choice;
  if (hosts_->candidates().empty()) {
    choice.refusal = HostChoice::Refusal::NoHealthyHost;
    return choice;
  }
  const bool limited = state_.config.max_connections_per_endpoint != 0 ||
                       state_.config.circuit_breakers.max_connections != 0;
  if (sticky_id) {
    auto it = sticky_candidates_.find(*sticky_id);
    if (it != sticky_candidates_.end() && !tried.has(*it->second) &&
        (!limited || pool(*it->second).hasCapacity())) {
      choice.host = it->second;
      return choice;
    }
  }
  LoadBalancerContext context;
  context.hash_key = hash_key;
  if (!limited) {
    context.avoid = &tried;
    choice.host = lb_->pick(context);
    if (choice.host == nullptr) {
      tried.clear();
      choice.host = lb_->pick(context);
    }
    return choice;
  }
  // Hosts at their connection limit are avoided for this pick only: one may have room again
  // for a later attempt.
  auto build = [&] {
    scratch_.reset(hosts_->indexLimit());
    bool any_room = false;
    for (const HostPtr& h : hosts_->candidates()) {
      const bool room = pool(*h).hasCapacity();
      any_room = any_room || room;
      if (!room || tried.has(*h)) scratch_.add(*h);
    }
    return any_room;
  };
  if (!build()) {
    choice.refusal = HostChoice::Refusal::AtCapacity;
    return choice;
  }
  context.avoid = &scratch_;
  choice.host = lb_->pick(context);
  if (choice.host == nullptr) {
    tried.clear();
    build();
    choice.host = lb_->pick(context);
  }
  if (choice.host == nullptr) choice.refusal = HostChoice::Refusal::AtCapacity;
  return choice;
}

void ThreadLocalCluster::attemptOutcome(Host& host, const AttemptOutcome& outcome) {
  const OutlierDetectionConfig& outliers = state_.config.outlier_detection;
  if (outliers.enabled) {
    if (std::optional<EjectReason> reason = countOutcome(host, outcome, outliers)) {
      if (state_.outlier_reporter != nullptr) {
        state_.outlier_reporter->reportOutlier(state_.index, host.index(), *reason);
      }
    }
  }
  if (outcome.kind != AttemptOutcome::Kind::Cancelled) lb_->onAttemptOutcome(host, outcome);
  recordOutcome(stats_->endpoint(host.index()), outcome);
}

void ThreadLocalCluster::recordOutcome(stats::EndpointStats& s, const AttemptOutcome& outcome) {
  using stats::UpstreamError;
  auto error = [&](UpstreamError e) { s.errors[static_cast<size_t>(e)].add(); };
  switch (outcome.kind) {
    case AttemptOutcome::Kind::Response:
      s.responses[std::clamp<size_t>(outcome.status / 100, 1, 5)].add();
      s.latency.record(outcome.latency_ms);
      break;
    case AttemptOutcome::Kind::ConnectFailure:
      error(UpstreamError::ConnectFailure);
      break;
    case AttemptOutcome::Kind::Timeout:
      error(outcome.during_connect ? UpstreamError::ConnectTimeout
                                   : UpstreamError::ResponseTimeout);
      break;
    case AttemptOutcome::Kind::Reset:
      error(UpstreamError::Reset);
      break;
    case AttemptOutcome::Kind::Cancelled:
      break;  // the client left: says nothing about the endpoint
  }
}

ClusterManager::ClusterManager(event::EventLoop& loop,
                               const std::vector<std::unique_ptr<ClusterState>>& states,
                               uint64_t seed) {
  for (const auto& s : states) {
    clusters_.push_back(std::make_unique<ThreadLocalCluster>(loop, *s, seed));
  }
}

void ClusterManager::closeIdle() {
  for (auto& c : clusters_) c->forEachPool([](ConnPool& p) { p.closeIdle(); });
}

PoolStats ClusterManager::totals() const {
  PoolStats t;
  for (const auto& c : clusters_) {
    c->forEachPool([&](const ConnPool& p) {
      const PoolStats& s = p.stats();
      t.connections_opened += s.connections_opened;
      t.connections_reused += s.connections_reused;
      t.connect_failures += s.connect_failures;
      t.connect_timeouts += s.connect_timeouts;
      t.streams_opened += s.streams_opened;
    });
  }
  return t;
}

}  // namespace portico::upstream
