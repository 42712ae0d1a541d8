// Clusters: endpoints, load balancing, upstream timeouts, connection reuse and TLS.

#include <fstream>

#include "config/sections.h"
#include "config/text_checks.h"
#include "http/tokens.h"

namespace portico::config::internal {
namespace {

using upstream::ClusterConfig;

constexpr int64_t kOneHourMs = 3600 * 1000;

// Why an endpoint address was refused, worded for the most likely mistake.
std::string endpointProblem(const std::string& text) {
  size_t colon = text.rfind(':');
  std::string host = colon == std::string::npos ? text : text.substr(0, colon);
  bool has_letter = false;
  for (char c : host) has_letter = has_letter || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (has_letter && host.find(':') == std::string::npos && isHostname(host)) {
    // address: is resolved never: a name belongs in a dns: entry, which is re-resolved.
    return quote(text) + " is not a numeric IP:port; for a DNS name write { dns: " + host +
           ", port: N }";
  }
  std::string missing_port = colon == std::string::npos ? "missing the port; " : "";
  return missing_port +
         "expected a numeric IP:port like 10.0.0.5:8080 or [2001:db8::5]:8080, got " + quote(text);
}

// One entry of `endpoints`: a static `address:`, or a `dns:` / `srv:` name (dns_loader.cc).
void loadEndpoint(Reader& reader, const Field& field, UniqueValues* seen, UniqueValues* seen_names,
                  ClusterConfig* cluster) {
  MapReader map(reader, field, {"address", "dns", "srv", "port", "weight", "priority", "family"});
  if (!map.valid()) return;
  std::vector<std::string> kinds;
  for (const char* key : {"address", "dns", "srv"}) {
    if (map.find(key)) kinds.push_back(key);
  }
  if (kinds.size() != 1) {
    reader.error(field.mark, field.path,
                 kinds.empty() ? std::string("an endpoint needs address, dns or srv")
                               : "an endpoint has one of address, dns and srv, not both " +
                                     kinds[0] + " and " + kinds[1]);
    return;
  }
  if (kinds[0] != "address") {
    if (auto dns = loadDnsEndpoint(reader, map, seen_names)) {
      cluster->dns_endpoints.push_back(std::move(*dns));
    }
    return;
  }
  if (const Field* f = map.find("port")) {
    reader.error(f->mark, f->path, "an address: has its port in it (IP:PORT)");
  }
  if (const Field* f = map.find("family")) {
    reader.error(f->mark, f->path, "family belongs to dns: and srv: entries");
  }
  upstream::EndpointConfig endpoint;
  if (const Field* f = map.require("address")) {
    std::optional<std::string> text = readString(reader, *f);
    net::Address address;
    if (!text) {
      // reported by readString
    } else if (!net::parseAddress(*text, &address)) {
      reader.error(f->mark, f->path, endpointProblem(*text));
    } else if (address.hostString() == "0.0.0.0" || address.hostString() == "::") {
      reader.error(f->mark, f->path, "cannot connect to the wildcard address in " + quote(*text));
    } else if (address.port() == 0) {
      reader.error(f->mark, f->path, "port must be 1..65535, got " + quote(*text));
    } else if (seen->check(reader, *f, address.toString())) {
      endpoint.address = address;
      endpoint.address_text = *text;
    }
  }
  if (const Field* f = map.find("weight")) assignIf(&endpoint.weight, readInt(reader, *f, 1, 1000));
  if (const Field* f = map.find("priority")) {
    assignIf(&endpoint.priority, readInt(reader, *f, 0, 15));
  }
  cluster->endpoints.push_back(std::move(endpoint));
}

void loadTimeouts(Reader& reader, const Field& field, ClusterConfig* cluster) {
  MapReader map(reader, field, {"connect", "response_header", "idle"});
  if (!map.valid()) return;
  if (const Field* f = map.find("connect")) {
    assignIf(&cluster->connect_timeout_ms, readDurationMs(reader, *f, 1, kOneDayMs));
  }
  if (const Field* f = map.find("response_header")) {
    assignIf(&cluster->response_header_timeout_ms, readDurationMs(reader, *f, 1, kOneDayMs));
  }
  if (const Field* f = map.find("idle")) {
    assignIf(&cluster->idle_timeout_ms, readDurationMs(reader, *f, 1, kOneDayMs));
  }
}

void loadKeepalive(Reader& reader, const Field& field, ClusterConfig* cluster) {
  MapReader map(reader, field, {"max_idle", "idle_timeout"});
  if (!map.valid()) return;
  // 0 turns pooling off: every request opens a fresh upstream connection.
  if (const Field* f = map.find("max_idle")) {
    assignIf(&cluster->keepalive_max_idle, readInt(reader, *f, 0, 10000));
  }
  if (const Field* f = map.find("idle_timeout")) {
    assignIf(&cluster->keepalive_idle_timeout_ms, readDurationMs(reader, *f, 1, kOneDayMs));
  }
}

void loadHttp2(Reader& reader, const Field& field, ClusterConfig* cluster) {
  MapReader map(reader, field,
                {"max_streams_per_connection", "initial_stream_window", "connection_window"});
  if (!map.valid()) return;
  upstream::Http2ClientConfig& h2 = cluster->http2;
  if (const Field* f = map.find("max_streams_per_connection")) {
    assignIf(&h2.max_streams_per_connection, readInt(reader, *f, 1, 10000));
  }
  // RFC 9113 6.9.2: windows are at most 2^31-1; below 64 KiB a backend stalls on every frame.
  constexpr uint64_t kMaxWindow = (1ull << 31) - 1;
  if (const Field* f = map.find("initial_stream_window")) {
    assignIf(&h2.initial_stream_window, readSize(reader, *f, 65535, kMaxWindow));
  }
  if (const Field* f = map.find("connection_window")) {
    assignIf(&h2.connection_window, readSize(reader, *f, 65535, kMaxWindow));
  }
}

// A balancer's own section; `name` is also the `lb` value it belongs to. Settings for a
// balancer the cluster does not use are an error: they would silently do nothing.
const Field* lbSection(Reader& reader, MapReader& map, const char* name, upstream::LbPolicy policy,
                       const ClusterConfig& cluster) {
  const Field* f = map.find(name);
  if (f != nullptr && cluster.lb != policy) {
    reader.error(f->mark, f->path, std::string(name) + " settings apply only with lb: " + name);
    return nullptr;
  }
  return f;
}

void loadLeastRequest(Reader& reader, const Field& field, ClusterConfig* cluster) {
  MapReader map(reader, field, {"choices"});
  if (!map.valid()) return;
  if (const Field* f = map.find("choices")) {
    assignIf(&cluster->least_request_choices, readInt(reader, *f, 2, 10));
  }
}

void loadPeakEwma(Reader& reader, const Field& field, ClusterConfig* cluster) {
  MapReader map(reader, field, {"decay", "failure_penalty"});
  if (!map.valid()) return;
  if (const Field* f = map.find("decay")) {
    assignIf(&cluster->peak_ewma.decay_ms, readDurationMs(reader, *f, 100, kOneHourMs));
  }
  if (const Field* f = map.find("failure_penalty")) {
    assignIf(&cluster->peak_ewma.failure_penalty_ms, readDurationMs(reader, *f, 1, kOneHourMs));
  }
}

// `ring_hash: { minimum_ring_size, maximum_ring_size }`.
void loadRingHash(Reader& reader, const Field& field, ClusterConfig* cluster) {
  MapReader map(reader, field, {"minimum_ring_size", "maximum_ring_size"});
  if (!map.valid()) return;
  // 8M points are 96 MiB per worker while building: the most any cluster should need.
  constexpr int64_t kMaxRing = 8 * 1024 * 1024;
  upstream::RingHashConfig& ring = cluster->ring_hash;
  if (const Field* f = map.find("minimum_ring_size")) {
    assignIf(&ring.minimum_ring_size, readInt(reader, *f, 1, kMaxRing));
  }
  if (const Field* f = map.find("maximum_ring_size")) {
    assignIf(&ring.maximum_ring_size, readInt(reader, *f, 1, kMaxRing));
    if (ring.maximum_ring_size < ring.minimum_ring_size) {
      reader.error(f->mark, f->path,
                   "maximum_ring_size " + std::to_string(ring.maximum_ring_size) +
                       " is below minimum_ring_size " + std::to_string(ring.minimum_ring_size));
    }
  }
}

bool isPrime(uint32_t n) {
  if (n < 2) return false;
  for (uint32_t d = 2; uint64_t{d} * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

// `maglev: { table_size }`: a prime, so every host's preference list visits every entry.
void loadMaglev(Reader& reader, const Field& field, ClusterConfig* cluster) {
  MapReader map(reader, field, {"table_size"});
  if (!map.valid()) return;
  if (const Field* f = map.find("table_size")) {
    std::optional<int64_t> size = readInt(reader, *f, 3, 5000011);
    if (size && !isPrime(static_cast<uint32_t>(*size))) {
      reader.error(f->mark, f->path,
                   "table_size must be a prime (65537, 131071, 524287, 1000003, ...), got " +
                       std::to_string(*size));
    } else {
      assignIf(&cluster->maglev.table_size, size);
    }
  }
}

// The HMAC key of sticky cookies: the file's bytes (a final newline dropped). Errors name the
// file, never its content.
std::optional<std::string> readStickySecret(Reader& reader, const Field& field) {
  constexpr size_t kMinSecret = 16;
  constexpr size_t kMaxSecret = 4096;
  std::optional<std::string> path = readFile(reader, field);
  if (!path) return std::nullopt;
  std::ifstream in(*path, std::ios::binary);
  std::string secret(kMaxSecret + 1, '\0');
  if (in) in.read(secret.data(), static_cast<std::streamsize>(secret.size()));
  if (!in && !in.eof()) {
    reader.error(field.mark, field.path, "cannot read " + quote(*path));
    return std::nullopt;
  }
  secret.resize(static_cast<size_t>(in.gcount()));
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.size() < kMinSecret || secret.size() > kMaxSecret) {
    reader.error(field.mark, field.path,
                 quote(*path) + " must hold " + std::to_string(kMinSecret) + " to " +
                     std::to_string(kMaxSecret) +
                     " bytes of secret (for example 32 random "
                     "bytes, base64), got " +
                     std::to_string(secret.size()));
    return std::nullopt;
  }
  return secret;
}

bool readStickyCookieName(Reader& reader, const Field& field, std::string* out) {
  const std::string name = readNonEmptyString(reader, field).value_or("");
  if (name.empty()) return false;
  if (!http::isToken(name)) {
    reader.error(field.mark, field.path,
                 "a cookie name is a token (letters, digits, -_. etc.), got " + quote(name));
    return false;
  }
  *out = name;
  return true;
}

// `sticky: { cookie, ttl, secret_file }`.
void loadSticky(Reader& reader, const Field& field, ClusterConfig* cluster) {
  MapReader map(reader, field, {"cookie", "ttl", "secret_file"});
  if (!map.valid()) return;
  upstream::StickyConfig sticky;
  bool ok = true;
  const Field* cookie = map.require("cookie");
  ok = cookie != nullptr && readStickyCookieName(reader, *cookie, &sticky.cookie);
  if (const Field* f = map.find("ttl")) {
    std::optional<int64_t> ttl = readDurationMs(reader, *f, 1000, 400 * kOneDayMs);
    assignIf(&sticky.ttl_ms, ttl);
    ok = ok && ttl.has_value();
  }
  if (const Field* f = map.require("secret_file")) {
    std::optional<std::string> secret = readStickySecret(reader, *f);
    if (secret) sticky.secret = std::move(*secret);
    ok = ok && secret.has_value();
  } else {
    ok = false;
  }
  if (ok) cluster->sticky = std::move(sticky);
}

// `slow_start: { window, aggression, min_weight_percent }` (upstream/slow_start.h).
void loadSlowStart(Reader& reader, const Field& field, ClusterConfig* cluster) {
  MapReader map(reader, field, {"window", "aggression", "min_weight_percent"});
  if (!map.valid()) return;
  upstream::SlowStartConfig slow;
  if (const Field* f = map.require("window")) {
    assignIf(&slow.window_ms, readDurationMs(reader, *f, 1000, kOneHourMs));
  }
  if (const Field* f = map.find("aggression")) {
    assignIf(&slow.aggression, readDecimal(reader, *f, 0.1, 10.0));
  }
  if (const Field* f = map.find("min_weight_percent")) {
    assignIf(&slow.min_weight_percent, readInt(reader, *f, 0, 100));
  }
  cluster->slow_start = slow;
}

// Slow start ramps weights; consistent hashing maps keys by weight, and a ramp would move keys
// on every step (upstream/slow_start.h).
void checkSlowStart(Reader& reader, const Field* field, const ClusterConfig& cluster) {
  if (field == nullptr) return;
  if (cluster.lb == upstream::LbPolicy::RingHash || cluster.lb == upstream::LbPolicy::Maglev) {
    reader.error(field->mark, field->path,
                 "slow_start does not apply to consistent hashing (lb ring_hash or maglev): a "
                 "host takes its keys at once; use another lb or remove slow_start");
  }
}

void loadLbSettings(Reader& reader, MapReader& cluster_map, ClusterConfig* cluster) {
  using upstream::LbPolicy;
  if (const Field* f =
          lbSection(reader, cluster_map, "least_request", LbPolicy::LeastRequest, *cluster)) {
    loadLeastRequest(reader, *f, cluster);
  }
  if (const Field* f = lbSection(reader, cluster_map, "peak_ewma", LbPolicy::PeakEwma, *cluster)) {
    loadPeakEwma(reader, *f, cluster);
  }
  if (const Field* f = lbSection(reader, cluster_map, "ring_hash", LbPolicy::RingHash, *cluster)) {
    loadRingHash(reader, *f, cluster);
  }
  if (const Field* f = lbSection(reader, cluster_map, "maglev", LbPolicy::Maglev, *cluster)) {
    loadMaglev(reader, *f, cluster);
  }
}

// protocol vs tls: h2 needs TLS (ALPN), h2c is the plaintext form.
// `tls`: the cluster has a tls section (valid or not: its own errors are reported there).
void checkProtocol(Reader& reader, const Field* field, const ClusterConfig& cluster, bool tls) {
  if (field == nullptr) return;
  if (cluster.protocol == upstream::UpstreamProtocol::H2 && !tls) {
    reader.error(field->mark, field->path,
                 "protocol h2 is HTTP/2 over TLS and this cluster has no tls section; use h2c "
                 "for HTTP/2 over plain TCP");
  } else if (cluster.protocol == upstream::UpstreamProtocol::H2c && tls) {
    reader.error(field->mark, field->path,
                 "protocol h2c is HTTP/2 over plain TCP but this cluster has a tls section; use "
                 "h2 (or auto) over TLS");
  }
}

ClusterConfig loadCluster(Reader& reader, const Field& field, UniqueValues* names) {
  ClusterConfig cluster;
  MapReader map(reader, field,
                {"name",
                 "lb",
                 "endpoints",
                 "timeouts",
                 "keepalive",
                 "max_retries",
                 "max_connections_per_endpoint",
                 "tls",
                 "protocol",
                 "http2",
                 "panic_threshold",
                 "retry",
                 "circuit_breakers",
                 "outlier_detection",
                 "least_request",
                 "peak_ewma",
                 "ring_hash",
                 "maglev",
                 "sticky",
                 "health_check",
                 "dns",
                 "slow_start",
                 "queue_timeout"});
  if (!map.valid()) return cluster;
  if (const Field* f = map.require("name")) {
    std::optional<std::string> name = readName(reader, *f);
    if (name && names->check(reader, *f, *name)) cluster.name = *name;
  }
  if (const Field* f = map.find("lb")) {
    assignIf(&cluster.lb, readEnum<upstream::LbPolicy>(
                              reader, *f,
                              {{"round_robin", upstream::LbPolicy::RoundRobin},
                               {"weighted_round_robin", upstream::LbPolicy::WeightedRoundRobin},
                               {"random", upstream::LbPolicy::Random},
                               {"least_request", upstream::LbPolicy::LeastRequest},
                               {"peak_ewma", upstream::LbPolicy::PeakEwma},
                               {"ring_hash", upstream::LbPolicy::RingHash},
                               {"maglev", upstream::LbPolicy::Maglev}}));
  }
  loadLbSettings(reader, map, &cluster);
  const Field* slow_start = map.find("slow_start");
  if (slow_start != nullptr) loadSlowStart(reader, *slow_start, &cluster);
  checkSlowStart(reader, slow_start, cluster);
  if (const Field* f = map.find("sticky")) loadSticky(reader, *f, &cluster);
  if (const Field* f = map.require("endpoints")) {
    UniqueValues seen("endpoint address");
    UniqueValues seen_names("DNS endpoint");
    for (const Field& item : itemsOf(reader, *f, /*non_empty=*/true)) {
      loadEndpoint(reader, item, &seen, &seen_names, &cluster);
    }
  }
  if (const Field* f = map.find("dns")) loadDnsSection(reader, *f, &cluster);
  if (const Field* f = map.find("timeouts")) loadTimeouts(reader, *f, &cluster);
  if (const Field* f = map.find("keepalive")) loadKeepalive(reader, *f, &cluster);
  if (const Field* f = map.find("max_connections_per_endpoint")) {
    assignIf(&cluster.max_connections_per_endpoint, readInt(reader, *f, 0, 1000000));
  }
  // HAProxy's `timeout queue` rule: unset, a queued request may wait as long as a connect.
  cluster.queue_timeout_ms = cluster.connect_timeout_ms;
  if (const Field* f = map.find("queue_timeout")) {
    assignIf(&cluster.queue_timeout_ms, readDurationMs(reader, *f, 0, kOneHourMs));
  }
  if (const Field* f = map.find("panic_threshold")) {
    assignIf(&cluster.panic_threshold_percent, readInt(reader, *f, 0, 100));
  }
  if (const Field* f = map.find("max_retries")) {
    assignIf(&cluster.retry.max_retries, readInt(reader, *f, 0, 10));
  }
  if (const Field* f = map.find("retry")) loadRetry(reader, *f, &cluster.retry);
  if (const Field* f = map.find("circuit_breakers")) {
    loadCircuitBreakers(reader, *f, &cluster.circuit_breakers);
  }
  if (const Field* f = map.find("outlier_detection")) {
    loadOutlierDetection(reader, *f, &cluster.outlier_detection);
  }
  const Field* protocol = map.find("protocol");
  if (protocol != nullptr) {
    assignIf(&cluster.protocol,
             readEnum<upstream::UpstreamProtocol>(reader, *protocol,
                                                  {{"http1", upstream::UpstreamProtocol::Http1},
                                                   {"h2", upstream::UpstreamProtocol::H2},
                                                   {"h2c", upstream::UpstreamProtocol::H2c},
                                                   {"auto", upstream::UpstreamProtocol::Auto}}));
  }
  if (const Field* f = map.find("http2")) loadHttp2(reader, *f, &cluster);
  // After protocol: the TLS context offers the ALPN list the protocol needs.
  const Field* tls = map.find("tls");
  if (tls != nullptr) loadClientTls(reader, *tls, &cluster);
  checkProtocol(reader, protocol, cluster, tls != nullptr);
  if (const Field* f = map.find("health_check")) loadHealthCheck(reader, *f, &cluster);
  return cluster;
}

}  // namespace

void loadClusters(Reader& reader, const Field& field, std::vector<ClusterConfig>* out) {
  UniqueValues names("cluster name");
  for (const Field& item : itemsOf(reader, field, /*non_empty=*/false)) {
    out->push_back(loadCluster(reader, item, &names));
  }
}

}  // namespace portico::config::internal
