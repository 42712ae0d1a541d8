// libFuzzer target for the SRV response reader (upstream/dns_message.h).
//
// The bytes come from the network (any resolver, or whoever can spoof one), so whatever they
// hold the reader must stay inside the message and either refuse it or return records that
// could have come from it: no more SRV records than the header's answer count, names that
// are canonical (lower case, no trailing dot), and the same result when read twice.

#include <cstdint>
#include <vector>

#include "fuzz_support.h"
#include "upstream/dns_message.h"

using portico::fuzz::check;
using portico::upstream::canonicalDnsName;
using portico::upstream::parseSrvResponse;
using portico::upstream::SrvAnswer;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 65535) return 0;  // a DNS message is at most 64 KiB, even over TCP
  // An exact-size copy, so AddressSanitizer sees any read past the end.
  const std::vector<unsigned char> message(data, data + size);
  SrvAnswer answer;
  const bool ok = parseSrvResponse(message.data(), static_cast<int>(message.size()), &answer);
  if (!ok) return 0;
  check(size >= 12);
  const size_t answers = (size_t{message[6]} << 8) | message[7];
  check(answer.records.size() <= answers);
  for (const auto& record : answer.records) check(canonicalDnsName(record.target) == record.target);
  for (const auto& [owner, addresses] : answer.addresses) {
    check(canonicalDnsName(owner) == owner);
    check(!addresses.empty());
  }
  SrvAnswer again;
  check(parseSrvResponse(message.data(), static_cast<int>(message.size()), &again));
  check(again.records.size() == answer.records.size());
  check(again.addresses.size() == answer.addresses.size());
  return 0;
}
