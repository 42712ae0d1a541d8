#include "tls/ocsp.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace portico::tls {
namespace {

using OcspResponsePtr = std::unique_ptr<OCSP_RESPONSE, Freer<OCSP_RESPONSE_free>>;
using OcspBasicPtr = std::unique_ptr<OCSP_BASICRESP, Freer<OCSP_BASICRESP_free>>;
using OcspRequestPtr = std::unique_ptr<OCSP_REQUEST, Freer<OCSP_REQUEST_free>>;
using OcspCertIdPtr = std::unique_ptr<OCSP_CERTID, Freer<OCSP_CERTID_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, Freer<X509_STORE_free>>;

constexpr size_t kMaxResponseFile = 64 * 1024;
// Clock skew tolerated between us and the responder when checking thisUpdate/nextUpdate.
constexpr long kValidityLeewayS = 300;

// Responses are checked with their own signer chain; the error queue is cleared so a stale
// entry is never blamed on the next, unrelated failure.
Error failure(std::string message) {
  ERR_clear_error();
  return Error::upstream(std::move(message), false);
}

std::time_t toTime(const ASN1_GENERALIZEDTIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return timegm(&tm);
}

Result<OcspResponsePtr> parseResponse(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  OcspResponsePtr resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  if (!resp) return failure("not a DER OCSP response");
  return resp;
}

}  // namespace

std::string HttpUrl::hostHeader() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return port == 80 ? h : h + ":" + std::to_string(port);
}

Result<HttpUrl> parseHttpUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  auto bad = [&](const std::string& why) {
    return Error::config("responder URL \"" + std::string(url) + "\" " + why);
  };
  std::string lower(url.substr(0, std::min(url.size(), kScheme.size())));
  for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  if (lower != kScheme) {
    return bad(
        "is not supported: only http:// responders are (OCSP responses are signed, so "
        "they need no TLS)");
  }
  std::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  HttpUrl out;
  out.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (out.path.front() == '?') out.path.insert(0, "/");
  if (authority.find('@') != std::string_view::npos) return bad("must not carry user info");
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("has an unterminated [IPv6] host");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return bad("has junk after the [IPv6] host");
    if (!after.empty()) port = after.substr(1);
  } else {
    size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return bad("has no host");
  for (char c : out.host) {
    if (c <= ' ' || c == 0x7f) return bad("has a space or control character in its host");
  }
  for (char c : out.path) {
    if (c <= ' ' || c == 0x7f) return bad("has a space or control character in its path");
  }
  if (!port.empty() || authority.back() == ':') {
    unsigned value = 0;
    if (port.empty() || port.size() > 5) return bad("has a bad port");
    for (char c : port) {
      if (c < '0' || c > '9') return bad("has a bad port");
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return bad("has a bad port");
    out.port = static_cast<uint16_t>(value);
  }
  return out;
}

std::string ocspResponderUrl(X509* leaf) {
  STACK_OF(OPENSSL_STRING)* urls = X509_get1_ocsp(leaf);
  std::string url;
  if (sk_OPENSSL_STRING_num(urls) > 0) url = sk_OPENSSL_STRING_value(urls, 0);
  X509_email_free(urls);
  return url;
}

X509* findIssuer(X509* leaf, const std::vector<X509Ptr>& chain) {
  for (const X509Ptr& c : chain) {
    if (X509_check_issued(c.get(), leaf) == X509_V_OK) return c.get();
  }
  return nullptr;
}

Result<std::string> buildOcspRequest(X509* leaf, X509* issuer) {
  OcspRequestPtr req(OCSP_REQUEST_new());
  OCSP_CERTID* id = OCSP_cert_to_id(nullptr, leaf, issuer);
  if (!req || id == nullptr || OCSP_request_add0_id(req.get(), id) == nullptr) {
    if (id != nullptr) OCSP_CERTID_free(id);
    return failure("cannot build the OCSP request: " + takeOpensslErrors());
  }
  unsigned char* der = nullptr;
  int n = i2d_OCSP_REQUEST(req.get(), &der);
  if (n <= 0) return failure("cannot encode the OCSP request: " + takeOpensslErrors());
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

Result<OcspVerdict> verifyOcspResponse(std::string_view der, X509* leaf, X509* issuer,
                                       const std::vector<X509Ptr>& chain) {
  Result<OcspResponsePtr> resp = parseResponse(der);
  if (!resp) return resp.error();
  int response_status = OCSP_response_status(resp->get());
  if (response_status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    return failure(std::string("the responder answered \"") +
                   OCSP_response_status_str(response_status) + "\"");
  }
  OcspBasicPtr basic(OCSP_response_get1_basic(resp->get()));
  if (!basic) return failure("the response has no basic OCSP response in it");

  // Trust is anchored at our certificate's issuer: the signer must be that issuer, or a
  // responder certificate it issued for OCSP signing (OCSP_basic_verify checks both the chain
  // and that delegation). Partial chains: the issuer is usually an intermediate.
  X509StorePtr store(X509_STORE_new());
  if (!store || X509_STORE_add_cert(store.get(), issuer) != 1) {
    return failure("cannot set up response verification: " + takeOpensslErrors());
  }
  X509_STORE_set_flags(store.get(), X509_V_FLAG_PARTIAL_CHAIN);
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (const X509Ptr& c : chain) sk_X509_push(untrusted, c.get());
  ERR_clear_error();
  int verified = OCSP_basic_verify(basic.get(), untrusted, store.get(), 0);
  sk_X509_free(untrusted);
  if (verified != 1) {
    return failure("the response's signature does not verify against the certificate's issuer: " +
                   takeOpensslErrors());
  }

  OcspCertIdPtr id(OCSP_cert_to_id(nullptr, leaf, issuer));
  int status = 0;
  int reason = -1;
  ASN1_GENERALIZEDTIME* revoked_at = nullptr;
  ASN1_GENERALIZEDTIME* this_update = nullptr;
  ASN1_GENERALIZEDTIME* next_update = nullptr;
  if (!id || OCSP_resp_find_status(basic.get(), id.get(), &status, &reason, &revoked_at,
                                   &this_update, &next_update) != 1) {
    return failure("the response is not about this certificate (no status for its serial)");
  }
  if (OCSP_check_validity(this_update, next_update, kValidityLeewayS, -1) != 1) {
    ERR_clear_error();
    std::string when = "thisUpdate " + formatUtc(toTime(this_update));
    if (next_update != nullptr) when += ", nextUpdate " + formatUtc(toTime(next_update));
    return failure("the response is expired or not yet valid (" + when + ")");
  }
  if (status == V_OCSP_CERTSTATUS_UNKNOWN) {
    return failure("the responder does not know this certificate (status \"unknown\")");
  }
  OcspVerdict verdict;
  verdict.status = status;
  verdict.reason = reason;
  verdict.this_update = toTime(this_update);
  verdict.next_update = next_update != nullptr ? toTime(next_update) : 0;
  return verdict;
}

int64_t OcspSchedule::afterSuccess(std::time_t now, std::time_t next_update) {
  int64_t remaining =
      next_update != 0 ? static_cast<int64_t>(next_update - now) : kNoNextUpdateLifetimeS;
  return std::clamp<int64_t>(remaining / 2, kMinRefreshS, kMaxRefreshS);
}

int64_t OcspSchedule::afterFailure(int failures) {
  int64_t delay = kFirstRetryS;
  for (int i = 1; i < failures && delay < kMaxRetryS; ++i) delay *= 2;
  return std::min(delay, kMaxRetryS);
}

std::time_t OcspSchedule::expiry(std::time_t now, std::time_t next_update) {
  return next_update != 0 ? next_update : now + kNoNextUpdateLifetimeS;
}

Result<void> OcspStapling::add(SSL_CTX* ctx, const LoadedCertificate& cert,
                               const CertificateFiles& files, size_t index,
                               std::string* error_key) {
  const OcspConfig& config = files.ocsp;
  auto fail = [&](std::string message) -> Result<void> {
    if (error_key != nullptr) *error_key = "certificates[" + std::to_string(index) + "].ocsp";
    return Error::config(std::move(message));
  };
  if (config.staple == false) return {};
  auto entry = std::make_shared<OcspCertificate>();
  std::vector<std::string> names = certificateNames(cert.leaf.get());
  entry->name = names.empty() ? files.cert : names.front();
  entry->cert_file = files.cert;

  if (!config.file.empty()) {
    Result<std::string> der = readOcspResponseFile(config.file);
    if (!der) return fail(der.error().detail);
    entry->publish(std::make_shared<const OcspStaple>(OcspStaple{std::move(*der), 0}));
  } else {
    std::string url =
        config.responder.empty() ? ocspResponderUrl(cert.leaf.get()) : config.responder;
    if (url.empty()) {
      if (!config.staple) return {};  // the default: staple only what names a responder
      return fail("certificate in " + files.cert +
                  " names no OCSP responder (Authority Information Access); set ocsp.responder "
                  "or ocsp.file, or ocsp.staple: false");
    }
    X509* issuer = findIssuer(cert.leaf.get(), cert.chain);
    if (!config.responder.empty() || config.staple) {
      // Configured explicitly: what cannot work is an error now, not a warning later.
      if (Result<HttpUrl> parsed = parseHttpUrl(url); !parsed) {
        return fail(parsed.error().detail);
      }
      if (issuer == nullptr) {
        return fail("the chain in " + files.cert +
                    " lacks the leaf's issuer, which OCSP needs; append it after the leaf");
      }
    }
    if (Result<HttpUrl> parsed = parseHttpUrl(url); !parsed) {
      entry->problem = parsed.error().detail;
    } else if (issuer == nullptr) {
      entry->problem = "the chain in " + files.cert + " lacks the leaf's issuer, which OCSP needs";
    } else {
      entry->responder = url;
      X509_up_ref(issuer);
      entry->issuer.reset(issuer);
      unsigned char* leaf_der = nullptr;
      int n = i2d_X509(cert.leaf.get(), &leaf_der);
      if (n > 0) {
        entry->key.assign(reinterpret_cast<char*>(leaf_der), static_cast<size_t>(n));
        entry->key += "\n" + url;
      }
      OPENSSL_free(leaf_der);
    }
  }
  // The very object the context serves: the status callback matches SSL_get_certificate by
  // pointer.
  X509_up_ref(cert.leaf.get());
  entry->leaf.reset(cert.leaf.get());
  for (const X509Ptr& c : cert.chain) {
    X509_up_ref(c.get());
    entry->chain.emplace_back(c.get());
  }
  OcspRegistry::shared().add(entry);
  certificates_.push_back(std::move(entry));
  SSL_CTX_set_tlsext_status_cb(ctx, onStatusRequest);
  SSL_CTX_set_tlsext_status_arg(ctx, this);
  return {};
}

OcspRegistry& OcspRegistry::shared() {
  // Never destroyed: contexts (and their entries) may outlive static destruction order.
  static OcspRegistry* registry = new OcspRegistry();
  return *registry;
}

void OcspRegistry::add(const std::shared_ptr<OcspCertificate>& cert) {
  std::lock_guard lock(mutex_);
  std::erase_if(certificates_, [](const auto& weak) { return weak.expired(); });
  if (!cert->key.empty() && !cert->current()) {
    for (const auto& weak : certificates_) {
      std::shared_ptr<OcspCertificate> other = weak.lock();
      if (!other || other->key != cert->key) continue;
      if (std::shared_ptr<const OcspStaple> staple = other->current()) {
        cert->publish(std::move(staple));
        break;
      }
    }
  }
  certificates_.push_back(cert);
  if (notify_) notify_();
}

std::vector<std::shared_ptr<OcspCertificate>> OcspRegistry::live() {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<OcspCertificate>> out;
  for (const auto& weak : certificates_) {
    if (std::shared_ptr<OcspCertificate> c = weak.lock()) out.push_back(std::move(c));
  }
  std::erase_if(certificates_, [](const auto& weak) { return weak.expired(); });
  return out;
}

void OcspRegistry::setNotifier(std::function<void()> notify) {
  std::lock_guard lock(mutex_);
  notify_ = std::move(notify);
}

std::shared_ptr<const OcspStaple> OcspStapling::stapleFor(const X509* leaf, std::time_t now) const {
  for (const auto& c : certificates_) {
    if (c->leaf.get() != leaf) continue;
    std::shared_ptr<const OcspStaple> staple = c->current();
    if (staple && staple->expires != 0 && staple->expires <= now) return nullptr;
    return staple;
  }
  return nullptr;
}

// Runs on a worker, in the handshake, after the certificate was chosen (SNI and key type), and
// only when the client asked for a status. Never blocks: one atomic load and a copy.
int OcspStapling::onStatusRequest(SSL* ssl, void* arg) {
  const auto* self = static_cast<const OcspStapling*>(arg);
  std::shared_ptr<const OcspStaple> staple =
      self->stapleFor(SSL_get_certificate(ssl), std::time(nullptr));
  if (!staple) return SSL_TLSEXT_ERR_NOACK;
  // OpenSSL takes ownership of an OPENSSL_malloc'd buffer and frees it with the SSL.
  auto* copy = static_cast<unsigned char*>(OPENSSL_malloc(staple->der.size()));
  if (copy == nullptr) return SSL_TLSEXT_ERR_NOACK;
  std::memcpy(copy, staple->der.data(), staple->der.size());
  if (SSL_set_tlsext_status_ocsp_resp(ssl, copy, static_cast<long>(staple->der.size())) != 1) {
    OPENSSL_free(copy);
    return SSL_TLSEXT_ERR_NOACK;
  }
  return SSL_TLSEXT_ERR_OK;
}

Result<std::string> readOcspResponseFile(const std::string& path) {
  FILE* fp = std::fopen(path.c_str(), "rbe");
  if (fp == nullptr) return Error::config("cannot read " + path + ": " + std::strerror(errno));
  std::string der(kMaxResponseFile + 1, '\0');
  size_t n = std::fread(der.data(), 1, der.size(), fp);
  std::fclose(fp);
  der.resize(n);
  if (n > kMaxResponseFile) {
    return Error::config(path + " is larger than 64 KiB; an OCSP response is a few KiB");
  }
  if (Result<OcspResponsePtr> parsed = parseResponse(der); !parsed) {
    return Error::config(path + " is not a DER OCSP response (openssl ocsp -respout writes one)");
  }
  return der;
}

std::string formatUtc(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return text;
}

}  // namespace portico::tls
