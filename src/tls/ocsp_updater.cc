#include "tls/ocsp_updater.h"

#include <openssl/ocsp.h>

#include <algorithm>

#include "core/log.h"

namespace portico::tls {
namespace {

X509Ptr share(X509* x) {
  if (x != nullptr) X509_up_ref(x);
  return X509Ptr(x);
}

}  // namespace

// One responder fetch for a leaf, published to every live certificate entry with its key.
struct OcspUpdater::Job {
  Job(OcspUpdater* updater, const OcspCertificate& model, HttpUrl u)
      : name(model.name),
        cert_file(model.cert_file),
        responder(model.responder),
        url(std::move(u)),
        leaf(share(model.leaf.get())),
        issuer(share(model.issuer.get())),
        timer(updater->loop_, [this, updater] { updater->fetch(*this); }) {
    for (const X509Ptr& c : model.chain) chain.push_back(share(c.get()));
  }
  std::string name;
  std::string cert_file;
  std::string responder;
  HttpUrl url;
  X509Ptr leaf;
  X509Ptr issuer;
  std::vector<X509Ptr> chain;
  std::vector<std::weak_ptr<OcspCertificate>> targets;
  std::shared_ptr<const OcspStaple> last;  // the last verified response
  event::Timer timer;
  std::unique_ptr<OcspFetch> running;
  int failures = 0;
};

OcspUpdater::OcspUpdater(event::EventLoop& loop) : loop_(loop) {
  // A registration may come from any thread that builds a context; the sync runs on the loop.
  OcspRegistry::shared().setNotifier([&loop, alive = std::weak_ptr<bool>(alive_), this] {
    loop.post([alive, this] {
      if (!alive.expired()) sync();
    });
  });
  sync();
}

OcspUpdater::~OcspUpdater() {
  OcspRegistry::shared().setNotifier(nullptr);
  alive_.reset();
}

void OcspUpdater::sync() {
  std::map<std::string, std::vector<std::shared_ptr<OcspCertificate>>> by_key;
  for (const std::shared_ptr<OcspCertificate>& cert : OcspRegistry::shared().live()) {
    if (!cert->announced) {
      cert->announced = true;
      if (!cert->problem.empty()) {
        PLOG_WARN("ocsp: not stapling for {} ({}): {}", cert->name, cert->cert_file, cert->problem);
      } else if (cert->responder.empty()) {
        if (std::shared_ptr<const OcspStaple> staple = cert->current()) {
          PLOG_INFO("ocsp: stapling the response from a file for {} ({} bytes, not refreshed)",
                    cert->name, staple->der.size());
        }
      }
    }
    if (!cert->key.empty() && !cert->responder.empty()) by_key[cert->key].push_back(cert);
  }
  std::erase_if(jobs_, [&](const auto& entry) { return !by_key.contains(entry.first); });
  for (auto& [key, certs] : by_key) {
    std::unique_ptr<Job>& job = jobs_[key];
    if (!job) {
      Result<HttpUrl> url = parseHttpUrl(certs.front()->responder);
      if (!url) continue;  // OcspStapling::add has set `problem`
      job = std::make_unique<Job>(this, *certs.front(), std::move(*url));
      job->timer.armAfterMs(0);
    }
    job->targets.clear();
    for (const auto& c : certs) job->targets.push_back(c);
  }
  std::erase_if(jobs_, [](const auto& entry) { return !entry.second; });
}

void OcspUpdater::fetch(Job& job) {
  bool wanted = false;
  for (const auto& weak : job.targets) wanted = wanted || !weak.expired();
  if (!wanted) {
    // Its contexts are gone (reloaded, and their last connections closed): after this
    // callback, the sync drops the job.
    loop_.defer([this] { sync(); });
    return;
  }
  Result<std::string> request = buildOcspRequest(job.leaf.get(), job.issuer.get());
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
  Result<OcspVerdict> verdict =
      der ? verifyOcspResponse(*der, job.leaf.get(), job.issuer.get(), job.chain)
          : Result<OcspVerdict>(der.error());
  if (!verdict) {
    ++job.failures;
    int64_t retry = OcspSchedule::afterFailure(job.failures);
    bool keeping = job.last && job.last->expires > now;
    PLOG_WARN("ocsp: fetching the response for {} from {} failed: {}; {}; retrying in {} s",
              job.name, job.responder, verdict.error().detail,
              keeping ? "still stapling the last one (until " + formatUtc(job.last->expires) + ")"
                      : std::string("nothing stapled"),
              retry);
    job.timer.armAfterMs(retry * 1000);
    return;
  }
  job.failures = 0;
  // A revoked status is stapled too: it is signed and current, so it is the truth, and a
  // client that is told is better off than one left to ask (a soft-failing client would
  // accept the certificate if we stapled nothing, and keeping an older "good" would be a lie).
  // The operator gets an error line on every refresh until the certificate is replaced.
  job.last = std::make_shared<const OcspStaple>(
      OcspStaple{std::move(*der), OcspSchedule::expiry(now, verdict->next_update)});
  for (const auto& weak : job.targets) {
    if (std::shared_ptr<OcspCertificate> cert = weak.lock()) cert->publish(job.last);
  }
  int64_t refresh = OcspSchedule::afterSuccess(now, verdict->next_update);
  std::string next = verdict->next_update != 0 ? formatUtc(verdict->next_update) : "none given";
  if (verdict->status == V_OCSP_CERTSTATUS_REVOKED) {
    PLOG_ERROR(
        "ocsp: the responder says the certificate for {} ({}) is REVOKED (reason: {}); "
        "stapling that response; next update {}, refresh in {} s",
        job.name, job.cert_file,
        verdict->reason >= 0 ? OCSP_crl_reason_str(verdict->reason) : "none given", next, refresh);
  } else {
    PLOG_INFO("ocsp: stapled response for {}: status good, next update {}, refresh in {} s",
              job.name, next, refresh);
  }
  job.timer.armAfterMs(refresh * 1000);
}

}  // namespace portico::tls
