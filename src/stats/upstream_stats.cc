#include "stats/upstream_stats.h"

namespace portico::stats {

const char* upstreamErrorName(UpstreamError error) {
  switch (error) {
    case UpstreamError::ConnectFailure:
      return "connect_failure";
    case UpstreamError::ConnectTimeout:
      return "connect_timeout";
    case UpstreamError::Reset:
      return "reset";
    case UpstreamError::ResponseTimeout:
      return "response_timeout";
  }
  return "?";
}

const char* refusalName(Refusal refusal) {
  switch (refusal) {
    case Refusal::MaxRequests:
      return "overflow_max_requests";
    case Refusal::MaxPendingRequests:
      return "overflow_max_pending_requests";
    case Refusal::AtConnectionLimit:
      return "overflow_connection_limit";
    case Refusal::NoHealthyHost:
      return "no_healthy_endpoint";
    case Refusal::QueueTimeout:
      return "queue_timeout";
  }
  return "?";
}

void EndpointTotals::add(const EndpointStats& s) {
  requests += s.requests.value();
  for (size_t i = 0; i < responses.size(); ++i) responses[i] += s.responses[i].value();
  for (size_t i = 0; i < errors.size(); ++i) errors[i] += s.errors[i].value();
  latency.add(s.latency);
  connections_opened += s.connections_opened.value();
  streams += s.streams.value();
  streams_reused += s.streams_reused.value();
  connections += s.connections.value();
  idle_connections += s.idle_connections.value();
}

void EndpointTotals::add(const EndpointTotals& t) {
  requests += t.requests;
  for (size_t i = 0; i < responses.size(); ++i) responses[i] += t.responses[i];
  for (size_t i = 0; i < errors.size(); ++i) errors[i] += t.errors[i];
  latency.add(t.latency);
  connections_opened += t.connections_opened;
  streams += t.streams;
  streams_reused += t.streams_reused;
  connections += t.connections;
  idle_connections += t.idle_connections;
}

double EndpointTotals::reuseRatio() const {
  return streams == 0 ? 0.0 : static_cast<double>(streams_reused) / static_cast<double>(streams);
}

std::shared_ptr<WorkerClusterStats> ClusterStats::addWorker() {
  auto block = std::make_shared<WorkerClusterStats>();
  std::lock_guard lock(mutex_);
  workers_.push_back(block);
  return block;
}

EndpointHealthStats& ClusterStats::health(uint32_t host_index) {
  if (host_index >= health_.size()) health_.resize(host_index + 1);
  return health_[host_index];
}

EndpointHealthStats ClusterStats::healthOf(uint32_t host_index) const {
  return host_index < health_.size() ? health_[host_index] : EndpointHealthStats{};
}

EndpointTotals ClusterStats::endpoint(uint32_t host_index) const {
  EndpointTotals t;
  std::lock_guard lock(mutex_);
  for (const auto& w : workers_) {
    if (const EndpointStats* s = w->findEndpoint(host_index)) t.add(*s);
  }
  return t;
}

ClusterTotals ClusterStats::cluster() const {
  ClusterTotals t;
  std::lock_guard lock(mutex_);
  for (const auto& w : workers_) {
    t.retries += w->retries.value();
    t.queued += w->queued.value();
    for (size_t i = 0; i < t.refusals.size(); ++i) t.refusals[i] += w->refusals[i].value();
  }
  return t;
}

}  // namespace portico::stats
