#include "proxy/stream.h"

#include <sys/time.h>
#include <unistd.h>

#include <algorithm>

#include "core/log.h"
#include "http/path_normalize.h"
#include "proxy/connection_manager.h"
#include "proxy/forwarding.h"
#include "proxy/local_actions.h"
#include "proxy/router.h"
#include "proxy/static_files.h"
#include "tls/acme/challenges.h"

namespace portico::proxy {

namespace {
bool namesMethod(const RouteMatch& match, std::string_view method) {
  return std::find(match.methods.begin(), match.methods.end(), method) != match.methods.end();
}

// The Allow field of a 405: the methods of the route the request would have taken, or the
// usual ones.
std::string allowedMethods(const RouteEntry* route) {
  if (route == nullptr || route->config->match.methods.empty())
    return "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH";
  std::string allow;
  for (const std::string& m : route->config->match.methods) {
    if (!allow.empty()) allow += ", ";
    allow += m;
  }
  return allow;
}

int64_t wallClockUs() {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  return static_cast<int64_t>(tv.tv_sec) * 1000000 + tv.tv_usec;
}
}  // namespace

ActiveStream::ActiveStream(ConnectionManager& manager)
    : manager_(manager), chain_(*this), timer_(manager.worker().loop(), [this] { onTimer(); }) {}

ActiveStream::~ActiveStream() {
  destroyFilters();
}

std::pmr::memory_resource& ActiveStream::arena() {
  if (!arena_) {
    arena_block_ = buffer::allocateBlock();
    arena_.emplace(arena_block_->data, buffer::kBlockSize, std::pmr::new_delete_resource());
  }
  return *arena_;
}

event::EventLoop& ActiveStream::loop() {
  return manager_.worker().loop();
}

const net::Address* ActiveStream::clientAddress() const {
  return &manager_.connection().peerAddress();
}

void ActiveStream::begin(http::ResponseEncoder& encoder) {
  encoder_ = &encoder;
  id_ = encoder.streamId();
  complete_ = false;
  source_paused_ = false;
  info_ = filters::StreamInfo{};
  info_.start_ms = loop().now();
  info_.start_wall_us = wallClockUs();
  route_ = nullptr;
  vhost_ = nullptr;
  secure_ = manager_.connection().transport().secure();
  request_ = nullptr;
  request_complete_ = false;
}

void ActiveStream::markComplete() {
  complete_ = true;
  timer_.disarm();
  timer_mode_ = TimerMode::None;
  chain_.stop();
}

void ActiveStream::armBodyIdle() {
  timer_mode_ = TimerMode::BodyIdle;
  timer_.armAfterMs(manager_.listener().config.timeouts.body_idle_ms);
}

void ActiveStream::startSendIdle() {
  // Waiting on the producer (a backend has its own timeouts) or on a slow client to read.
  timer_mode_ = TimerMode::SendIdle;
  written_at_timer_ = manager_.connection().bytesWritten();
  if (encoder_ != nullptr) {
    if (auto progress = encoder_->sendProgress()) stream_sent_at_timer_ = progress->sent;
  }
  timer_.armAfterMs(manager_.listener().config.timeouts.send_idle_ms);
}

void ActiveStream::onTimer() {
  if (complete_ || encoder_ == nullptr) return;
  net::Connection& connection = manager_.connection();
  // A lingering connection has answered; its own linger timeout ends it.
  if (connection.closed() || connection.lingering()) return;
  const ListenerConfig& listener = manager_.listener().config;
  switch (timer_mode_) {
    case TimerMode::BodyIdle:
      if (source_paused_) {
        // We stopped the body (the backend takes it slowly): the client is not idle, and the
        // upstream's own timeouts bound the wait.
        armBodyIdle();
        return;
      }
      ++manager_.worker().counters().timeouts;
      PLOG_INFO("{}: request body idle timeout from {} (request {})", listener.name,
                connection.peerAddress().toString(), info_.request_id);
      info_.failure = "request body idle timeout";
      encoder_->failStream(408);
      return;
    case TimerMode::SendIdle:
      if (connection.bufferedWriteBytes() > 0 && connection.bytesWritten() == written_at_timer_) {
        ++manager_.worker().counters().timeouts;
        PLOG_INFO("{}: client {} stopped reading the response (request {})", listener.name,
                  connection.peerAddress().toString(), info_.request_id);
        info_.failure = "client send timeout";
        // The client reads nothing of the connection, so every stream on it is stuck: the
        // connection goes.
        manager_.closeNow();
        return;
      }
      if (auto progress = encoder_->sendProgress();
          progress && progress->pending > 0 && progress->sent == stream_sent_at_timer_) {
        // HTTP/2: the client reads the connection but keeps this stream's window shut. Only
        // this stream is stuck, so only it is reset.
        ++manager_.worker().counters().timeouts;
        PLOG_INFO("{}: client {} did not open the window of a stream (request {})", listener.name,
                  connection.peerAddress().toString(), info_.request_id);
        resetStream("client send timeout");
        return;
      }
      startSendIdle();
      return;
    case TimerMode::None:
      return;
  }
}

void ActiveStream::decodeHeaders(http::RequestHead& head, bool end_stream) {
  request_ = &head;
  chain_.bindRequest(head);
  if (secure_) head.scheme = "https";
  request_complete_ = end_stream;
  if (end_stream) {
    startSendIdle();
  } else {
    armBodyIdle();
  }
  const ListenerConfig& listener = manager_.listener().config;
  const ForwardingConfig& fwd = listener.forwarding;

  // Proxy semantics first, so every filter sees the request as the backend will.
  // Only the "upgrade" token in Connection (on any of its lines) makes an Upgrade field
  // meaningful.
  bool upgrade = head.headers.has("Upgrade") && connectionHasToken(head.headers, "upgrade");
  removeHopByHop(head.headers, upgrade);
  // RFC 9112 3.2.2: the authority of an absolute-form target replaces Host. The backend must
  // see the host the request is routed by, never a different one the client also sent.
  if (!head.authority.empty()) {
    auto host = head.headers.get("Host");
    if (!host || *host != head.authority) head.headers.set("Host", head.authority);
  }
  if (fwd.request_id) ensureRequestId(head, info_.request_id);
  applyRequestForwarding(fwd, manager_.connection().peerAddress(), head);
  // The certificate's facts are read (and hashed) only where a client may have sent one.
  const bool cert_requested = secure_ && asksForClientCertificates(listener.tls);
  std::optional<net::PeerCertificate> cert;
  if (cert_requested) cert = manager_.connection().transport().peerCertificate();
  applyClientCertHeaders(fwd.client_cert_headers, cert_requested, cert ? &*cert : nullptr, head);

  // The virtual host first: its HSTS applies to every answer, errors included.
  vhost_ = manager_.listener().routes->findVirtualHost(head.authority);
  if (misdirected(vhost_, head.authority)) {
    PLOG_INFO("{}: request for host {} on a TLS connection for {}: 421 (request {})", listener.name,
              head.authority, manager_.connection().transport().serverName(), info_.request_id);
    info_.failure = "misdirected request";
    localReply(421);
    return;
  }

  // Routing, the path sent upstream, redirects and static files all read this one path.
  if (http::PathError e = http::normalizePath(head.path, listener.paths);
      e != http::PathError::None) {
    PLOG_INFO("{}: rejected path {}: {} (request {})", listener.name, head.target,
              http::describe(e), info_.request_id);
    info_.failure = http::describe(e);
    localReply(400);
    return;
  }
  if (answeredAcmeChallenge(head)) return;
  if (redirectedToHttps(vhost_, head)) return;
  route_ = RouteTable::matchIn(vhost_, head);
  if ((head.method == http::Method::Connect || head.method == http::Method::Trace) &&
      (route_ == nullptr || !namesMethod(route_->config->match, head.method_text))) {
    // TRACE echoes the request, cookies included, back to scripts (cross-site tracing);
    // CONNECT opens a tunnel to anywhere. Only a route that names them lets them through.
    PLOG_INFO("{}: {} {} from {} refused: no route names the method", listener.name,
              head.method_text, head.target, manager_.connection().peerAddress().toString());
    info_.failure = "method not allowed";
    localReply(405, "text/plain", "Allow", allowedMethods(route_));
    route_ = nullptr;
    return;
  }
  if (route_ == nullptr) {
    PLOG_DEBUG("{}: no route for {} {} (host {})", listener.name, head.method_text, head.path,
               head.authority);
    info_.failure = "no route";
    localReply(404);
    return;
  }
  info_.route_name = route_->config->name;
  buildFilterChain();
  chain_.decodeHeaders(head, end_stream);
}

// ACME HTTP-01 (RFC 8555 section 8.3), on every listener and before routing and
// https_redirect: the CA fetches the token over plain HTTP. Unknown tokens route as usual.
bool ActiveStream::answeredAcmeChallenge(const http::RequestHead& head) {
  if (head.method != http::Method::Get && head.method != http::Method::Head) return false;
  if (head.path.compare(0, tls::acme::kHttpChallengePrefix.size(),
                        tls::acme::kHttpChallengePrefix) != 0) {
    return false;
  }
  std::optional<std::string> answer = tls::acme::ChallengeStore::shared().httpResponse(head.path);
  if (!answer) return false;
  PLOG_INFO("{}: answered the ACME HTTP-01 challenge for {} (request {})",
            manager_.listener().config.name, head.authority, info_.request_id);
  chain_.sendLocalReply(200, *answer, "application/octet-stream");
  return true;
}

bool ActiveStream::misdirected(const VirtualHost* host, std::string_view authority) const {
  if (!secure_) return false;
  const std::string_view sni = manager_.connection().transport().serverName();
  // The handshake asked for the client certificate the SNI name's policy wants (none, say);
  // a request for a name with another policy would skip that check (tls/client_auth_names.h).
  const auto& client_auth = manager_.listener().config.client_auth_names;
  if (client_auth && !client_auth->uniform() &&
      client_auth->policyOf(sni) != client_auth->policyOf(http::hostWithoutPort(authority))) {
    return true;
  }
  if (sni.empty()) return false;  // no SNI (IP-literal clients): nothing to disagree with
  const VirtualHost* by_sni = manager_.listener().routes->findVirtualHost(sni);
  return by_sni != nullptr && by_sni != host;
}

bool ActiveStream::redirectedToHttps(const VirtualHost* host, const http::RequestHead& head) {
  if (secure_ || host == nullptr || !host->config->https_redirect) return false;
  const HttpsRedirect& redirect = *host->config->https_redirect;
  if (head.authority.empty()) {  // HTTP/1.0 without Host: no name to send the client to
    info_.failure = "no host to redirect to https";
    localReply(400);
    return true;
  }
  // The host without its port (IPv6 literals keep their brackets), then the HTTPS port.
  std::string location = "https://" + http::hostWithoutPort(head.authority);
  if (redirect.port != 443) location += ":" + std::to_string(redirect.port);
  location += head.path;
  if (!head.query.empty()) location += "?" + head.query;
  info_.failure.clear();
  localReply(redirect.status, "text/plain", "Location", location);
  return true;
}

void ActiveStream::buildFilterChain() {
  for (const filters::FilterFactory* f : route_->filters)
    chain_.addFilter(f->create(arena()), arena());
  filters::Filter* terminal = nullptr;
  const RouteConfig& rc = *route_->config;
  if (route_->terminal != nullptr) {
    chain_.addFilter(route_->terminal->create(arena()), arena());
    return;
  }
  switch (rc.action) {
    case RouteConfig::ActionKind::Proxy:
      terminal = filters::arenaNew<RouterFilter>(arena(), manager_.worker(),
                                                 manager_.listener().config, *route_);
      break;
    case RouteConfig::ActionKind::Direct:
      terminal = filters::arenaNew<DirectResponseFilter>(arena(), rc.direct);
      break;
    case RouteConfig::ActionKind::Redirect:
      terminal = filters::arenaNew<RedirectFilter>(arena(), rc.redirect, rc.match);
      break;
    case RouteConfig::ActionKind::Static:
      terminal = makeStaticFilesFilter(arena(), rc.static_files, rc.match, *route_->static_root);
      break;
  }
  chain_.addFilter(terminal, arena());
}

void ActiveStream::decodeData(buffer::Buffer& data, bool end_stream) {
  if (!data.empty()) info_.request_body_bytes += data.length();
  // Bytes after a complete request are a tunnel's (after a 101): send idle goes on for it.
  if (!request_complete_) {
    if (end_stream) {
      request_complete_ = true;
      startSendIdle();
    } else {
      armBodyIdle();
    }
  }
  chain_.decodeData(data, end_stream);
}

void ActiveStream::decodeTrailers(http::HeaderMap& trailers) {
  request_complete_ = true;
  startSendIdle();
  chain_.decodeTrailers(trailers);
}

void ActiveStream::onStreamReset(http::StreamResetReason reason) {
  if (info_.failure.empty()) {
    info_.failure = reason == http::StreamResetReason::ConnectionTermination
                        ? "client closed the connection"
                        : "stream reset";
  }
  chain_.stop();
  // Release upstream resources now; memory goes at reap time.
  chain_.notifyDestroyed();
}

// ---- what leaves the chain -----------------------------------------------------------------

void ActiveStream::sendInterim(uint16_t status, const http::HeaderMap& headers) {
  if (encoder_ && !complete_) encoder_->encodeInterim(status, headers);
}

void ActiveStream::sendHeaders(http::ResponseHead& head, bool end_stream) {
  if (complete_ || encoder_ == nullptr) return;
  applyFinalHeaders(head);
  encoder_->encodeHeaders(head, end_stream);
  // What the client got: an HTTP/2 codec answers a backend's 101 to a WebSocket handshake
  // with 200 (RFC 8441), or with 502 when the backend did not really accept it.
  info_.status = head.status;
}

void ActiveStream::sendData(buffer::Buffer& data, bool end_stream) {
  if (complete_ || encoder_ == nullptr) {
    data.clear();
    return;
  }
  encoder_->encodeData(data, end_stream);
}

void ActiveStream::sendFile(int file_fd, uint64_t offset, uint64_t length, bool end_stream) {
  if (complete_ || encoder_ == nullptr) {
    ::close(file_fd);
    return;
  }
  encoder_->encodeFile(file_fd, offset, length, end_stream);
}

void ActiveStream::sendTrailers(http::HeaderMap& trailers) {
  if (complete_ || encoder_ == nullptr) return;
  encoder_->encodeTrailers(trailers);
}

std::string ActiveStream::errorBody(uint16_t status) {
  return http::errorBody(status, &manager_.listener().config.error_pages);
}

void ActiveStream::applyFinalHeaders(http::ResponseHead& head) {
  applyFinalResponseHeaders(manager_.listener().config.forwarding, info_.request_id, head);
  if (secure_ && vhost_ != nullptr && !vhost_->config->hsts.empty())
    head.headers.set("Strict-Transport-Security", vhost_->config->hsts);
}

void ActiveStream::localReply(uint16_t status, std::string_view content_type,
                              std::string_view extra_name, std::string_view extra_value) {
  if (complete_ || encoder_ == nullptr) return;
  chain_.sendLocalReply(status, {}, content_type, extra_name, extra_value);
}

void ActiveStream::resetStream(std::string_view why) {
  if (info_.failure.empty()) info_.failure = std::string(why);
  chain_.stop();
  if (encoder_ && !complete_) encoder_->resetStream();
}

void ActiveStream::pauseClientReading(bool pause) {
  source_paused_ = pause;
  if (encoder_ != nullptr) encoder_->pauseRequestBody(pause);
  // The body idle clock measures the client, so it starts afresh when we read again.
  if (!pause && !complete_ && timer_mode_ == TimerMode::BodyIdle) armBodyIdle();
}

bool ActiveStream::clientWriteBlocked() const {
  // The connection's socket, or (HTTP/2) this stream's own window and buffer.
  return manager_.writeBlocked() || (encoder_ != nullptr && encoder_->sendBlocked());
}

uint64_t ActiveStream::bufferLimit() const {
  return manager_.listener().config.limits.buffer;
}

void ActiveStream::onDownstreamWatermark(bool above_high) {
  if (!complete_) chain_.onClientWatermark(above_high);
}

void ActiveStream::onSendWatermark(bool above_high) {
  // The chain reads clientWriteBlocked() itself, which combines both watermarks.
  if (!complete_) chain_.onClientWatermark(above_high);
}

// ---- end of the exchange ------------------------------------------------------------------

void ActiveStream::destroyFilters() {
  chain_.clear();
  if (arena_) {
    arena_.reset();
    buffer::releaseBlock(arena_block_);
    arena_block_ = nullptr;
  }
}

void ActiveStream::reap() {
  info_.end_ms = loop().now();
  destroyFilters();
  WorkerServices& worker = manager_.worker();
  if (info_.status != 0) ++worker.counters().responses_by_class[http::statusClass(info_.status)];
  worker.logAccess(request_, info_, manager_.connection().peerAddress());
  encoder_ = nullptr;
  request_ = nullptr;
  route_ = nullptr;
}

}  // namespace portico::proxy
