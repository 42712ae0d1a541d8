#include "admin/status_report.h"

#include <cmath>

namespace portico::admin {

namespace {

using json = nlohmann::ordered_json;

// Latency to a tenth of a millisecond: the buckets are no finer than that.
double rounded(double ms) {
  return std::round(ms * 10) / 10;
}

json latencyJson(const stats::LatencySummary& l) {
  return {{"count", l.count},
          {"mean", rounded(l.meanMs())},
          {"p50", rounded(l.quantileMs(0.50))},
          {"p99", rounded(l.quantileMs(0.99))},
          {"max", l.max_ms}};
}

// What clusters and endpoints share: counters, errors by class, latency, pool gauges.
void addTraffic(json& out, const stats::EndpointTotals& t) {
  json responses = json::object();
  for (size_t c = 1; c < t.responses.size(); ++c)
    responses[std::to_string(c) + "xx"] = t.responses[c];
  json errors = json::object();
  for (size_t e = 0; e < stats::kUpstreamErrors; ++e) {
    errors[stats::upstreamErrorName(static_cast<stats::UpstreamError>(e))] = t.errors[e];
  }
  out["counters"] = {{"requests", t.requests},
                     {"responses", responses},
                     {"connections_opened", t.connections_opened},
                     {"streams", t.streams},
                     {"streams_reused", t.streams_reused}};
  out["errors"] = errors;
  out["latency_ms"] = latencyJson(t.latency);
  const uint64_t idle = std::min(t.idle_connections, t.connections);
  out["gauges"] = {{"connections_active", t.connections - idle},
                   {"connections_idle", idle},
                   {"pool_reuse_ratio", std::round(t.reuseRatio() * 1000) / 1000}};
}

json clusterJson(const upstream::ClusterState& cluster) {
  json endpoints = json::array();
  stats::EndpointTotals all;
  uint64_t active = 0;
  uint64_t ejections = 0;
  uint64_t check_failures = 0;
  for (const upstream::HostPtr& host : cluster.hosts) {
    const stats::EndpointTotals t = cluster.stats.endpoint(host->index());
    const stats::EndpointHealthStats h = cluster.stats.healthOf(host->index());
    all.add(t);
    active += host->activeRequests();
    ejections += h.ejections;
    check_failures += h.active_check_failures;
    json e = {{"address", host->addressText()},
              {"weight", host->weight()},
              {"priority", host->priority()},
              {"health", healthName(*host)},
              {"active_requests", host->activeRequests()}};
    addTraffic(e, t);
    e["counters"]["ejections"] = h.ejections;
    e["counters"]["active_check_failures"] = h.active_check_failures;
    endpoints.push_back(std::move(e));
  }
  const stats::ClusterTotals totals = cluster.stats.cluster();
  json refusals = json::object();
  for (size_t r = 0; r < stats::kRefusals; ++r) {
    refusals[stats::refusalName(static_cast<stats::Refusal>(r))] = totals.refusals[r];
  }
  json c = {{"name", cluster.config.name}, {"lb", lbName(cluster.config.lb)}};
  addTraffic(c, all);
  c["counters"]["retries"] = totals.retries;
  c["counters"]["queued"] = totals.queued;
  c["counters"]["ejections"] = ejections;
  c["counters"]["active_check_failures"] = check_failures;
  c["refusals"] = refusals;
  c["gauges"]["active_requests"] = active;
  c["endpoints"] = std::move(endpoints);
  return c;
}

}  // namespace

const char* healthName(const upstream::Host& host) {
  if (host.hasHealthFlag(upstream::HealthFlag::FailedActiveCheck)) return "failed_active_check";
  if (host.hasHealthFlag(upstream::HealthFlag::OutlierEjected)) return "ejected";
  return "healthy";
}

const char* lbName(upstream::LbPolicy policy) {
  switch (policy) {
    case upstream::LbPolicy::RoundRobin:
      return "round_robin";
    case upstream::LbPolicy::WeightedRoundRobin:
      return "weighted_round_robin";
    case upstream::LbPolicy::Random:
      return "random";
    case upstream::LbPolicy::LeastRequest:
      return "least_request";
    case upstream::LbPolicy::PeakEwma:
      return "peak_ewma";
    case upstream::LbPolicy::RingHash:
      return "ring_hash";
    case upstream::LbPolicy::Maglev:
      return "maglev";
  }
  return "?";
}

nlohmann::ordered_json statusReport(
    const ServerStatus& server,
    const std::vector<std::unique_ptr<upstream::ClusterState>>& clusters) {
  json listeners = json::array();
  for (const ListenerStatus& l : server.listeners) {
    listeners.push_back({{"name", l.name}, {"address", l.address}});
  }
  json cluster_list = json::array();
  for (const auto& c : clusters) cluster_list.push_back(clusterJson(*c));
  return {{"server",
           {{"version", server.version},
            {"uptime_seconds", server.uptime_ms / 1000},
            {"workers", server.workers},
            {"draining", server.draining},
            {"connections", server.connections}}},
          {"listeners", std::move(listeners)},
          {"clusters", std::move(cluster_list)}};
}

}  // namespace portico::admin
