#include "tls/acme/challenges.h"

#include <algorithm>
#include <cctype>

#include "core/log.h"

namespace portico::tls::acme {
namespace {

int challengeIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// The server_name extension body (RFC 6066 section 3): list length, type, name length, name.
std::string serverNameOf(const unsigned char* p, size_t len) {
  if (len < 5 || ((size_t{p[0]} << 8) | p[1]) != len - 2 || p[2] != TLSEXT_NAMETYPE_host_name)
    return {};
  size_t n = (size_t{p[3]} << 8) | p[4];
  if (n + 5 > len) return {};
  std::string name(reinterpret_cast<const char*>(p + 5), n);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

// The ALPN extension body (RFC 7301 section 3.1): a list length, then length-prefixed names.
bool offersAcmeTls(const unsigned char* p, size_t len) {
  if (len < 2 || ((size_t{p[0]} << 8) | p[1]) != len - 2) return false;
  for (size_t i = 2; i < len;) {
    size_t n = p[i];
    if (i + 1 + n > len) return false;
    if (std::string_view(reinterpret_cast<const char*>(p + i + 1), n) == kAcmeTlsProtocol)
      return true;
    i += 1 + n;
  }
  return false;
}

}  // namespace

ChallengeStore& ChallengeStore::shared() {
  static ChallengeStore store;
  return store;
}

std::shared_ptr<const ChallengeStore::State> ChallengeStore::snapshot() const {
  std::lock_guard lock(mutex_);
  return state_;
}

template <typename Edit>
void ChallengeStore::update(Edit edit) {
  std::lock_guard lock(mutex_);
  auto next = std::make_shared<State>(*state_);
  edit(*next);
  state_ = std::move(next);
}

void ChallengeStore::addHttp(const std::string& token, const std::string& key_authorization) {
  update([&](State& s) { s.http[token] = key_authorization; });
}

void ChallengeStore::removeHttp(const std::string& token) {
  update([&](State& s) { s.http.erase(token); });
}

std::optional<std::string> ChallengeStore::httpResponse(std::string_view path) const {
  if (path.substr(0, kHttpChallengePrefix.size()) != kHttpChallengePrefix) return std::nullopt;
  std::string_view token = path.substr(kHttpChallengePrefix.size());
  auto state = snapshot();
  auto it = state->http.find(token);
  if (it == state->http.end()) return std::nullopt;
  return it->second;
}

void ChallengeStore::addTlsAlpn(const std::string& name, X509Ptr cert, PkeyPtr key) {
  auto entry = std::make_shared<AlpnCertificate>(AlpnCertificate{std::move(cert), std::move(key)});
  update([&](State& s) { s.tls_alpn[name] = entry; });
}

void ChallengeStore::removeTlsAlpn(const std::string& name) {
  update([&](State& s) { s.tls_alpn.erase(name); });
}

std::shared_ptr<const ChallengeStore::AlpnCertificate> ChallengeStore::tlsAlpn(
    std::string_view name) const {
  auto state = snapshot();
  auto it = state->tls_alpn.find(name);
  return it == state->tls_alpn.end() ? nullptr : it->second;
}

bool answerTlsAlpnChallenge(SSL* ssl) {
  const unsigned char* ext = nullptr;
  size_t len = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &ext,
                                &len) != 1 ||
      !offersAcmeTls(ext, len)) {
    return false;
  }
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &len) != 1) return false;
  std::string name = serverNameOf(ext, len);
  auto entry = ChallengeStore::shared().tlsAlpn(name);
  if (!entry) return false;
  if (SSL_use_cert_and_key(ssl, entry->cert.get(), entry->key.get(), nullptr, 1) != 1) {
    takeOpensslErrors();
    return false;
  }
  SSL_set_ex_data(ssl, challengeIndex(), reinterpret_cast<void*>(1));
  PLOG_INFO("acme: answering the TLS-ALPN-01 challenge handshake for {}", name);
  return true;
}

bool isTlsAlpnChallenge(const SSL* ssl) {
  return SSL_get_ex_data(ssl, challengeIndex()) != nullptr;
}

}  // namespace portico::tls::acme
