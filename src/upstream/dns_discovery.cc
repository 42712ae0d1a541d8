#include "upstream/dns_discovery.h"

#include <algorithm>
#include <set>

#include "core/log.h"

namespace portico::upstream {

// One `dns:` or `srv:` entry of a cluster.
struct DnsDiscovery::Entry {
  Entry(DnsDiscovery& owner_, ClusterDns& cluster_, const DnsEndpointConfig& config_)
      : owner(owner_),
        cluster(cluster_),
        config(config_),
        timer(owner_.loop_, [this] { owner.resolve(*this); }) {}
  DnsDiscovery& owner;
  ClusterDns& cluster;
  const DnsEndpointConfig& config;
  event::Timer timer;                                    // the next resolution
  std::optional<std::vector<EndpointConfig>> last_good;  // unset: never resolved
  uint32_t failures = 0;                                 // in a row
  uint64_t round = 0;  // tells this resolution's SRV target answers from a stale one's
  // SRV target lookups of the current round.
  size_t targets_pending = 0;
  std::map<std::string, std::vector<ResolvedAddress>> targets;
  std::vector<SrvRecord> records;
  std::vector<std::string> unresolved_targets;
  std::vector<std::string> last_unresolved;

  std::string describe() const {
    return config.kind == DnsEndpointConfig::Kind::Srv
               ? "srv " + config.name
               : "dns " + config.name + ":" + std::to_string(config.port);
  }
};

struct DnsDiscovery::ClusterDns {
  size_t index = 0;
  ClusterState* state = nullptr;
  std::unique_ptr<DnsResolver> resolver;
  std::vector<std::unique_ptr<Entry>> entries;
};

namespace {

std::string listOf(const std::vector<EndpointConfig>& endpoints) {
  std::string out;
  for (const EndpointConfig& e : endpoints) {
    if (!out.empty()) out += ", ";
    out += e.address_text;
    if (e.weight != 1) out += " weight " + std::to_string(e.weight);
    if (e.priority != 0) out += " priority " + std::to_string(e.priority);
  }
  return out.empty() ? "none" : out;
}

// Same endpoints, whatever the order (DNS servers rotate their answers).
bool sameEndpoints(const std::vector<EndpointConfig>& a, const std::vector<EndpointConfig>& b) {
  auto keys = [](const std::vector<EndpointConfig>& list) {
    std::multiset<std::tuple<std::string, uint32_t, uint32_t, std::string>> out;
    for (const EndpointConfig& e : list) {
      out.emplace(e.address_text, e.weight, e.priority, e.hostname);
    }
    return out;
  };
  return keys(a) == keys(b);
}

}  // namespace

DnsDiscovery::DnsDiscovery(event::EventLoop& loop,
                           const std::vector<std::unique_ptr<ClusterState>>& clusters,
                           HostPublisher& publisher, std::vector<HostListObserver*> observers)
    : loop_(loop), publisher_(publisher), observers_(std::move(observers)) {
  for (size_t c = 0; c < clusters.size(); ++c) {
    ClusterState& state = *clusters[c];
    if (state.config.dns_endpoints.empty()) continue;
    auto cluster = std::make_unique<ClusterDns>();
    cluster->index = c;
    cluster->state = &state;
    std::string error;
    cluster->resolver = DnsResolver::create(loop_, state.config.dns, &error);
    if (!cluster->resolver) {
      PLOG_ERROR("cluster {}: DNS discovery cannot start: {}; its dns/srv endpoints stay empty",
                 state.config.name, error);
      continue;
    }
    for (const DnsEndpointConfig& e : state.config.dns_endpoints) {
      cluster->entries.push_back(std::make_unique<Entry>(*this, *cluster, e));
    }
    clusters_.push_back(std::move(cluster));
  }
}

DnsDiscovery::~DnsDiscovery() {
  stop();
}

size_t DnsDiscovery::entryCount() const {
  size_t n = 0;
  for (const auto& c : clusters_) n += c->entries.size();
  return n;
}

void DnsDiscovery::start() {
  for (auto& cluster : clusters_) {
    const DnsConfig& dns = cluster->state->config.dns;
    PLOG_INFO("cluster {}: DNS discovery of {} name(s) via {}", cluster->state->config.name,
              cluster->entries.size(),
              dns.resolvers.empty() ? std::string("/etc/resolv.conf")
                                    : fmt::format("{}", fmt::join(dns.resolvers, ", ")));
    for (auto& entry : cluster->entries) resolve(*entry);
  }
}

void DnsDiscovery::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& cluster : clusters_) {
    for (auto& entry : cluster->entries) entry->timer.disarm();
    cluster->resolver.reset();  // cancels what is in flight, without callbacks
  }
}

void DnsDiscovery::resolve(Entry& entry) {
  if (stopped_) return;
  const uint64_t round = ++entry.round;
  DnsResolver& resolver = *entry.cluster.resolver;
  if (entry.config.kind == DnsEndpointConfig::Kind::Address) {
    resolver.resolveAddresses(
        entry.config.name, entry.config.family,
        [this, &entry, round](const std::string& error, std::vector<ResolvedAddress> addresses) {
          if (round != entry.round) return;
          if (!error.empty()) return failed(entry, error);
          uint32_t ttl = UINT32_MAX;
          for (const ResolvedAddress& a : addresses) ttl = std::min(ttl, a.ttl_s);
          succeeded(entry, endpointsFromAddresses(entry.config, addresses), ttl);
        });
    return;
  }
  resolver.resolveSrv(entry.config.name,
                      [this, &entry, round](const std::string& error, SrvAnswer answer) {
                        if (round != entry.round) return;
                        if (!error.empty()) return failed(entry, error);
                        resolveSrvTargets(entry, round, std::move(answer));
                      });
}

// Targets the server gave addresses for (additional section) are used as they are; the
// others are looked up (A/AAAA per the entry's family), all at once.
void DnsDiscovery::resolveSrvTargets(Entry& entry, uint64_t round, SrvAnswer answer) {
  entry.records = std::move(answer.records);
  entry.targets.clear();
  entry.unresolved_targets.clear();
  std::set<std::string> wanted;
  for (const SrvRecord& r : entry.records) {
    if (r.port == 0 || r.target.empty()) continue;
    auto it = answer.addresses.find(r.target);
    if (it != answer.addresses.end()) {
      entry.targets[r.target] = it->second;
    } else {
      wanted.insert(r.target);
    }
  }
  auto finish = [this, &entry] {
    uint32_t ttl = UINT32_MAX;
    for (const SrvRecord& r : entry.records) ttl = std::min(ttl, r.ttl_s);
    for (const auto& [name, addresses] : entry.targets) {
      for (const ResolvedAddress& a : addresses) ttl = std::min(ttl, a.ttl_s);
    }
    std::vector<EndpointConfig> endpoints = endpointsFromSrv(entry.records, entry.targets);
    if (entry.unresolved_targets != entry.last_unresolved) {
      if (!entry.unresolved_targets.empty()) {
        PLOG_WARN("cluster {}: {}: target(s) {} did not resolve; left out",
                  entry.cluster.state->config.name, entry.describe(),
                  fmt::join(entry.unresolved_targets, ", "));
      }
      entry.last_unresolved = entry.unresolved_targets;
    }
    if (endpoints.empty()) {
      return failed(entry, "no SRV target resolved to an address");
    }
    succeeded(entry, std::move(endpoints), ttl);
  };
  entry.targets_pending = wanted.size();
  if (wanted.empty()) return finish();
  for (const std::string& target : wanted) {
    entry.cluster.resolver->resolveAddresses(
        target, entry.config.family,
        [&entry, round, target, finish](const std::string& error,
                                        std::vector<ResolvedAddress> addresses) {
          if (round != entry.round) return;
          if (error.empty()) {
            entry.targets[target] = std::move(addresses);
          } else {
            entry.unresolved_targets.push_back(target + " (" + error + ")");
          }
          if (--entry.targets_pending == 0) finish();
        });
  }
}

void DnsDiscovery::succeeded(Entry& entry, std::vector<EndpointConfig> endpoints, uint32_t ttl_s) {
  const ClusterState& state = *entry.cluster.state;
  const int64_t next_ms = boundTtlMs(ttl_s, state.config.dns);
  if (entry.failures > 0) {
    PLOG_INFO("cluster {}: {} resolves again after {} failure(s)", state.config.name,
              entry.describe(), entry.failures);
  }
  entry.failures = 0;
  const bool changed = !entry.last_good || !sameEndpoints(*entry.last_good, endpoints);
  if (changed) {
    PLOG_INFO("cluster {}: {} -> {} (next lookup in {} ms)", state.config.name, entry.describe(),
              listOf(endpoints), next_ms);
    entry.last_good = std::move(endpoints);
    rebuild(entry.cluster);
  } else {
    PLOG_DEBUG("cluster {}: {} unchanged (next lookup in {} ms)", state.config.name,
               entry.describe(), next_ms);
  }
  if (!stopped_) entry.timer.armAfterMs(next_ms);
}

void DnsDiscovery::failed(Entry& entry, const std::string& why) {
  const ClusterState& state = *entry.cluster.state;
  ++entry.failures;
  const int64_t retry_ms = failureRetryMs(entry.failures, state.config.dns);
  if (entry.failures == 1) {
    // Once per streak: a DNS server that is down would otherwise log at every retry.
    if (entry.last_good) {
      PLOG_WARN("cluster {}: {} failed: {}; keeping its last good endpoints ({}), retrying",
                state.config.name, entry.describe(), why, listOf(*entry.last_good));
    } else {
      PLOG_WARN("cluster {}: {} failed: {}; no endpoints from it yet, retrying", state.config.name,
                entry.describe(), why);
    }
  } else {
    PLOG_DEBUG("cluster {}: {} failed again ({}): {}; next try in {} ms", state.config.name,
               entry.describe(), entry.failures, why, retry_ms);
  }
  if (!stopped_) entry.timer.armAfterMs(retry_ms);
}

void DnsDiscovery::rebuild(ClusterDns& cluster) {
  ClusterState& state = *cluster.state;
  std::vector<EndpointConfig> desired = state.config.endpoints;
  for (const auto& entry : cluster.entries) {
    if (entry->last_good)
      desired.insert(desired.end(), entry->last_good->begin(), entry->last_good->end());
  }
  HostListChange change = updateHostList(state.hosts, desired, &state.next_host_index);
  if (!change.changed()) return;
  state.hosts = std::move(change.hosts);
  for (HostListObserver* o : observers_)
    o->hostsChanged(cluster.index, change.added, change.removed);
  publisher_.publish(cluster.index);
}

}  // namespace portico::upstream
