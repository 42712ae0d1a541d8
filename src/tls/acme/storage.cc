#include "tls/acme/storage.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "tls/acme/jws.h"
#include "tls/pem_files.h"

namespace portico::tls::acme {
namespace {

// RFC 8737 section 6.1: id-pe-acmeIdentifier.
constexpr const char* kAcmeIdentifierOid = "1.3.6.1.5.5.7.1.31";

std::string bioText(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}

std::string sanList(const std::vector<std::string>& names) {
  std::string list;
  for (const std::string& n : names) list += (list.empty() ? "DNS:" : ",DNS:") + n;
  return list;
}

bool addExtension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// extnValue holds the DER of `Authorization ::= OCTET STRING (SIZE (32))`.
bool addAcmeIdentifier(X509* cert, const std::string& digest) {
  ASN1_OBJECT* oid = OBJ_txt2obj(kAcmeIdentifierOid, 1);
  ASN1_OCTET_STRING* inner = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING* outer = ASN1_OCTET_STRING_new();
  bool ok = oid != nullptr && inner != nullptr && outer != nullptr &&
            ASN1_OCTET_STRING_set(inner, reinterpret_cast<const unsigned char*>(digest.data()),
                                  static_cast<int>(digest.size())) == 1;
  if (ok) {
    unsigned char* der = nullptr;
    int len = i2d_ASN1_OCTET_STRING(inner, &der);
    ok = len > 0 && ASN1_OCTET_STRING_set(outer, der, len) == 1;
    OPENSSL_free(der);
  }
  if (ok) {
    X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, oid, 1, outer);
    ok = ext != nullptr && X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
  }
  ASN1_OBJECT_free(oid);
  ASN1_OCTET_STRING_free(inner);
  ASN1_OCTET_STRING_free(outer);
  return ok;
}

bool isPlaceholder(X509* cert) {
  X509_NAME* issuer = X509_get_issuer_name(cert);
  char org[128] = {};
  if (X509_NAME_get_text_by_NID(issuer, NID_organizationName, org, sizeof org) < 0) return false;
  return std::strcmp(org, kPlaceholderOrganization) == 0;
}

std::time_t notAfter(X509* cert) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return 0;
  return timegm(&tm);
}

}  // namespace

bool makePrivateDirectory(const std::string& path, std::string* error) {
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    std::string part = path.substr(0, slash);
    if (!part.empty() && ::mkdir(part.c_str(), slash == std::string::npos ? 0700 : 0755) != 0 &&
        errno != EEXIST) {
      *error = "cannot create " + part + ": " + std::strerror(errno);
      return false;
    }
    if (slash == std::string::npos) break;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    *error = path + " is not a directory";
    return false;
  }
  if ((st.st_mode & 0777) != 0700 && ::chmod(path.c_str(), 0700) != 0) {
    *error = "cannot make " + path + " private (mode 0700): " + std::strerror(errno);
    return false;
  }
  return true;
}

bool writeTemporary(const std::string& path, const std::string& data, unsigned mode,
                    std::string* error) {
  std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    *error = "cannot create " + tmp + ": " + std::strerror(errno);
    return false;
  }
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  bool ok = done == data.size() && ::fchmod(fd, mode) == 0 && ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    *error = "cannot write " + tmp + ": " + std::strerror(saved);
  }
  return ok;
}

bool renameTemporary(const std::string& path, std::string* error) {
  std::string tmp = path + ".tmp";
  if (::rename(tmp.c_str(), path.c_str()) == 0) return true;
  *error = "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno);
  ::unlink(tmp.c_str());
  return false;
}

bool writeFileAtomically(const std::string& path, const std::string& data, unsigned mode,
                         std::string* error) {
  return writeTemporary(path, data, mode, error) && renameTemporary(path, error);
}

bool readWholeFile(const std::string& path, std::string* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out->clear();
  char buf[16384];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) out->append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return n == 0;
}

std::string keyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return {};
  return bioText(bio.get());
}

PkeyPtr keyFromPem(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

std::string certificateToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return {};
  return bioText(bio.get());
}

X509Ptr selfSigned(const std::vector<std::string>& names, EVP_PKEY* key, int64_t lifetime_s,
                   const char* organization, const std::string* acme_identifier) {
  X509Ptr cert(X509_new());
  if (!cert || names.empty()) return nullptr;
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return nullptr;
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(lifetime_s));
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(organization), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(names[0].c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key);
  if (!addExtension(cert.get(), NID_subject_alt_name, sanList(names)) ||
      !addExtension(cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      (acme_identifier != nullptr && !addAcmeIdentifier(cert.get(), *acme_identifier))) {
    return nullptr;
  }
  if (X509_sign(cert.get(), key, EVP_sha256()) == 0) return nullptr;
  return cert;
}

std::string certificateRequest(const std::vector<std::string>& names, EVP_PKEY* key) {
  X509_REQ* req = X509_REQ_new();
  if (req == nullptr || names.empty()) {
    X509_REQ_free(req);
    return {};
  }
  X509_NAME* subject = X509_REQ_get_subject_name(req);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(names[0].c_str()), -1, -1, 0);
  X509_REQ_set_pubkey(req, key);
  STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, nullptr, nullptr, req, nullptr, 0);
  X509_EXTENSION* san =
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, sanList(names).c_str());
  std::string out;
  if (san != nullptr && sk_X509_EXTENSION_push(exts, san) > 0 &&
      X509_REQ_add_extensions(req, exts) == 1 && X509_REQ_sign(req, key, EVP_sha256()) > 0) {
    unsigned char* der = nullptr;
    int len = i2d_X509_REQ(req, &der);
    if (len > 0) out.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
  }
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  X509_REQ_free(req);
  return out;
}

StoredCertificate inspect(const ManagedCertificate& managed) {
  StoredCertificate stored;
  LoadedCertificate loaded;
  PemError error;
  if (!loadCertificate({managed.cert, managed.key}, &loaded, &error)) {
    takeOpensslErrors();
    return stored;
  }
  stored.usable = true;
  stored.placeholder = isPlaceholder(loaded.leaf.get());
  stored.not_after = notAfter(loaded.leaf.get());
  stored.names = certificateNames(loaded.leaf.get());
  return stored;
}

bool ensureServable(const ManagedCertificate& managed, bool* wrote, std::string* error) {
  *wrote = false;
  if (inspect(managed).usable) return true;
  PkeyPtr key = generateEcKey();
  X509Ptr cert =
      key ? selfSigned(managed.names, key.get(), kPlaceholderLifetimeS, kPlaceholderOrganization)
          : nullptr;
  if (!cert) {
    *error = "cannot make a placeholder certificate: " + takeOpensslErrors();
    return false;
  }
  if (!storeCertificate(managed, key.get(), certificateToPem(cert.get()), error)) return false;
  *wrote = true;
  return true;
}

bool storeCertificate(const ManagedCertificate& managed, EVP_PKEY* key, const std::string& chain,
                      std::string* error) {
  std::string key_pem = keyToPem(key);
  if (key_pem.empty()) {
    *error = "cannot encode the key";
    return false;
  }
  bool ok = writeTemporary(managed.key, key_pem, 0600, error) &&
            writeTemporary(managed.cert, chain, 0644, error) &&
            renameTemporary(managed.key, error) && renameTemporary(managed.cert, error);
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  return ok;
}

std::string formatTime(std::time_t t) {
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

}  // namespace portico::tls::acme
