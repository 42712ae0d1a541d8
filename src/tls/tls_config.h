#pragma once
// What a listener's or a cluster's TLS is configured to be: plain data filled by config/ and
// turned into OpenSSL contexts by ServerContext and ClientContext.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tls/ocsp_config.h"

namespace portico::tls {

// Older versions are refused by the loader: they lack AEAD ciphers and are deprecated by RFC 8996.
enum class TlsVersion { V1_2, V1_3 };

// Mozilla's "intermediate" profile: what every client of the last decade supports, with
// forward secrecy and AEAD only.
inline constexpr const char* kDefaultCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
inline constexpr const char* kDefaultCiphersuites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
inline constexpr const char* kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";

// Client certificates (mTLS) a listener asks for; see tls/client_auth.h.
enum class ClientAuthMode {
  Off,       // no certificate is asked for (a certificate entry's `client_auth: false`)
  Required,  // the handshake fails without a certificate that verifies
  Optional,  // asked for; a missing or unverified one lets the handshake go on without identity
};

struct ClientAuthConfig {
  ClientAuthMode mode = ClientAuthMode::Required;
  std::string ca;        // PEM bundle of the CAs client certificates must chain to
  std::string crl;       // PEM CRLs; empty: no revocation check
  int verify_depth = 3;  // intermediates allowed between the leaf and a trusted CA
  bool operator==(const ClientAuthConfig&) const = default;
};

struct CertificateFiles {
  std::string cert;  // PEM: the leaf first, then its chain
  std::string key;   // PEM private key (RSA or EC) matching the leaf
  OcspConfig ocsp;   // stapling (tls/ocsp.h)
  // Set: replaces the listener's client_auth for the names of this certificate (SNI).
  std::optional<ClientAuthConfig> client_auth;
};

struct ServerTlsConfig {
  // The first is the default: served when the client sends no SNI or a name nothing matches.
  std::vector<CertificateFiles> certificates;
  TlsVersion min_version = TlsVersion::V1_2;
  TlsVersion max_version = TlsVersion::V1_3;
  std::string ciphers = kDefaultCiphers;            // TLS 1.2
  std::string ciphersuites = kDefaultCiphersuites;  // TLS 1.3
  std::vector<std::string> groups = {"X25519", "prime256v1", "secp384r1"};
  // In server preference order: HTTP/2 first, as browsers and nginx/HAProxy defaults have it.
  std::vector<std::string> alpn = {"h2", "http/1.1"};
  bool session_tickets = true;
  int64_t ticket_key_rotation_ms = 12 * 3600 * 1000;
  bool session_cache = true;
  size_t session_cache_size = 20480;
  int64_t session_timeout_ms = 3600 * 1000;  // cache lifetime and ticket lifetime hint
  int64_t handshake_timeout_ms = 10000;      // enforced by the connection manager
  // The server's order of `ciphers` wins over the client's, except that a client that prefers
  // ChaCha20 (no AES hardware: phones) gets it. Mozilla's profile leaves the choice to the
  // client since every listed cipher is strong; scanners (testssl.sh) rate that HIGH, and the
  // ChaCha20 exception keeps what the client-order argument is about.
  bool prefer_server_ciphers = true;
  // Client certificates for every name whose certificate entry does not set its own.
  std::optional<ClientAuthConfig> client_auth;
};

struct ClientTlsConfig {
  bool verify = true;  // chain and name
  std::string ca = kSystemCaBundle;
  std::string sni;             // empty: no SNI is sent
  bool sni_from_host = false;  // SNI and verified name from each request's Host
  std::string verify_name;     // empty: sni; both empty: the endpoint's IP
  std::string cert;            // optional client certificate, with key
  std::string key;
  std::vector<std::string> alpn = {"http/1.1"};
  bool session_reuse = true;
  TlsVersion min_version = TlsVersion::V1_2;
  TlsVersion max_version = TlsVersion::V1_3;
  std::string ciphers = kDefaultCiphers;
  std::string ciphersuites = kDefaultCiphersuites;
};

}  // namespace portico::tls
