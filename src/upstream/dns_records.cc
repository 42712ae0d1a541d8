#include "upstream/dns_records.h"

#include <algorithm>
#include <set>

namespace portico::upstream {

int64_t boundTtlMs(uint32_t ttl_s, const DnsConfig& config) {
  const int64_t ms = int64_t{ttl_s} * 1000;
  return std::clamp(ms, config.min_ttl_ms, config.max_ttl_ms);
}

int64_t failureRetryMs(uint32_t failures, const DnsConfig& config) {
  const int64_t cap = std::max(config.min_ttl_ms, std::min(config.max_ttl_ms, kMaxFailureRetryMs));
  int64_t delay = config.min_ttl_ms;
  for (uint32_t i = 1; i < failures && delay < cap; ++i) delay *= 2;
  return std::min(delay, cap);
}

namespace {

EndpointConfig endpointAt(const net::Address& ip, uint16_t port, uint32_t weight, uint32_t priority,
                          const std::string& hostname) {
  EndpointConfig endpoint;
  endpoint.hostname = hostname;
  endpoint.address = ip;
  if (endpoint.address.family() == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&endpoint.address.storage)->sin_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in6*>(&endpoint.address.storage)->sin6_port = htons(port);
  }
  endpoint.address_text = endpoint.address.toString();
  endpoint.weight = weight;
  endpoint.priority = priority;
  return endpoint;
}

}  // namespace

std::vector<EndpointConfig> endpointsFromAddresses(const DnsEndpointConfig& entry,
                                                   const std::vector<ResolvedAddress>& addresses) {
  std::vector<EndpointConfig> out;
  std::set<std::string> seen;
  for (const ResolvedAddress& a : addresses) {
    EndpointConfig e = endpointAt(a.address, entry.port, entry.weight, entry.priority, entry.name);
    if (seen.insert(e.address_text).second) out.push_back(std::move(e));
  }
  return out;
}

uint32_t srvWeight(uint16_t weight) {
  return std::clamp<uint32_t>(weight, 1, 1000);
}

std::vector<EndpointConfig> endpointsFromSrv(
    const std::vector<SrvRecord>& records,
    const std::map<std::string, std::vector<ResolvedAddress>>& targets) {
  std::set<uint16_t> priorities;
  for (const SrvRecord& r : records) priorities.insert(r.priority);
  auto level = [&](uint16_t priority) {
    const auto rank = std::distance(priorities.begin(), priorities.find(priority));
    return static_cast<uint32_t>(std::min<long>(rank, 15));
  };
  // Better priorities first, so a duplicate address keeps its best record.
  std::vector<const SrvRecord*> ordered;
  for (const SrvRecord& r : records) ordered.push_back(&r);
  std::stable_sort(ordered.begin(), ordered.end(), [](const SrvRecord* a, const SrvRecord* b) {
    return a->priority < b->priority;
  });
  std::vector<EndpointConfig> out;
  std::set<std::string> seen;
  for (const SrvRecord* r : ordered) {
    // RFC 2782: a target of "." means the service is decidedly not available there.
    if (r->port == 0 || r->target.empty()) continue;
    auto it = targets.find(r->target);
    if (it == targets.end()) continue;
    for (const ResolvedAddress& a : it->second) {
      EndpointConfig e =
          endpointAt(a.address, r->port, srvWeight(r->weight), level(r->priority), r->target);
      if (seen.insert(e.address_text).second) out.push_back(std::move(e));
    }
  }
  return out;
}

}  // namespace portico::upstream
