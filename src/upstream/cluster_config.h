#pragma once
// What a cluster is configured to be: plain data, validated by config/ and turned into the
// runtime Cluster by upstream/. Immutable once published in a snapshot.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/address.h"
#include "tls/tls_config.h"
#include "upstream/circuit_breakers.h"
#include "upstream/health_check_config.h"
#include "upstream/retry_policy.h"

namespace portico::tls {
class ClientContext;  // tls/client_context.h; declared here to keep OpenSSL out of this header
}

namespace portico::upstream {

enum class LbPolicy {
  RoundRobin,
  WeightedRoundRobin,
  Random,
  LeastRequest,
  PeakEwma,
  RingHash,
  Maglev
};

// `lb: peak_ewma` (upstream/peak_ewma.h).
struct PeakEwmaConfig {
  // Time constant of the latency average: how fast an estimate falls back after a slow answer.
  int64_t decay_ms = 10000;
  // A failed attempt (connect failure, timeout, reset) counts as a response this slow.
  int64_t failure_penalty_ms = 1000;
};

// What the cluster's connections speak: HTTP/1.1; HTTP/2 over TLS (ALPN h2 required); HTTP/2
// over plain TCP with prior knowledge (h2c); or, over TLS, whichever of h2 and http/1.1 the
// backend selects in ALPN (HTTP/1.1 without TLS).
enum class UpstreamProtocol { Http1, H2, H2c, Auto };

struct Http2ClientConfig {
  // Upper bound on concurrent streams per connection; the backend's
  // SETTINGS_MAX_CONCURRENT_STREAMS may lower it.
  uint32_t max_streams_per_connection = 100;
  // Receive windows: how much response body a backend may send ahead, per stream (a stream
  // whose client reads slowly stops there) and per connection.
  uint32_t initial_stream_window = 256 * 1024;
  uint32_t connection_window = 1024 * 1024;
  // Request body held per stream for a backend that has not opened its window yet; above
  // it the client is paused.
  uint32_t stream_buffer_limit = 64 * 1024;
};

// Passive outlier detection (upstream/outlier_detection.h); off unless configured.
struct OutlierDetectionConfig {
  bool enabled = false;
  uint32_t consecutive_5xx = 5;               // 0 = this streak is not counted
  uint32_t consecutive_gateway_errors = 0;    // 502/503/504 and failures to reach the host
  uint32_t consecutive_connect_failures = 5;  // connect failures, timeouts, resets
  int64_t base_ejection_ms = 30000;
  int64_t max_ejection_ms = 300000;
  uint32_t max_ejection_percent = 10;  // at least one host may always be ejected
};

// `lb: ring_hash` (upstream/ring_hash.h): each host gets points on the ring in proportion to
// its weight; the ring has at least minimum_ring_size points (more hosts or weights than that
// get one point per weight unit) and never more than maximum_ring_size.
struct RingHashConfig {
  uint32_t minimum_ring_size = 1024;
  uint32_t maximum_ring_size = 8 * 1024 * 1024;
};

// `lb: maglev` (upstream/maglev.h): the lookup table's size, a prime. Larger spreads keys more
// evenly over many hosts and moves fewer when one leaves, at 4 bytes per entry per worker.
struct MaglevConfig {
  uint32_t table_size = 65537;
};

// `sticky:` (upstream/sticky.h): Portico sets a signed cookie naming the host that served a
// client, and later requests carrying it go back to that host while it is a candidate.
struct StickyConfig {
  std::string cookie;  // the cookie's name
  int64_t ttl_ms = 0;  // Max-Age and the signed expiry; 0 = a session cookie, no expiry
  std::string secret;  // HMAC key, from secret_file; never logged
};

// `slow_start:` (upstream/slow_start.h): a host that joins the healthy set after start-up (its
// health check recovered, its ejection ended, DNS added it) takes a growing share of traffic
// over `window_ms` instead of its full share at once. Off when absent.
struct SlowStartConfig {
  int64_t window_ms = 0;
  // How the share grows: 1 = linearly; above 1 faster early on; below 1 slower early on.
  double aggression = 1.0;
  // The share a host gets at the start of its window, in percent of its weight.
  uint32_t min_weight_percent = 10;
};

struct EndpointConfig {
  net::Address address;
  std::string address_text;  // as written, for logs and metrics
  // The DNS name a discovered endpoint came from (the dns: name, or the SRV target); empty for
  // a configured address. Its TLS name when the cluster configures none (tls/client_context.h),
  // and the Host of a request that has none.
  std::string hostname;
  // "hostname:port" for a discovered endpoint, else address_text: what a Host header names.
  std::string authority() const {
    return hostname.empty() ? address_text : hostname + ":" + std::to_string(address.port());
  }
  uint32_t weight = 1;    // 1..1000
  uint32_t priority = 0;  // 0 = primary; higher = backup level (see upstream/host_set.h)
};

// Which address records a DNS endpoint asks for: A (v4), AAAA (v6), or both (any).
enum class DnsFamily { Any, V4, V6 };

// An endpoint entry that names DNS instead of an address (upstream/dns_discovery.h): either
// `dns: NAME` with a port, whose A/AAAA records are the endpoints (each with this entry's
// weight and priority), or `srv: NAME`, whose SRV records give targets, ports, weights and
// priorities (targets resolved with `family`). Resolved on the main thread, re-resolved
// when the (bounded) TTL expires.
struct DnsEndpointConfig {
  enum class Kind { Address, Srv };
  Kind kind = Kind::Address;
  std::string name;       // as written, without a trailing dot
  uint16_t port = 0;      // Kind::Address only
  uint32_t weight = 1;    // Kind::Address only (SRV records carry their own)
  uint32_t priority = 0;  // Kind::Address only
  DnsFamily family = DnsFamily::Any;
};

// A cluster's `dns:` section: how its DNS endpoints are resolved.
struct DnsConfig {
  // "ip:port" of the servers to ask, in order; empty: c-ares reads /etc/resolv.conf.
  std::vector<std::string> resolvers;
  int64_t min_ttl_ms = 1000;    // a record's TTL is raised to at least this
  int64_t max_ttl_ms = 300000;  // and lowered to at most this
  int64_t timeout_ms = 5000;    // per query attempt (c-ares timeout)
  uint32_t tries = 2;           // attempts per server (c-ares tries)
};

struct ClusterConfig {
  std::string name;
  LbPolicy lb = LbPolicy::RoundRobin;
  // `lb: least_request`: random hosts compared per pick (2 = power of two choices).
  uint32_t least_request_choices = 2;
  PeakEwmaConfig peak_ewma;  // `lb: peak_ewma`
  RingHashConfig ring_hash;
  MaglevConfig maglev;
  std::optional<StickyConfig> sticky;
  std::vector<EndpointConfig> endpoints;         // static ones (`address:`), in config order
  std::vector<DnsEndpointConfig> dns_endpoints;  // `dns:` and `srv:` entries, in config order
  DnsConfig dns;
  int64_t connect_timeout_ms = 5000;
  int64_t response_header_timeout_ms = 60000;  // request fully sent -> response head complete
  int64_t idle_timeout_ms = 60000;             // gap between reads/writes on an active request
  uint32_t keepalive_max_idle = 32;            // idle pooled connections per worker and endpoint
  int64_t keepalive_idle_timeout_ms = 60000;   // an idle pooled connection is closed after it
  // Below this percentage of healthy hosts a priority level is not enough on its own; when
  // no level is, every host takes traffic (upstream/host_set.h). 0 = never.
  uint32_t panic_threshold_percent = 50;
  RetryPolicy retry;  // max_retries and retry: (upstream/retry_policy.h)
  CircuitBreakerLimits circuit_breakers;
  OutlierDetectionConfig outlier_detection;
  // Connections (busy, idle or connecting) per worker and endpoint; 0 = unlimited. A request
  // that finds every endpoint at its limit waits in the worker's queue for the cluster (at
  // most queue_timeout_ms, bounded by circuit_breakers.max_pending_requests) instead of
  // piling onto a struggling backend (upstream/request_queue.h).
  uint32_t max_connections_per_endpoint = 0;
  // How long such a request may wait for a connection to free; then 503. 0 = no queue: 503
  // at once. The loader defaults it to timeouts.connect (HAProxy's `timeout queue` rule).
  int64_t queue_timeout_ms = 5000;
  std::optional<SlowStartConfig> slow_start;
  UpstreamProtocol protocol = UpstreamProtocol::Http1;
  Http2ClientConfig http2;
  std::optional<tls::ClientTlsConfig> tls;  // set: connections to the endpoints use TLS
  // Built from `tls` at load time; newSsl(endpoint) per upstream connection.
  std::shared_ptr<const tls::ClientContext> tls_context;
  // Active health checking (run on the main thread, upstream/health_checker.h); unset: none,
  // every host stays healthy as far as checks go.
  std::optional<HealthCheckConfig> health_check;
};

}  // namespace portico::upstream
