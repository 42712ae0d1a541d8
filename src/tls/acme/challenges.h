#pragma once
// The challenges being validated right now, shared between the ACME client (which fills it)
// and the workers (which answer from it): HTTP-01 tokens and their key authorizations, and
// TLS-ALPN-01 certificates by server name.
//
// Readers take a snapshot (a shared_ptr copied under a mutex held for a pointer copy) and the
// writer swaps in a new one, so a worker never waits on the ACME client. Workers only look
// here for requests under /.well-known/acme-challenge/ and for handshakes that offer the
// acme-tls/1 protocol, so ordinary traffic never touches the mutex.

#include <openssl/ssl.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "tls/handles.h"

namespace portico::tls::acme {

inline constexpr std::string_view kHttpChallengePrefix = "/.well-known/acme-challenge/";
inline constexpr std::string_view kAcmeTlsProtocol = "acme-tls/1";  // RFC 8737

class ChallengeStore {
 public:
  static ChallengeStore& shared();

  void addHttp(const std::string& token, const std::string& key_authorization);
  void removeHttp(const std::string& token);
  // The key authorization for a request path under kHttpChallengePrefix, if it is a token
  // being validated.
  std::optional<std::string> httpResponse(std::string_view path) const;

  // The certificate (and its key) answering TLS-ALPN-01 for `name` (lower case).
  void addTlsAlpn(const std::string& name, X509Ptr cert, PkeyPtr key);
  void removeTlsAlpn(const std::string& name);

  struct AlpnCertificate {
    X509Ptr cert;
    PkeyPtr key;
  };
  std::shared_ptr<const AlpnCertificate> tlsAlpn(std::string_view name) const;

 private:
  struct State {
    std::map<std::string, std::string, std::less<>> http;
    std::map<std::string, std::shared_ptr<const AlpnCertificate>, std::less<>> tls_alpn;
  };
  std::shared_ptr<const State> snapshot() const;
  template <typename Edit>
  void update(Edit edit);

  mutable std::mutex mutex_;
  std::shared_ptr<const State> state_ = std::make_shared<State>();
};

// Called from the server context's client-hello callback. When the ClientHello offers
// acme-tls/1 and names a server being validated, installs that name's challenge certificate
// on the SSL, marks it, and returns true (the caller then leaves the context alone).
bool answerTlsAlpnChallenge(SSL* ssl);
// True for an SSL marked by answerTlsAlpnChallenge: only such a handshake may select
// acme-tls/1 by ALPN.
bool isTlsAlpnChallenge(const SSL* ssl);

}  // namespace portico::tls::acme
