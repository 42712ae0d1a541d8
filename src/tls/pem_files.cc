#include "tls/pem_files.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace portico::tls {
namespace {

constexpr size_t kMaxPemBytes = 1024 * 1024;

// The file in a memory BIO, or nullptr with *why set. Read here rather than by OpenSSL: its
// text for a missing file ("system lib") says less than strerror, and a key file that is not
// PEM at all comes back from its decoders as a bare "unsupported".
BioPtr readPemFile(const std::string& path, std::string* why) {
  if (!checkReadableFile(path, why)) return nullptr;
  FILE* fp = std::fopen(path.c_str(), "re");
  if (fp == nullptr) {
    *why = "cannot read " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  std::string text;
  char buf[16 * 1024];
  // Certificate chains are a few KiB; the cap keeps a wrong path (a log, a device) cheap.
  while (text.size() <= kMaxPemBytes) {
    size_t n = std::fread(buf, 1, sizeof buf, fp);
    if (n == 0) break;
    text.append(buf, n);
  }
  bool failed = std::ferror(fp) != 0;
  int saved = errno;
  std::fclose(fp);
  if (failed) {
    *why = "cannot read " + path + ": " + std::strerror(saved);
    return nullptr;
  }
  if (text.size() > kMaxPemBytes) {
    *why = path + " is larger than 1 MiB; not a PEM certificate or key";
    return nullptr;
  }
  if (text.find("-----BEGIN ") == std::string::npos) {
    *why = path + " is not PEM (no \"-----BEGIN ...-----\" line)";
    return nullptr;
  }
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (BIO_write(bio.get(), text.data(), static_cast<int>(text.size())) !=
      static_cast<int>(text.size())) {
    *why = "cannot read " + path + ": out of memory";
    return nullptr;
  }
  return bio;
}

// Refuses to prompt: a proxy has no terminal, and a blocked read at start-up would hang it.
int noPassphrase(char*, int, int, void*) {
  return -1;
}

bool isNoPemLine(unsigned long code) {
  return ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == PEM_R_NO_START_LINE;
}

bool readChain(const std::string& path, LoadedCertificate* out, std::string* why) {
  BioPtr bio = readPemFile(path, why);
  if (!bio) return false;
  ERR_clear_error();
  out->leaf.reset(PEM_read_bio_X509(bio.get(), nullptr, noPassphrase, nullptr));
  if (!out->leaf) {
    bool no_pem = isNoPemLine(ERR_peek_last_error());
    *why = path + (no_pem ? " holds no certificate (no \"-----BEGIN CERTIFICATE-----\" line)"
                          : " has an unreadable certificate: " + takeOpensslErrors());
    ERR_clear_error();
    return false;
  }
  while (X509* extra = PEM_read_bio_X509(bio.get(), nullptr, noPassphrase, nullptr)) {
    out->chain.emplace_back(extra);
  }
  // The loop ends on "no more PEM blocks"; anything else is a damaged chain certificate.
  unsigned long last = ERR_peek_last_error();
  if (last != 0 && !isNoPemLine(last)) {
    *why = path + " has an unreadable chain certificate after the first: " + takeOpensslErrors();
    return false;
  }
  ERR_clear_error();
  return true;
}

bool readKey(const std::string& path, LoadedCertificate* out, std::string* why) {
  BioPtr bio = readPemFile(path, why);
  if (!bio) return false;
  ERR_clear_error();
  out->key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr));
  if (out->key) return true;
  unsigned long code = ERR_peek_last_error();
  if (ERR_GET_REASON(code) == PEM_R_BAD_PASSWORD_READ ||
      ERR_GET_REASON(code) == PEM_R_PROBLEMS_GETTING_PASSWORD) {
    *why = path + " is an encrypted private key; store it unencrypted (readable only by Portico)";
  } else {
    *why = path + " holds no usable private key (" + takeOpensslErrors() + ")";
  }
  ERR_clear_error();
  return false;
}

// An expired leaf fails every handshake with a strict client; better refuse it at load time,
// where the operator is looking, than serve errors.
bool checkValidity(const std::string& path, X509* leaf, std::string* why) {
  if (X509_cmp_current_time(X509_get0_notBefore(leaf)) >= 0) {
    *why = "certificate in " + path + " is not valid yet";
    return false;
  }
  if (X509_cmp_current_time(X509_get0_notAfter(leaf)) <= 0) {
    *why = "certificate in " + path + " has expired";
    return false;
  }
  return true;
}

std::string asnText(const ASN1_STRING* s) {
  std::string text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                   static_cast<size_t>(ASN1_STRING_length(s)));
  for (char& c : text) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  return text;
}

}  // namespace

bool loadCertificate(const CertificateFiles& files, LoadedCertificate* out, PemError* error) {
  error->file = PemFile::Cert;
  if (!readChain(files.cert, out, &error->message)) return false;
  if (!checkValidity(files.cert, out->leaf.get(), &error->message)) return false;
  error->file = PemFile::Key;
  if (!readKey(files.key, out, &error->message)) return false;
  if (X509_check_private_key(out->leaf.get(), out->key.get()) != 1) {
    ERR_clear_error();
    error->message =
        "private key in " + files.key + " does not match the certificate in " + files.cert;
    return false;
  }
  return true;
}

bool checkReadableFile(const std::string& path, std::string* why) {
  struct stat st;
  if (::access(path.c_str(), R_OK) != 0 || ::stat(path.c_str(), &st) != 0) {
    *why = "cannot read " + path + ": " + std::strerror(errno);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    *why = "cannot read " + path + ": not a regular file";
    return false;
  }
  return true;
}

std::vector<std::string> certificateNames(X509* cert) {
  std::vector<std::string> names;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans, i);
    if (name->type == GEN_DNS) names.push_back(asnText(name->d.dNSName));
  }
  GENERAL_NAMES_free(sans);
  if (!names.empty()) return names;
  // RFC 6125 keeps the CN only as a fallback for certificates without DNS names.
  X509_NAME* subject = X509_get_subject_name(cert);
  int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (at >= 0) {
    names.push_back(asnText(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at))));
  }
  return names;
}

}  // namespace portico::tls
