#include "tls/client_auth.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tls/context_setup.h"
#include "tls/pem_files.h"

namespace portico::tls {
namespace {

bool readWholeFile(const std::string& path, std::string* out, std::string* why) {
  // Checked first: a FIFO or a directory would hang or confuse the read.
  if (!checkReadableFile(path, why)) return false;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *why = "cannot read " + path + ": " + std::strerror(errno);
    return false;
  }
  std::ostringstream text;
  text << in.rdbuf();
  *out = std::move(text).str();
  return true;
}

struct InfoFreer {
  void operator()(STACK_OF(X509_INFO) * infos) const {
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
  }
};
using InfoList = std::unique_ptr<STACK_OF(X509_INFO), InfoFreer>;

// Every certificate and CRL in a PEM text (other blocks are skipped).
InfoList readPem(const std::string& text) {
  BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  InfoList infos(bio ? PEM_X509_INFO_read_bio(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  takeOpensslErrors();
  return infos;
}

std::string nameText(const X509_NAME* name) {
  BioPtr out(BIO_new(BIO_s_mem()));
  if (!out) return {};
  X509_NAME_print_ex(out.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long length = BIO_get_mem_data(out.get(), &data);
  return std::string(data, length > 0 ? static_cast<size_t>(length) : 0);
}

std::string timeText(const ASN1_TIME* time) {
  BioPtr out(BIO_new(BIO_s_mem()));
  if (!out || time == nullptr) return {};
  ASN1_TIME_print(out.get(), time);
  char* data = nullptr;
  const long length = BIO_get_mem_data(out.get(), &data);
  return std::string(data, length > 0 ? static_cast<size_t>(length) : 0);
}

// Optional mode: every certificate is accepted, and the error stays in the X509_STORE_CTX, so
// SSL_get_verify_result() reports it (and the session keeps it for resumption).
int acceptButRemember(int, X509_STORE_CTX*) {
  return 1;
}

}  // namespace

Result<std::shared_ptr<const ClientAuth>> ClientAuth::build(const ClientAuthConfig& config,
                                                            const std::string& key_prefix,
                                                            std::string* error_key) {
  const std::string ca_key = key_prefix + ".ca";
  const std::string crl_key = key_prefix + ".crl";
  std::shared_ptr<ClientAuth> self(new ClientAuth());
  self->mode_ = config.mode;
  self->verify_depth_ = config.verify_depth;
  self->store_.reset(X509_STORE_new());
  self->ca_names_.reset(sk_X509_NAME_new_null());
  if (!self->store_ || !self->ca_names_) return Error::internal("out of memory");

  std::string ca_text;
  std::string why;
  if (!readWholeFile(config.ca, &ca_text, &why)) return configError(error_key, ca_key, why);
  InfoList cas = readPem(ca_text);
  std::vector<X509*> ca_certs;
  for (int i = 0; cas && i < sk_X509_INFO_num(cas.get()); ++i) {
    X509* cert = sk_X509_INFO_value(cas.get(), i)->x509;
    if (cert == nullptr) continue;
    ca_certs.push_back(cert);
    X509_STORE_add_cert(self->store_.get(), cert);
    X509_NAME* name = X509_NAME_dup(X509_get_subject_name(cert));
    if (name != nullptr) sk_X509_NAME_push(self->ca_names_.get(), name);
  }
  takeOpensslErrors();  // a certificate listed twice
  if (ca_certs.empty()) {
    return configError(error_key, ca_key,
                       config.ca + " has no PEM certificate (expected a CA bundle)");
  }

  std::string crl_text;
  if (!config.crl.empty()) {
    if (!readWholeFile(config.crl, &crl_text, &why)) return configError(error_key, crl_key, why);
    InfoList crls = readPem(crl_text);
    size_t count = 0;
    for (int i = 0; crls && i < sk_X509_INFO_num(crls.get()); ++i) {
      X509_CRL* crl = sk_X509_INFO_value(crls.get(), i)->crl;
      if (crl == nullptr) continue;
      ++count;
      const std::string issuer = nameText(X509_CRL_get_issuer(crl));
      // A CRL no CA of the bundle signed is never consulted: the operator meant another file.
      bool signed_by_ca = false;
      for (X509* ca : ca_certs) {
        if (X509_NAME_cmp(X509_get_subject_name(ca), X509_CRL_get_issuer(crl)) != 0) continue;
        EVP_PKEY* key = X509_get0_pubkey(ca);
        if (key != nullptr && X509_CRL_verify(crl, key) == 1) signed_by_ca = true;
      }
      takeOpensslErrors();
      if (!signed_by_ca) {
        return configError(error_key, crl_key,
                           "the CRL of " + issuer + " in " + config.crl +
                               " was not signed by a CA of " + config.ca);
      }
      // OpenSSL refuses every certificate of an issuer whose CRL has expired.
      const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl);
      if (next != nullptr && X509_cmp_current_time(next) < 0) {
        return configError(error_key, crl_key,
                           "the CRL of " + issuer + " in " + config.crl + " expired on " +
                               timeText(next) +
                               " (nextUpdate): every certificate it covers would be "
                               "refused; publish a fresh one");
      }
      X509_STORE_add_crl(self->store_.get(), crl);
    }
    if (count == 0)
      return configError(error_key, crl_key, config.crl + " has no PEM CRL (X509 CRL)");
    // The leaf only: an intermediate CA's revocation is not checked (that would need a CRL
    // from every CA of every chain, X509_V_FLAG_CRL_CHECK_ALL).
    X509_STORE_set_flags(self->store_.get(), X509_V_FLAG_CRL_CHECK);
  }

  std::string material = config.mode == ClientAuthMode::Optional ? "optional" : "required";
  material += "|" + std::to_string(config.verify_depth) + "|";
  material += std::to_string(ca_text.size()) + "|" + ca_text + "|" + crl_text;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(material.data(), material.size(), digest, &length, EVP_sha256(), nullptr);
  self->digest_.assign(reinterpret_cast<const char*>(digest), length);
  return std::shared_ptr<const ClientAuth>(std::move(self));
}

void ClientAuth::installOn(SSL_CTX* ctx) const {
  SSL_CTX_set1_verify_cert_store(ctx, store_.get());
  SSL_CTX_set_client_CA_list(ctx, SSL_dup_CA_list(ca_names_.get()));
}

void ClientAuth::apply(SSL* ssl) const {
  if (mode_ == ClientAuthMode::Optional) {
    SSL_set_verify(ssl, SSL_VERIFY_PEER, acceptButRemember);
  } else {
    SSL_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  SSL_set_verify_depth(ssl, verify_depth_);
}

void ClientAuth::applyNone(SSL* ssl) {
  SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
}

}  // namespace portico::tls
