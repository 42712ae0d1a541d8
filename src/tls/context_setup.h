#pragma once
// What server and client contexts set up alike: protocol versions, cipher lists, modes and
// options, ALPN lists in wire form, and the SSL -> owning context link for callbacks.

#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "tls/handles.h"
#include "tls/pem_files.h"
#include "tls/tls_config.h"

namespace portico::tls {

struct ProtocolSettings {
  TlsVersion min_version;
  TlsVersion max_version;
  const std::string& ciphers;
  const std::string& ciphersuites;
};

// A context for `method` with the settings applied. On failure the Error's detail names the
// setting, and *error_key (when given) is its configuration key ("ciphers", "min_version"...).
Result<SslCtxPtr> newContext(const SSL_METHOD* method, const ProtocolSettings& settings,
                             std::string* error_key);

// A configuration Error for the builders, recording in *error_key (when given) the key below
// `tls:` it is about.
Error configError(std::string* error_key, std::string key, std::string message);

// Adds a certificate, its chain and key to `ctx`; OpenSSL keeps one per key type. Returns
// false with the error queue set when OpenSSL refuses it.
bool useCertificate(SSL_CTX* ctx, const LoadedCertificate& cert);

// "http/1.1" -> "\x08http/1.1": the length-prefixed form OpenSSL's ALPN calls take.
std::string alpnWireFormat(const std::vector<std::string>& protocols);

// Stores `owner` in the SSL so callbacks reach the context that made it, and so that context
// lives as long as the SSL does: a pooled connection or a late ticket callback may outlast the
// configuration snapshot the context came from.
void attachOwner(SSL* ssl, std::shared_ptr<const void> owner);
const void* ownerOf(const SSL* ssl);

}  // namespace portico::tls
