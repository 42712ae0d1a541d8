#pragma once
// Keys and certificates made with the OpenSSL API for tests, so no fixture file can expire
// and every validity period or name a test needs is one argument away.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "tls/handles.h"

namespace portico::tls::testing {

enum class KeyType { Rsa, Ecdsa };

struct Identity {
  X509Ptr cert;
  PkeyPtr key;
};

struct CertSpec {
  std::vector<std::string> dns;  // subjectAltName dNSName entries
  std::vector<std::string> ips;  // subjectAltName iPAddress entries
  std::string cn = "portico test";
  long valid_from_s = -3600;  // relative to now
  long valid_until_s = 24 * 3600;
  KeyType key_type = KeyType::Ecdsa;
  bool is_ca = false;
};

// Key generation dominates a test's run time (RSA above all), so each kind is made once per
// slot and reused; a second slot gives a key that does not match the first.
inline EVP_PKEY* cachedKey(KeyType type, int slot) {
  static EVP_PKEY* keys[2][3] = {};
  EVP_PKEY*& key = keys[type == KeyType::Rsa ? 0 : 1][slot];
  if (key == nullptr) key = type == KeyType::Rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
  if (key == nullptr) throw std::runtime_error("key generation failed");
  return key;
}

inline void addExtension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
  if (ext == nullptr) throw std::runtime_error("bad extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// Self-signed when issuer is null. key_slot picks among the cached keys.
inline Identity makeCert(const CertSpec& spec, const Identity* issuer = nullptr, int key_slot = 0) {
  static long serial = 1;
  Identity id;
  id.key.reset(cachedKey(spec.key_type, key_slot));
  EVP_PKEY_up_ref(id.key.get());
  id.cert.reset(X509_new());
  X509* x = id.cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), spec.valid_from_s);
  X509_gmtime_adj(X509_getm_notAfter(x), spec.valid_until_s);
  X509_set_pubkey(x, id.key.get());
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1, 0);
  X509* issuer_cert = issuer != nullptr ? issuer->cert.get() : x;
  X509_set_issuer_name(x, X509_get_subject_name(issuer_cert));
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer_cert, x, nullptr, nullptr, 0);
  addExtension(x, &ctx, NID_basic_constraints, spec.is_ca ? "critical,CA:TRUE" : "CA:FALSE");
  addExtension(x, &ctx, NID_subject_key_identifier, "hash");
  if (spec.is_ca) addExtension(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  std::string sans;
  for (const std::string& d : spec.dns) sans += (sans.empty() ? "DNS:" : ",DNS:") + d;
  for (const std::string& ip : spec.ips) sans += (sans.empty() ? "IP:" : ",IP:") + ip;
  if (!sans.empty()) addExtension(x, &ctx, NID_subject_alt_name, sans);
  EVP_PKEY* signer = issuer != nullptr ? issuer->key.get() : id.key.get();
  if (X509_sign(x, signer, EVP_sha256()) == 0) throw std::runtime_error("X509_sign failed");
  return id;
}

// A directory removed with everything in it when the test ends.
class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/portico-tls-XXXXXX";
    if (::mkdtemp(name) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = name;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Writes `certs` (leaf first) as PEM; returns the path.
inline std::string writeCerts(const std::string& path, const std::vector<X509*>& certs) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) throw std::runtime_error("cannot write " + path);
  for (X509* c : certs) PEM_write_X509(f, c);
  std::fclose(f);
  return path;
}

inline std::string writeKey(const std::string& path, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) throw std::runtime_error("cannot write " + path);
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  return path;
}

inline std::string writeText(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) throw std::runtime_error("cannot write " + path);
  std::fputs(text.c_str(), f);
  std::fclose(f);
  return path;
}

}  // namespace portico::tls::testing
