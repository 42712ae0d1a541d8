#include "tls/context_setup.h"

#include <cstring>

namespace portico::tls {
namespace {

int protocolVersion(TlsVersion v) {
  return v == TlsVersion::V1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

const char* versionName(TlsVersion v) {
  return v == TlsVersion::V1_3 ? "TLSv1.3" : "TLSv1.2";
}

size_t countEntries(const std::string& list) {
  size_t n = list.empty() ? 0 : 1;
  for (char c : list) n += c == ':' ? 1 : 0;
  return n;
}

// OpenSSL skips TLS 1.3 suite names it does not know, so a typo would silently disable a
// suite (or TLS 1.3 altogether); counting what it kept catches that.
size_t tls13SuitesKept(SSL_CTX* ctx) {
  size_t n = 0;
  STACK_OF(SSL_CIPHER)* all = SSL_CTX_get_ciphers(ctx);
  for (int i = 0; i < sk_SSL_CIPHER_num(all); ++i) {
    if (std::strcmp(SSL_CIPHER_get_version(sk_SSL_CIPHER_value(all, i)), "TLSv1.3") == 0) ++n;
  }
  return n;
}

int ownerIndex() {
  static const int index = SSL_get_ex_new_index(
      0, nullptr, nullptr, nullptr, [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
        delete static_cast<std::shared_ptr<const void>*>(ptr);
      });
  return index;
}

}  // namespace

Error configError(std::string* error_key, std::string key, std::string message) {
  if (error_key != nullptr) *error_key = std::move(key);
  return Error::config(std::move(message));
}

Result<SslCtxPtr> newContext(const SSL_METHOD* method, const ProtocolSettings& settings,
                             std::string* error_key) {
  if (settings.min_version > settings.max_version) {
    return configError(error_key, "min_version",
                       std::string("min_version ") + versionName(settings.min_version) +
                           " is above max_version " + versionName(settings.max_version));
  }
  SslCtxPtr ctx(SSL_CTX_new(method));
  if (!ctx) return Error::internal("SSL_CTX_new: " + takeOpensslErrors());
  SSL_CTX_set_min_proto_version(ctx.get(), protocolVersion(settings.min_version));
  SSL_CTX_set_max_proto_version(ctx.get(), protocolVersion(settings.max_version));
  if (SSL_CTX_set_cipher_list(ctx.get(), settings.ciphers.c_str()) != 1) {
    takeOpensslErrors();
    return configError(error_key, "ciphers",
                       "OpenSSL accepts no cipher in \"" + settings.ciphers + "\"");
  }
  if (SSL_CTX_set_ciphersuites(ctx.get(), settings.ciphersuites.c_str()) != 1 ||
      tls13SuitesKept(ctx.get()) != countEntries(settings.ciphersuites)) {
    takeOpensslErrors();
    return configError(error_key, "ciphersuites",
                       "unknown TLS 1.3 cipher suite in \"" + settings.ciphersuites +
                           "\"; known: TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, "
                           "TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_CCM_SHA256");
  }
  // Renegotiation is a DoS lever and an old attack surface; compression invites CRIME. The
  // client's cipher order wins: every suite listed is strong, and the client knows best
  // whether it has AES hardware.
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // A peer that closes TCP without close_notify (most HTTP clients) is an end of stream, not a
  // fatal error: OpenSSL would otherwise send an alert and drop the session from the cache, so
  // the client's next connection could not resume. HTTP framing says whether data was cut.
  SSL_CTX_set_options(ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
  // Read whatever the socket has, not a record header and then its body: half the read
  // system calls (tls-1k: +7% per core in an A/B run). Records read ahead stay inside
  // OpenSSL; the transport reports them (IoResult::would_block, setReadable()).
  SSL_CTX_set_read_ahead(ctx.get(), 1);
  SSL_CTX_clear_options(ctx.get(), SSL_OP_CIPHER_SERVER_PREFERENCE);
  // The transport retries a write with a buffer that may have moved and accepts partial
  // writes; released buffers save ~34 KiB per idle connection.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                                  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ctx;
}

bool useCertificate(SSL_CTX* ctx, const LoadedCertificate& cert) {
  STACK_OF(X509)* chain = sk_X509_new_null();
  if (chain == nullptr) return false;
  for (const X509Ptr& c : cert.chain) sk_X509_push(chain, c.get());
  int ok = SSL_CTX_use_cert_and_key(ctx, cert.leaf.get(), cert.key.get(), chain, 1);
  sk_X509_free(chain);  // the context took its own references
  return ok == 1;
}

std::string alpnWireFormat(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const std::string& p : protocols) {
    wire.push_back(static_cast<char>(p.size()));
    wire += p;
  }
  return wire;
}

void attachOwner(SSL* ssl, std::shared_ptr<const void> owner) {
  auto* held = new std::shared_ptr<const void>(std::move(owner));
  if (SSL_set_ex_data(ssl, ownerIndex(), held) != 1) delete held;
}

const void* ownerOf(const SSL* ssl) {
  auto* owner = static_cast<std::shared_ptr<const void>*>(SSL_get_ex_data(ssl, ownerIndex()));
  return owner != nullptr ? owner->get() : nullptr;
}

}  // namespace portico::tls
