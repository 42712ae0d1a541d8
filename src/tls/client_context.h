#pragma once
// A cluster's TLS: verification against a CA bundle and a name, an optional client
// certificate, ALPN, and remembered sessions so pooled connections resume instead of paying a
// full handshake each. Immutable after build except the sessions, which are behind a mutex:
// newSsl may be called from any worker.

#include <openssl/ssl.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/result.h"
#include "net/address.h"
#include "tls/handles.h"
#include "tls/tls_config.h"

namespace portico::tls {

class ClientContext : public std::enable_shared_from_this<ClientContext> {
 public:
  // Like ServerContext::build; *error_key is "ca", "cert", "key", "ciphers", ...
  static Result<std::shared_ptr<ClientContext>> build(const ClientTlsConfig& config,
                                                      std::string* error_key = nullptr);

  // A client-side SSL in connect state for a connection to `endpoint`, with SNI, the name
  // (or, with none configured, the endpoint's IP) to verify, and the remembered session when
  // reuse is on. `host`: the request's host name, used as SNI and verified name when the
  // cluster says sni_from_host (an IP literal or an empty host falls back to the configured
  // names). `endpoint_name`: the DNS name a discovered endpoint came from, used as SNI and
  // verified name when neither sni nor verify_name is configured (as nginx uses the upstream
  // name). The caller owns it (SSL_free); it keeps this context alive. nullptr when OpenSSL
  // is out of memory.
  SSL* newSsl(const net::Address& endpoint, std::string_view host = {},
              std::string_view endpoint_name = {}) const;
  // True when connections differ by the request's host (sni_from_host): a pooled connection
  // may then only carry requests for the name it was made for.
  bool namesFollowHost() const { return sni_from_host_; }

 private:
  ClientContext() = default;
  static int onNewSession(SSL* ssl, SSL_SESSION* session);

  SslCtxPtr ctx_;
  bool verify_ = true;
  std::string sni_;
  std::string verify_name_;
  bool sni_from_host_ = false;
  bool session_reuse_ = true;
  // The newest session per verified identity (the name checked, or the IP when no name is):
  // a session verified for one name proves nothing about another. OpenSSL uses a TLS 1.3
  // session once, so each connection must bring its successor (Portico's listeners renew
  // tickets on every resumption). Bounded: forgotten wholesale past kMaxSessions names.
  static constexpr size_t kMaxSessions = 256;
  mutable std::mutex session_mutex_;
  mutable std::unordered_map<std::string, SessionPtr> sessions_;
};

}  // namespace portico::tls
