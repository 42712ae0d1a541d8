#include "tls/acme/client.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>

#include "core/log.h"
#include "tls/acme/challenges.h"
#include "tls/acme/jws.h"
#include "tls/acme/storage.h"

namespace portico::tls::acme {
namespace {

constexpr int kBadNonceRetries = 20;
constexpr int64_t kDefaultPollMs = 1000;
constexpr int64_t kMaxPollMs = 10000;
constexpr int kMaxPolls = 120;
constexpr const char* kJoseJson = "application/jose+json";

Error failure(std::string message) {
  return Error::upstream(std::move(message), true);
}

bool parseJson(const std::string& text, nlohmann::json* out) {
  *out = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return !out->is_discarded();
}

std::string stringAt(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return {};
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Undoes what a challenge published, whatever way the authorization ends.
class PublishedChallenge {
 public:
  PublishedChallenge() = default;
  PublishedChallenge(const PublishedChallenge&) = delete;
  PublishedChallenge& operator=(const PublishedChallenge&) = delete;
  ~PublishedChallenge() {
    if (!http_token_.empty()) ChallengeStore::shared().removeHttp(http_token_);
    if (!alpn_name_.empty()) ChallengeStore::shared().removeTlsAlpn(alpn_name_);
  }
  void http(const std::string& token, const std::string& key_authorization) {
    http_token_ = token;
    ChallengeStore::shared().addHttp(token, key_authorization);
  }
  void tlsAlpn(const std::string& name, X509Ptr cert, PkeyPtr key) {
    alpn_name_ = name;
    ChallengeStore::shared().addTlsAlpn(name, std::move(cert), std::move(key));
  }

 private:
  std::string http_token_;
  std::string alpn_name_;
};

}  // namespace

std::string describeProblem(int status, const std::string& body) {
  nlohmann::json problem;
  std::string text = "HTTP " + std::to_string(status);
  if (!parseJson(body, &problem) || !problem.is_object()) {
    std::string start = body.substr(0, 200);
    std::replace_if(
        start.begin(), start.end(), [](unsigned char c) { return std::iscntrl(c) != 0; }, ' ');
    return start.empty() ? text : text + ": " + start;
  }
  std::string type = stringAt(problem, "type");
  std::string detail = stringAt(problem, "detail");
  if (!type.empty()) text += " " + type;
  if (!detail.empty()) text += ": " + detail;
  if (auto sub = problem.find("subproblems"); sub != problem.end() && sub->is_array()) {
    for (const auto& p : *sub) {
      text += "; " + stringAt(p, "type") + ": " + stringAt(p, "detail");
    }
  }
  return text;
}

Client::Client(const AcmeConfig& config, HttpsClient http, PkeyPtr account_key,
               std::function<bool(int64_t)> sleep)
    : config_(config),
      http_(std::move(http)),
      account_key_(std::move(account_key)),
      thumbprint_(ecThumbprint(account_key_.get())),
      sleep_(std::move(sleep)) {}

Result<void> Client::prepare() {
  if (directory_.is_object() && !account_url_.empty()) return {};
  Result<HttpResponse> got = http_.request("GET", config_.directory);
  if (!got) return failure("directory " + config_.directory + ": " + got.error().detail);
  if (got->status != 200 || !parseJson(got->body, &directory_) || !directory_.is_object() ||
      stringAt(directory_, "newNonce").empty() || stringAt(directory_, "newAccount").empty() ||
      stringAt(directory_, "newOrder").empty()) {
    directory_ = nullptr;
    return failure("directory " + config_.directory +
                   " is not an ACME directory: " + describeProblem(got->status, got->body));
  }
  nlohmann::json account = {{"termsOfServiceAgreed", true}};
  if (!config_.email.empty()) account["contact"] = {"mailto:" + config_.email};
  HttpResponse raw;
  Result<nlohmann::json> created =
      postJson(stringAt(directory_, "newAccount"), compactJson(account), &raw);
  if (!created) return failure("account: " + created.error().detail);
  account_url_ = raw.header("location");
  if (account_url_.empty()) return failure("account: the server sent no account URL");
  PLOG_INFO("acme: account {} ({})", account_url_, raw.status == 201 ? "created" : "existing");
  return {};
}

Result<std::string> Client::nonce() {
  if (!nonce_.empty()) return std::exchange(nonce_, {});
  Result<HttpResponse> got = http_.request("HEAD", stringAt(directory_, "newNonce"));
  if (!got) return failure("newNonce: " + got.error().detail);
  std::string n = got->header("replay-nonce");
  if (n.empty()) return failure("newNonce: no Replay-Nonce in the response");
  return n;
}

Result<HttpResponse> Client::post(const std::string& url, const std::string& payload,
                                  const std::string& accept) {
  for (int attempt = 0;; ++attempt) {
    Result<std::string> n = nonce();
    if (!n) return n.error();
    std::string body = signedRequest(account_key_.get(), account_url_, *n, url, payload);
    if (body.empty()) return failure("cannot sign a request: " + takeOpensslErrors());
    Result<HttpResponse> got = http_.request("POST", url, kJoseJson, body, accept);
    if (!got) return failure(url + ": " + got.error().detail);
    nonce_ = got->header("replay-nonce");
    if (got->status >= 200 && got->status < 300) return got;
    nlohmann::json problem;
    bool bad_nonce = parseJson(got->body, &problem) &&
                     stringAt(problem, "type") == "urn:ietf:params:acme:error:badNonce";
    if (bad_nonce && attempt < kBadNonceRetries) {
      PLOG_DEBUG("acme: {}: badNonce, retrying with the nonce from the error", url);
      continue;
    }
    return failure(url + ": " + describeProblem(got->status, got->body));
  }
}

Result<nlohmann::json> Client::postJson(const std::string& url, const std::string& payload,
                                        HttpResponse* raw) {
  Result<HttpResponse> got = post(url, payload);
  if (!got) return got.error();
  nlohmann::json object;
  if (!parseJson(got->body, &object) || !object.is_object())
    return failure(url + ": the response is not a JSON object");
  if (raw != nullptr) *raw = std::move(*got);
  return object;
}

int64_t Client::retryAfterMs(const HttpResponse& response) const {
  std::string value = response.header("retry-after");
  if (!value.empty() && std::all_of(value.begin(), value.end(),
                                    [](unsigned char c) { return std::isdigit(c) != 0; })) {
    return std::clamp<int64_t>(std::atoll(value.c_str()) * 1000, 100, kMaxPollMs);
  }
  return kDefaultPollMs;
}

Result<nlohmann::json> Client::poll(const std::string& url, const char* what) {
  for (int i = 0; i < kMaxPolls; ++i) {
    HttpResponse raw;
    Result<nlohmann::json> object = postJson(url, "", &raw);
    if (!object) return object;
    std::string status = stringAt(*object, "status");
    if (status != "pending" && status != "processing") return object;
    if (!sleep_(retryAfterMs(raw))) return failure("stopped");
  }
  return failure(std::string(what) + " " + url + " still pending after " +
                 std::to_string(kMaxPolls) + " polls");
}

Result<void> Client::authorize(const std::string& authz_url) {
  Result<nlohmann::json> authz = postJson(authz_url, "");
  if (!authz) return authz.error();
  std::string name = stringAt((*authz)["identifier"], "value");
  std::string status = stringAt(*authz, "status");
  if (status == "valid") return {};
  if (status != "pending") return failure("authorization for " + name + " is " + status);
  const char* wanted = config_.challenge == ChallengeType::Http01 ? "http-01" : "tls-alpn-01";
  nlohmann::json challenge;
  for (const auto& c : (*authz)["challenges"]) {
    if (stringAt(c, "type") == wanted) challenge = c;
  }
  std::string token = stringAt(challenge, "token");
  std::string url = stringAt(challenge, "url");
  if (token.empty() || url.empty()) {
    return failure("the server offers no " + std::string(wanted) + " challenge for " + name);
  }
  std::string key_authorization = keyAuthorization(token, thumbprint_);
  PublishedChallenge published;
  if (config_.challenge == ChallengeType::Http01) {
    published.http(token, key_authorization);
  } else {
    PkeyPtr key = generateEcKey();
    std::string digest = sha256(key_authorization);
    X509Ptr cert =
        key ? selfSigned({name}, key.get(), 24 * 3600, "Portico ACME challenge", &digest) : nullptr;
    if (!cert) return failure("cannot make the TLS-ALPN-01 certificate: " + takeOpensslErrors());
    published.tlsAlpn(name, std::move(cert), std::move(key));
  }
  PLOG_INFO("acme: {}: answering the {} challenge", name, wanted);
  Result<nlohmann::json> started = postJson(url, "{}");
  if (!started) return started.error();
  Result<nlohmann::json> done = poll(authz_url, "authorization");
  if (!done) return done.error();
  if (stringAt(*done, "status") == "valid") return {};
  // The failed challenge carries the validation error.
  std::string why = "authorization is " + stringAt(*done, "status");
  for (const auto& c : (*done)["challenges"]) {
    if (stringAt(c, "type") == wanted && c.contains("error")) {
      why = describeProblem(403, compactJson(c["error"]));
      break;
    }
  }
  return failure(std::string(wanted) + " for " + name + " failed: " + why);
}

Result<Issued> Client::obtain(const std::vector<std::string>& names) {
  if (Result<void> r = prepare(); !r) return r.error();
  nlohmann::json identifiers = nlohmann::json::array();
  for (const std::string& n : names) identifiers.push_back({{"type", "dns"}, {"value", n}});
  HttpResponse raw;
  Result<nlohmann::json> order =
      postJson(stringAt(directory_, "newOrder"),
               compactJson(nlohmann::json{{"identifiers", identifiers}}), &raw);
  if (!order) return failure("new order: " + order.error().detail);
  std::string order_url = raw.header("location");
  std::string finalize = stringAt(*order, "finalize");
  if (order_url.empty() || finalize.empty()) return failure("new order: no order or finalize URL");
  if (stringAt(*order, "status") == "pending") {
    for (const auto& a : (*order)["authorizations"]) {
      if (!a.is_string()) continue;
      if (Result<void> r = authorize(a.get<std::string>()); !r) return r.error();
    }
    order = poll(order_url, "order");
    if (!order) return order.error();
  }
  // A "valid" order here would be one the server reused, for a key we do not have.
  if (stringAt(*order, "status") != "ready") {
    return failure("order is " + stringAt(*order, "status") + ": " +
                   (order->contains("error") ? describeProblem(403, compactJson((*order)["error"]))
                                             : std::string("no error given")));
  }
  Issued issued;
  issued.key = generateEcKey();
  if (!issued.key) return failure("cannot make a key: " + takeOpensslErrors());
  {
    std::string csr = certificateRequest(names, issued.key.get());
    if (csr.empty()) return failure("cannot make the CSR: " + takeOpensslErrors());
    Result<nlohmann::json> finalized =
        postJson(finalize, compactJson(nlohmann::json{{"csr", base64url(csr)}}));
    if (!finalized) return failure("finalize: " + finalized.error().detail);
    order = poll(order_url, "order");
    if (!order) return order.error();
  }
  std::string certificate_url = stringAt(*order, "certificate");
  if (stringAt(*order, "status") != "valid" || certificate_url.empty()) {
    return failure("order is " + stringAt(*order, "status") + " after finalize: " +
                   (order->contains("error") ? describeProblem(403, compactJson((*order)["error"]))
                                             : std::string("no certificate URL")));
  }
  Result<HttpResponse> chain = post(certificate_url, "", "application/pem-certificate-chain");
  if (!chain) return failure("certificate download: " + chain.error().detail);
  if (chain->body.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
    return failure("certificate download: the response is not a PEM chain");
  issued.chain = std::move(chain->body);
  return issued;
}

}  // namespace portico::tls::acme
