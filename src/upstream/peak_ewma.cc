#include "upstream/peak_ewma.h"

#include <algorithm>
#include <cmath>

namespace portico::upstream {

PeakEwmaBalancer::PeakEwmaBalancer(const PeakEwmaConfig& config, uint64_t seed, Clock now_ms)
    : config_(config), random_(seed), now_ms_(std::move(now_ms)) {}

void PeakEwmaBalancer::setHosts(const HostSetPtr& hosts) {
  hosts_ = hosts;
  // Hosts keep their index for life: estimates of hosts that stay (or come back) survive.
  if (estimates_.size() < hosts->indexLimit()) estimates_.resize(hosts->indexLimit());
}

double PeakEwmaBalancer::keep(int64_t elapsed_ms) const {
  if (elapsed_ms <= 0) return 1.0;
  return std::exp(-static_cast<double>(elapsed_ms) / static_cast<double>(config_.decay_ms));
}

double PeakEwmaBalancer::estimateMs(uint32_t index, int64_t now_ms) const {
  if (index >= estimates_.size() || !estimates_[index].observed) {
    return observed_count_ == 0 ? 0.0 : observed_sum_ms_ / observed_count_;
  }
  const Estimate& e = estimates_[index];
  return e.latency_ms * keep(now_ms - e.at_ms);
}

double PeakEwmaBalancer::cost(const Host& host, int64_t now_ms) const {
  const double cost = (estimateMs(host.index(), now_ms) + 1.0) * (host.activeRequests() + 1.0);
  if (hosts_ == nullptr || !hosts_->ramping()) return cost;
  // Slow start: a host at a tenth of its ramp looks ten times as expensive.
  return cost * kWeightScale / hosts_->ramps()[host.index()];
}

Host* PeakEwmaBalancer::pick(const LoadBalancerContext& context) {
  if (hosts_ == nullptr) return nullptr;
  Host* drawn[2];
  const size_t n = sampleAllowed(hosts_->candidates(), *context.avoid, random_, 2, drawn, scratch_);
  if (n == 0) return nullptr;
  if (n == 1) return drawn[0];
  const int64_t now = now_ms_();
  return cost(*drawn[1], now) < cost(*drawn[0], now) ? drawn[1] : drawn[0];
}

void PeakEwmaBalancer::observe(uint32_t index, double latency_ms, int64_t now_ms) {
  if (index >= estimates_.size()) estimates_.resize(index + 1);
  Estimate& e = estimates_[index];
  const double before = e.observed ? e.latency_ms : 0.0;
  if (!e.observed) {
    e.latency_ms = latency_ms;
    e.observed = true;
    ++observed_count_;
  } else if (latency_ms > e.latency_ms) {
    e.latency_ms = latency_ms;  // the peak: a slower answer counts in full at once
  } else {
    const double w = keep(now_ms - e.at_ms);
    e.latency_ms = e.latency_ms * w + latency_ms * (1.0 - w);
  }
  e.at_ms = std::max(e.at_ms, now_ms);
  observed_sum_ms_ += e.latency_ms - before;
}

void PeakEwmaBalancer::onAttemptOutcome(Host& host, const AttemptOutcome& outcome) {
  const double took = static_cast<double>(std::max<int64_t>(outcome.latency_ms, 0));
  switch (outcome.kind) {
    case AttemptOutcome::Kind::Response:
      observe(host.index(), took, now_ms_());
      return;
    case AttemptOutcome::Kind::ConnectFailure:
    case AttemptOutcome::Kind::Timeout:
    case AttemptOutcome::Kind::Reset:
      observe(host.index(), std::max(took, static_cast<double>(config_.failure_penalty_ms)),
              now_ms_());
      return;
    case AttemptOutcome::Kind::Cancelled:
      return;  // the client left: says nothing about the host
  }
}

}  // namespace portico::upstream
