#pragma once
// Fetches and refreshes the OCSP responses that listeners staple. Lives on the main thread and
// runs on its event loop, which owns control-plane work (DESIGN.md section 1): the fetch is a
// non-blocking socket there, so no thread is added and a worker never blocks or fetches. Each
// verified response is published to its OcspCertificate; the workers' status callbacks read it.

#include <memory>
#include <vector>

#include "event/event_loop.h"
#include "tls/ocsp.h"
#include "tls/ocsp_fetch.h"

namespace portico::tls {

class ServerContext;

class OcspUpdater {
 public:
  static constexpr int64_t kFetchTimeoutMs = 10000;

  explicit OcspUpdater(event::EventLoop& loop);
  ~OcspUpdater();
  OcspUpdater(const OcspUpdater&) = delete;
  OcspUpdater& operator=(const OcspUpdater&) = delete;

  // Starts fetching for every certificate of `context` that staples from a responder (the first
  // fetch at once). nullptr (a plain-text listener) is ignored.
  void add(const ServerContext* context);

 private:
  struct Job;
  void fetch(Job& job);
  void onFetched(Job& job, Result<std::string> der);

  event::EventLoop& loop_;
  std::vector<std::unique_ptr<Job>> jobs_;
};

}  // namespace portico::tls
