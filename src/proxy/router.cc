#include "proxy/router.h"

#include "core/log.h"
#include "proxy/forwarding.h"
#include "proxy/route_table.h"

namespace portico::proxy {

RouterFilter::RouterFilter(WorkerServices& worker, const ListenerConfig& listener,
                           const RouteEntry& route)
    : worker_(worker),
      listener_(listener),
      route_(route),
      timer_(worker.loop(), [this] { onTimeout(); }) {}

RouterFilter::~RouterFilter() {
  onDestroy();
}

filters::FilterStatus RouterFilter::onRequestHeaders(http::RequestHead& head, bool end_stream) {
  request_ = &head;
  request_end_ = end_stream;
  cluster_ = worker_.clusters().get(route_.cluster_index);
  if (cluster_ == nullptr || cluster_->endpointCount() == 0) {
    fail(503, "cluster has no endpoints");
    return filters::FilterStatus::Respond;
  }
  const RouteConfig& rc = *route_.config;
  if (rc.rewrite_prefix && rc.match.kind == PathMatchKind::Prefix) {
    head.path = *rc.rewrite_prefix + head.path.substr(rc.match.path.size());
    if (head.path.empty() || head.path[0] != '/') head.path.insert(0, 1, '/');
  }
  tried_.assign(cluster_->endpointCount(), false);
  ++worker_.counters().upstream_requests;
  startAttempt();
  return phase_ == Phase::Done && callbacks_->responseStarted() ? filters::FilterStatus::Respond
                                                                : filters::FilterStatus::Continue;
}

int RouterFilter::pickEndpoint() {
  const bool limited = cluster_->config().max_connections_per_endpoint != 0;
  // Endpoints at their connection limit count as tried for this pick (they are not marked:
  // one may have room again for a later attempt).
  std::vector<bool>& excluded = limited ? excluded_ : tried_;
  bool any_room = !limited;
  if (limited) {
    excluded_.resize(tried_.size());
    for (size_t i = 0; i < tried_.size(); ++i) {
      const bool room = cluster_->pool(i).hasCapacity();
      excluded_[i] = tried_[i] || !room;
      any_room = any_room || room;
    }
    if (!any_room) return -1;
  }
  int index = cluster_->loadBalancer().pick(excluded);
  if (index >= 0) return index;
  // Every endpoint with room was tried: a fresh connection to one already tried is still
  // worth it for the stale keep-alive case, so clear and pick again once.
  tried_.assign(tried_.size(), false);
  if (limited) {
    for (size_t i = 0; i < tried_.size(); ++i) excluded_[i] = !cluster_->pool(i).hasCapacity();
  }
  return cluster_->loadBalancer().pick(excluded);
}

void RouterFilter::startAttempt() {
  int index = pickEndpoint();
  if (index < 0) {
    ++worker_.counters().upstream_overflows;
    PLOG_WARN("cluster {}: every endpoint is at its connection limit ({}); request {} gets 503",
              cluster_->config().name, cluster_->config().max_connections_per_endpoint,
              callbacks_->info().request_id);
    fail(503, "every endpoint is at its connection limit");
    return;
  }
  tried_[static_cast<size_t>(index)] = true;
  ++attempts_;
  callbacks_->info().upstream_attempts = attempts_;
  pool_ = &cluster_->pool(static_cast<size_t>(index));
  callbacks_->info().upstream_address = pool_->endpoint().address_text;
  phase_ = Phase::Connecting;
  // A cluster whose TLS names follow the request's host gets connections made for that name.
  const auto& tls = cluster_->config().tls;
  const std::string server_name =
      tls && tls->sni_from_host ? http::hostWithoutPort(request_->authority) : std::string();
  // The pool may call back before returning; a failure then may already have started the
  // next attempt, whose own wait must not be overwritten by this one's result.
  const uint32_t attempt = attempts_;
  const bool waiting = pool_->newStream(*this, server_name);
  if (attempts_ == attempt) pending_ = waiting;
}

bool RouterFilter::needsTunnel() const {
  return request_->method == http::Method::Connect || request_->headers.has("Upgrade");
}

void RouterFilter::onPoolReady(upstream::UpstreamStream& stream, bool reused) {
  pending_ = false;
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
  // endpoint the request is addressed to.
  if (!request_->headers.has("Host")) {
    request_->headers.add("Host", pool_->endpoint().address_text);
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
  pending_ = false;
  ++worker_.counters().upstream_failures;
  PLOG_WARN("upstream {}: {} (attempt {} of request {})", pool_->endpoint().address_text, why,
            attempts_, callbacks_->info().request_id);
  uint16_t status = reason == upstream::PoolFailure::ConnectTimeout ? 504 : 502;
  // Nothing was sent, and the body that arrived meanwhile is held: safe to try elsewhere.
  retryOrFail(status, why);
}

void RouterFilter::retryOrFail(uint16_t status, std::string_view why) {
  const uint32_t max_retries = cluster_->config().max_retries;
  if (attempts_ <= max_retries && replayable_ && !callbacks_->responseStarted()) {
    ++worker_.counters().upstream_retries;
    PLOG_WARN("request {}: retrying after \"{}\" (attempt {} of at most {})",
              callbacks_->info().request_id, why, attempts_ + 1, max_retries + 1);
    startAttempt();
    return;
  }
  if (!replayable_ && attempts_ <= max_retries && !callbacks_->responseStarted()) {
    PLOG_WARN("request {}: not retried: its body already went to the failed connection",
              callbacks_->info().request_id);
  }
  fail(status, why);
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
  tunnel_ =
      head.status == 101 || (request_->method == http::Method::Connect && head.status / 100 == 2);
  phase_ = end_stream ? Phase::Done : Phase::ReceivingBody;
  armTimerForPhase();
  applyUpstreamResponseForwarding(listener_.forwarding, head, tunnel_);
  callbacks_->encodeHeaders(std::move(head), end_stream);
}

void RouterFilter::decodeData(buffer::Buffer& data, bool end_stream) {
  if (end_stream && !tunnel_) phase_ = Phase::Done;
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
  callbacks_->encodeTrailers(std::move(trailers));
}

void RouterFilter::onResponseError(const http::ResponseError& error) {
  upstream::UpstreamStream* failed = upstream_;
  bool nothing_sent = failed != nullptr && !failed->requestSent();
  if (failed != nullptr) {
    upstream_ = nullptr;
    pool_->release(failed);  // not reusable: abandoned
  }
  ++worker_.counters().upstream_failures;
  PLOG_WARN("upstream {}: {} (request {})", pool_->endpoint().address_text, error.why,
            callbacks_->info().request_id);
  if (tunnel_) {
    // A tunnel ends when either side closes.
    phase_ = Phase::Done;
    buffer::Buffer empty;
    callbacks_->encodeData(empty, true);
    return;
  }
  if (error.not_processed && error.nothing_received && !replay_whole_) {
    PLOG_WARN(
        "request {}: not retried: the backend did not process it, but its body went "
        "past the {} bytes kept for a replay",
        callbacks_->info().request_id, kReplayLimit);
  }
  if (error.not_processed && error.nothing_received && replay_whole_) {
    // The backend says the request had no effect (REFUSED_STREAM, GOAWAY): send it again,
    // whatever its method, from what was kept of it. The endpoint itself is fine.
    restoreReplay();
    std::fill(tried_.begin(), tried_.end(), false);
    retryOrFail(502, error.why);
    return;
  }
  // Retry only what cannot have had an effect: no response byte came back, and either no
  // request byte left us or the request is idempotent and met a stale keep-alive connection.
  // retryOrFail() also wants the whole request still here to send again.
  bool stale_keepalive = reused_ && error.connection_closed && http::isIdempotent(request_->method);
  if (error.nothing_received && (nothing_sent || stale_keepalive)) {
    if (reused_ && attempts_ <= cluster_->config().max_retries) {
      // The endpoint is fine; the connection was old. A fresh one to any endpoint will do.
      std::fill(tried_.begin(), tried_.end(), false);
    }
    if (nothing_sent && replay_whole_) restoreReplay();
    retryOrFail(502, error.why);
    return;
  }
  fail(502, error.why);
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
  ++worker_.counters().timeouts;
  const char* what = phase_ == Phase::AwaitingHeaders ? "upstream response header timeout"
                                                      : "upstream idle timeout";
  PLOG_WARN("upstream {}: {} (request {})", pool_->endpoint().address_text, what,
            callbacks_->info().request_id);
  upstream::UpstreamStream* s = upstream_;
  upstream_ = nullptr;
  if (s != nullptr) pool_->release(s);  // mid-exchange: abandoned (HTTP/2: this stream only)
  fail(504, what);
}

void RouterFilter::releaseStream() {
  if (pending_) {
    pending_ = false;
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
  releaseStream();
}

}  // namespace portico::proxy
