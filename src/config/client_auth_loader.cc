// Client certificates (mTLS): `tls.client_auth` of a listener, `client_auth` of one of its
// certificate entries (the names of that certificate), and where the verified identity goes
// upstream (`forwarding.client_cert_headers`). The CA bundle and CRLs are read when the
// listener's context is built (tls/client_auth.cc), so their errors point at their keys.

#include "config/sections.h"
#include "config/text_checks.h"
#include "http/header_map.h"

namespace portico::config::internal {
namespace {

const EnumNames<tls::ClientAuthMode> kModes = {{"required", tls::ClientAuthMode::Required},
                                               {"optional", tls::ClientAuthMode::Optional}};

// Fields the forwarding stage itself writes: a client certificate field by one of these names
// would be overwritten by it, or overwrite it.
bool setByForwarding(std::string_view name) {
  constexpr std::string_view kForwardedPrefix = "X-Forwarded-";
  if (name.size() > kForwardedPrefix.size() &&
      http::equalsIgnoreCase(name.substr(0, kForwardedPrefix.size()), kForwardedPrefix)) {
    return true;
  }
  for (std::string_view own : {"Forwarded", "Via", "X-Request-Id", "Host"}) {
    if (http::equalsIgnoreCase(name, own)) return true;
  }
  return false;
}

// Header names compare without case.
std::string lowered(std::string name) {
  for (char& c : name) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return name;
}

}  // namespace

std::optional<tls::ClientAuthConfig> loadClientAuth(Reader& reader, const Field& field,
                                                    const std::function<void(const Field*)>& note) {
  if (field.node.IsScalar()) {
    std::optional<bool> on = readBool(reader, field);
    if (on && *on) {
      reader.error(field.mark, field.path,
                   "client_auth needs at least a CA bundle: { ca: clients-ca.pem }; "
                   "false turns it off for these names");
    }
    if (!on || *on) return std::nullopt;
    tls::ClientAuthConfig off;
    off.mode = tls::ClientAuthMode::Off;
    return off;
  }
  MapReader map(reader, field, {"mode", "ca", "crl", "verify_depth"});
  if (!map.valid()) return std::nullopt;
  tls::ClientAuthConfig config;
  if (const Field* f = map.find("mode")) assignIf(&config.mode, readEnum(reader, *f, kModes));
  if (const Field* f = map.require("ca")) {
    note(f);
    assignIf(&config.ca, readFile(reader, *f));
  }
  if (const Field* f = map.find("crl")) {
    note(f);
    assignIf(&config.crl, readFile(reader, *f));
  }
  // The number of intermediates allowed between the client's certificate and a trusted CA.
  if (const Field* f = map.find("verify_depth")) {
    assignIf(&config.verify_depth, readInt(reader, *f, 0, 16));
  }
  return config;
}

void loadClientCertHeaders(Reader& reader, const Field& field, proxy::ClientCertHeaders* out) {
  MapReader map(reader, field, {"subject", "sans", "fingerprint", "verified"});
  if (!map.valid()) return;
  UniqueValues names("client certificate header");
  const std::pair<const char*, std::string*> keys[] = {{"subject", &out->subject},
                                                       {"sans", &out->sans},
                                                       {"fingerprint", &out->fingerprint},
                                                       {"verified", &out->verified}};
  for (const auto& [key, target] : keys) {
    const Field* f = map.find(key);
    if (f == nullptr) {
      if (!names.check(reader, field, lowered(*target))) target->clear();
      continue;
    }
    std::optional<std::string> text = readString(reader, *f);
    if (!text) continue;
    // `false` or "" turns the field off (the client's copies then pass through too).
    if (text->empty() || (f->node.Tag() != "!" && *text == "false")) {
      target->clear();
      continue;
    }
    std::optional<std::string> name = readEditableHeaderName(reader, *f);
    if (!name) continue;
    if (setByForwarding(*name)) {
      reader.error(f->mark, f->path, quote(*name) + " is set by the forwarding stage itself");
      continue;
    }
    if (names.check(reader, *f, lowered(*name))) *target = *name;
  }
}

}  // namespace portico::config::internal
