// TLS of listeners (server side) and clusters (client side). The contexts are built here, at
// load time: a certificate that does not match its key, or has expired, is an error that
// points at its key in the file instead of a failure at the first handshake.

#include <algorithm>
#include <type_traits>
#include <unordered_map>

#include "config/ocsp_loader.h"
#include "config/sections.h"
#include "config/text_checks.h"
#include "net/address.h"
#include "tls/client_context.h"
#include "tls/server_context.h"

namespace portico::config::internal {

// A file name; a relative one is taken from the configuration file's directory, so a config
// and its certificates can move together and mean the same wherever Portico is started.
std::optional<std::string> readFile(Reader& reader, const Field& field) {
  std::optional<std::string> path = readNonEmptyString(reader, field);
  if (!path) return path;
  if (path->find('\0') != std::string::npos) {
    reader.error(field.mark, field.path, "must not contain NUL");
    return std::nullopt;
  }
  if (path->front() == '/') return path;
  size_t slash = reader.file().rfind('/');
  return slash == std::string::npos ? *path : reader.file().substr(0, slash + 1) + *path;
}

namespace {

constexpr int64_t kOneWeekMs = 7 * kOneDayMs;

// The fields read below one `tls:` key, by their path relative to it ("certificates[1].key"),
// so an error the context build names by key is reported where that key was written.
class TlsFields {
 public:
  explicit TlsFields(const Field& tls) : tls_(tls) {}
  const Field* note(const Field* f) {
    if (f != nullptr) fields_.emplace(f->path.substr(tls_.path.size() + 1), *f);
    return f;
  }
  void report(Reader& reader, const std::string& key, const std::string& message) const {
    auto it = fields_.find(key);
    const Field& at = it != fields_.end() ? it->second : tls_;
    reader.error(at.mark, at.path, message);
  }

 private:
  const Field& tls_;
  std::unordered_map<std::string, Field> fields_;
};

std::optional<tls::TlsVersion> readVersion(Reader& reader, const Field& field) {
  std::optional<std::string> text = readString(reader, field);
  if (!text) return std::nullopt;
  if (*text == "TLSv1.2") return tls::TlsVersion::V1_2;
  if (*text == "TLSv1.3") return tls::TlsVersion::V1_3;
  if (*text == "TLSv1" || *text == "TLSv1.0" || *text == "TLSv1.1") {
    reader.error(field.mark, field.path,
                 quote(*text) +
                     " is not supported: deprecated by RFC 8996 and without AEAD "
                     "ciphers; use TLSv1.2 or TLSv1.3");
    return std::nullopt;
  }
  reportBadEnum(reader, field, {"TLSv1.2", "TLSv1.3"}, *text);
  return std::nullopt;
}

// The protocols a codec exists for (server/server_codecs.cc lists them, and server.cc checks
// this list against it): offering one we cannot speak would make clients pick it. Listeners
// speak h2 and http/1.1; upstream connections only http/1.1 so far.
std::optional<std::vector<std::string>> readAlpn(Reader& reader, const Field& field,
                                                 bool allow_h2) {
  std::vector<std::string> out;
  for (const Field& item : itemsOf(reader, field, /*non_empty=*/false)) {
    std::optional<std::string> name = readString(reader, item);
    if (!name) return std::nullopt;
    if (*name != "http/1.1" && !(allow_h2 && *name == "h2")) {
      reader.error(item.mark, item.path,
                   std::string(allow_h2 ? "expected \"h2\" or \"http/1.1\""
                                        : "only \"http/1.1\" is supported upstream") +
                       ", got " + quote(*name));
      return std::nullopt;
    }
    if (std::find(out.begin(), out.end(), *name) != out.end()) {
      reader.error(item.mark, item.path, "duplicate protocol " + quote(*name));
      return std::nullopt;
    }
    out.push_back(*name);
  }
  return out;
}

// Keys that listeners and clusters share.
template <typename Config>
void loadProtocol(Reader& reader, const MapReader& map, TlsFields* fields, Config* config) {
  if (const Field* f = fields->note(map.find("min_version"))) {
    assignIf(&config->min_version, readVersion(reader, *f));
  }
  if (const Field* f = fields->note(map.find("max_version"))) {
    assignIf(&config->max_version, readVersion(reader, *f));
  }
  if (const Field* f = fields->note(map.find("ciphers"))) {
    assignIf(&config->ciphers, readNonEmptyString(reader, *f));
  }
  if (const Field* f = fields->note(map.find("ciphersuites"))) {
    assignIf(&config->ciphersuites, readNonEmptyString(reader, *f));
  }
  if (const Field* f = fields->note(map.find("alpn"))) {
    constexpr bool kServer = std::is_same_v<Config, tls::ServerTlsConfig>;
    assignIf(&config->alpn, readAlpn(reader, *f, kServer));
  }
}

tls::CertificateFiles loadCertificateFiles(Reader& reader, const Field& field, TlsFields* fields) {
  tls::CertificateFiles files;
  MapReader map(reader, field, {"cert", "key", "ocsp", "client_auth"});
  if (!map.valid()) return files;
  if (const Field* f = map.find("client_auth")) {
    files.client_auth = loadClientAuth(reader, *f, [fields](const Field* g) { fields->note(g); });
  }
  if (const Field* f = fields->note(map.require("cert")))
    assignIf(&files.cert, readFile(reader, *f));
  if (const Field* f = fields->note(map.require("key"))) assignIf(&files.key, readFile(reader, *f));
  if (const Field* f = fields->note(map.find("ocsp"))) loadOcsp(reader, *f, &files.ocsp, readFile);
  return files;
}

// A DNS name: what SNI carries (RFC 6066 forbids IP literals there) and what a certificate's
// subjectAltName is checked against.
std::optional<std::string> readDnsName(Reader& reader, const Field& field) {
  std::optional<std::string> name = readNonEmptyString(reader, field);
  net::Address ip;
  if (name && (!isHostname(*name) || net::parseIp(*name, &ip))) {
    reader.error(field.mark, field.path,
                 "expected a DNS name like backend.internal, got " + quote(*name));
    return std::nullopt;
  }
  return name;
}

}  // namespace

void loadServerTls(Reader& reader, const Field& field, proxy::ListenerConfig* listener,
                   tls::acme::AcmeConfig* acme) {
  size_t errors_before = reader.errorCount();
  tls::ServerTlsConfig config;
  TlsFields fields(field);
  MapReader map(
      reader, field,
      {"certificates", "min_version", "max_version", "ciphers", "ciphersuites", "groups", "alpn",
       "session_tickets", "ticket_key_rotation", "session_cache", "session_cache_size",
       "session_timeout", "handshake_timeout", "prefer_server_ciphers", "client_auth"});
  if (!map.valid()) return;
  if (const Field* f = map.find("client_auth")) {
    config.client_auth = loadClientAuth(reader, *f, [&fields](const Field* g) { fields.note(g); });
  }
  if (const Field* f = fields.note(map.require("certificates"))) {
    for (const Field& item : itemsOf(reader, *f, /*non_empty=*/true)) {
      config.certificates.push_back(isAcmeCertificate(item)
                                        ? loadAcmeCertificate(reader, item, acme)
                                        : loadCertificateFiles(reader, item, &fields));
    }
  }
  loadProtocol(reader, map, &fields, &config);
  if (const Field* f = fields.note(map.find("groups"))) {
    config.groups.clear();
    for (const Field& item : itemsOf(reader, *f, /*non_empty=*/true)) {
      std::optional<std::string> group = readNonEmptyString(reader, item);
      if (group) config.groups.push_back(*group);
    }
  }
  if (const Field* f = map.find("session_tickets")) {
    assignIf(&config.session_tickets, readBool(reader, *f));
  }
  if (const Field* f = map.find("ticket_key_rotation")) {
    assignIf(&config.ticket_key_rotation_ms, readDurationMs(reader, *f, 60 * 1000, kOneWeekMs));
  }
  if (const Field* f = map.find("session_cache")) {
    assignIf(&config.session_cache, readBool(reader, *f));
  }
  if (const Field* f = map.find("session_cache_size")) {
    assignIf(&config.session_cache_size, readInt(reader, *f, 1, 10'000'000));
  }
  // RFC 8446 caps a ticket's lifetime at seven days.
  if (const Field* f = map.find("session_timeout")) {
    assignIf(&config.session_timeout_ms, readDurationMs(reader, *f, 1000, kOneWeekMs));
  }
  if (const Field* f = map.find("handshake_timeout")) {
    assignIf(&config.handshake_timeout_ms, readDurationMs(reader, *f, 1, kOneDayMs));
  }
  if (const Field* f = map.find("prefer_server_ciphers")) {
    assignIf(&config.prefer_server_ciphers, readBool(reader, *f));
  }
  // Building on top of a missing file or a bad version would only repeat those errors.
  if (reader.errorCount() != errors_before) return;
  std::string key;
  Result<std::shared_ptr<tls::ServerContext>> built = tls::ServerContext::build(config, &key);
  if (!built) {
    fields.report(reader, key, built.error().detail);
    return;
  }
  listener->client_auth_names = (*built)->clientAuthNames();
  listener->tls_context = std::move(*built);
  listener->tls = std::move(config);
}

void loadClientTls(Reader& reader, const Field& field, upstream::ClusterConfig* cluster) {
  size_t errors_before = reader.errorCount();
  tls::ClientTlsConfig config;
  TlsFields fields(field);
  MapReader map(reader, field,
                {"verify", "ca", "sni", "sni_from_host", "verify_name", "cert", "key", "alpn",
                 "session_reuse", "min_version", "max_version", "ciphers", "ciphersuites"});
  if (!map.valid()) return;
  if (const Field* f = map.find("verify")) assignIf(&config.verify, readBool(reader, *f));
  if (const Field* f = fields.note(map.find("ca"))) assignIf(&config.ca, readFile(reader, *f));
  if (const Field* f = map.find("sni")) assignIf(&config.sni, readDnsName(reader, *f));
  if (const Field* f = map.find("sni_from_host")) {
    assignIf(&config.sni_from_host, readBool(reader, *f));
    if (config.sni_from_host && map.find("sni") != nullptr) {
      reader.error(f->mark, f->path, "sni and sni_from_host: true exclude each other");
    }
  }
  if (const Field* f = map.find("verify_name")) {
    assignIf(&config.verify_name, readDnsName(reader, *f));
  }
  const Field* cert = fields.note(map.find("cert"));
  const Field* key = fields.note(map.find("key"));
  if (cert != nullptr) assignIf(&config.cert, readFile(reader, *cert));
  if (key != nullptr) assignIf(&config.key, readFile(reader, *key));
  if ((cert == nullptr) != (key == nullptr)) {
    const Field* present = cert != nullptr ? cert : key;
    reader.error(present->mark, present->path,
                 "a client certificate needs both cert and key; " +
                     std::string(cert == nullptr ? "cert" : "key") + " is missing");
  }
  if (const Field* f = map.find("session_reuse")) {
    assignIf(&config.session_reuse, readBool(reader, *f));
  }
  loadProtocol(reader, map, &fields, &config);
  // HTTP/2 clusters offer h2 (auto also http/1.1, and uses what the backend picks); the
  // protocol key decides, so an alpn list beside it would only contradict it.
  if (cluster->protocol == upstream::UpstreamProtocol::H2 ||
      cluster->protocol == upstream::UpstreamProtocol::Auto) {
    if (const Field* f = map.find("alpn")) {
      reader.error(f->mark, f->path,
                   "alpn is chosen by the cluster's protocol (h2 or auto); remove it");
    }
    config.alpn = cluster->protocol == upstream::UpstreamProtocol::H2
                      ? std::vector<std::string>{"h2"}
                      : std::vector<std::string>{"h2", "http/1.1"};
  }
  // With verify on and neither sni nor verify_name, a DNS endpoint's name is verified and a
  // static endpoint's IP: there is always something to check.
  if (reader.errorCount() != errors_before) return;
  std::string error_key;
  Result<std::shared_ptr<tls::ClientContext>> built = tls::ClientContext::build(config, &error_key);
  if (!built) {
    fields.report(reader, error_key, built.error().detail);
    return;
  }
  cluster->tls_context = std::move(*built);
  cluster->tls = std::move(config);
}

}  // namespace portico::config::internal
