// Clusters: endpoints, load balancing, upstream timeouts, connection reuse and TLS.

#include "config/sections.h"
#include "config/text_checks.h"

namespace portico::config::internal {
namespace {

using upstream::ClusterConfig;

// Why an endpoint address was refused, worded for the most likely mistake.
std::string endpointProblem(const std::string& text) {
  size_t colon = text.rfind(':');
  std::string host = colon == std::string::npos ? text : text.substr(0, colon);
  bool has_letter = false;
  for (char c : host) has_letter = has_letter || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (has_letter && host.find(':') == std::string::npos && isHostname(host)) {
    // Resolution would block the loop or need the DNS discovery that is not built yet.
    return quote(text) + " is not a numeric IP:port; DNS names are not supported yet";
  }
  std::string missing_port = colon == std::string::npos ? "missing the port; " : "";
  return missing_port +
         "expected a numeric IP:port like 10.0.0.5:8080 or [2001:db8::5]:8080, got " + quote(text);
}

upstream::EndpointConfig loadEndpoint(Reader& reader, const Field& field, UniqueValues* seen) {
  upstream::EndpointConfig endpoint;
  MapReader map(reader, field, {"address", "weight", "priority"});
  if (!map.valid()) return endpoint;
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
  return endpoint;
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
                {"name", "lb", "endpoints", "timeouts", "keepalive", "max_retries",
                 "max_connections_per_endpoint", "tls", "protocol", "http2", "panic_threshold",
                 "health_check"});
  if (!map.valid()) return cluster;
  if (const Field* f = map.require("name")) {
    std::optional<std::string> name = readName(reader, *f);
    if (name && names->check(reader, *f, *name)) cluster.name = *name;
  }
  if (const Field* f = map.find("lb")) {
    assignIf(&cluster.lb, readEnum<upstream::LbPolicy>(
                              reader, *f,
                              {{"round_robin", upstream::LbPolicy::RoundRobin},
                               {"weighted_round_robin", upstream::LbPolicy::WeightedRoundRobin}}));
  }
  if (const Field* f = map.require("endpoints")) {
    UniqueValues seen("endpoint address");
    for (const Field& item : itemsOf(reader, *f, /*non_empty=*/true)) {
      cluster.endpoints.push_back(loadEndpoint(reader, item, &seen));
    }
  }
  if (const Field* f = map.find("timeouts")) loadTimeouts(reader, *f, &cluster);
  if (const Field* f = map.find("keepalive")) loadKeepalive(reader, *f, &cluster);
  if (const Field* f = map.find("max_connections_per_endpoint")) {
    assignIf(&cluster.max_connections_per_endpoint, readInt(reader, *f, 0, 1000000));
  }
  if (const Field* f = map.find("panic_threshold")) {
    assignIf(&cluster.panic_threshold_percent, readInt(reader, *f, 0, 100));
  }
  if (const Field* f = map.find("max_retries")) {
    assignIf(&cluster.max_retries, readInt(reader, *f, 0, 10));
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
