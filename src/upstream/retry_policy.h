#pragma once
// Whether a failed attempt may be tried again, as data: the router describes how the attempt
// failed (AttemptError) and what it still holds of the request (RetryFacts), and
// decideRetry() answers. A retry is only ever allowed when the failed attempt cannot have had
// an effect the client would see twice:
//  - nothing of the request reached the backend (connect failed or timed out, or the
//    connection broke before any byte was written);
//  - the backend said it did not process it (HTTP/2 REFUSED_STREAM, or a stream above a
//    GOAWAY's last stream id), whatever the method;
//  - an idempotent request met a reused keep-alive connection that the backend had closed
//    (the stale keep-alive race), before any response byte;
// and never once a response byte reached the client, nor when the request's body is no longer
// held whole (kReplayLimit in proxy/router.h).

#include <cstdint>
#include <string_view>

namespace portico::upstream {

enum class AttemptFailure {
  ConnectFailed,     // refused, unreachable, TLS handshake failed
  ConnectTimeout,    // no connection within timeouts.connect
  NotProcessed,      // the backend said it did not act on the request
  ConnectionClosed,  // the connection ended under the exchange
  Reset,             // stream reset, or a response that could not be read
  Timeout,           // response header or idle timeout once the request was under way
};

struct AttemptError {
  AttemptFailure failure = AttemptFailure::Reset;
  bool request_sent = false;       // some byte of the request may have reached the backend
  bool response_received = false;  // some byte of a response came back
  bool reused_connection = false;  // the connection had carried earlier requests
  // The status the client gets if the request is not retried: 504 for timeouts, else 502.
  uint16_t status() const;
  // The connection failed, not the host: retry on any host, the same one included.
  bool hostBlameless() const;
};

struct RetryPolicy {
  uint32_t max_retries = 2;  // attempts after the first
};

struct RetryFacts {
  uint32_t attempts = 0;     // made so far, the failed one included
  bool idempotent = false;   // the request's method
  bool request_held = true;  // what the failed attempt sent can be sent again
  bool client_got_response = false;
};

enum class RetryVerdict {
  Retry,         // on another host when there is one
  RetryAnyHost,  // the host is fine (hostBlameless): any host may take it
  Unsafe,        // the attempt may have had an effect, or the client has response bytes
  NoAttemptsLeft,
  RequestNotHeld,  // safe to retry, but the body is no longer held whole
};

RetryVerdict decideRetry(const RetryPolicy& policy, const AttemptError& error,
                         const RetryFacts& facts);

}  // namespace portico::upstream
