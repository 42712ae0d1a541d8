#pragma once
// A cluster's TLS: verification against a CA bundle and a name, an optional client
// certificate, ALPN, and one remembered session so pooled connections resume instead of
// paying a full handshake each. Immutable after build except that session, which is behind a
// mutex: newSsl may be called from any worker.

#include <openssl/ssl.h>

#include <memory>
#include <mutex>
#include <string>

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
  // reuse is on. The caller owns it (SSL_free); it keeps this context alive. nullptr when
  // OpenSSL is out of memory.
  SSL* newSsl(const net::Address& endpoint) const;

 private:
  ClientContext() = default;
  static int onNewSession(SSL* ssl, SSL_SESSION* session);

  SslCtxPtr ctx_;
  bool verify_ = true;
  std::string sni_;
  std::string verify_name_;
  bool session_reuse_ = true;
  // The newest session any connection got; one is enough, since every endpoint of a cluster
  // serves the same names. OpenSSL uses a TLS 1.3 session once, so each connection must
  // bring its successor (Portico's listeners renew tickets on every resumption).
  mutable std::mutex session_mutex_;
  mutable SessionPtr session_;
  mutable std::string session_ip_;  // the IP session_ was verified for, when no name is
};

}  // namespace portico::tls
