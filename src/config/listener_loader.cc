// Listeners: address, limits, timeouts, forwarding headers, error pages, virtual hosts, TLS.

#include <unordered_map>

#include "config/sections.h"
#include "config/text_checks.h"
#include "yaml/units.h"

namespace portico::config::internal {
namespace {

using proxy::ForwardMode;
using proxy::ListenerConfig;

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kGiB = 1024 * kMiB;

const EnumNames<ForwardMode> kForwardModes = {
    {"append", ForwardMode::Append}, {"replace", ForwardMode::Replace}, {"off", ForwardMode::Off}};

void loadLimits(Reader& reader, const Field& field, proxy::ListenerLimits* limits) {
  MapReader map(reader, field,
                {"max_request_line", "max_header_line", "max_header_bytes", "max_headers",
                 "max_body", "buffer", "max_connections", "max_requests_per_connection"});
  if (!map.valid()) return;
  // Lower bounds keep ordinary browsers working (cookies alone can pass 4 KiB); upper bounds
  // keep one connection from pinning an unbounded amount of memory.
  if (const Field* f = map.find("max_request_line")) {
    assignIf(&limits->max_request_line, readSize(reader, *f, 256, kMiB));
  }
  if (const Field* f = map.find("max_header_line")) {
    assignIf(&limits->max_header_line, readSize(reader, *f, 256, kMiB));
  }
  if (const Field* f = map.find("max_header_bytes")) {
    assignIf(&limits->max_header_bytes, readSize(reader, *f, kKiB, 16 * kMiB));
  }
  if (const Field* f = map.find("max_headers")) {
    assignIf(&limits->max_headers, readInt(reader, *f, 1, 10000));
  }
  if (const Field* f = map.find("max_body")) {
    assignIf(&limits->max_body, readSize(reader, *f, 0, 1024 * kGiB));
  }
  if (const Field* f = map.find("buffer")) {
    assignIf(&limits->buffer, readSize(reader, *f, 4 * kKiB, 64 * kMiB));
  }
  if (const Field* f = map.find("max_connections")) {
    assignIf(&limits->max_connections, readInt(reader, *f, 1, 1000000));
  }
  if (const Field* f = map.find("max_requests_per_connection")) {
    assignIf(&limits->max_requests_per_connection, readInt(reader, *f, 0, UINT32_MAX));
  }
  // One header line larger than the whole header section could never be accepted.
  if (limits->max_header_bytes < limits->max_header_line) {
    const Field* f = map.find("max_header_bytes");
    if (f == nullptr) f = map.find("max_header_line");
    if (f != nullptr) {
      reader.error(f->mark, f->path,
                   "max_header_bytes (" + formatSize(limits->max_header_bytes) +
                       ") must be at least max_header_line (" +
                       formatSize(limits->max_header_line) + ")");
    }
  }
}

void loadTimeouts(Reader& reader, const Field& field, proxy::ListenerTimeouts* timeouts) {
  MapReader map(
      reader, field,
      {"header_read", "body_idle", "keepalive_idle", "keepalive_release", "send_idle", "linger"});
  if (!map.valid()) return;
  // Zero would mean "expire at once" (or "never" to some readers); neither is useful.
  if (const Field* f = map.find("header_read")) {
    assignIf(&timeouts->header_read_ms, readDurationMs(reader, *f, 1, kOneDayMs));
  }
  if (const Field* f = map.find("body_idle")) {
    assignIf(&timeouts->body_idle_ms, readDurationMs(reader, *f, 1, kOneDayMs));
  }
  if (const Field* f = map.find("keepalive_idle")) {
    assignIf(&timeouts->keepalive_idle_ms, readDurationMs(reader, *f, 1, kOneDayMs));
  }
  if (const Field* f = map.find("send_idle")) {
    assignIf(&timeouts->send_idle_ms, readDurationMs(reader, *f, 1, kOneDayMs));
  }
  // Zero is meaningful here: release at once, at the end of every response.
  if (const Field* f = map.find("keepalive_release")) {
    assignIf(&timeouts->keepalive_release_ms, readDurationMs(reader, *f, 0, kOneDayMs));
  }
  // Zero turns lingering off: close at once, even with the client's bytes unread.
  if (const Field* f = map.find("linger")) {
    assignIf(&timeouts->linger_ms, readDurationMs(reader, *f, 0, kOneDayMs));
  }
}

void loadSocket(Reader& reader, const Field& field, proxy::ListenerSocket* socket) {
  MapReader map(reader, field, {"backlog", "defer_accept"});
  if (!map.valid()) return;
  // The kernel caps the backlog at net.core.somaxconn anyway; the bound catches typos.
  if (const Field* f = map.find("backlog")) {
    assignIf(&socket->backlog, readInt(reader, *f, 1, 65535));
  }
  if (const Field* f = map.find("defer_accept")) {
    assignIf(&socket->defer_accept, readBool(reader, *f));
  }
}

void loadPaths(Reader& reader, const Field& field, http::PathOptions* paths) {
  MapReader map(reader, field, {"merge_slashes", "escaped_slashes"});
  if (!map.valid()) return;
  if (const Field* f = map.find("merge_slashes")) {
    assignIf(&paths->merge_slashes, readBool(reader, *f));
  }
  if (const Field* f = map.find("escaped_slashes")) {
    assignIf(&paths->escaped_slashes,
             readEnum<http::EscapedSlashes>(reader, *f,
                                            {{"reject", http::EscapedSlashes::Reject},
                                             {"keep", http::EscapedSlashes::Keep},
                                             {"unescape", http::EscapedSlashes::Unescape}}));
  }
}

void loadForwarding(Reader& reader, const Field& field, proxy::ForwardingConfig* fwd) {
  MapReader map(
      reader, field,
      {"x_forwarded_for", "x_forwarded_proto", "x_forwarded_host", "forwarded", "trusted_proxies",
       "via", "request_id", "server_header", "server_name", "client_cert_headers"});
  if (!map.valid()) return;
  if (const Field* f = map.find("client_cert_headers")) {
    loadClientCertHeaders(reader, *f, &fwd->client_cert_headers);
  }
  if (const Field* f = map.find("x_forwarded_for")) {
    assignIf(&fwd->x_forwarded_for, readEnum(reader, *f, kForwardModes));
  }
  if (const Field* f = map.find("x_forwarded_proto")) {
    assignIf(&fwd->x_forwarded_proto, readEnum(reader, *f, kForwardModes));
  }
  if (const Field* f = map.find("x_forwarded_host")) {
    assignIf(&fwd->x_forwarded_host, readEnum(reader, *f, kForwardModes));
  }
  if (const Field* f = map.find("forwarded")) {
    assignIf(&fwd->forwarded, readEnum(reader, *f, kForwardModes));
  }
  if (const Field* f = map.find("trusted_proxies")) {
    for (const Field& item : itemsOf(reader, *f, false)) {
      std::optional<std::string> text = readString(reader, item);
      if (!text) continue;
      proxy::CidrRange range;
      std::string why;
      if (parseCidr(*text, &range, &why)) {
        fwd->trusted_proxies.push_back(range);
      } else {
        reader.error(item.mark, item.path, why + ", got " + quote(*text));
      }
    }
  }
  if (const Field* f = map.find("via")) assignIf(&fwd->via, readBool(reader, *f));
  if (const Field* f = map.find("request_id")) assignIf(&fwd->request_id, readBool(reader, *f));
  if (const Field* f = map.find("server_header")) {
    assignIf(&fwd->server_header,
             readEnum<proxy::ServerHeaderMode>(reader, *f,
                                               {{"replace", proxy::ServerHeaderMode::Replace},
                                                {"remove", proxy::ServerHeaderMode::Remove},
                                                {"pass", proxy::ServerHeaderMode::Pass}}));
  }
  if (const Field* f = map.find("server_name")) {
    std::optional<std::string> name = readHeaderValue(reader, *f);
    if (name && name->empty()) {
      reader.error(f->mark, f->path, "must not be empty (use server_header: remove instead)");
    } else {
      assignIf(&fwd->server_name, name);
    }
  }
}

// `http2:` of a listener. Ranges: what RFC 9113 allows, narrowed where a larger value would
// only let one connection hold more memory (windows, tables) than any client needs.
void loadHttp2(Reader& reader, const Field& field, http::Http2Options* h2) {
  MapReader map(
      reader, field,
      {"cleartext", "max_concurrent_streams", "initial_stream_window", "connection_window",
       "max_header_list_size", "hpack_table_size", "max_frame_size", "attack_limits", "websocket"});
  if (!map.valid()) return;
  if (const Field* f = map.find("cleartext")) assignIf(&h2->cleartext, readBool(reader, *f));
  if (const Field* f = map.find("max_concurrent_streams"))
    assignIf(&h2->max_concurrent_streams, readInt(reader, *f, 1, 10000));
  if (const Field* f = map.find("initial_stream_window"))
    assignIf(&h2->initial_stream_window, readSize(reader, *f, 1024, 16 * kMiB));
  if (const Field* f = map.find("connection_window"))
    assignIf(&h2->connection_window, readSize(reader, *f, 65535, 64 * kMiB));
  if (const Field* f = map.find("max_header_list_size"))
    assignIf(&h2->max_header_list_size, readSize(reader, *f, kKiB, 16 * kMiB));
  if (const Field* f = map.find("hpack_table_size"))
    assignIf(&h2->hpack_table_size, readSize(reader, *f, 0, kMiB));
  if (const Field* f = map.find("max_frame_size"))
    assignIf(&h2->max_frame_size, readSize(reader, *f, 16384, 16 * kMiB - 1));
  if (const Field* f = map.find("attack_limits"))
    loadHttp2AttackLimits(reader, *f, &h2->attack_limits);
  if (const Field* f = map.find("websocket")) assignIf(&h2->websocket, readBool(reader, *f));
}

void loadErrorPages(Reader& reader, const Field& field, std::map<uint16_t, std::string>* pages) {
  for (const KeyedField& entry : entriesOf(reader, field)) {
    std::optional<int64_t> status = parseInteger(entry.key);
    if (!status || *status < 400 || *status > 599) {
      reader.error(entry.key_mark, entry.field.path,
                   "expected an error status code 400..599 as key, got " + quote(entry.key));
      continue;
    }
    std::optional<std::string> body = readString(reader, entry.field);
    if (body) (*pages)[static_cast<uint16_t>(*status)] = std::move(*body);
  }
}

// `https_redirect: true`, or `{ port: 8443, status: 301 }`.
std::optional<proxy::HttpsRedirect> loadHttpsRedirect(Reader& reader, const Field& field) {
  proxy::HttpsRedirect redirect;
  if (field.node.IsScalar()) {
    std::optional<bool> on = readBool(reader, field);
    if (!on || !*on) return std::nullopt;
    return redirect;
  }
  MapReader map(reader, field, {"port", "status"});
  if (!map.valid()) return std::nullopt;
  if (const Field* f = map.find("port")) assignIf(&redirect.port, readInt(reader, *f, 1, 65535));
  if (const Field* f = map.find("status")) {
    std::optional<int64_t> status = readInt(reader, *f, 301, 308);
    if (status && *status != 301 && *status != 302 && *status != 307 && *status != 308) {
      reader.error(f->mark, f->path,
                   "a redirect status is 301, 302, 307 or 308, got " + std::to_string(*status));
    } else {
      assignIf(&redirect.status, status);
    }
  }
  return redirect;
}

// `hsts: { max_age: 365d, include_subdomains: true, preload: false }`; the header value.
std::string loadHsts(Reader& reader, const Field& field) {
  MapReader map(reader, field, {"max_age", "include_subdomains", "preload"});
  if (!map.valid()) return {};
  int64_t max_age_ms = 0;
  if (const Field* f = map.require("max_age")) {
    assignIf(&max_age_ms, readDurationMs(reader, *f, 0, 100LL * 365 * kOneDayMs));
  }
  bool subdomains = false;
  bool preload = false;
  if (const Field* f = map.find("include_subdomains")) assignIf(&subdomains, readBool(reader, *f));
  if (const Field* f = map.find("preload")) assignIf(&preload, readBool(reader, *f));
  if (preload && (!subdomains || max_age_ms < 365 * kOneDayMs)) {
    // The preload list refuses such sites; sending `preload` would only mislead.
    reader.error(field.mark, field.path,
                 "preload needs include_subdomains: true and max_age of at least 365d");
  }
  std::string value = "max-age=" + std::to_string(max_age_ms / 1000);
  if (subdomains) value += "; includeSubDomains";
  if (preload) value += "; preload";
  return value;
}

proxy::VirtualHostConfig loadVirtualHost(Reader& reader, const Field& field, UniqueValues* names,
                                         UniqueValues* domains_seen, RouteContext* routes) {
  proxy::VirtualHostConfig vhost;
  MapReader map(reader, field, {"name", "domains", "routes", "https_redirect", "hsts"});
  if (!map.valid()) return vhost;
  if (const Field* f = map.require("name")) {
    std::optional<std::string> name = readName(reader, *f);
    if (name && names->check(reader, *f, *name)) vhost.name = *name;
  }
  if (const Field* f = map.require("domains")) {
    for (const Field& item : itemsOf(reader, *f, /*non_empty=*/true)) {
      std::optional<std::string> domain = readNonEmptyString(reader, item);
      if (!domain) continue;
      std::string why;
      std::string as_written = *domain;
      if (!normalizeDomain(&*domain, &why)) {
        reader.error(item.mark, item.path, why + ", got " + quote(as_written));
        continue;
      }
      // Host matching must be unambiguous: one domain, one virtual host per listener.
      if (domains_seen->check(reader, item, *domain)) vhost.domains.push_back(std::move(*domain));
    }
  }
  if (const Field* f = map.require("routes")) {
    for (const Field& item : itemsOf(reader, *f, /*non_empty=*/true)) {
      vhost.routes.push_back(loadRoute(reader, item, routes));
    }
  }
  if (const Field* f = map.find("https_redirect"))
    vhost.https_redirect = loadHttpsRedirect(reader, *f);
  if (const Field* f = map.find("hsts")) vhost.hsts = loadHsts(reader, *f);
  return vhost;
}

// Listener addresses already taken, to catch two listeners that could not both bind: the
// same address twice, or a wildcard and a specific address on one port. Lookups are by key so
// a file with thousands of listeners stays linear.
class AddressRegistry {
 public:
  void check(Reader& reader, const Field& field, const net::Address& address) {
    // Port 0 asks the kernel for a fresh port each time: never a conflict.
    if (address.port() == 0) return;
    Entry entry{address.toString(), field.path, field.mark.line + 1};
    std::string port_key = std::to_string(address.family()) + "/" + std::to_string(address.port());
    if (auto it = exact_.find(entry.text); it != exact_.end()) {
      reader.error(field.mark, field.path,
                   "duplicate listener address " + entry.text + firstUse(it->second));
      return;
    }
    bool wildcard = address.hostString() == "0.0.0.0" || address.hostString() == "::";
    // A wildcard conflicts with any specific address on its port, and the other way round.
    auto& others = wildcard ? specific_ : wildcard_;
    if (auto it = others.find(port_key); it != others.end()) {
      reader.error(
          field.mark, field.path,
          "listener address " + entry.text + " overlaps " + it->second.text + firstUse(it->second));
      return;
    }
    (wildcard ? wildcard_ : specific_).emplace(port_key, entry);
    exact_.emplace(entry.text, std::move(entry));
  }

 private:
  struct Entry {
    std::string text;
    std::string path;
    int line;
  };
  static std::string firstUse(const Entry& e) {
    return " (first used at " + e.path + ", line " + std::to_string(e.line) + ")";
  }
  std::unordered_map<std::string, Entry> exact_;
  std::unordered_map<std::string, Entry> wildcard_;  // "family/port" -> first wildcard
  std::unordered_map<std::string, Entry> specific_;  // "family/port" -> first specific address
};

ListenerConfig loadListener(Reader& reader, const Field& field, UniqueValues* names,
                            AddressRegistry* addresses, RouteContext* routes) {
  ListenerConfig listener;
  MapReader map(reader, field,
                {"name", "address", "socket", "limits", "timeouts", "forwarding", "paths",
                 "error_pages", "virtual_hosts", "tls", "http2"});
  if (!map.valid()) return listener;
  if (const Field* f = map.require("name")) {
    std::optional<std::string> name = readName(reader, *f);
    if (name && names->check(reader, *f, *name)) listener.name = *name;
  }
  if (const Field* f = map.require("address")) {
    std::optional<std::string> text = readString(reader, *f);
    if (text && net::parseAddress(*text, &listener.address)) {
      listener.address_text = *text;
      addresses->check(reader, *f, listener.address);
    } else if (text) {
      reader.error(
          f->mark, f->path,
          "expected an address like 127.0.0.1:8080, [::1]:8080 or *:8080, got " + quote(*text));
    }
  }
  if (const Field* f = map.find("limits")) loadLimits(reader, *f, &listener.limits);
  if (const Field* f = map.find("timeouts")) loadTimeouts(reader, *f, &listener.timeouts);
  if (const Field* f = map.find("socket")) loadSocket(reader, *f, &listener.socket);
  if (const Field* f = map.find("forwarding")) loadForwarding(reader, *f, &listener.forwarding);
  if (const Field* f = map.find("paths")) loadPaths(reader, *f, &listener.paths);
  if (const Field* f = map.find("error_pages")) loadErrorPages(reader, *f, &listener.error_pages);
  if (const Field* f = map.find("tls")) loadServerTls(reader, *f, &listener, routes->acme);
  if (const Field* f = map.find("http2")) loadHttp2(reader, *f, &listener.http2);
  if (const Field* f = map.require("virtual_hosts")) {
    UniqueValues vhost_names("virtual host name");
    UniqueValues domains("domain");
    for (const Field& item : itemsOf(reader, *f, /*non_empty=*/true)) {
      listener.virtual_hosts.push_back(
          loadVirtualHost(reader, item, &vhost_names, &domains, routes));
    }
  }
  return listener;
}

}  // namespace

void loadListeners(Reader& reader, const Field& field, std::vector<ListenerConfig>* out,
                   RouteContext* routes) {
  UniqueValues names("listener name");
  AddressRegistry addresses;
  for (const Field& item : itemsOf(reader, field, /*non_empty=*/true)) {
    out->push_back(loadListener(reader, item, &names, &addresses, routes));
  }
}

}  // namespace portico::config::internal
