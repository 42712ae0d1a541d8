#include "tls/client_context.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls/context_setup.h"
#include "tls/pem_files.h"

namespace portico::tls {
namespace {

Result<void> loadCa(SSL_CTX* ctx, const std::string& path, std::string* error_key) {
  // Checked first: OpenSSL reports a missing file as a bare "system lib" error.
  if (std::string why; !checkReadableFile(path, &why)) return configError(error_key, "ca", why);
  if (SSL_CTX_load_verify_locations(ctx, path.c_str(), nullptr) != 1) {
    return configError(error_key, "ca",
                       path + " holds no PEM CA certificate (" + takeOpensslErrors() + ")");
  }
  return {};
}

Result<void> useClientCertificate(SSL_CTX* ctx, const CertificateFiles& files,
                                  std::string* error_key) {
  LoadedCertificate cert;
  PemError pem;
  if (!loadCertificate(files, &cert, &pem)) {
    return configError(error_key, pem.file == PemFile::Cert ? "cert" : "key", pem.message);
  }
  if (!useCertificate(ctx, cert)) {
    return configError(
        error_key, "cert",
        "OpenSSL refuses the certificate in " + files.cert + ": " + takeOpensslErrors());
  }
  return {};
}

// The IP a connection's certificate was checked against, in net::Address's spelling; "" when
// a name was checked instead.
// Whom a connection's session was verified as: the name checked, else the IP, else (no
// verification) the SNI sent. The same SSL gives the same key in newSsl() and when its
// session arrives.
std::string sessionKey(SSL* ssl) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (const char* name = X509_VERIFY_PARAM_get0_host(param, 0)) return std::string("name:") + name;
  // Without an IP to verify, OpenSSL queues an error as it returns nullptr. This also runs
  // inside SSL_read() (a ticket arriving), where a queued error would fail that read.
  ERR_set_mark();
  char* ip = X509_VERIFY_PARAM_get1_ip_asc(param);
  ERR_pop_to_mark();
  if (ip != nullptr) {
    std::string key = std::string("ip:") + ip;
    OPENSSL_free(ip);
    return key;
  }
  const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  return std::string("sni:") + (sni != nullptr ? sni : "");
}

}  // namespace

Result<std::shared_ptr<ClientContext>> ClientContext::build(const ClientTlsConfig& config,
                                                            std::string* error_key) {
  std::shared_ptr<ClientContext> self(new ClientContext());
  Result<SslCtxPtr> made = newContext(
      TLS_client_method(),
      {config.min_version, config.max_version, config.ciphers, config.ciphersuites}, error_key);
  if (!made) return made.error();
  self->ctx_ = std::move(*made);
  SSL_CTX* ctx = self->ctx_.get();
  if (config.verify) {
    if (Result<void> r = loadCa(ctx, config.ca, error_key); !r) return r.error();
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (!config.cert.empty() || !config.key.empty()) {
    Result<void> r = useClientCertificate(ctx, {config.cert, config.key}, error_key);
    if (!r) return r.error();
  }
  std::string alpn = alpnWireFormat(config.alpn);
  // The one OpenSSL call that returns 0 on success.
  if (!alpn.empty() &&
      SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(alpn.data()),
                              static_cast<unsigned int>(alpn.size())) != 0) {
    return configError(error_key, "alpn", "OpenSSL refuses the ALPN list: " + takeOpensslErrors());
  }
  if (config.session_reuse) {
    // Sessions live in sessions_, not in OpenSSL's client cache, which is never consulted on
    // the client side anyway.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, onNewSession);
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  }
  self->verify_ = config.verify;
  self->sni_ = config.sni;
  self->verify_name_ = config.verify_name.empty() ? config.sni : config.verify_name;
  self->sni_from_host_ = config.sni_from_host;
  self->session_reuse_ = config.session_reuse;
  return self;
}

SSL* ClientContext::newSsl(const net::Address& endpoint, std::string_view host,
                           std::string_view endpoint_name) const {
  SslPtr ssl(SSL_new(ctx_.get()));
  if (!ssl) return nullptr;
  attachOwner(ssl.get(), shared_from_this());
  SSL_set_connect_state(ssl.get());
  std::string sni = sni_;
  std::string verify_name = verify_name_;
  if (sni.empty() && verify_name.empty() && !endpoint_name.empty()) {
    sni = std::string(endpoint_name);
    verify_name = sni;
  }
  net::Address literal;
  if (sni_from_host_ && !host.empty() && !net::parseIp(std::string(host), &literal)) {
    sni = std::string(host);
    verify_name = sni;
  }
  if (!sni.empty() && SSL_set_tlsext_host_name(ssl.get(), sni.c_str()) != 1) return nullptr;
  if (verify_) {
    // With no name configured (nor a DNS name the endpoint came from), the certificate must
    // carry the endpoint's IP in its subjectAltName.
    bool named = !verify_name.empty();
    int ok = named ? SSL_set1_host(ssl.get(), verify_name.c_str())
                   : X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()),
                                                   endpoint.hostString().c_str());
    if (ok != 1) return nullptr;
    // "*.example.com" matches one label only, as browsers do.
    if (named) SSL_set_hostflags(ssl.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  }
  if (session_reuse_) {
    std::lock_guard lock(session_mutex_);
    auto it = sessions_.find(sessionKey(ssl.get()));
    if (it != sessions_.end()) SSL_set_session(ssl.get(), it->second.get());
  }
  return ssl.release();
}

int ClientContext::onNewSession(SSL* ssl, SSL_SESSION* session) {
  const auto* self = static_cast<const ClientContext*>(ownerOf(ssl));
  if (self == nullptr || SSL_SESSION_is_resumable(session) != 1) return 0;
  std::string key = sessionKey(ssl);
  std::lock_guard lock(self->session_mutex_);
  if (self->sessions_.size() >= kMaxSessions && self->sessions_.count(key) == 0)
    self->sessions_.clear();
  self->sessions_[key].reset(session);
  return 1;  // we keep the reference OpenSSL handed over
}

}  // namespace portico::tls
