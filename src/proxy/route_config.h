#pragma once
// Listener, virtual host and route configuration: plain data built by config/, compiled into
// the runtime router by proxy/. Immutable once published in a snapshot.

#include <re2/re2.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "filters/filter.h"
#include "http/accept_encoding.h"
#include "http/http2_options.h"
#include "http/path_normalize.h"
#include "net/address.h"
#include "tls/client_auth_names.h"
#include "tls/tls_config.h"

namespace portico::tls {
class ServerContext;  // tls/server_context.h; declared here to keep OpenSSL out of this header
}

namespace portico::proxy {

enum class PathMatchKind { Any, Exact, Prefix, Regex };

struct ValueMatch {
  std::string name;
  // Exactly one of: present-only, exact value, regex.
  bool present_only = false;
  std::optional<std::string> exact;
  std::shared_ptr<const re2::RE2> regex;
  bool invert = false;  // match when the value does NOT match (or the field is absent)
};

struct RouteMatch {
  PathMatchKind kind = PathMatchKind::Any;
  std::string path;                       // Exact / Prefix
  std::shared_ptr<const re2::RE2> regex;  // Regex: full match against the path
  std::vector<std::string> methods;       // empty = any
  std::vector<ValueMatch> headers;
  std::vector<ValueMatch> query;
};

// One source of a proxy route's consistent-hash key (`hash_policy`, proxy/hash_key.h).
struct HashPolicyEntry {
  enum class Source { ClientIp, Header, Cookie, Path, QueryParameter };
  Source source = Source::ClientIp;
  std::string name;  // header, cookie or query parameter name; empty for client_ip and path
};

struct ProxyAction {
  std::string cluster;
  // Tried in order; the first that yields a value is hashed into the request's key for the
  // cluster's ring_hash or maglev balancer. Empty: no key (those balancers pick at random).
  std::vector<HashPolicyEntry> hash_policy;
};

struct DirectResponseAction {
  uint16_t status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct RedirectAction {
  uint16_t status = 301;
  std::string scheme;          // empty = keep
  std::string host;            // empty = keep
  uint16_t port = 0;           // 0 = keep / default for scheme
  std::string path;            // empty = keep; replaces the whole path
  std::string prefix_rewrite;  // replaces the matched prefix (prefix routes only)
  bool strip_query = false;
};

struct StaticAction {
  std::string root;  // absolute directory
  std::string index = "index.html";
  // Codings whose precompressed siblings (F.br, F.zst, F.gz) may be sent instead of F, most
  // preferred first; no Identity, no repeats. Empty: siblings are never looked for.
  std::vector<http::ContentCoding> precompressed;
};

struct RouteConfig {
  std::string name;  // optional; for logs
  RouteMatch match;
  // The route's filters (filters/registry.h), in chain order, built at load time from the
  // route's filter keys.
  std::vector<std::shared_ptr<const filters::FilterFactory>> filters;
  std::optional<std::string> rewrite_prefix;  // replaces the matched prefix before proxying
  enum class ActionKind { Proxy, Direct, Redirect, Static } action = ActionKind::Direct;
  ProxyAction proxy;
  DirectResponseAction direct;
  RedirectAction redirect;
  StaticAction static_files;
};

// Requests that reach a virtual host over plain HTTP are sent to HTTPS instead of routed.
struct HttpsRedirect {
  uint16_t port = 443;    // of the HTTPS listener clients should use
  uint16_t status = 308;  // 301, 302, 307 or 308; 308 keeps the method and body
};

struct VirtualHostConfig {
  std::string name;
  // "example.com" (exact), "*.example.com" (any subdomain), "*" (default). Lower case.
  std::vector<std::string> domains;
  std::vector<RouteConfig> routes;
  std::optional<HttpsRedirect> https_redirect;
  // The whole Strict-Transport-Security value, set on every response sent over TLS (never
  // over plain HTTP: RFC 6797 section 7.2). Empty = no HSTS.
  std::string hsts;
};

enum class ForwardMode { Append, Replace, Off };
enum class ServerHeaderMode { Replace, Remove, Pass };

struct CidrRange {
  net::Address base;
  uint8_t prefix_len = 0;
};

// Where the identity of a verified client certificate (mTLS, tls.client_auth) goes in the
// request sent upstream. An empty name turns that field off. The client's own copies of every
// named field are removed from every request, on every listener, so a backend can trust them.
struct ClientCertHeaders {
  std::string subject = "X-Client-Cert-Subject";          // RFC 2253
  std::string sans = "X-Client-Cert-SANs";                // "DNS:a.example, URI:spiffe://..."
  std::string fingerprint = "X-Client-Cert-Fingerprint";  // SHA-256, lower-case hex
  std::string verified = "X-Client-Cert-Verified";        // SUCCESS, FAILED or NONE
};

struct ForwardingConfig {
  ForwardMode x_forwarded_for = ForwardMode::Append;
  ForwardMode x_forwarded_proto = ForwardMode::Replace;
  ForwardMode x_forwarded_host = ForwardMode::Replace;
  ForwardMode forwarded = ForwardMode::Off;  // RFC 7239
  // Peers whose X-Forwarded-*/Forwarded we keep when appending; from anyone else they are
  // replaced so a client cannot forge its address.
  std::vector<CidrRange> trusted_proxies;
  bool via = true;
  bool request_id = true;
  ServerHeaderMode server_header = ServerHeaderMode::Replace;
  std::string server_name = "portico";
  ClientCertHeaders client_cert_headers;
};

struct ListenerLimits {
  size_t max_request_line = 8192;
  size_t max_header_line = 8192;
  size_t max_header_bytes = 65536;
  size_t max_headers = 100;
  uint64_t max_body = 0;                     // 0 = unlimited
  size_t buffer = 64 * 1024;                 // per connection and direction
  uint32_t max_connections = 10000;          // per worker and listener
  uint32_t max_requests_per_connection = 0;  // 0 = unlimited
};

struct ListenerTimeouts {
  int64_t header_read_ms = 10000;     // first byte of a request -> head complete
  int64_t body_idle_ms = 30000;       // gap between body reads from the client
  int64_t keepalive_idle_ms = 60000;  // idle connection between requests
  // Idle this long, a keep-alive connection gives back its per-request state (codec, stream,
  // buffers) and waits as a small parked record until its next request.
  int64_t keepalive_release_ms = 20;
  int64_t send_idle_ms = 60000;  // client not reading what we send
  // After an error reply, or a close with the client's bytes unread: how long to read and
  // discard what it still sends, waiting for its FIN (net::CloseType::Linger).
  int64_t linger_ms = 2000;
};

// Options of the listening socket itself.
struct ListenerSocket {
  int backlog = 4096;
  // TCP_DEFER_ACCEPT: the kernel hands over a connection only once its first bytes arrived,
  // so a request is read in the same turn as the accept and silent connections cost nothing.
  bool defer_accept = true;
};

struct ListenerConfig {
  std::string name;
  net::Address address;
  std::string address_text;
  ListenerLimits limits;
  ListenerTimeouts timeouts;
  ListenerSocket socket;
  ForwardingConfig forwarding;
  http::PathOptions paths;                      // how request paths are normalized before routing
  std::map<uint16_t, std::string> error_pages;  // status -> body of local error replies
  std::vector<VirtualHostConfig> virtual_hosts;
  http::Http2Options http2;                 // downstream HTTP/2 (h2 by ALPN, h2c by preface)
  std::optional<tls::ServerTlsConfig> tls;  // set: the listener speaks TLS
  // Built from `tls` at load time and shared by every worker: newSsl() per accepted connection.
  std::shared_ptr<const tls::ServerContext> tls_context;
  // The client certificate policy of each server name (from tls_context): a request whose
  // Host has another policy than the connection's SNI is refused with 421.
  std::shared_ptr<const tls::ClientAuthNames> client_auth_names;
};

}  // namespace portico::proxy
