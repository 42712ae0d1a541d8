#pragma once
// The ACME protocol (RFC 8555) for one certificate at a time, blocking, on the ACME thread:
// directory, nonces (a badNonce error is retried with the nonce it carries), the account
// (created or found with newAccount), then newOrder, the authorizations' challenges
// (HTTP-01 or TLS-ALPN-01, answered by the workers from ChallengeStore), polling with
// Retry-After, finalize with a CSR for a new P-256 key, and the PEM chain.
//
// Failures carry the server's problem document ("urn:...:unauthorized: detail") or the
// transport error, for the log. Nothing here logs key material.

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "tls/acme/acme_config.h"
#include "tls/acme/https_client.h"
#include "tls/handles.h"

namespace portico::tls::acme {

struct Issued {
  PkeyPtr key;
  std::string chain;  // PEM, leaf first
};

class Client {
 public:
  // `sleep(ms)` waits between polls and returns false when the caller wants to stop.
  Client(const AcmeConfig& config, HttpsClient http, PkeyPtr account_key,
         std::function<bool(int64_t)> sleep);

  Result<Issued> obtain(const std::vector<std::string>& names);

 private:
  Result<void> prepare();
  Result<std::string> nonce();
  // A signed POST (payload empty: POST-as-GET); kid is the account URL once known. Retries a
  // badNonce a few times. A non-2xx status is an Error with the problem detail.
  Result<HttpResponse> post(const std::string& url, const std::string& payload,
                            const std::string& accept = {});
  Result<nlohmann::json> postJson(const std::string& url, const std::string& payload,
                                  HttpResponse* raw = nullptr);
  Result<void> authorize(const std::string& authz_url);
  // Polls `url` until its status leaves pending/processing; returns the last object.
  Result<nlohmann::json> poll(const std::string& url, const char* what);
  int64_t retryAfterMs(const HttpResponse& response) const;

  const AcmeConfig& config_;
  HttpsClient http_;
  PkeyPtr account_key_;
  std::string thumbprint_;
  std::function<bool(int64_t)> sleep_;
  nlohmann::json directory_;
  std::string account_url_;
  std::string nonce_;
};

// "type: detail" from an RFC 7807 problem document (with its subproblems), or the body's
// start when it is not one.
std::string describeProblem(int status, const std::string& body);

}  // namespace portico::tls::acme
