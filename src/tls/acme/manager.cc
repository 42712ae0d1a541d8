#include "tls/acme/manager.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <utility>

#include "core/log.h"
#include "tls/acme/client.h"
#include "tls/acme/https_client.h"
#include "tls/acme/jws.h"
#include "tls/acme/storage.h"

namespace portico::tls::acme {
namespace {

int64_t steadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string formatDelay(int64_t ms) {
  if (ms % (3600 * 1000) == 0) return std::to_string(ms / (3600 * 1000)) + "h";
  if (ms % (60 * 1000) == 0) return std::to_string(ms / (60 * 1000)) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

bool sameNames(std::vector<std::string> a, std::vector<std::string> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

}  // namespace

Manager::Manager(AcmeConfig config) : config_(std::move(config)) {
  for (const ManagedCertificate& m : config_.certificates) entries_.push_back({m, 0, 0});
}

Manager::~Manager() {
  stop();
}

void Manager::start() {
  if (entries_.empty() || thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void Manager::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cancellation_.cancel();
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Manager::checkNow() {
  {
    std::lock_guard lock(mutex_);
    check_now_ = true;
  }
  wake_.notify_all();
}

bool Manager::sleepFor(int64_t ms) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_; });
}

void Manager::run() {
  while (true) {
    int64_t next = INT64_MAX;
    for (Entry& entry : entries_) {
      {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
      }
      if (steadyMs() >= entry.due_ms) check(entry);
      next = std::min(next, entry.due_ms);
    }
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(0, next - steadyMs())),
                   [this] { return stopping_ || check_now_; });
    if (stopping_) return;
    if (std::exchange(check_now_, false)) {
      for (Entry& entry : entries_) entry.due_ms = 0;
    }
  }
}

void Manager::check(Entry& entry) {
  const std::string names = joined(entry.managed.names);
  StoredCertificate stored = inspect(entry.managed);
  std::time_t now = std::time(nullptr);
  std::string reason;
  if (!stored.usable) {
    reason = "no usable certificate is stored";
  } else if (stored.placeholder) {
    reason = "only a placeholder is served";
  } else if (!sameNames(stored.names, entry.managed.names)) {
    reason = "the stored certificate is for other names";
  } else if (static_cast<int64_t>(stored.not_after - now) * 1000 <= config_.renew_before_ms) {
    reason = "it expires " + formatTime(stored.not_after) + ", within renew_before";
  }
  if (reason.empty()) {
    PLOG_INFO("acme: certificate for {} is valid until {}; next check in 24h", names,
              formatTime(stored.not_after));
    entry.due_ms = steadyMs() + kCheckIntervalMs;
    return;
  }
  PLOG_INFO("acme: obtaining a certificate for {} from {} ({})", names, config_.directory, reason);
  std::string error;
  bool ok = false;
  try {  // nothing below is meant to throw; a stray exception must not end the process
    ok = obtain(entry, &error);
  } catch (const std::exception& e) {
    error = std::string("internal error: ") + e.what();
  }
  if (ok) {
    entry.backoff_ms = 0;
    entry.due_ms = steadyMs() + kCheckIntervalMs;
    StoredCertificate fresh = inspect(entry.managed);
    if (static_cast<int64_t>(fresh.not_after - std::time(nullptr)) * 1000 <=
        config_.renew_before_ms) {
      PLOG_WARN(
          "acme: renew_before is longer than the lifetime of the certificate for {}: it will be "
          "renewed at every check (daily)",
          names);
    }
    return;
  }
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
  }
  entry.backoff_ms = entry.backoff_ms == 0 ? config_.retry_min_ms
                                           : std::min(entry.backoff_ms * 2, config_.retry_max_ms);
  entry.due_ms = steadyMs() + entry.backoff_ms;
  PLOG_ERROR("acme: obtaining a certificate for {} failed: {}; retrying in {}", names, error,
             formatDelay(entry.backoff_ms));
}

PkeyPtr Manager::accountKey(std::string* error) {
  const std::string path = config_.storage + "/account.key";
  std::string pem;
  if (readWholeFile(path, &pem)) {
    PkeyPtr key = keyFromPem(pem);
    OPENSSL_cleanse(pem.data(), pem.size());
    if (!key) *error = "cannot read the account key in " + path + ": " + takeOpensslErrors();
    return key;
  }
  PkeyPtr key = generateEcKey();
  if (!key) {
    *error = "cannot make an account key: " + takeOpensslErrors();
    return nullptr;
  }
  pem = keyToPem(key.get());
  bool ok = writeFileAtomically(path, pem, 0600, error);
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!ok) return nullptr;
  PLOG_INFO("acme: new account key stored in {}", path);
  return key;
}

bool Manager::obtain(Entry& entry, std::string* error) {
  if (!makePrivateDirectory(config_.storage, error)) return false;
  PkeyPtr account = accountKey(error);
  if (!account) return false;
  Result<HttpsClient> http = HttpsClient::create(config_.ca, kHttpTimeoutMs, &cancellation_);
  if (!http) {
    *error = http.error().detail;
    return false;
  }
  // A client per attempt: a new directory, nonce and account lookup each time, so a server
  // that changed (or came back) is seen afresh.
  Client client(config_, std::move(*http), std::move(account),
                [this](int64_t ms) { return sleepFor(ms); });
  Result<Issued> issued = client.obtain(entry.managed.names);
  if (!issued) {
    *error = issued.error().detail;
    return false;
  }
  if (!storeCertificate(entry.managed, issued->key.get(), issued->chain, error)) return false;
  StoredCertificate stored = inspect(entry.managed);
  if (!stored.usable) {
    *error = "the certificate received does not load (or match its key)";
    return false;
  }
  PLOG_INFO("acme: certificate for {} obtained, valid until {}; stored in {}",
            joined(entry.managed.names), formatTime(stored.not_after), entry.managed.cert);
  return true;
}

}  // namespace portico::tls::acme
