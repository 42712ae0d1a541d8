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

TEST(RetryPolicyTest, TimeoutsAndResetsAfterSendingAreFinal) {
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

TEST(RetryPolicyTest, StatusesForTheClient) {
  EXPECT_EQ(failed(AttemptFailure::Timeout).status(), 504);
  EXPECT_EQ(failed(AttemptFailure::ConnectTimeout).status(), 504);
  EXPECT_EQ(failed(AttemptFailure::ConnectFailed).status(), 502);
  EXPECT_EQ(failed(AttemptFailure::Reset).status(), 502);
}

}  // namespace
}  // namespace portico::upstream
