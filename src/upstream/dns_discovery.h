#pragma once
// DnsDiscovery: the endpoints of `dns:` and `srv:` entries, resolved on the main thread's
// loop (DnsResolver, c-ares) and re-resolved when their TTL (bounded by dns.min_ttl and
// dns.max_ttl) runs out.
//
// The main thread owns each cluster's host list (ClusterState::hosts): static endpoints
// first, then each DNS entry's last good endpoints, in config order. When a resolution
// changes that list, updateHostList (host_list.h) keeps the Host objects that stay and makes
// new ones with new indices; observers (health checks, outlier detection) hear what was added
// and removed; then the HostPublisher hands every worker the new set.
//
// Failures (timeout, SERVFAIL, NXDOMAIN, no records) keep the entry's last good endpoints:
// one warning when an entry starts failing, one line when it resolves again, and retries
// after failureRetryMs (dns_records.h). An entry that never resolved contributes nothing, so a
// cluster of only such entries has no host and its requests get 503 until one resolves.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "event/event_loop.h"
#include "upstream/cluster_manager.h"
#include "upstream/dns_resolver.h"
#include "upstream/host_list.h"
#include "upstream/host_publisher.h"

namespace portico::upstream {

class DnsDiscovery {
 public:
  // Everything outlives the discovery; all of it runs on `loop`'s thread.
  DnsDiscovery(event::EventLoop& loop, const std::vector<std::unique_ptr<ClusterState>>& clusters,
               HostPublisher& publisher, std::vector<HostListObserver*> observers);
  ~DnsDiscovery();
  DnsDiscovery(const DnsDiscovery&) = delete;
  DnsDiscovery& operator=(const DnsDiscovery&) = delete;

  // Starts resolving every entry now.
  void start();
  // Stops (drain): queries in flight are cancelled, hosts stay as they are.
  void stop();
  size_t entryCount() const;

 private:
  struct ClusterDns;
  struct Entry;
  void resolve(Entry& entry);
  void resolveSrvTargets(Entry& entry, uint64_t round, SrvAnswer answer);
  void succeeded(Entry& entry, std::vector<EndpointConfig> endpoints, uint32_t ttl_s);
  void failed(Entry& entry, const std::string& why);
  void rebuild(ClusterDns& cluster);

  event::EventLoop& loop_;
  HostPublisher& publisher_;
  std::vector<HostListObserver*> observers_;
  std::vector<std::unique_ptr<ClusterDns>> clusters_;
  bool stopped_ = false;
};

}  // namespace portico::upstream
