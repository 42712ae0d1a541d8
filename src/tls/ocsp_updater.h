#pragma once
// Fetches and refreshes the OCSP responses that listeners staple.
//
// Why the main thread: it owns control-plane work (DESIGN.md section 1) and already runs an
// event loop, so the fetch is a non-blocking socket on that loop (name resolution included,
// see OcspFetch): no thread is added, no lock is shared with the workers beyond one atomic
// pointer per certificate, and a worker never blocks or fetches.
//
// It serves every certificate in OcspRegistry: those built at load time and those a
// certificate reload builds later. Certificates with the same leaf and responder (one site on
// several listeners, or a reloaded context next to the one it replaced) share one fetch.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "event/event_loop.h"
#include "tls/ocsp.h"
#include "tls/ocsp_fetch.h"

namespace portico::tls {

class OcspUpdater {
 public:
  static constexpr int64_t kFetchTimeoutMs = 10000;

  // Starts fetching at once for every certificate registered so far, and for later ones as
  // they are registered.
  explicit OcspUpdater(event::EventLoop& loop);
  ~OcspUpdater();
  OcspUpdater(const OcspUpdater&) = delete;
  OcspUpdater& operator=(const OcspUpdater&) = delete;

 private:
  struct Job;
  // Matches jobs to the registry: one per key with a live certificate.
  void sync();
  void fetch(Job& job);
  void onFetched(Job& job, Result<std::string> der);

  event::EventLoop& loop_;
  std::map<std::string, std::unique_ptr<Job>> jobs_;  // by OcspCertificate::key
  // Shared with the registry's notifier, which may run after this is gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace portico::tls
