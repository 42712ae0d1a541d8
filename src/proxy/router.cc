#include "proxy/router.h"

#include <ctime>
#include <random>

#include "core/log.h"
#include "proxy/forwarding.h"
#include "proxy/hash_key.h"
#include "proxy/route_table.h"
#include "upstream/sticky.h"

namespace portico::proxy {

namespace {

using Load = upstream::ClusterLoad::Kind;

// Backoff jitter; per thread, so workers draw independently and take no lock.
double jitter() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

}  // namespace

RouterFilter::RouterFilter(WorkerServices& worker, const ListenerConfig& listener,
                           const RouteEntry& route)
    : worker_(worker),
      listener_(listener),
      route_(route),
      timer_(worker.loop(), [this] { onTimeout(); }),
      per_try_timer_(worker.loop(), [this] { onPerTryTimeout(); }),
      backoff_timer_(worker.loop(), [this] { startAttempt(); }) {}

RouterFilter::~RouterFilter() {
  onDestroy();
}

filters::FilterStatus RouterFilter::onRequestHeaders(http::RequestHead& head, bool end_stream) {
  request_ = &head;
  request_end_ = end_stream;
  cluster_ = worker_.clusters().get(route_.cluster_index);
  if (cluster_ == nullptr) {
    fail(503, "no such cluster");
    return filters::FilterStatus::Respond;
  }
  const RouteConfig& rc = *route_.config;
  // Once per request, before rewrite_prefix (a path key is the path as routed), and the same
  // for every attempt: a retry walks on from where the key landed.
  if (!rc.proxy.hash_policy.empty()) {
    hash_key_ = computeHashKey(rc.proxy.hash_policy, head, callbacks_->clientAddress());
  }
  if (const auto& sticky = cluster_->config().sticky) {
    head.headers.forEach([&](std::string_view name, std::string_view value) {
      if (sticky_id_ || !http::equalsIgnoreCase(name, "cookie")) return;
      if (auto cookie = findCookie(value, sticky->cookie)) {
        sticky_id_ = upstream::readStickyValue(*sticky, *cookie, time(nullptr));
      }
    });
  }
  if (rc.rewrite_prefix && rc.match.kind == PathMatchKind::Prefix) {
    head.path = *rc.rewrite_prefix + head.path.substr(rc.match.path.size());
    if (head.path.empty() || head.path[0] != '/') head.path.insert(0, 1, '/');
  }
  if (!cluster_->load().tryAcquire(Load::Requests,
                                   cluster_->config().circuit_breakers.max_requests)) {
    overflow(Load::Requests, cluster_->config().circuit_breakers.max_requests);
    return filters::FilterStatus::Respond;
  }
  holds_request_slot_ = true;
  tried_.reset(cluster_->hosts().indexLimit());
  ++worker_.counters().upstream_requests;
  startAttempt();
  return phase_ == Phase::Done && callbacks_->responseStarted() ? filters::FilterStatus::Respond
                                                                : filters::FilterStatus::Continue;
}

void RouterFilter::overflow(upstream::ClusterLoad::Kind kind, uint32_t limit) {
  ++worker_.counters().upstream_overflows;
  cluster_->countRefusal(kind == Load::Pending ? stats::Refusal::MaxPendingRequests
                                               : stats::Refusal::MaxRequests);
  PLOG_WARN("cluster {}: {} ({}) reached; request {} gets 503", cluster_->config().name,
            upstream::limitName(kind), limit, callbacks_->info().request_id);
  fail(503, upstream::limitName(kind));
}

void RouterFilter::startAttempt() {
  const upstream::HostChoice choice = cluster_->chooseHost(hash_key_, tried_, sticky_id_);
  if (choice.host == nullptr) {
    if (choice.refusal == upstream::HostChoice::Refusal::AtCapacity) {
      if (waitForCapacity()) return;
      if (phase_ == Phase::Done) return;  // the pending-requests breaker answered
      ++worker_.counters().upstream_overflows;
      cluster_->countRefusal(stats::Refusal::AtConnectionLimit);
      PLOG_WARN(
          "cluster {}: every endpoint is at its connection limit (max_connections_per_endpoint "
          "{}, circuit_breakers.max_connections {}); request {} gets 503",
          cluster_->config().name, cluster_->config().max_connections_per_endpoint,
          cluster_->config().circuit_breakers.max_connections, callbacks_->info().request_id);
      fail(503, "every endpoint is at its connection limit");
    } else if (cluster_->hosts().all().empty()) {
      // Only DNS endpoints, none resolved yet (upstream/dns_discovery.h).
      cluster_->countRefusal(stats::Refusal::NoHealthyHost);
      PLOG_WARN("cluster {}: no endpoints (its DNS names have not resolved); request {} gets 503",
                cluster_->config().name, callbacks_->info().request_id);
      fail(503, "no endpoints");
    } else {
      leaveQueue();
      cluster_->countRefusal(stats::Refusal::NoHealthyHost);
      PLOG_WARN("cluster {}: no healthy endpoint; request {} gets 503", cluster_->config().name,
                callbacks_->info().request_id);
      fail(503, "no healthy endpoint");
    }
    return;
  }
  leaveQueue();
  host_ = choice.host;
  outcome_reported_ = false;
  cluster_->attemptStarted(*host_);
  tried_.add(*host_);
  ++attempts_;
  callbacks_->info().upstream_attempts = attempts_;
  attempt_start_ms_ = worker_.loop().now();
  pool_ = &cluster_->pool(*host_);
  callbacks_->info().upstream_address = pool_->endpoint().address_text;
  phase_ = Phase::Connecting;
  // A cluster whose TLS names follow the request's host gets connections made for that name.
  const auto& tls = cluster_->config().tls;
  const std::string server_name =
      tls && tls->sni_from_host ? http::hostWithoutPort(request_->authority) : std::string();
  // The pool may call back before returning; a failure then may already have started the
  // next attempt, whose own wait must not be overwritten by this one's result.
  const uint32_t attempt = attempts_;
  const int64_t per_try = cluster_->config().retry.per_try_timeout_ms;
  if (per_try > 0) per_try_timer_.armAfterMs(per_try);
  const bool waiting = pool_->newStream(*this, server_name);
  if (attempts_ != attempt || !waiting) return;
  const uint32_t max_pending = cluster_->config().circuit_breakers.max_pending_requests;
  if (!cluster_->load().tryAcquire(Load::Pending, max_pending)) {
    pool_->cancel(*this);
    per_try_timer_.disarm();
    finishAttempt();
    overflow(Load::Pending, max_pending);
    return;
  }
  pending_ = true;
}

bool RouterFilter::waitForCapacity() {
  const upstream::ClusterConfig& config = cluster_->config();
  if (holds_queue_slot_) {
    // Its turn came but the room went to someone else: it keeps its place and its deadline.
    cluster_->requeueAtFront(*this);
    phase_ = Phase::Queued;
    return true;
  }
  if (config.queue_timeout_ms == 0) return false;
  const uint32_t max_pending = config.circuit_breakers.max_pending_requests;
  if (!cluster_->load().tryAcquire(Load::Pending, max_pending)) {
    overflow(Load::Pending, max_pending);
    return false;
  }
  holds_queue_slot_ = true;
  ++worker_.counters().upstream_queued;
  cluster_->countQueued();
  PLOG_DEBUG("cluster {}: every endpoint is at its connection limit; request {} queued ({} ahead)",
             config.name, callbacks_->info().request_id, cluster_->queued());
  cluster_->enqueue(*this);
  phase_ = Phase::Queued;
  timer_.armAfterMs(config.queue_timeout_ms);
  return true;
}

void RouterFilter::leaveQueue() {
  if (!holds_queue_slot_) return;
  holds_queue_slot_ = false;
  cluster_->leaveQueue(*this);
  cluster_->load().release(Load::Pending);
  if (phase_ == Phase::Queued) phase_ = Phase::Idle;
  timer_.disarm();  // the queue deadline; the attempt arms its own timers
}

void RouterFilter::onQueueTurn() {
  startAttempt();
}

void RouterFilter::onQueueTimeout() {
  ++worker_.counters().upstream_queue_timeouts;
  cluster_->countRefusal(stats::Refusal::QueueTimeout);
  PLOG_WARN(
      "cluster {}: queue timeout ({} ms) waiting for a connection (max_connections_per_endpoint "
      "{}); request {} gets 503",
      cluster_->config().name, cluster_->config().queue_timeout_ms,
      cluster_->config().max_connections_per_endpoint, callbacks_->info().request_id);
  leaveQueue();
  fail(503, "queue timeout");
}

void RouterFilter::stopWaitingForPool() {
  if (!pending_) return;
  pending_ = false;
  cluster_->load().release(Load::Pending);
}

bool RouterFilter::needsTunnel() const {
  return request_->method == http::Method::Connect || request_->headers.has("Upgrade");
}

void RouterFilter::onPoolReady(upstream::UpstreamStream& stream, bool reused) {
  stopWaitingForPool();
  upstream_ = &stream;
  reused_ = reused;
  if (needsTunnel() && !stream.codec().canTunnel()) {
    // RFC 8441's extended CONNECT is not offered to backends: a WebSocket or CONNECT tunnel
    // must be routed to a cluster that speaks HTTP/1.1.
    PLOG_WARN(
        "cluster {}: request {} needs a tunnel (Upgrade or CONNECT), which {} backends "
        "cannot carry; route it to a cluster with protocol: http1",
        cluster_->config().name, callbacks_->info().request_id, stream.protocol());
    upstream_ = nullptr;
    pool_->release(&stream);
    fail(502, "tunnel requested on an HTTP/2 cluster");
    return;
  }
  stream.codec().setResponseDecoder(this);
  stream.codec().setWatermarkCallbacks(this);
  http::ClientStream& codec = stream.codec();
  // Each encode may fail the stream at once, and the failure may start another attempt.
  const uint32_t attempt = attempts_;
  auto gone = [&] { return upstream_ == nullptr || attempts_ != attempt; };
  filters::StreamInfo& info = callbacks_->info();
  info.upstream_start_ms = worker_.loop().now();
  bool end_with_head = request_end_ && pending_body_.empty() && !has_pending_trailers_;
  // HTTP/1.1 requires Host (RFC 9112 3.2) and an HTTP/1.0 client may have sent none: name the
  // endpoint the request is addressed to (by its DNS name when it was discovered).
  if (!request_->headers.has("Host")) {
    request_->headers.add("Host", pool_->endpoint().authority());
  }
  phase_ = Phase::Sending;
  codec.encodeHeaders(*request_, end_with_head);
  if (gone()) return;
  if (!pending_body_.empty() || (request_end_ && !end_with_head && !has_pending_trailers_)) {
    replayable_ = replayable_ && pending_body_.empty();
    keepForReplay(pending_body_);
    codec.encodeData(pending_body_, request_end_ && !has_pending_trailers_);
    if (gone()) return;
  }
  if (has_pending_trailers_) {
    replayable_ = false;
    replay_trailers_.assign(pending_trailers_);
    replay_has_trailers_ = true;
    codec.encodeTrailers(pending_trailers_);
    has_pending_trailers_ = false;
    if (gone()) return;
  }
  if (request_end_) phase_ = Phase::AwaitingHeaders;
  // Resume the client unless the body held during the connect already filled the new
  // connection past its watermark (its callback ran above, and must not be undone here).
  callbacks_->pauseRequestBody(upstream_write_blocked_);
  // The client may already be slow: apply its backpressure to the new connection too.
  if (callbacks_->downstreamBlocked()) stream.pauseResponse(true);
  armTimerForPhase();
}

void RouterFilter::onPoolFailure(upstream::PoolFailure reason, std::string_view why) {
  stopWaitingForPool();
  ++worker_.counters().upstream_failures;
  PLOG_WARN("upstream {}: {} (attempt {} of request {})", pool_->endpoint().address_text, why,
            attempts_, callbacks_->info().request_id);
  upstream::AttemptError error;
  error.failure = reason == upstream::PoolFailure::ConnectTimeout
                      ? upstream::AttemptFailure::ConnectTimeout
                      : upstream::AttemptFailure::ConnectFailed;
  reportOutcome(reason == upstream::PoolFailure::ConnectTimeout
                    ? upstream::AttemptOutcome::Kind::Timeout
                    : upstream::AttemptOutcome::Kind::ConnectFailure);
  finishAttempt();
  onAttemptFailed(error, why);
}

upstream::RetryFacts RouterFilter::retryFacts(bool request_held) const {
  upstream::RetryFacts facts;
  facts.attempts = attempts_;
  facts.idempotent = http::isIdempotent(request_->method);
  facts.client_got_response = callbacks_->responseStarted();
  facts.request_held = request_held;
  // The retry budget: retries in flight at most budget_percent of the cluster's requests in
  // flight (at least budget_min_concurrency), and within circuit_breakers.max_retries.
  const upstream::RetryPolicy& policy = cluster_->config().retry;
  const upstream::ClusterLoad& load = cluster_->load();
  const uint32_t retries = load.current(Load::Retries);
  const uint32_t budget = std::max<uint32_t>(
      policy.budget_min_concurrency, load.current(Load::Requests) * policy.budget_percent / 100);
  const uint32_t breaker = cluster_->config().circuit_breakers.max_retries;
  facts.retry_allowed_now = retries < budget && (breaker == 0 || retries < breaker);
  return facts;
}

void RouterFilter::onAttemptFailed(const upstream::AttemptError& error, std::string_view why) {
  const upstream::RetryPolicy& policy = cluster_->config().retry;
  // What a new attempt needs is the request as the failed one had it: still held because none
  // of its body went to a connection, or kept whole for a replay (decideRetry() says whether
  // sending it again is safe).
  const upstream::RetryVerdict verdict =
      upstream::decideRetry(policy, error, retryFacts(replayable_ || replay_whole_));
  if (!retryOrExplain(verdict, why, error.failure == upstream::AttemptFailure::NotProcessed)) {
    fail(error.status(), why);
  }
}

bool RouterFilter::retryOrExplain(upstream::RetryVerdict verdict, std::string_view why,
                                  bool not_processed) {
  const upstream::RetryPolicy& policy = cluster_->config().retry;
  const std::string& id = callbacks_->info().request_id;
  switch (verdict) {
    case upstream::RetryVerdict::RetryAnyHost:
    case upstream::RetryVerdict::Retry: {
      if (!replayable_) restoreReplay();
      ++worker_.counters().upstream_retries;
      cluster_->countRetry();
      PLOG_WARN("request {}: retrying after \"{}\" (attempt {} of at most {})", id, why,
                attempts_ + 1, policy.max_retries + 1);
      endRetry();
      cluster_->load().tryAcquire(Load::Retries, 0);
      counts_as_retry_ = true;
      if (verdict == upstream::RetryVerdict::RetryAnyHost) {
        // The host is fine: at once, and any host will do.
        tried_.clear();
        startAttempt();
        return true;
      }
      // Another host, after a jittered backoff; always from the timer, so the next attempt
      // never starts inside the failed exchange's callbacks.
      phase_ = Phase::Backoff;
      timer_.disarm();
      backoff_timer_.armAfterMs(upstream::backoffMs(policy, attempts_, jitter()));
      return true;
    }
    case upstream::RetryVerdict::RequestNotHeld:
      if (not_processed) {
        PLOG_WARN(
            "request {}: not retried: the backend did not process it, but its body went "
            "past the {} bytes kept for a replay",
            id, kReplayLimit);
      } else {
        PLOG_WARN("request {}: not retried: its body already went to the failed connection", id);
      }
      return false;
    case upstream::RetryVerdict::OverBudget:
      PLOG_WARN(
          "request {}: not retried: the retry budget of cluster {} is spent ({} retries in "
          "flight)",
          id, cluster_->config().name, cluster_->load().current(Load::Retries));
      return false;
    case upstream::RetryVerdict::Unsafe:
    case upstream::RetryVerdict::NoAttemptsLeft:
      return false;
  }
  return false;
}

void RouterFilter::endRetry() {
  if (!counts_as_retry_) return;
  counts_as_retry_ = false;
  cluster_->load().release(Load::Retries);
}

void RouterFilter::reportOutcome(upstream::AttemptOutcome::Kind kind, uint16_t status) {
  if (host_ == nullptr || outcome_reported_) return;
  outcome_reported_ = true;
  upstream::AttemptOutcome outcome;
  outcome.kind = kind;
  outcome.status = status;
  outcome.during_connect = phase_ == Phase::Connecting;
  const filters::StreamInfo& info = callbacks_->info();
  const int64_t since = kind == upstream::AttemptOutcome::Kind::Response && info.upstream_start_ms
                            ? info.upstream_start_ms
                            : attempt_start_ms_;
  outcome.latency_ms = worker_.loop().now() - since;
  cluster_->attemptOutcome(*host_, outcome);
}

void RouterFilter::finishAttempt() {
  per_try_timer_.disarm();
  endRetry();
  if (host_ == nullptr) return;
  reportOutcome(upstream::AttemptOutcome::Kind::Cancelled);
  cluster_->attemptFinished(*host_);
  host_ = nullptr;
}

void RouterFilter::fail(uint16_t status, std::string_view why) {
  phase_ = Phase::Done;
  timer_.disarm();
  filters::StreamInfo& info = callbacks_->info();
  info.failure = std::string(why);
  if (!callbacks_->responseStarted()) {
    callbacks_->sendLocalReply(status, {}, "text/plain");
  } else {
    callbacks_->resetStream(why);
  }
}

filters::FilterStatus RouterFilter::onRequestBody(buffer::Buffer& data, bool end_stream) {
  if (phase_ == Phase::Done && !tunnel_) {
    data.clear();
    return filters::FilterStatus::Continue;
  }
  if (end_stream) request_end_ = true;
  if (upstream_ != nullptr) {
    if (!data.empty()) replayable_ = false;
    keepForReplay(data);
    upstream_->codec().encodeData(data, end_stream);
    if (upstream_ == nullptr) return filters::FilterStatus::Continue;
    if (end_stream && phase_ == Phase::Sending) {
      phase_ = Phase::AwaitingHeaders;
      armTimerForPhase();
    } else if (tunnel_ || phase_ == Phase::Sending) {
      armTimerForPhase();
    }
    return filters::FilterStatus::Continue;
  }
  // Still connecting: hold the body (bounded) so a failed connect can be retried with it.
  pending_body_.moveFrom(data);
  if (pending_body_.length() > listener_.limits.buffer) callbacks_->pauseRequestBody(true);
  return filters::FilterStatus::Continue;
}

filters::FilterStatus RouterFilter::onRequestTrailers(http::HeaderMap& trailers) {
  request_end_ = true;
  if (upstream_ != nullptr) {
    replayable_ = false;
    replay_trailers_.assign(trailers);
    replay_has_trailers_ = true;
    upstream_->codec().encodeTrailers(trailers);
    if (upstream_ == nullptr) return filters::FilterStatus::Continue;
    if (phase_ == Phase::Sending) {
      phase_ = Phase::AwaitingHeaders;
      armTimerForPhase();
    }
  } else {
    pending_trailers_.assign(trailers);
    has_pending_trailers_ = true;
  }
  return filters::FilterStatus::Continue;
}

void RouterFilter::decodeInterim(http::ResponseHead& head) {
  removeHopByHop(head.headers, false);
  callbacks_->encodeInterim(head.status, head.headers);
}

void RouterFilter::decodeHeaders(http::ResponseHead& head, bool end_stream) {
  filters::StreamInfo& info = callbacks_->info();
  info.upstream_headers_ms = worker_.loop().now();
  per_try_timer_.disarm();
  reportOutcome(upstream::AttemptOutcome::Kind::Response, head.status);
  if (head.status >= 500 && retryOnStatus(head.status)) return;
  if (!head.transfer_codings.empty() && request_->version.minor == 0) {
    // The body keeps the backend's transfer codings, which an HTTP/1.0 client cannot be told
    // about (RFC 9112 6.1): it would take gzip bytes for the body.
    PLOG_WARN("upstream {}: transfer coding \"{}\" cannot reach an HTTP/1.0 client (request {})",
              pool_->endpoint().address_text, head.transfer_codings, info.request_id);
    upstream::UpstreamStream* s = upstream_;
    upstream_ = nullptr;
    pool_->release(s);  // mid-response: abandoned
    fail(502, "response transfer coding for an HTTP/1.0 client");
    return;
  }
  setStickyCookie(head);
  tunnel_ =
      head.status == 101 || (request_->method == http::Method::Connect && head.status / 100 == 2);
  phase_ = end_stream ? Phase::Done : Phase::ReceivingBody;
  if (end_stream) finishAttempt();
  armTimerForPhase();
  applyUpstreamResponseForwarding(listener_.forwarding, head, tunnel_);
  callbacks_->encodeHeaders(std::move(head), end_stream);
}

bool RouterFilter::retryOnStatus(uint16_t status) {
  const upstream::RetryVerdict verdict = upstream::decideRetryOnStatus(
      cluster_->config().retry, status, retryFacts(replayable_ || replay_whole_));
  if (verdict != upstream::RetryVerdict::Retry) {
    if (verdict != upstream::RetryVerdict::Unsafe) {
      retryOrExplain(verdict, "status", false);  // logs why not; the response goes through
    }
    return false;
  }
  // The response is dropped unseen: this exchange is abandoned (HTTP/1 closes the connection,
  // HTTP/2 resets the stream) and the request goes to another host.
  upstream::UpstreamStream* s = upstream_;
  upstream_ = nullptr;
  if (s != nullptr) pool_->release(s);
  finishAttempt();
  const std::string why = "status " + std::to_string(status);
  return retryOrExplain(verdict, why, false);
}

void RouterFilter::setStickyCookie(http::ResponseHead& head) {
  const auto& sticky = cluster_->config().sticky;
  if (!sticky || host_ == nullptr) return;
  const uint64_t served = upstream::stickyHostId(*host_);
  // A client whose cookie already names this host keeps it (and its expiry) as it is.
  if (sticky_id_ == served) return;
  head.headers.add("Set-Cookie", upstream::stickySetCookie(*sticky, served, time(nullptr),
                                                           listener_.tls.has_value()));
}

void RouterFilter::decodeData(buffer::Buffer& data, bool end_stream) {
  if (end_stream && !tunnel_) {
    phase_ = Phase::Done;
    finishAttempt();
  }
  armTimerForPhase();
  callbacks_->encodeData(data, end_stream);
  if (tunnel_ && end_stream && upstream_ != nullptr && upstream_->connectionClosed()) {
    // Not a half-close: the backend's leg is gone both ways (reset, error), so nothing the
    // client still sends could arrive. End the client's leg too.
    phase_ = Phase::Done;
    callbacks_->resetStream("upstream closed the tunnel");
  }
}

void RouterFilter::decodeTrailers(http::HeaderMap& trailers) {
  phase_ = Phase::Done;
  timer_.disarm();
  finishAttempt();
  callbacks_->encodeTrailers(std::move(trailers));
}

void RouterFilter::onResponseError(const http::ResponseError& error) {
  upstream::UpstreamStream* failed = upstream_;
  upstream::AttemptError attempt;
  attempt.request_sent = failed != nullptr && failed->requestSent();
  attempt.response_received = !error.nothing_received;
  attempt.reused_connection = reused_;
  attempt.failure = error.not_processed       ? upstream::AttemptFailure::NotProcessed
                    : error.connection_closed ? upstream::AttemptFailure::ConnectionClosed
                                              : upstream::AttemptFailure::Reset;
  if (failed != nullptr) {
    upstream_ = nullptr;
    pool_->release(failed);  // not reusable: abandoned
  }
  ++worker_.counters().upstream_failures;
  PLOG_WARN("upstream {}: {} (request {})", pool_->endpoint().address_text, error.why,
            callbacks_->info().request_id);
  reportOutcome(upstream::AttemptOutcome::Kind::Reset);
  finishAttempt();
  if (tunnel_) {
    // A tunnel ends when either side closes.
    phase_ = Phase::Done;
    buffer::Buffer empty;
    callbacks_->encodeData(empty, true);
    return;
  }
  onAttemptFailed(attempt, error.why);
}

void RouterFilter::keepForReplay(const buffer::Buffer& data) {
  if (!replay_whole_ || data.empty()) return;
  if (replay_body_.length() + data.length() > kReplayLimit) {
    replay_whole_ = false;
    replay_body_.clear();
    return;
  }
  replay_body_.append(data.toString());
}

void RouterFilter::restoreReplay() {
  // Nothing of a failed attempt's body is lost: what it sent comes first, then what arrived
  // since (held in pending_body_ while no stream exists).
  replay_body_.moveFrom(pending_body_);
  pending_body_.moveFrom(replay_body_);
  if (replay_has_trailers_) {
    pending_trailers_.assign(replay_trailers_);
    has_pending_trailers_ = true;
    replay_has_trailers_ = false;
  }
  replayable_ = true;
}

void RouterFilter::onStreamWriteWatermark(bool above_high) {
  upstream_write_blocked_ = above_high;
  callbacks_->pauseRequestBody(above_high);
  if (phase_ == Phase::Sending) armTimerForPhase();
}

void RouterFilter::onDownstreamWatermark(bool above_high) {
  if (upstream_ != nullptr) upstream_->pauseResponse(above_high);
}

void RouterFilter::armTimerForPhase() {
  const upstream::ClusterConfig& c = cluster_->config();
  switch (phase_) {
    case Phase::AwaitingHeaders:
      timer_.armAfterMs(c.response_header_timeout_ms);
      break;
    case Phase::Sending:
      // While the request body flows, a wait is the client's (its body_idle timeout applies);
      // the backend is idle only when it stops taking what we already have for it.
      if (upstream_write_blocked_) {
        timer_.armAfterMs(c.idle_timeout_ms);
      } else {
        timer_.disarm();
      }
      break;
    case Phase::ReceivingBody:
      timer_.armAfterMs(c.idle_timeout_ms);
      break;
    default:
      timer_.disarm();
      break;
  }
}

void RouterFilter::onTimeout() {
  if (phase_ == Phase::Queued) {
    onQueueTimeout();
    return;
  }
  ++worker_.counters().timeouts;
  const char* what = phase_ == Phase::AwaitingHeaders ? "upstream response header timeout"
                                                      : "upstream idle timeout";
  PLOG_WARN("upstream {}: {} (request {})", pool_->endpoint().address_text, what,
            callbacks_->info().request_id);
  abandonAttemptAfterTimeout(what);
}

void RouterFilter::onPerTryTimeout() {
  if (host_ == nullptr || outcome_reported_) return;  // headers came, or the attempt is over
  ++worker_.counters().timeouts;
  PLOG_WARN("upstream {}: per-try timeout ({} ms) (request {})", pool_->endpoint().address_text,
            cluster_->config().retry.per_try_timeout_ms, callbacks_->info().request_id);
  abandonAttemptAfterTimeout("upstream per-try timeout");
}

void RouterFilter::abandonAttemptAfterTimeout(const char* what) {
  upstream::AttemptError error;
  error.failure = upstream::AttemptFailure::Timeout;
  error.request_sent = upstream_ != nullptr && upstream_->requestSent();
  error.response_received = phase_ == Phase::ReceivingBody;
  error.reused_connection = reused_;
  if (pending_) {
    stopWaitingForPool();
    pool_->cancel(*this);
    // A connect still under way: nothing was sent, but a wait this long is the host's fault.
    error.failure = upstream::AttemptFailure::ConnectTimeout;
  }
  upstream::UpstreamStream* s = upstream_;
  upstream_ = nullptr;
  if (s != nullptr) pool_->release(s);  // mid-exchange: abandoned (HTTP/2: this stream only)
  timer_.disarm();
  reportOutcome(upstream::AttemptOutcome::Kind::Timeout);
  finishAttempt();
  if (tunnel_) {
    fail(504, what);
    return;
  }
  onAttemptFailed(error, what);
}

void RouterFilter::releaseStream() {
  if (pending_) {
    stopWaitingForPool();
    pool_->cancel(*this);
  }
  if (upstream_ != nullptr) {
    upstream::UpstreamStream* s = upstream_;
    upstream_ = nullptr;
    pool_->release(s);
  }
}

void RouterFilter::onDestroy() {
  if (destroyed_) return;
  destroyed_ = true;
  timer_.disarm();
  backoff_timer_.disarm();
  leaveQueue();  // a client gone while queued leaves no trace in the queue
  releaseStream();
  finishAttempt();
  if (holds_request_slot_) {
    holds_request_slot_ = false;
    cluster_->load().release(Load::Requests);
  }
}

}  // namespace portico::proxy
