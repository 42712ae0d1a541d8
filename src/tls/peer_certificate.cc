#include "tls/peer_certificate.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

namespace portico::tls {

namespace {

std::string subjectText(X509* cert) {
  BIO* out = BIO_new(BIO_s_mem());
  if (out == nullptr) return {};
  // RFC 2253 without multi-byte escaping: UTF-8 names stay readable.
  X509_NAME_print_ex(out, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  const long length = BIO_get_mem_data(out, &data);
  std::string text(data, length > 0 ? static_cast<size_t>(length) : 0);
  BIO_free(out);
  return text;
}

std::string ipText(const ASN1_OCTET_STRING* ip) {
  char text[64] = "";
  const unsigned char* b = ASN1_STRING_get0_data(ip);
  if (ASN1_STRING_length(ip) == 4) {
    std::snprintf(text, sizeof text, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
  } else if (ASN1_STRING_length(ip) == 16) {
    size_t used = 0;
    for (int i = 0; i < 16; i += 2) {
      used += static_cast<size_t>(std::snprintf(text + used, sizeof text - used, "%s%x",
                                                i == 0 ? "" : ":", (b[i] << 8) | b[i + 1]));
    }
  }
  return text;
}

std::string stringText(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

std::vector<std::string> alternativeNames(X509* cert) {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    switch (name->type) {
      case GEN_DNS:
        out.push_back("DNS:" + stringText(name->d.dNSName));
        break;
      case GEN_IPADD:
        out.push_back("IP:" + ipText(name->d.iPAddress));
        break;
      case GEN_URI:
        out.push_back("URI:" + stringText(name->d.uniformResourceIdentifier));
        break;
      case GEN_EMAIL:
        out.push_back("email:" + stringText(name->d.rfc822Name));
        break;
      default:
        break;  // directory names, other names: not passed on
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

std::string sha256Fingerprint(X509* cert) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert, EVP_sha256(), digest, &length) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

}  // namespace

net::PeerCertificate describeCertificate(X509* cert) {
  net::PeerCertificate facts;
  facts.subject = subjectText(cert);
  facts.sans = alternativeNames(cert);
  facts.sha256_fingerprint = sha256Fingerprint(cert);
  return facts;
}

}  // namespace portico::tls
