#include "upstream/retry_policy.h"

namespace portico::upstream {

uint16_t AttemptError::status() const {
  return failure == AttemptFailure::Timeout || failure == AttemptFailure::ConnectTimeout ? 504
                                                                                         : 502;
}

bool AttemptError::hostBlameless() const {
  return failure == AttemptFailure::NotProcessed || reused_connection;
}

namespace {

bool cannotHaveHadAnEffect(const AttemptError& error, const RetryFacts& facts) {
  if (error.response_received) return false;
  switch (error.failure) {
    case AttemptFailure::ConnectFailed:
    case AttemptFailure::ConnectTimeout:
    case AttemptFailure::NotProcessed:
      return true;
    case AttemptFailure::ConnectionClosed:
      return !error.request_sent || (error.reused_connection && facts.idempotent);
    case AttemptFailure::Reset:
      return !error.request_sent;
    case AttemptFailure::Timeout:
      return false;
  }
  return false;
}

}  // namespace

RetryVerdict decideRetry(const RetryPolicy& policy, const AttemptError& error,
                         const RetryFacts& facts) {
  if (facts.client_got_response || !cannotHaveHadAnEffect(error, facts)) {
    return RetryVerdict::Unsafe;
  }
  if (facts.attempts > policy.max_retries) return RetryVerdict::NoAttemptsLeft;
  if (!facts.request_held) return RetryVerdict::RequestNotHeld;
  return error.hostBlameless() ? RetryVerdict::RetryAnyHost : RetryVerdict::Retry;
}

}  // namespace portico::upstream
