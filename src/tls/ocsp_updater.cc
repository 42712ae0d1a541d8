#include "tls/ocsp_updater.h"

#include <openssl/ocsp.h>

#include "core/log.h"
#include "tls/server_context.h"

namespace portico::tls {

struct OcspUpdater::Job {
  Job(OcspUpdater* updater, std::shared_ptr<OcspCertificate> c, HttpUrl u)
      : cert(std::move(c)),
        url(std::move(u)),
        timer(updater->loop_, [this, updater] { updater->fetch(*this); }) {}
  std::shared_ptr<OcspCertificate> cert;
  HttpUrl url;
  event::Timer timer;
  std::unique_ptr<OcspFetch> running;
  int failures = 0;
};

OcspUpdater::OcspUpdater(event::EventLoop& loop) : loop_(loop) {}

OcspUpdater::~OcspUpdater() = default;

void OcspUpdater::add(const ServerContext* context) {
  if (context == nullptr) return;
  for (const std::shared_ptr<OcspCertificate>& cert : context->ocsp().certificates()) {
    if (!cert->problem.empty()) {
      PLOG_WARN("ocsp: not stapling for {} ({}): {}", cert->name, cert->cert_file, cert->problem);
      continue;
    }
    if (cert->responder.empty()) {
      if (std::shared_ptr<const OcspStaple> staple = cert->current()) {
        PLOG_INFO("ocsp: stapling the response from a file for {} ({} bytes, not refreshed)",
                  cert->name, staple->der.size());
      }
      continue;
    }
    Result<HttpUrl> url = parseHttpUrl(cert->responder);
    if (!url) continue;  // OcspStapling::add has already set `problem`
    auto job = std::make_unique<Job>(this, cert, std::move(*url));
    job->timer.armAfterMs(0);
    jobs_.push_back(std::move(job));
  }
}

void OcspUpdater::fetch(Job& job) {
  Result<std::string> request = buildOcspRequest(job.cert->leaf.get(), job.cert->issuer.get());
  if (!request) {
    onFetched(job, request.error());
    return;
  }
  job.running = std::make_unique<OcspFetch>(
      loop_, job.url, std::move(*request), kFetchTimeoutMs,
      [this, &job](Result<std::string> der) { onFetched(job, std::move(der)); });
}

void OcspUpdater::onFetched(Job& job, Result<std::string> der) {
  // The fetch called us: it is freed after this loop turn, not under its own feet.
  if (job.running) loop_.deferredDelete(std::move(job.running));
  std::time_t now = std::time(nullptr);
  const OcspCertificate& cert = *job.cert;
  Result<OcspVerdict> verdict =
      der ? verifyOcspResponse(*der, cert.leaf.get(), cert.issuer.get(), cert.chain)
          : Result<OcspVerdict>(der.error());
  if (!verdict) {
    ++job.failures;
    int64_t retry = OcspSchedule::afterFailure(job.failures);
    std::shared_ptr<const OcspStaple> last = cert.current();
    bool keeping = last && last->expires > now;
    PLOG_WARN("ocsp: fetching the response for {} from {} failed: {}; {}; retrying in {} s",
              cert.name, cert.responder, verdict.error().detail,
              keeping ? "still stapling the last one (until " + formatUtc(last->expires) + ")"
                      : std::string("nothing stapled"),
              retry);
    job.timer.armAfterMs(retry * 1000);
    return;
  }
  job.failures = 0;
  // A revoked status is stapled too: it is signed and current, so it is the truth, and a client
  // that is told is better off than one that has to ask (a soft-failing client would accept
  // the certificate if we stapled nothing; keeping an older "good" would be a lie). The
  // operator gets an error line on every refresh until the certificate is replaced.
  job.cert->publish(std::make_shared<const OcspStaple>(
      OcspStaple{std::move(*der), OcspSchedule::expiry(now, verdict->next_update)}));
  int64_t refresh = OcspSchedule::afterSuccess(now, verdict->next_update);
  std::string next = verdict->next_update != 0 ? formatUtc(verdict->next_update) : "none given";
  if (verdict->status == V_OCSP_CERTSTATUS_REVOKED) {
    PLOG_ERROR(
        "ocsp: the responder says the certificate for {} ({}) is REVOKED (reason: {}); stapling "
        "that response; next update {}, refresh in {} s",
        cert.name, cert.cert_file,
        verdict->reason >= 0 ? OCSP_crl_reason_str(verdict->reason) : "none given", next, refresh);
  } else {
    PLOG_INFO("ocsp: stapled response for {}: status good, next update {}, refresh in {} s",
              cert.name, next, refresh);
  }
  job.timer.armAfterMs(refresh * 1000);
}

}  // namespace portico::tls
