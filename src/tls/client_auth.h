#pragma once
// Client certificates (mTLS) for a listener, or for the names of one of its certificates.
//
// The certificate is asked for in the handshake, before any request exists, so the policy
// follows the SNI name: ServerContext's client hello callback picks the certificate group for
// the name and calls apply() with that group's ClientAuth (or applyNone()). What apply() sets
// on the SSL:
//   - the verify mode: Required = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, so a
//     missing, unverifiable, revoked or expired certificate fails the handshake with an alert;
//     Optional = SSL_VERIFY_PEER with a callback that accepts every certificate but leaves the
//     verification error in place, so SSL_get_verify_result() still tells a verified
//     certificate from one that is merely presented (the transport's
//     PeerCertificate::verified), and only a verified one ever becomes identity headers;
//   - the verify depth.
// The trust store (CA bundle and CRLs, with X509_V_FLAG_CRL_CHECK when CRLs are given) and the
// CA names sent in the CertificateRequest live on the group's SSL_CTX (installOn()): OpenSSL
// reads both through the context SNI switched to.
//
// Resumption: a resumed session carries the peer certificate and the verify result of its full
// handshake; it must never cross to a name with another policy (or the same names after the CA
// or CRL changed). digest() covers mode, depth and the bytes of the CA and CRL files, and goes
// into the group's session id context, which OpenSSL checks before resuming a ticket or a
// cached session.
//
// Immutable after build(); shared by every worker.

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "core/result.h"
#include "tls/handles.h"
#include "tls/tls_config.h"

namespace portico::tls {

class ClientAuth {
 public:
  // Reads the CA bundle and the CRLs. `key_prefix` is where the config sits below `tls:`
  // ("client_auth" or "certificates[1].client_auth"); on failure *error_key names the key
  // ("client_auth.ca"...). `config.mode` must not be Off.
  static Result<std::shared_ptr<const ClientAuth>> build(const ClientAuthConfig& config,
                                                         const std::string& key_prefix,
                                                         std::string* error_key);

  // The trust store and the CA names on a group's context.
  void installOn(SSL_CTX* ctx) const;
  // Mode, callback and depth on one connection, from the client hello callback.
  void apply(SSL* ssl) const;
  // No certificate is asked for on this connection.
  static void applyNone(SSL* ssl);

  // SHA-256 (binary) of everything that decides whether a certificate is accepted.
  const std::string& digest() const { return digest_; }
  ClientAuthMode mode() const { return mode_; }

 private:
  ClientAuth() = default;

  ClientAuthMode mode_ = ClientAuthMode::Required;
  int verify_depth_ = 3;
  std::unique_ptr<X509_STORE, Freer<X509_STORE_free>> store_;
  // The subjects of the CA bundle, sent as certificate_authorities so a client with several
  // certificates can pick one these CAs issued.
  struct NamesFreer {
    void operator()(STACK_OF(X509_NAME) * names) const {
      sk_X509_NAME_pop_free(names, X509_NAME_free);
    }
  };
  std::unique_ptr<STACK_OF(X509_NAME), NamesFreer> ca_names_;
  std::string digest_;
};

}  // namespace portico::tls
