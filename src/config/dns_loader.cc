// DNS discovery in a cluster: `- { dns: NAME, port, weight, priority, family }` and
// `- { srv: NAME, family }` endpoint entries, and the cluster's `dns:` section (resolvers,
// TTL bounds, timeout, tries). Names are checked for shape only: `portico --check` never
// touches the network, and a name that does not resolve at start is a run-time condition
// (upstream/dns_discovery.h), not a configuration error.

#include "config/sections.h"
#include "net/address.h"

namespace portico::config::internal {
namespace {

using upstream::DnsEndpointConfig;

bool isLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

std::optional<upstream::DnsFamily> readFamily(Reader& reader, const Field& field) {
  return readEnum<upstream::DnsFamily>(reader, field,
                                       {{"any", upstream::DnsFamily::Any},
                                        {"v4", upstream::DnsFamily::V4},
                                        {"v6", upstream::DnsFamily::V6}});
}

// "ip:port", or a bare IP for port 53.
std::optional<std::string> readResolver(Reader& reader, const Field& field) {
  std::optional<std::string> text = readNonEmptyString(reader, field);
  if (!text) return std::nullopt;
  net::Address address;
  if (net::parseIp(*text, &address)) {
    if (!net::parseAddress((address.family() == AF_INET6 ? "[" + *text + "]" : *text) + ":53",
                           &address)) {
      address = {};
    }
  } else if (!net::parseAddress(*text, &address)) {
    address = {};
  }
  if (address.length == 0 || address.port() == 0 || address.hostString() == "0.0.0.0" ||
      address.hostString() == "::") {
    reader.error(field.mark, field.path,
                 "expected a DNS server as a numeric IP:port like 127.0.0.1:53 or [::1]:53, got " +
                     quote(*text));
    return std::nullopt;
  }
  return address.toString();
}

}  // namespace

bool normalizeDnsName(std::string* name, bool srv, std::string* why) {
  std::string_view text = *name;
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);  // fully qualified
  if (text.empty() || text.size() > 253) {
    *why = "a DNS name has 1 to 253 characters";
    return false;
  }
  size_t label = 0;
  bool letter = false;
  for (size_t i = 0; i <= text.size(); ++i) {
    const char c = i < text.size() ? text[i] : '.';
    if (c == '.') {
      if (label == 0) {
        *why = "a DNS name has no empty label (leading dot or \"..\")";
        return false;
      }
      if (text[i - 1] == '-') {
        *why = "a DNS label does not end with '-'";
        return false;
      }
      label = 0;
      continue;
    }
    // SRV owner names carry service and protocol labels like _http._tcp.
    const bool ok = isLetter(c) || isDigit(c) || (c == '-' && label > 0) || (srv && c == '_');
    if (!ok) {
      *why = std::string("a DNS name has letters, digits and '-'") +
             (srv ? " (and '_' for SRV service labels)" : "") + " in dot-separated labels";
      return false;
    }
    letter = letter || isLetter(c);
    if (++label > 63) {
      *why = "a DNS label has at most 63 characters";
      return false;
    }
  }
  net::Address ip;
  if (!letter || net::parseIp(text, &ip)) {
    *why = "this is an IP address, not a DNS name: use address: IP:PORT";
    return false;
  }
  *name = std::string(text);
  return true;
}

// The entry's `dns` or `srv` key and the keys that go with it (the caller has checked that
// the entry has exactly one of address, dns and srv).
std::optional<DnsEndpointConfig> loadDnsEndpoint(Reader& reader, const MapReader& map,
                                                 UniqueValues* seen) {
  DnsEndpointConfig endpoint;
  const Field* name = map.find("dns");
  if (name == nullptr) {
    name = map.find("srv");
    endpoint.kind = DnsEndpointConfig::Kind::Srv;
  }
  const bool srv = endpoint.kind == DnsEndpointConfig::Kind::Srv;
  bool ok = true;
  std::optional<std::string> text = readNonEmptyString(reader, *name);
  std::string why;
  if (!text) {
    ok = false;
  } else if (!normalizeDnsName(&*text, srv, &why)) {
    reader.error(name->mark, name->path, why + ", got " + quote(*text));
    ok = false;
  } else {
    endpoint.name = *text;
  }
  if (srv) {
    // The SRV records say these; a value here would be silently ignored.
    for (const char* key : {"port", "weight", "priority"}) {
      if (const Field* f = map.find(key)) {
        reader.error(f->mark, f->path,
                     std::string(key) + " comes from the SRV records; remove it from an srv entry");
        ok = false;
      }
    }
  } else if (const Field* f = map.require("port")) {
    std::optional<int64_t> port = readInt(reader, *f, 1, 65535);
    assignIf(&endpoint.port, port);
    ok = ok && port.has_value();
  } else {
    ok = false;
  }
  if (!srv) {
    if (const Field* f = map.find("weight")) {
      assignIf(&endpoint.weight, readInt(reader, *f, 1, 1000));
    }
    if (const Field* f = map.find("priority")) {
      assignIf(&endpoint.priority, readInt(reader, *f, 0, 15));
    }
  }
  if (const Field* f = map.find("family")) assignIf(&endpoint.family, readFamily(reader, *f));
  if (!ok) return std::nullopt;
  const std::string key =
      (srv ? "srv " : "dns ") + endpoint.name + (srv ? "" : ":" + std::to_string(endpoint.port));
  if (!seen->check(reader, *name, key)) return std::nullopt;
  return endpoint;
}

void loadDnsSection(Reader& reader, const Field& field, upstream::ClusterConfig* cluster) {
  MapReader map(reader, field, {"resolvers", "min_ttl", "max_ttl", "timeout", "tries"});
  if (!map.valid()) return;
  upstream::DnsConfig& dns = cluster->dns;
  if (cluster->dns_endpoints.empty()) {
    reader.error(field.mark, field.path,
                 "dns settings apply only to a cluster with dns: or srv: endpoints");
  }
  if (const Field* f = map.find("resolvers")) {
    for (const Field& item : itemsOf(reader, *f, /*non_empty=*/true)) {
      if (std::optional<std::string> r = readResolver(reader, item)) dns.resolvers.push_back(*r);
    }
  }
  if (const Field* f = map.find("min_ttl")) {
    assignIf(&dns.min_ttl_ms, readDurationMs(reader, *f, 100, kOneDayMs));
  }
  if (const Field* f = map.find("max_ttl")) {
    assignIf(&dns.max_ttl_ms, readDurationMs(reader, *f, 100, kOneDayMs));
  }
  if (dns.max_ttl_ms < dns.min_ttl_ms) {
    const Field* f = map.find("max_ttl") ? map.find("max_ttl") : map.find("min_ttl");
    reader.error(f->mark, f->path,
                 "max_ttl " + std::to_string(dns.max_ttl_ms) + " ms is below min_ttl " +
                     std::to_string(dns.min_ttl_ms) + " ms");
  }
  if (const Field* f = map.find("timeout")) {
    assignIf(&dns.timeout_ms, readDurationMs(reader, *f, 10, 60000));
  }
  if (const Field* f = map.find("tries")) assignIf(&dns.tries, readInt(reader, *f, 1, 10));
}

}  // namespace portico::config::internal
