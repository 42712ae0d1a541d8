#pragma once
// Reads an SRV query's raw response (RFC 1035 4.1, RFC 2782): the SRV records of the answer
// section with their TTLs, and the A/AAAA records of the additional section (the targets'
// addresses, when the server included them). c-ares 1.18's ares_parse_srv_reply drops the
// TTLs, which discovery needs, hence this reader. Names are decompressed by c-ares
// (ares_expand_name), which bounds pointer chains.

#include <map>
#include <string>
#include <vector>

#include "upstream/dns_records.h"

namespace portico::upstream {

struct SrvAnswer {
  std::vector<SrvRecord> records;
  // Additional-section addresses by owner name (lower case, no trailing dot).
  std::map<std::string, std::vector<ResolvedAddress>> addresses;
};

// False on a malformed message (truncated, bad names, bad record lengths).
bool parseSrvResponse(const unsigned char* data, int length, SrvAnswer* out);

// Lower case, without a trailing dot: how names are compared.
std::string canonicalDnsName(std::string name);

}  // namespace portico::upstream
