#pragma once
// Whether a failed attempt may be tried again, as data: the router describes how the attempt
// failed (AttemptError, or a response status) and what it still holds of the request
// (RetryFacts), and decideRetry() / decideRetryOnStatus() answer.
//
// Always retried (nothing the client could see twice can have happened):
//  - nothing of the request reached the backend (connect failed or timed out, or the
//    connection broke before any byte was written)             -> `connect-failure`, default on
//  - the backend said it did not process it (HTTP/2 REFUSED_STREAM, or a stream above a
//    GOAWAY's last stream id), whatever the method             -> `refused-stream`, default on
//  - an idempotent request met a reused keep-alive connection that the backend had closed
//    before any response byte (the stale keep-alive race)      -> always
// Retried only when configured (`retry.on`), and only for idempotent methods unless
// `retry.non_idempotent` (the backend may have acted on the request):
//  - `reset`: the connection or stream broke after the request went out, before any response
//    byte; `timeout`: no response headers within the per-try or response header timeout;
//  - a listed response status (`502`, `503`, `504`, or `retriable_statuses`), whose response
//    is discarded unseen.
// Never once a response byte reached the client, never past max_retries, never when the
// request's body is no longer held whole (kReplayLimit in proxy/router.h), and, for a retry
// of an attempt that reached a backend, never when the retry budget or the cluster's
// concurrent-retry limit is spent.

#include <cstdint>
#include <vector>

namespace portico::upstream {

enum class AttemptFailure {
  ConnectFailed,     // refused, unreachable, TLS handshake failed
  ConnectTimeout,    // no connection within timeouts.connect
  NotProcessed,      // the backend said it did not act on the request
  ConnectionClosed,  // the connection ended under the exchange
  Reset,             // stream reset, or a response that could not be read
  Timeout,           // per-try, response header or idle timeout once the request was under way
};

struct AttemptError {
  AttemptFailure failure = AttemptFailure::Reset;
  bool request_sent = false;       // some byte of the request may have reached the backend
  bool response_received = false;  // some byte of a response came back
  bool reused_connection = false;  // the connection had carried earlier requests
  // The status the client gets if the request is not retried: 504 for timeouts, else 502.
  uint16_t status() const;
  // The connection failed, not the host: retry on any host, the same one included, at once.
  bool hostBlameless() const;
};

// Conditions of `retry.on`, as bits.
enum RetryOn : uint32_t {
  kRetryConnectFailure = 1u << 0,
  kRetryRefusedStream = 1u << 1,
  kRetryReset = 1u << 2,
  kRetryTimeout = 1u << 3,
  kRetryStatus = 1u << 4,  // any of `statuses`
};

struct RetryPolicy {
  uint32_t max_retries = 2;  // attempts after the first
  uint32_t on = kRetryConnectFailure | kRetryRefusedStream;
  std::vector<uint16_t> statuses;  // with kRetryStatus
  bool non_idempotent = false;     // reset/timeout/status retries for any method
  int64_t per_try_timeout_ms = 0;  // 0: none (the response header timeout still applies)
  int64_t backoff_base_ms = 25;    // before a retry on another host: random in [0, base*2^n]
  int64_t backoff_max_ms = 250;
  // Retry budget: retries in flight across the cluster at most this percentage of its
  // requests in flight, but always at least min_concurrency. It bounds only retries of
  // attempts that reached a backend (reset after sending, timeout, a retried status): those
  // are the ones that multiply a struggling backend's work.
  uint32_t budget_percent = 20;
  uint32_t budget_min_concurrency = 10;
};

struct RetryFacts {
  uint32_t attempts = 0;     // made so far, the failed one included
  bool idempotent = false;   // the request's method
  bool request_held = true;  // what the failed attempt sent can be sent again
  bool client_got_response = false;
  bool retry_allowed_now = true;  // budget and circuit breaker have room for one more retry
};

enum class RetryVerdict {
  Retry,         // on another host when there is one, after a backoff
  RetryAnyHost,  // the host is fine (hostBlameless): any host may take it, at once
  Unsafe,        // the attempt may have had an effect and no rule allows it, or the client
                 // already has response bytes
  NoAttemptsLeft,
  OverBudget,      // the retry budget or the concurrent-retry limit is spent
  RequestNotHeld,  // safe to retry, but the body is no longer held whole
};

RetryVerdict decideRetry(const RetryPolicy& policy, const AttemptError& error,
                         const RetryFacts& facts);
// A complete response head arrived with `status` (nothing of it reached the client yet).
// Returns Unsafe when the status is not one to retry on.
RetryVerdict decideRetryOnStatus(const RetryPolicy& policy, uint16_t status,
                                 const RetryFacts& facts);
// The wait before retry number `retry` (1 = the first retry) with `random` in [0, 1).
int64_t backoffMs(const RetryPolicy& policy, uint32_t retry, double random);

}  // namespace portico::upstream
