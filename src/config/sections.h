#pragma once
// Internal to config/: the loaders for each part of the schema, and the typed field readers
// they share. loader.cc drives them; each file owns one part (listeners, routes, clusters).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config/server_config.h"
#include "http/http2_attack_limits.h"
#include "proxy/route_config.h"
#include "tls/acme/acme_config.h"
#include "upstream/cluster_config.h"
#include "yaml/fields.h"
#include "yaml/reader.h"

namespace portico::config::internal {

// The schema reader is shared with the filters (yaml/reader.h); the loaders use its names
// unqualified.
using namespace portico::yaml;

inline constexpr int64_t kOneDayMs = 24 * 3600 * 1000;

// A route's reference to a cluster, checked once every cluster has been read (clusters may
// come after listeners in the file).
struct ClusterRef {
  std::string name;
  std::string path;
  YAML::Mark mark;
  bool hashed = false;  // the route has a hash_policy, which needs a consistent-hash cluster
};

// What routes across the whole file share while they are read.
struct RouteContext {
  std::vector<ClusterRef> cluster_refs;
  // Compiled patterns by their offset in the file. An alias makes many routes share one
  // pattern node; compiling a large pattern once per use could take minutes.
  struct CompiledRegex {
    std::shared_ptr<const re2::RE2> regex;  // null when the pattern is invalid
    std::string error;
  };
  std::unordered_map<int, CompiledRegex> regexes;
  // The top-level `acme:` section (read before the listeners), which `- acme: [...]`
  // certificate entries need; null when the file has none.
  tls::acme::AcmeConfig* acme = nullptr;
};

void loadListeners(Reader& reader, const Field& field, std::vector<proxy::ListenerConfig>* out,
                   RouteContext* routes);
void loadClusters(Reader& reader, const Field& field, std::vector<upstream::ClusterConfig>* out);
void loadRetry(Reader& reader, const Field& field, upstream::RetryPolicy* policy);
void loadCircuitBreakers(Reader& reader, const Field& field, upstream::CircuitBreakerLimits* out);
void loadOutlierDetection(Reader& reader, const Field& field,
                          upstream::OutlierDetectionConfig* out);
proxy::RouteConfig loadRoute(Reader& reader, const Field& field, RouteContext* routes);
// `tls:` of a listener and of a cluster; each also builds the context, so a certificate that
// cannot be served is a load error at its key.
void loadServerTls(Reader& reader, const Field& field, proxy::ListenerConfig* listener,
                   tls::acme::AcmeConfig* acme = nullptr);
// The top-level `acme:` section, and a `- acme: [names]` certificate entry (acme_loader.cc):
// the entry becomes cert/key paths under acme.storage, with a placeholder written when
// nothing servable is stored yet.
void loadAcme(Reader& reader, const Field& field, tls::acme::AcmeConfig* out);
bool isAcmeCertificate(const Field& field);
tls::CertificateFiles loadAcmeCertificate(Reader& reader, const Field& field,
                                          tls::acme::AcmeConfig* acme);
void loadClientTls(Reader& reader, const Field& field, upstream::ClusterConfig* cluster);
// DNS discovery (dns_loader.cc): a `dns:` or `srv:` endpoint entry (exactly one of them is
// in `map`; nullopt after reporting), and the cluster's `dns:` section (after the endpoints).
std::optional<upstream::DnsEndpointConfig> loadDnsEndpoint(Reader& reader, const MapReader& map,
                                                           UniqueValues* seen);
void loadDnsSection(Reader& reader, const Field& field, upstream::ClusterConfig* cluster);
// Checks a DNS name's shape (labels of letters, digits and '-'; '_' too when `srv`) and drops
// a trailing dot. False with *why set when it is not a name (an IP address is not).
bool normalizeDnsName(std::string* name, bool srv, std::string* why);
// `health_check:` of a cluster (health_check_loader.cc); after protocol, which it checks against.
void loadHealthCheck(Reader& reader, const Field& field, upstream::ClusterConfig* cluster);
// A file name; a relative one is taken from the configuration file's directory.
std::optional<std::string> readFile(Reader& reader, const Field& field);
// `client_auth:` of a listener's tls or of one of its certificate entries: a mapping, or
// `false` (mode Off: no client certificate for those names). `note` is given the fields a
// context build may report an error about (ca, crl).
std::optional<tls::ClientAuthConfig> loadClientAuth(Reader& reader, const Field& field,
                                                    const std::function<void(const Field*)>& note);
// `http2.attack_limits:` of a listener (http2_attack_limits_loader.cc).
void loadHttp2AttackLimits(Reader& reader, const Field& field, http::Http2AttackLimits* out);
// The top-level `admin:` section (admin_loader.cc); after the listeners, whose addresses it
// must not share.
void loadAdmin(Reader& reader, const Field& field,
               const std::vector<proxy::ListenerConfig>& listeners, AdminConfig* out);
// `forwarding.client_cert_headers:` of a listener.
void loadClientCertHeaders(Reader& reader, const Field& field, proxy::ClientCertHeaders* out);

}  // namespace portico::config::internal
