// The top-level `acme:` section and the `- acme: [names]` entries of a listener's
// certificate list. An entry becomes ordinary cert/key paths under acme.storage, so the
// listener's context and the certificate reloader serve and reload it like any other; when
// nothing servable is stored yet, a short-lived self-signed placeholder is written first so
// the listener can start (and answer TLS-ALPN-01).

#include <algorithm>
#include <cctype>

#include "config/sections.h"
#include "config/text_checks.h"
#include "net/address.h"
#include "tls/acme/storage.h"

namespace portico::config::internal {
namespace {

constexpr int64_t kMaxRenewBeforeMs = 100000LL * kOneDayMs;

void loadRetry(Reader& reader, const Field& field, tls::acme::AcmeConfig* out) {
  MapReader map(reader, field, {"min", "max"});
  if (!map.valid()) return;
  if (const Field* f = map.find("min")) {
    assignIf(&out->retry_min_ms, readDurationMs(reader, *f, 1000, kOneDayMs));
  }
  if (const Field* f = map.find("max")) {
    assignIf(&out->retry_max_ms, readDurationMs(reader, *f, 1000, 7 * kOneDayMs));
  }
  if (out->retry_max_ms < out->retry_min_ms) {
    reader.error(field.mark, field.path, "max must not be shorter than min");
  }
}

// A name an ACME server can validate with HTTP-01 or TLS-ALPN-01: a DNS name, no wildcard
// (those need DNS-01), no IP literal.
std::optional<std::string> readAcmeName(Reader& reader, const Field& field) {
  std::optional<std::string> name = readNonEmptyString(reader, field);
  if (!name) return name;
  std::transform(name->begin(), name->end(), name->begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  net::Address ip;
  if (!isHostname(*name) || net::parseIp(*name, &ip) || name->find('.') == std::string::npos) {
    reader.error(field.mark, field.path,
                 "expected a DNS name like www.example.com (no wildcard, no IP address), got " +
                     quote(*name));
    return std::nullopt;
  }
  return name;
}

}  // namespace

void loadAcme(Reader& reader, const Field& field, tls::acme::AcmeConfig* out) {
  MapReader map(reader, field,
                {"directory", "email", "ca", "storage", "renew_before", "challenge", "retry"});
  if (!map.valid()) return;
  if (const Field* f = map.require("directory")) {
    std::optional<std::string> url = readNonEmptyString(reader, *f);
    if (url && url->rfind("https://", 0) != 0) {
      reader.error(f->mark, f->path, "expected an https:// URL, got " + quote(*url));
    } else {
      assignIf(&out->directory, url);
    }
  }
  if (const Field* f = map.find("email")) {
    std::optional<std::string> email = readNonEmptyString(reader, *f);
    if (email && (email->find('@') == std::string::npos ||
                  email->find_first_of(" \t\r\n,<>") != std::string::npos)) {
      reader.error(f->mark, f->path, "expected an email address, got " + quote(*email));
    } else {
      assignIf(&out->email, email);
    }
  }
  if (const Field* f = map.find("ca")) assignIf(&out->ca, readFile(reader, *f));
  if (const Field* f = map.find("storage")) assignIf(&out->storage, readFile(reader, *f));
  if (const Field* f = map.find("renew_before")) {
    assignIf(&out->renew_before_ms, readDurationMs(reader, *f, 60 * 1000, kMaxRenewBeforeMs));
  }
  if (const Field* f = map.find("challenge")) {
    assignIf(&out->challenge, readEnum<tls::acme::ChallengeType>(
                                  reader, *f,
                                  {{"http-01", tls::acme::ChallengeType::Http01},
                                   {"tls-alpn-01", tls::acme::ChallengeType::TlsAlpn01}}));
  }
  if (const Field* f = map.find("retry")) loadRetry(reader, *f, out);
}

bool isAcmeCertificate(const Field& field) {
  const YAML::Node& node = field.node;
  return node.IsMap() && node["acme"];
}

tls::CertificateFiles loadAcmeCertificate(Reader& reader, const Field& field,
                                          tls::acme::AcmeConfig* acme) {
  tls::CertificateFiles files;
  MapReader map(reader, field, {"acme"});
  if (!map.valid()) return files;
  const Field* list = map.require("acme");
  if (list == nullptr) return files;
  if (acme == nullptr || acme->directory.empty()) {  // no section, or a broken one (reported)
    if (acme == nullptr) {
      reader.error(list->mark, list->path,
                   "automatic certificates need the top-level `acme:` section (directory, ...)");
    }
    return files;
  }
  size_t errors_before = reader.errorCount();
  tls::acme::ManagedCertificate managed;
  UniqueValues seen("name");
  for (const Field& item : itemsOf(reader, *list, /*non_empty=*/true)) {
    std::optional<std::string> name = readAcmeName(reader, item);
    if (name && seen.check(reader, item, *name)) managed.names.push_back(*name);
  }
  // A placeholder is written only for a list that is entirely valid.
  if (managed.names.empty() || reader.errorCount() != errors_before) return files;
  managed.cert = acme->storage + "/" + managed.names[0] + ".crt";
  managed.key = acme->storage + "/" + managed.names[0] + ".key";
  files = {managed.cert, managed.key};
  auto same = std::find_if(acme->certificates.begin(), acme->certificates.end(),
                           [&](const auto& m) { return m.cert == managed.cert; });
  if (same != acme->certificates.end()) {
    if (same->names != managed.names) {
      reader.error(list->mark, list->path,
                   "another acme entry starts with " + quote(managed.names[0]) +
                       " but lists other names; the first name names the stored files");
    }
    return files;
  }
  std::string error;
  bool wrote = false;
  if (!tls::acme::makePrivateDirectory(acme->storage, &error) ||
      !tls::acme::ensureServable(managed, &wrote, &error)) {
    reader.error(list->mark, list->path, "acme.storage: " + error);
    return files;
  }
  acme->certificates.push_back(std::move(managed));
  return files;
}

}  // namespace portico::config::internal
