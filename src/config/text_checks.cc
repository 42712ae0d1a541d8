#include "config/text_checks.h"

#include <netinet/in.h>

#include <array>
#include <cstring>

#include "yaml/units.h"

namespace portico::config::internal {
namespace {

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool isPort(std::string_view text) {
  std::optional<int64_t> port = parseInteger(text);
  return port && text.front() != '-' && *port >= 1 && *port <= 65535;
}

// Pointer to the address bytes of an IP address and their count.
std::pair<uint8_t*, size_t> ipBytes(net::Address* a) {
  if (a->family() == AF_INET) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a->storage);
    return {reinterpret_cast<uint8_t*>(&v4->sin_addr), 4};
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a->storage);
  return {reinterpret_cast<uint8_t*>(&v6->sin6_addr), 16};
}

}  // namespace

bool normalizeDomain(std::string* domain, std::string* why) {
  for (char& c : *domain) c = lower(c);
  std::string_view d = *domain;
  if (d == "*") return true;
  std::string_view host = d;
  if (d.size() >= 2 && d.substr(0, 2) == "*.") {
    host = d.substr(2);
  } else if (d.find('*') != std::string_view::npos) {
    *why = "a wildcard is only allowed as \"*\" or a leading \"*.\"";
    return false;
  }
  size_t colon = host.rfind(':');
  if (colon != std::string_view::npos) {
    if (!isPort(host.substr(colon + 1))) {
      *why = "the port after ':' must be a number 1..65535";
      return false;
    }
    host = host.substr(0, colon);
  }
  if (!isHostname(host)) {
    *why =
        "expected a hostname (letters, digits, '-' and '.', optional :port), \"*.suffix\" "
        "or \"*\"";
    return false;
  }
  return true;
}

bool parseCidr(std::string_view text, proxy::CidrRange* out, std::string* why) {
  std::string_view ip = text;
  std::string_view len_text;
  size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    ip = text.substr(0, slash);
    len_text = text.substr(slash + 1);
  }
  proxy::CidrRange range;
  if (!net::parseIp(ip, &range.base)) {
    *why = "expected an IP address or CIDR range like 10.0.0.0/8 or ::1/128";
    return false;
  }
  int max_len = range.base.family() == AF_INET ? 32 : 128;
  int64_t len = max_len;
  if (slash != std::string_view::npos) {
    std::optional<int64_t> parsed = parseInteger(len_text);
    if (!parsed || len_text.front() == '-' || *parsed > max_len) {
      *why = "prefix length must be a number 0.." + std::to_string(max_len);
      return false;
    }
    len = *parsed;
  }
  range.prefix_len = static_cast<uint8_t>(len);
  // Bits set past the prefix usually mean the range is not what the operator thinks
  // (10.1.2.3/8 covers all of 10/8), so ask for the canonical form rather than guess.
  net::Address masked = range.base;
  auto [bytes, count] = ipBytes(&masked);
  bool host_bits = false;
  for (size_t i = 0; i < count; ++i) {
    int keep = static_cast<int>(len) - static_cast<int>(i) * 8;
    uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : static_cast<uint8_t>(0xff << (8 - keep));
    if ((bytes[i] & ~mask) != 0) host_bits = true;
    bytes[i] &= mask;
  }
  if (host_bits) {
    *why = "address has bits set beyond the /" + std::to_string(len) + " prefix (did you mean " +
           masked.hostString() + "/" + std::to_string(len) + "?)";
    return false;
  }
  *out = range;
  return true;
}

}  // namespace portico::config::internal
