#include "upstream/retry_policy.h"

#include <gtest/gtest.h>

namespace portico::upstream {
namespace {

AttemptError failed(AttemptFailure failure, bool sent = false, bool reused = false) {
  AttemptError e;
  e.failure = failure;
  e.request_sent = sent;
  e.reused_connection = reused;
  return e;
}

RetryFacts facts(bool idempotent = true, uint32_t attempts = 1) {
  RetryFacts f;
  f.idempotent = idempotent;
  f.attempts = attempts;
  return f;
}

const RetryPolicy kPolicy{2};

TEST(RetryPolicyTest, NothingSentIsRetriedOnAnotherHost) {
  EXPECT_EQ(decideRetry(kPolicy, failed(AttemptFailure::ConnectFailed), facts(false)),
            RetryVerdict::Retry);
  EXPECT_EQ(decideRetry(kPolicy, failed(AttemptFailure::ConnectTimeout), facts(false)),
            RetryVerdict::Retry);
  EXPECT_EQ(decideRetry(kPolicy, failed(AttemptFailure::Reset, false), facts(false)),
            RetryVerdict::Retry);
}

TEST(RetryPolicyTest, NotProcessedIsRetriedWhateverTheMethod) {
  EXPECT_EQ(decideRetry(kPolicy, failed(AttemptFailure::NotProcessed, true), facts(false)),
            RetryVerdict::RetryAnyHost);
}

TEST(RetryPolicyTest, StaleKeepAliveOnlyForIdempotentRequests) {
  const AttemptError stale = failed(AttemptFailure::ConnectionClosed, true, true);
  EXPECT_EQ(decideRetry(kPolicy, stale, facts(true)), RetryVerdict::RetryAnyHost);
  EXPECT_EQ(decideRetry(kPolicy, stale, facts(false)), RetryVerdict::Unsafe);
  // A fresh connection that closed after the request went out: the backend may have acted.
  EXPECT_EQ(decideRetry(kPolicy, failed(AttemptFailure::ConnectionClosed, true, false), facts()),
            RetryVerdict::Unsafe);
}

TEST(RetryPolicyTest, NeverAfterResponseBytes) {
  AttemptError e = failed(AttemptFailure::NotProcessed);
  e.response_received = true;
  EXPECT_EQ(decideRetry(kPolicy, e, facts()), RetryVerdict::Unsafe);
  RetryFacts f = facts();
  f.client_got_response = true;
  EXPECT_EQ(decideRetry(kPolicy, failed(AttemptFailure::ConnectFailed), f), RetryVerdict::Unsafe);
}

TEST(RetryPolicyTest, TimeoutsAndResetsAfterSendingAreFinalByDefault) {
  EXPECT_EQ(decideRetry(kPolicy, failed(AttemptFailure::Timeout, true), facts()),
            RetryVerdict::Unsafe);
  EXPECT_EQ(decideRetry(kPolicy, failed(AttemptFailure::Reset, true), facts()),
            RetryVerdict::Unsafe);
}

TEST(RetryPolicyTest, AttemptsAndHeldBodyLimitRetries) {
  EXPECT_EQ(decideRetry(kPolicy, failed(AttemptFailure::ConnectFailed), facts(true, 3)),
            RetryVerdict::NoAttemptsLeft);
  EXPECT_EQ(decideRetry(kPolicy, failed(AttemptFailure::ConnectFailed), facts(true, 2)),
            RetryVerdict::Retry);
  RetryFacts f = facts();
  f.request_held = false;
  EXPECT_EQ(decideRetry(kPolicy, failed(AttemptFailure::NotProcessed, true), f),
            RetryVerdict::RequestNotHeld);
}

TEST(RetryPolicyTest, ResetAndTimeoutOnlyWhenConfiguredAndIdempotent) {
  RetryPolicy policy = kPolicy;
  policy.on |= kRetryReset | kRetryTimeout;
  EXPECT_EQ(decideRetry(policy, failed(AttemptFailure::Reset, true), facts(true)),
            RetryVerdict::Retry);
  EXPECT_EQ(decideRetry(policy, failed(AttemptFailure::Timeout, true), facts(true)),
            RetryVerdict::Retry);
  EXPECT_EQ(decideRetry(policy, failed(AttemptFailure::Reset, true), facts(false)),
            RetryVerdict::Unsafe);
  policy.non_idempotent = true;
  EXPECT_EQ(decideRetry(policy, failed(AttemptFailure::Timeout, true), facts(false)),
            RetryVerdict::Retry);
}

TEST(RetryPolicyTest, ConnectFailureRetriesCanBeTurnedOff) {
  RetryPolicy policy = kPolicy;
  policy.on = kRetryRefusedStream;
  EXPECT_EQ(decideRetry(policy, failed(AttemptFailure::ConnectFailed), facts()),
            RetryVerdict::Unsafe);
  // The stale keep-alive race stays covered: it is a connection's failure, not a policy.
  EXPECT_EQ(decideRetry(policy, failed(AttemptFailure::ConnectionClosed, true, true), facts()),
            RetryVerdict::RetryAnyHost);
}

TEST(RetryPolicyTest, ListedStatusesAreRetriedForIdempotentRequests) {
  RetryPolicy policy = kPolicy;
  policy.on |= kRetryStatus;
  policy.statuses = {503};
  EXPECT_EQ(decideRetryOnStatus(policy, 503, facts(true)), RetryVerdict::Retry);
  EXPECT_EQ(decideRetryOnStatus(policy, 502, facts(true)), RetryVerdict::Unsafe);
  EXPECT_EQ(decideRetryOnStatus(policy, 503, facts(false)), RetryVerdict::Unsafe);
  EXPECT_EQ(decideRetryOnStatus(kPolicy, 503, facts(true)), RetryVerdict::Unsafe);  // not listed
}

TEST(RetryPolicyTest, BudgetBoundsOnlyRetriesOfWorkABackendDid) {
  RetryPolicy policy = kPolicy;
  policy.on |= kRetryReset | kRetryStatus;
  policy.statuses = {503};
  RetryFacts f = facts();
  f.retry_allowed_now = false;
  EXPECT_EQ(decideRetry(policy, failed(AttemptFailure::Reset, true), f), RetryVerdict::OverBudget);
  EXPECT_EQ(decideRetryOnStatus(policy, 503, f), RetryVerdict::OverBudget);
  // Nothing reached a backend, or it refused the request unprocessed: nothing is done twice.
  EXPECT_EQ(decideRetry(policy, failed(AttemptFailure::ConnectFailed), f), RetryVerdict::Retry);
  EXPECT_EQ(decideRetry(policy, failed(AttemptFailure::NotProcessed, true), f),
            RetryVerdict::RetryAnyHost);
}

TEST(RetryPolicyTest, BackoffGrowsWithJitterUpToTheMaximum) {
  RetryPolicy policy;
  policy.backoff_base_ms = 25;
  policy.backoff_max_ms = 250;
  EXPECT_EQ(backoffMs(policy, 1, 0.999), 24);
  EXPECT_EQ(backoffMs(policy, 2, 0.999), 49);
  EXPECT_EQ(backoffMs(policy, 3, 0.5), 50);
  EXPECT_EQ(backoffMs(policy, 10, 0.999), 249);  // capped
  EXPECT_EQ(backoffMs(policy, 10, 0.0), 0);      // full jitter: anywhere below the ceiling
  policy.backoff_base_ms = 0;
  EXPECT_EQ(backoffMs(policy, 3, 0.9), 0);
}

TEST(RetryPolicyTest, StatusesForTheClient) {
  EXPECT_EQ(failed(AttemptFailure::Timeout).status(), 504);
  EXPECT_EQ(failed(AttemptFailure::ConnectTimeout).status(), 504);
  EXPECT_EQ(failed(AttemptFailure::ConnectFailed).status(), 502);
  EXPECT_EQ(failed(AttemptFailure::Reset).status(), 502);
}

}  // namespace
}  // namespace portico::upstream
