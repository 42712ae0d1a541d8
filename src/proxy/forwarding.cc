#include "proxy/forwarding.h"

#include <arpa/inet.h>

#include <cstring>
#include <random>

#include "http/field_list.h"

namespace portico::proxy {

namespace {

// Appends `addition` to a list-valued field, or sets it when absent. Every line the field
// already has is kept: they are one list (RFC 9110 5.3), and set() below replaces them all.
void appendListValue(http::HeaderMap& headers, std::string_view name, std::string_view addition) {
  if (!headers.has(name)) {
    headers.add(name, addition);
    return;
  }
  std::string storage;
  std::string joined(http::joinedValues(headers, name, &storage));
  joined += ", ";
  joined += addition;
  headers.set(name, joined);
}

// Via names the protocol version the request arrived with (RFC 9110 7.6.3): "2" for HTTP/2.
std::string_view viaEntry(const http::Version& version) {
  if (version.major == 2) return "2 portico";
  return version.minor == 0 ? "1.0 portico" : "1.1 portico";
}

void applyMode(ForwardMode mode, bool trusted, http::HeaderMap& headers, std::string_view name,
               std::string_view value) {
  if (mode == ForwardMode::Off) return;
  if (value.empty()) {
    // Nothing to say (an HTTP/1.0 request without Host has no authority): never send an empty
    // field, and drop what an untrusted client claimed.
    if (mode == ForwardMode::Replace || !trusted) headers.remove(name);
    return;
  }
  switch (mode) {
    case ForwardMode::Off:
      return;
    case ForwardMode::Replace:
      headers.set(name, value);
      return;
    case ForwardMode::Append:
      // An untrusted client's own list is discarded: it could claim any address.
      if (trusted) {
        appendListValue(headers, name, value);
      } else {
        headers.set(name, value);
      }
      return;
  }
}

bool inRange(const CidrRange& range, const net::Address& peer) {
  const unsigned char* a;
  const unsigned char* b;
  size_t bits;
  if (peer.family() != range.base.family()) {
    // An IPv4-mapped IPv6 peer (::ffff:a.b.c.d) against an IPv4 range.
    if (peer.family() == AF_INET6 && range.base.family() == AF_INET) {
      auto* p6 = reinterpret_cast<const sockaddr_in6*>(&peer.storage);
      if (!IN6_IS_ADDR_V4MAPPED(&p6->sin6_addr)) return false;
      a = p6->sin6_addr.s6_addr + 12;
      b = reinterpret_cast<const unsigned char*>(
          &reinterpret_cast<const sockaddr_in*>(&range.base.storage)->sin_addr);
      bits = range.prefix_len;
    } else {
      return false;
    }
  } else if (peer.family() == AF_INET) {
    a = reinterpret_cast<const unsigned char*>(
        &reinterpret_cast<const sockaddr_in*>(&peer.storage)->sin_addr);
    b = reinterpret_cast<const unsigned char*>(
        &reinterpret_cast<const sockaddr_in*>(&range.base.storage)->sin_addr);
    bits = range.prefix_len;
  } else {
    a = reinterpret_cast<const sockaddr_in6*>(&peer.storage)->sin6_addr.s6_addr;
    b = reinterpret_cast<const sockaddr_in6*>(&range.base.storage)->sin6_addr.s6_addr;
    bits = range.prefix_len;
  }
  size_t full = bits / 8;
  if (std::memcmp(a, b, full) != 0) return false;
  size_t rest = bits % 8;
  if (rest == 0) return true;
  unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

void removeClientForwardingFields(http::HeaderMap& headers) {
  constexpr std::string_view kPrefix = "X-Forwarded-";
  headers.removeIf([&](std::string_view name) {
    if (name.size() == 9) return http::equalsIgnoreCase(name, "Forwarded");
    return name.size() > kPrefix.size() &&
           http::equalsIgnoreCase(name.substr(0, kPrefix.size()), kPrefix);
  });
}

bool saneRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

namespace {
// The hop-by-hop fields every message loses (RFC 9110 7.6.1), Upgrade aside. Dispatch on the
// length first: almost every field of a message is rejected by it alone.
bool isFixedHopByHop(std::string_view name) {
  switch (name.size()) {
    case 2:
      return http::equalsIgnoreCase(name, "TE");
    case 7:
      return http::equalsIgnoreCase(name, "Trailer");
    case 10:
      return http::equalsIgnoreCase(name, "Connection") ||
             http::equalsIgnoreCase(name, "Keep-Alive");
    case 16:
      return http::equalsIgnoreCase(name, "Proxy-Connection");
    case 17:
      return http::equalsIgnoreCase(name, "Transfer-Encoding");
    default:
      return false;
  }
}
}  // namespace

void removeHopByHop(http::HeaderMap& headers, bool keep_upgrade) {
  // Fields named by Connection are hop-by-hop too (RFC 9110 7.6.1), every one of them, on
  // every Connection line (several lines are one list, RFC 9110 5.3): a name left out would
  // reach the next hop. Copy the list first: the tokens must outlive the removal, which
  // rewrites the map they live in. Most messages have no Connection field (or only
  // keep-alive/close), so this is usually empty.
  std::string list;
  headers.forEach([&list](std::string_view name, std::string_view value) {
    if (!http::equalsIgnoreCase(name, "Connection")) return;
    if (!list.empty()) list += ',';
    list.append(value);
  });
  bool has_upgrade = false;
  headers.removeIf([&](std::string_view name) {
    if (isFixedHopByHop(name)) return true;
    if (http::equalsIgnoreCase(name, "Upgrade")) {
      has_upgrade = keep_upgrade;
      return !keep_upgrade;
    }
    if (list.empty()) return false;
    bool named = false;
    http::forEachListElement(list, [&](std::string_view token) {
      named = http::equalsIgnoreCase(token, name) &&
              !(keep_upgrade && http::equalsIgnoreCase(token, "upgrade"));
      return !named;
    });
    return named;
  });
  if (has_upgrade) headers.add("Connection", "upgrade");
}

bool connectionHasToken(const http::HeaderMap& headers, std::string_view token) {
  bool found = false;
  headers.forEach([&](std::string_view name, std::string_view value) {
    if (found || !http::equalsIgnoreCase(name, "Connection")) return;
    found = http::listHasToken(value, token);
  });
  return found;
}

bool isTrustedPeer(const ForwardingConfig& config, const net::Address& peer) {
  for (const CidrRange& r : config.trusted_proxies) {
    if (inRange(r, peer)) return true;
  }
  return false;
}

void applyRequestForwarding(const ForwardingConfig& config, const net::Address& peer,
                            http::RequestHead& head) {
  bool trusted = !config.trusted_proxies.empty() && isTrustedPeer(config, peer);
  // What a client says about earlier hops is only worth passing on from a proxy we trust;
  // from anyone else, every such field (X-Forwarded-Port, -Prefix, ... included) is dropped,
  // whatever the modes, and ours replace them.
  if (!trusted) removeClientForwardingFields(head.headers);
  // Formatting the address costs an inet_ntop: only when a header will carry it.
  std::string client;
  if (config.x_forwarded_for != ForwardMode::Off || config.forwarded != ForwardMode::Off)
    client = peer.hostString();
  applyMode(config.x_forwarded_for, trusted, head.headers, "X-Forwarded-For", client);
  applyMode(config.x_forwarded_proto, trusted, head.headers, "X-Forwarded-Proto", head.scheme);
  applyMode(config.x_forwarded_host, trusted, head.headers, "X-Forwarded-Host", head.authority);
  if (config.forwarded != ForwardMode::Off) {
    std::string element = "for=";
    if (peer.family() == AF_INET6) {
      element += "\"[" + client + "]\"";
    } else {
      element += client;
    }
    element += ";proto=";
    element += head.scheme;
    if (!head.authority.empty()) {
      element += ";host=\"";
      for (char c : head.authority) {
        if (c == '"' || c == '\\') element += '\\';
        element += c;
      }
      element += '"';
    }
    applyMode(config.forwarded, trusted, head.headers, "Forwarded", element);
  }
  if (config.via) {
    appendListValue(head.headers, "Via", viaEntry(head.version));
  }
}

void ensureRequestId(http::RequestHead& head, std::string& id) {
  if (auto given = head.headers.get("X-Request-Id"); given && saneRequestId(*given)) {
    id.assign(*given);
    return;
  }
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  static constexpr char kHex[] = "0123456789abcdef";
  char out[36];
  int pos = 0;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out[pos++] = '-';
    uint64_t word = i < 16 ? hi : lo;
    int shift = 60 - 4 * (i % 16);
    out[pos++] = kHex[(word >> shift) & 15];
  }
  id.assign(out, 36);
  head.headers.set("X-Request-Id", id);
}

void applyUpstreamResponseForwarding(const ForwardingConfig& config, http::ResponseHead& head,
                                     bool keep_upgrade) {
  removeHopByHop(head.headers, keep_upgrade);
  if (config.via) appendListValue(head.headers, "Via", "1.1 portico");
}

void applyFinalResponseHeaders(const ForwardingConfig& config, const std::string& request_id,
                               http::ResponseHead& head) {
  switch (config.server_header) {
    case ServerHeaderMode::Replace:
      head.headers.set("Server", config.server_name);
      break;
    case ServerHeaderMode::Remove:
      head.headers.remove("Server");
      break;
    case ServerHeaderMode::Pass:
      break;
  }
  if (config.request_id && !request_id.empty()) head.headers.set("X-Request-Id", request_id);
}

namespace {

void appendEscaped(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out += '\\';
  out += kHex[c >> 4];
  out += kHex[c & 0xf];
}

bool isControl(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

bool namedClientCertField(const ClientCertHeaders& names, std::string_view name) {
  for (const std::string* n : {&names.subject, &names.sans, &names.fingerprint, &names.verified}) {
    if (n->size() == name.size() && !n->empty() && http::equalsIgnoreCase(*n, name)) return true;
  }
  return false;
}

}  // namespace

std::string headerSafeValue(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (isControl(c)) {
      appendEscaped(out, c);
    } else {
      out += ch;
    }
  }
  return out;
}

std::string sanListValue(const std::vector<std::string>& sans) {
  std::string out;
  for (const std::string& name : sans) {
    if (!out.empty()) out += ", ";
    for (char ch : name) {
      const auto c = static_cast<unsigned char>(ch);
      if (isControl(c) || ch == ',' || ch == '\\') {
        appendEscaped(out, c);
      } else {
        out += ch;
      }
    }
  }
  return out;
}

bool asksForClientCertificates(const std::optional<tls::ServerTlsConfig>& tls) {
  if (!tls) return false;
  auto asks = [](const std::optional<tls::ClientAuthConfig>& auth) {
    return auth && auth->mode != tls::ClientAuthMode::Off;
  };
  if (asks(tls->client_auth)) return true;
  for (const tls::CertificateFiles& files : tls->certificates) {
    if (asks(files.client_auth)) return true;
  }
  return false;
}

void applyClientCertHeaders(const ClientCertHeaders& names, bool requested,
                            const net::PeerCertificate* cert, http::RequestHead& head) {
  if (names.subject.empty() && names.sans.empty() && names.fingerprint.empty() &&
      names.verified.empty()) {
    return;
  }
  head.headers.removeIf([&](std::string_view name) { return namedClientCertField(names, name); });
  if (!requested) return;
  if (!names.verified.empty()) {
    head.headers.add(names.verified,
                     cert == nullptr ? "NONE" : (cert->verified ? "SUCCESS" : "FAILED"));
  }
  // An unverified certificate says nothing about who the client is.
  if (cert == nullptr || !cert->verified) return;
  if (!names.subject.empty() && !cert->subject.empty()) {
    head.headers.add(names.subject, headerSafeValue(cert->subject));
  }
  if (!names.sans.empty() && !cert->sans.empty()) {
    head.headers.add(names.sans, sanListValue(cert->sans));
  }
  if (!names.fingerprint.empty() && !cert->sha256_fingerprint.empty()) {
    head.headers.add(names.fingerprint, headerSafeValue(cert->sha256_fingerprint));
  }
}

}  // namespace portico::proxy
