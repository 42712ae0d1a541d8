#include "upstream/retry_policy.h"

#include <algorithm>

namespace portico::upstream {

uint16_t AttemptError::status() const {
  return failure == AttemptFailure::Timeout || failure == AttemptFailure::ConnectTimeout ? 504
                                                                                         : 502;
}

bool AttemptError::hostBlameless() const {
  return failure == AttemptFailure::NotProcessed || reused_connection;
}

namespace {

bool methodAllowed(const RetryPolicy& policy, const RetryFacts& facts) {
  return facts.idempotent || policy.non_idempotent;
}

// Whether a rule of the policy allows sending this request again after `error`.
bool allowedAfter(const RetryPolicy& policy, const AttemptError& error, const RetryFacts& facts) {
  if (error.response_received) return false;
  switch (error.failure) {
    case AttemptFailure::ConnectFailed:
    case AttemptFailure::ConnectTimeout:
      return (policy.on & kRetryConnectFailure) != 0;
    case AttemptFailure::NotProcessed:
      return (policy.on & kRetryRefusedStream) != 0;
    case AttemptFailure::ConnectionClosed:
    case AttemptFailure::Reset:
      if (!error.request_sent) return (policy.on & kRetryConnectFailure) != 0;
      // The stale keep-alive race: the backend closed an idle connection as we reused it.
      if (error.failure == AttemptFailure::ConnectionClosed && error.reused_connection &&
          facts.idempotent) {
        return true;
      }
      return (policy.on & kRetryReset) != 0 && methodAllowed(policy, facts);
    case AttemptFailure::Timeout:
      return (policy.on & kRetryTimeout) != 0 && methodAllowed(policy, facts);
  }
  return false;
}

// `budgeted`: the failed attempt reached a backend, so sending the request again is work a
// backend did once already: the retry budget bounds that. A request that reached no backend
// (connect failed) or that the backend refused unprocessed costs nothing twice.
RetryVerdict limits(const RetryPolicy& policy, const RetryFacts& facts, bool host_blameless,
                    bool budgeted) {
  if (facts.attempts > policy.max_retries) return RetryVerdict::NoAttemptsLeft;
  if (!facts.request_held) return RetryVerdict::RequestNotHeld;
  if (host_blameless) return RetryVerdict::RetryAnyHost;
  if (budgeted && !facts.retry_allowed_now) return RetryVerdict::OverBudget;
  return RetryVerdict::Retry;
}

}  // namespace

RetryVerdict decideRetry(const RetryPolicy& policy, const AttemptError& error,
                         const RetryFacts& facts) {
  if (facts.client_got_response || !allowedAfter(policy, error, facts)) {
    return RetryVerdict::Unsafe;
  }
  const bool budgeted = error.request_sent && error.failure != AttemptFailure::NotProcessed;
  return limits(policy, facts, error.hostBlameless(), budgeted);
}

RetryVerdict decideRetryOnStatus(const RetryPolicy& policy, uint16_t status,
                                 const RetryFacts& facts) {
  const bool listed =
      (policy.on & kRetryStatus) != 0 &&
      std::find(policy.statuses.begin(), policy.statuses.end(), status) != policy.statuses.end();
  if (!listed || facts.client_got_response || !methodAllowed(policy, facts)) {
    return RetryVerdict::Unsafe;
  }
  return limits(policy, facts, false, true);
}

int64_t backoffMs(const RetryPolicy& policy, uint32_t retry, double random) {
  if (policy.backoff_base_ms <= 0) return 0;
  int64_t ceiling = policy.backoff_base_ms;
  for (uint32_t i = 1; i < retry && ceiling < policy.backoff_max_ms; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, policy.backoff_max_ms);
  // Full jitter: retries of many requests that failed together do not return together.
  return static_cast<int64_t>(random * static_cast<double>(ceiling));
}

}  // namespace portico::upstream
