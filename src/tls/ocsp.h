#pragma once
// OCSP stapling (RFC 6066 section 8, RFC 6960): what a listener staples for each certificate,
// how a fetched response is checked before it is, and when it is fetched again.
//
// Threads: the main thread fetches and publishes (tls/ocsp_updater.h); workers only read the
// published response in the handshake's status callback. A response is an immutable
// std::shared_ptr<const OcspStaple> swapped atomically, so a handshake never waits for a fetch
// and never sees half a response.

#include <openssl/ssl.h>

#include <atomic>
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "tls/handles.h"
#include "tls/pem_files.h"
#include "tls/tls_config.h"

namespace portico::tls {

// A verified response, ready to be sent in handshakes.
struct OcspStaple {
  std::string der;      // the OCSPResponse, exactly as the responder (or the file) gave it
  std::time_t expires;  // its nextUpdate; 0 for a configured file (stapled as-is)
};

// What a response says about our certificate, once its signature and dates check out.
struct OcspVerdict {
  int status = 0;   // V_OCSP_CERTSTATUS_GOOD or V_OCSP_CERTSTATUS_REVOKED ("unknown" is an error)
  int reason = -1;  // revocation reason (OCSP_REVOKED_STATUS_*), -1 when none is given
  std::time_t this_update = 0;
  std::time_t next_update = 0;  // 0: the response has none
};

// A responder's address, from an http:// URL.
struct HttpUrl {
  std::string host;  // without brackets for IPv6
  uint16_t port = 80;
  std::string path;  // "/" at least; the query, if any, stays in it
  std::string hostHeader() const;
};

// Parses "http://host[:port][/path]". Any other scheme (https:// included: the response is
// signed, so TLS adds nothing but a dependency loop) is an error naming what is supported.
Result<HttpUrl> parseHttpUrl(std::string_view url);

// The first OCSP URI of the certificate's Authority Information Access, or "".
std::string ocspResponderUrl(X509* leaf);

// The certificate in `chain` that issued `leaf` (name and signature), or nullptr.
X509* findIssuer(X509* leaf, const std::vector<X509Ptr>& chain);

// A DER OCSPRequest for `leaf` (SHA-1 certificate id, as RFC 5019 responders expect). No nonce:
// the response is cached and shown to many clients, so a nonce would prove nothing to them, and
// the large responders pre-sign responses and ignore it.
Result<std::string> buildOcspRequest(X509* leaf, X509* issuer);

// Checks a DER OCSPResponse before it is stapled: a "successful" response whose signature
// verifies (by the issuer, or by a responder the issuer delegated with the OCSP signing
// purpose), that carries a status for exactly this certificate, "good" or "revoked", and whose
// thisUpdate/nextUpdate hold now (5 minutes of clock skew allowed). `chain` is the served chain.
Result<OcspVerdict> verifyOcspResponse(std::string_view der, X509* leaf, X509* issuer,
                                       const std::vector<X509Ptr>& chain);

// When to fetch again. Seconds from `now`.
struct OcspSchedule {
  static constexpr int64_t kMinRefreshS = 60;
  static constexpr int64_t kMaxRefreshS = 3600;
  static constexpr int64_t kFirstRetryS = 60;
  static constexpr int64_t kMaxRetryS = 3600;
  // How long a response without nextUpdate is stapled after it was fetched.
  static constexpr int64_t kNoNextUpdateLifetimeS = 3600;

  // After a verified response: halfway to its nextUpdate, at least every hour, at most every
  // minute.
  static int64_t afterSuccess(std::time_t now, std::time_t next_update);
  // After the n-th failure in a row (n >= 1): 1 min, 2, 4, ... up to 1 h. The last good
  // response stays stapled until it expires.
  static int64_t afterFailure(int failures);
  // Until when a response is stapled.
  static std::time_t expiry(std::time_t now, std::time_t next_update);
};

// One certificate's stapling: what the main thread needs to fetch, and the published staple.
class OcspCertificate {
 public:
  // Certificates with the same key share one fetch: the leaf (DER) and the responder. Empty
  // for a configured file or when not fetching.
  std::string key;
  std::string name;       // for logs: its first DNS name, or its file
  std::string cert_file;  // for logs
  std::string responder;  // the URL to fetch from; empty with a file or when not stapling
  std::string problem;    // why a certificate that would staple cannot (logged at start)
  X509Ptr leaf;
  X509Ptr issuer;
  std::vector<X509Ptr> chain;  // the served chain, for verifying responses

  // Called by the status callback on any worker: one atomic load.
  std::shared_ptr<const OcspStaple> current() const { return staple_.load(); }
  // Called by the main thread.
  void publish(std::shared_ptr<const OcspStaple> staple) { staple_.store(std::move(staple)); }

  bool announced = false;  // main thread: its start-up log line was written

 private:
  std::atomic<std::shared_ptr<const OcspStaple>> staple_;
};

// Every OcspCertificate a context build made, process-wide. The main thread's updater finds
// here the certificates of contexts built after it started (certificate reload) without being
// told, and a rebuilt context starts with the staple its predecessor had for the same leaf.
// Holds weak references: a context's entries die with it.
class OcspRegistry {
 public:
  static OcspRegistry& shared();

  // Registers `cert`, hands it the live staple of an entry with the same key, and calls the
  // notifier.
  void add(const std::shared_ptr<OcspCertificate>& cert);
  // The entries still alive, in registration order.
  std::vector<std::shared_ptr<OcspCertificate>> live();
  // Called (on the registering thread) after each add; empty to stop.
  void setNotifier(std::function<void()> notify);

 private:
  std::mutex mutex_;
  std::vector<std::weak_ptr<OcspCertificate>> certificates_;
  std::function<void()> notify_;
};

// A listener's stapling state: one OcspCertificate per certificate that staples, and the
// status callback on each certificate group's SSL_CTX.
class OcspStapling {
 public:
  // Sets up stapling for the certificate `files` (index `index` under `tls.certificates`),
  // already installed in `ctx`. A configured file is read and published here. On failure the
  // Error's detail is for the operator and *error_key is "certificates[i].ocsp".
  Result<void> add(SSL_CTX* ctx, const LoadedCertificate& cert, const CertificateFiles& files,
                   size_t index, std::string* error_key);

  const std::vector<std::shared_ptr<OcspCertificate>>& certificates() const {
    return certificates_;
  }

  // The response stapled for `leaf` right now (nullptr: none, or expired at `now`).
  std::shared_ptr<const OcspStaple> stapleFor(const X509* leaf, std::time_t now) const;

 private:
  static int onStatusRequest(SSL* ssl, void* arg);
  std::vector<std::shared_ptr<OcspCertificate>> certificates_;
};

// Reads a DER OCSP response file (at most 64 KiB) and checks it parses.
Result<std::string> readOcspResponseFile(const std::string& path);

// "2026-12-01 18:00:00 UTC"
std::string formatUtc(std::time_t t);

}  // namespace portico::tls
