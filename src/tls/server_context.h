#pragma once
// A listener's TLS: one SSL_CTX per set of certificate names, the SNI choice between them,
// ALPN, session cache and tickets. Immutable after build and shared by every worker; OpenSSL
// locks what it mutates (the session cache), so newSsl may be called from any thread.

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "tls/client_auth_names.h"
#include "tls/handles.h"
#include "tls/name_index.h"
#include "tls/ocsp.h"
#include "tls/tls_config.h"

namespace portico::tls {

class ClientAuth;  // tls/client_auth.h

class ServerContext : public std::enable_shared_from_this<ServerContext> {
 public:
  // Reads every certificate and builds every SSL_CTX. An Error's detail is a message for the
  // operator; *error_key (when given) is the key below `tls:` it is about
  // ("certificates[1].key", "ciphers", ...), so config/ can point at it.
  static Result<std::shared_ptr<ServerContext>> build(const ServerTlsConfig& config,
                                                      std::string* error_key = nullptr);

  // A server-side SSL for one accepted connection, in accept state; the caller owns it
  // (SSL_free) and sets its BIO or fd. It keeps this context alive. nullptr when OpenSSL is
  // out of memory.
  SSL* newSsl() const;

  int64_t handshakeTimeoutMs() const { return handshake_timeout_ms_; }
  const OcspStapling& ocsp() const { return ocsp_; }  // fetched by the main thread
  // The client certificate policy of each server name, for the stream's 421 check.
  std::shared_ptr<const ClientAuthNames> clientAuthNames() const { return client_auth_names_; }

 private:
  ServerContext() = default;
  Result<void> addCertificates(const ServerTlsConfig& config, std::string* error_key);
  void indexClientAuth();
  Result<SslCtxPtr> newGroupContext(const ServerTlsConfig& config, const std::string& names,
                                    const ClientAuth* client_auth, std::string* error_key) const;
  static int onClientHello(SSL* ssl, int* alert, void* arg);
  static int onAlpn(SSL* ssl, const unsigned char** out, unsigned char* out_len,
                    const unsigned char* in, unsigned int in_len, void* arg);

  std::vector<SslCtxPtr> contexts_;  // one per name set; [0] is the default
  NameIndex names_;                  // server name -> index in contexts_
  // By group, like contexts_: the client certificate policy (null: none asked for), the
  // configuration it came from, and the first certificate entry of the group.
  std::vector<std::shared_ptr<const ClientAuth>> client_auth_;
  std::vector<std::optional<ClientAuthConfig>> group_client_auth_;
  std::vector<size_t> group_first_;
  std::shared_ptr<ClientAuthNames> client_auth_names_;
  std::string alpn_;  // wire format, in preference order
  int64_t handshake_timeout_ms_ = 0;
  OcspStapling ocsp_;
};

}  // namespace portico::tls
