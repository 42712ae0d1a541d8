#pragma once
// Obtains and renews the configured ACME certificates.
//
// Threading: one dedicated thread doing blocking HTTPS with strict timeouts. It is the
// simplest robust choice: the protocol is a sequence of a dozen requests with polls in
// between, which reads top to bottom as blocking code; the thread touches nothing the workers
// or the main loop own. Its only outputs are files (written atomically, then served by the
// CertificateReloader like any replaced certificate), ChallengeStore entries (read by the
// workers) and log lines.
//
// Schedule: every certificate is checked at start, then daily, and on SIGHUP. A certificate that is
// missing, a placeholder, for other names, or expires within renew_before is obtained. A
// failure is logged with the server's problem detail and retried after retry.min, doubling
// up to retry.max; success logs the new expiry and resets the backoff.

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "tls/acme/acme_config.h"
#include "tls/acme/https_client.h"
#include "tls/handles.h"

namespace portico::tls::acme {

class Manager {
 public:
  static constexpr int64_t kCheckIntervalMs = 24LL * 3600 * 1000;
  static constexpr int64_t kHttpTimeoutMs = 15000;

  explicit Manager(AcmeConfig config);
  ~Manager();  // stops and joins
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  void start();
  void stop();
  // SIGHUP: check every certificate now (renewing those due), whatever the schedule says.
  void checkNow();

 private:
  struct Entry {
    ManagedCertificate managed;
    int64_t due_ms = 0;  // steady clock
    int64_t backoff_ms = 0;
  };
  void run();
  // One check of one certificate: obtains it if needed; returns when to check next.
  void check(Entry& entry);
  bool obtain(Entry& entry, std::string* error);
  PkeyPtr accountKey(std::string* error);
  // Waits up to ms; false when stopping.
  bool sleepFor(int64_t ms);

  AcmeConfig config_;
  std::vector<Entry> entries_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool check_now_ = false;
  Cancellation cancellation_;  // stop() aborts the request in flight
};

}  // namespace portico::tls::acme
