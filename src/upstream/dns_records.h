#pragma once
// The pure half of DNS discovery: what resolved records become. No I/O, no c-ares here
// (dns_resolver.h asks, dns_discovery.h schedules): TTL bounds, SRV records -> endpoints,
// A/AAAA answers -> endpoints. Unit-tested on their own.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "net/address.h"
#include "upstream/cluster_config.h"

namespace portico::upstream {

// One address record (A or AAAA) as the resolver returned it.
struct ResolvedAddress {
  net::Address address;  // port 0
  uint32_t ttl_s = 0;
};

// One SRV record (RFC 2782).
struct SrvRecord {
  std::string target;  // lower case, no trailing dot
  uint16_t port = 0;
  uint16_t priority = 0;
  uint16_t weight = 0;
  uint32_t ttl_s = 0;
};

// How long an answer is trusted: its TTL in seconds, raised to min_ttl and lowered to max_ttl.
int64_t boundTtlMs(uint32_t ttl_s, const DnsConfig& config);

// When to ask again after the `failures`-th failure in a row (1 = the first): min_ttl, doubled
// per further failure, at most max_ttl and never more than kMaxFailureRetryMs, so a DNS server
// that comes back is noticed soon.
inline constexpr int64_t kMaxFailureRetryMs = 30000;
int64_t failureRetryMs(uint32_t failures, const DnsConfig& config);

// An address name's endpoints: one per distinct address, with the entry's port, weight and
// priority. address_text is "IP:PORT" (what logs name); hostname is the entry's name.
std::vector<EndpointConfig> endpointsFromAddresses(const DnsEndpointConfig& entry,
                                                   const std::vector<ResolvedAddress>& addresses);

// Host weight from an SRV weight: 0 (RFC 2782: "very small chance") becomes 1, the rest is
// clamped to Portico's 1..1000.
uint32_t srvWeight(uint16_t weight);

// An SRV name's endpoints: each record's target addresses (from `targets`, by target name; a
// target without addresses gives nothing) with the record's port and weight; hostname is the
// target. SRV priorities
// are ranked: the lowest becomes level 0, the next distinct one level 1, ... at most 15 (all
// lower ranks share level 15). An address:port given by two records is kept once, from the
// record with the better (lower) priority.
std::vector<EndpointConfig> endpointsFromSrv(
    const std::vector<SrvRecord>& records,
    const std::map<std::string, std::vector<ResolvedAddress>>& targets);

}  // namespace portico::upstream
